"""Who may do what, cell by cell: every API route and every page times every role (DESIGN.md, "Who may do what").

``MATRIX`` lists, for each rule of ``app.url_map`` and each method, one or more requests
(with the objects they touch) and the roles allowed to make them. A rule without an entry
fails ``test_every_route_has_a_matrix_entry``, so a new route cannot slip in unchecked.

Each cell asserts the status class that proves the permission decision:

- allowed: the route's own answer (2xx, a redirect that is not to the login page, or the
  validation error a deliberately empty request earns *after* the permission check: 400);
- refused: 403, or 404 for another enterprise's objects (they must not learn it exists);
  401 on the API and a redirect to the login page for anonymous visitors of pages.

Requests that would change state are chosen so they do not: empty bodies refused by
validation, a department that cannot be removed. The few that do change state (opening a
case through the API, claiming, releasing, (de)activating a spare account) touch objects
no other cell relies on, or reset them first (``Check.reset``). The users and objects are
created once for the module, on their own app (SQLite copy, or PostgreSQL when
``CAPEXIT_TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import gc
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import SHANGHAI
from engine.context import EngineContext
from engine.credit_code import make_credit_code
from engine.models import Department, OpenTask, User
from engine.services import accounts, announcements, annual, attachments, bulk_import, cases, tasks, users
from tests.conftest import (
    ENTERPRISE_A,
    ENTERPRISE_B,
    PASSWORD,
    PG_URL,
    START_DAY,
    _config,
    _reset_postgres,
    actor,
    csrf_from,
)
from webapp import create_app

DEPARTMENTS = ("industry", "environment", "market", "emergency", "energy", "development", "hrss", "government")
ROLES = (*DEPARTMENTS, "enterprise_a", "enterprise_b", "supervisor", "owner", "admin", "anonymous")

EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
STAFF = frozenset(DEPARTMENTS)
ENTERPRISES = frozenset({"enterprise_a", "enterprise_b"})
LEADING = STAFF - {"hrss", "government"}  # staff of a department that may lead some dimension (DOMAIN.md)
INTAKE = LEADING | {"admin"}
INBOX = STAFF | ENTERPRISES | {"supervisor", "admin"}
SUPERVISE = frozenset({"supervisor", "admin"})
VERSION_READERS = frozenset({"owner", "supervisor", "admin"})
MIGRATORS = frozenset({"owner", "admin"})
DRAFT_READERS = STAFF | {"supervisor", "owner", "admin"}  # unpublished annual reports
OWNER, ADMIN = frozenset({"owner"}), frozenset({"admin"})
ENTERPRISE_C = make_credit_code("91370800MA3C00030")
OTHER_ENTERPRISE = {"a": "enterprise_b", "b": "enterprise_a"}

GET, POST = "GET", "POST"


@dataclass(frozen=True)
class Check:
    """One request of the matrix: path (with ``{object}`` names), who may make it, what an allowed one answers."""

    path: str
    allowed: frozenset[str]
    ok: frozenset[int]
    form: dict[str, str] | None = None  # pages: form fields (the CSRF token is added); API: a form post
    json: Any = None  # API: a JSON body
    raw: bytes | None = None  # a raw body (BPMN upload, modeler check)
    of: str | None = None  # "a"/"b": the object belongs to that enterprise; "-": to none (annual report)
    reset: str | None = None  # a state to restore before the request
    own_client: bool = False  # the request changes the session (logout, language): use a copy of it
    to_login: bool = False  # an allowed answer may redirect to the login page (logout)
    public: bool = False  # a page without sign-in: anonymous visitors refused get 404, not the login page
    label: str = ""


def ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


def readers_of(owner: str) -> frozenset[str]:
    """Who may read an object of enterprise ``owner`` ("a"/"b") or of no enterprise ("-")."""
    return SIGNED_IN - (ENTERPRISES if owner == "-" else {OTHER_ENTERPRISE[owner]})


NEW_CASE = {"dimension": "energy_use", "lead_department": "industry", "finding": {"standard": "GB 21256"},
            "enterprise": {"name": "丙钢铁有限公司", "credit_code": ENTERPRISE_C, "county": "任城区", "industry": "steel"}}

# The tasks used: rectify_a (enterprise A's lane), reinspect_a (industry's lane, case of A), rectify_b
# (enterprise B), approval_a (government's lane, case of A), annual_task (industry's confirmation of the
# 2026 annual report, a case of no enterprise).
TASKS = (("rectify_a", "a", {"enterprise_a"}), ("reinspect_a", "a", {"industry"}), ("rectify_b", "b", {"enterprise_b"}),
         ("approval_a", "a", {"government"}), ("annual_task", "-", {"industry"}))
CASES = (("case_a", "a"), ("case_b", "b"), ("annual_case", "-"))


def task_reads(prefix: str, suffix: str = "", **extra: Any) -> list[Check]:
    return [Check(f"{prefix}/{{{name}}}{suffix}", readers_of(owner), ok(200), of=owner, label=name, **extra)
            for name, owner, _ in TASKS if name != "annual_task" or prefix.startswith("/api")]


def task_completions(prefix: str, **extra: Any) -> list[Check]:
    return [Check(f"{prefix}/{{{name}}}{'/complete' if prefix.startswith('/api') else ''}", frozenset(workers), ok(400),
                  of=owner, label=name, **extra)
            for name, owner, workers in TASKS if name != "annual_task" or prefix.startswith("/api")]


API = "/api/v1"
MATRIX: dict[tuple[str, str], list[Check]] = {
    # ------------------------------------------------------------------ the JSON API
    (POST, f"{API}/auth/token"): [Check(f"{API}/auth/token", EVERYONE, ok(400), json=[])],
    (POST, f"{API}/cases"): [Check(f"{API}/cases", frozenset({"industry", "development", "energy", "admin"}), ok(201),
                                   json=NEW_CASE)],
    (GET, f"{API}/cases/<int:case_id>"): [Check(f"{API}/cases/{{{c}}}", readers_of(o), ok(200), of=o, label=c)
                                          for c, o in CASES],
    (POST, f"{API}/cases/<int:case_id>/migrate"): [Check(f"{API}/cases/{{case_a}}/migrate", MIGRATORS, ok(400), json={})],
    (POST, f"{API}/clock/advance"): [Check(f"{API}/clock/advance", SUPERVISE, ok(400), json={})],
    (POST, f"{API}/definitions"): [Check(f"{API}/definitions", OWNER, ok(400), raw=b"")],
    # the latest BPMN of a process: any signed-in caller (the contract names no role; the case page shows it too)
    (GET, f"{API}/definitions/<process_id>"): [Check(f"{API}/definitions/energy_use", SIGNED_IN, ok(200))],
    (GET, f"{API}/definitions/<process_id>/versions"): [
        Check(f"{API}/definitions/energy_use/versions", VERSION_READERS, ok(200))],
    (GET, f"{API}/definitions/<process_id>/versions/<int:version>"): [
        Check(f"{API}/definitions/energy_use/versions/1", VERSION_READERS, ok(200))],
    # task forms: any signed-in caller reads the form in use (task pages show it); versions for version readers
    (GET, f"{API}/forms"): [Check(f"{API}/forms", SIGNED_IN, ok(200))],
    (GET, f"{API}/forms/<key>"): [Check(f"{API}/forms/rectify.schema.json", SIGNED_IN, ok(200))],
    (GET, f"{API}/forms/<key>/versions"): [Check(f"{API}/forms/rectify.schema.json/versions", VERSION_READERS, ok(200))],
    (GET, f"{API}/forms/<key>/versions/<int:number>"): [
        Check(f"{API}/forms/rectify.schema.json/versions/1", VERSION_READERS, ok(200))],
    (POST, f"{API}/forms/<key>/versions"): [Check(f"{API}/forms/rectify.schema.json/versions", OWNER, ok(400), json={})],
    (GET, f"{API}/openapi.json"): [Check(f"{API}/openapi.json", EVERYONE, ok(200))],
    (GET, f"{API}/reports/annual/<int:year>.xlsx"): [
        Check(f"{API}/reports/annual/{year}.xlsx", DRAFT_READERS, ok(200), label=str(year)) for year in (2025, 2026)],
    (GET, f"{API}/tasks"): [Check(f"{API}/tasks", SIGNED_IN, ok(200))],
    (GET, f"{API}/tasks/<task_id>"): task_reads(f"{API}/tasks"),
    (POST, f"{API}/tasks/<task_id>/complete"): [
        *task_completions(f"{API}/tasks", json={}),
        *[Check(f"{API}/tasks/{{{name}}}/complete", frozenset(workers), ok(400), form={}, of=owner,
                label=f"{name}-form") for name, owner, workers in TASKS[:2]]],
    (GET, f"{API}/timers"): [Check(f"{API}/timers", SUPERVISE, ok(200))],
    # ------------------------------------------------------------------ sign-in, language
    (GET, "/"): [Check("/", SIGNED_IN, ok(302))],
    (GET, "/login"): [Check("/login", EVERYONE, ok(200, 302))],
    (POST, "/login"): [Check("/login", EVERYONE, ok(302, 400), form={})],
    (POST, "/logout"): [Check("/logout", EVERYONE, ok(302), form={}, own_client=True, to_login=True)],
    (GET, "/lang/<code>"): [Check("/lang/zh", EVERYONE, ok(302), own_client=True)],
    # ------------------------------------------------------------------ administration
    (GET, "/admin/users"): [Check("/admin/users", ADMIN, ok(200))],
    (POST, "/admin/users"): [Check("/admin/users", ADMIN, ok(400), form={})],
    (POST, "/admin/users/<int:user_id>/deactivate"): [Check("/admin/users/{spare_user}/deactivate", ADMIN, ok(302),
                                                            form={})],
    (POST, "/admin/users/<int:user_id>/reactivate"): [Check("/admin/users/{spare_user}/reactivate", ADMIN, ok(302),
                                                            form={})],
    (GET, "/admin/users/<int:user_id>/name"): [Check("/admin/users/{spare_user}/name", ADMIN, ok(200))],
    (POST, "/admin/users/<int:user_id>/name"): [Check("/admin/users/{spare_user}/name", ADMIN, ok(400),
                                                      form={"display_name": "王" * 51})],
    (GET, "/admin/users/<int:user_id>/password"): [Check("/admin/users/{spare_user}/password", ADMIN, ok(200))],
    (POST, "/admin/users/<int:user_id>/password"): [Check("/admin/users/{spare_user}/password", ADMIN, ok(400),
                                                          form={})],
    (GET, "/admin/departments"): [Check("/admin/departments", ADMIN, ok(200))],
    (POST, "/admin/departments"): [Check("/admin/departments", ADMIN, ok(400), form={})],
    (GET, "/admin/departments/<code>"): [Check("/admin/departments/spare", ADMIN, ok(200))],
    (POST, "/admin/departments/<code>"): [Check("/admin/departments/spare", ADMIN, ok(400), form={})],
    # a party of the procedures cannot be removed: refused with a message, nothing changes
    (POST, "/admin/departments/<code>/remove"): [Check("/admin/departments/industry/remove", ADMIN, ok(302), form={})],
    (GET, "/admin/enterprises"): [Check("/admin/enterprises", ADMIN, ok(200))],
    (GET, "/admin/enterprises/<code>"): [Check(f"/admin/enterprises/{ENTERPRISE_A}", ADMIN, ok(200))],
    # an empty form is refused (a name and the grounds are required): the register stays as it is
    (POST, "/admin/enterprises/<code>"): [Check(f"/admin/enterprises/{ENTERPRISE_A}", ADMIN, ok(400), form={})],
    (GET, "/admin/calendar"): [Check("/admin/calendar", ADMIN, ok(200))],
    (POST, "/admin/calendar"): [Check("/admin/calendar", ADMIN, ok(400), form={})],
    (POST, "/admin/calendar/<day>/remove"): [Check("/admin/calendar/2026-13-01/remove", ADMIN, ok(400), form={})],
    (POST, "/admin/calendar/<int:year>/entered"): [Check("/admin/calendar/2026/entered", ADMIN, ok(400), form={})],
    (POST, "/admin/calendar/<int:year>/entered/withdraw"): [
        Check("/admin/calendar/2027/entered/withdraw", ADMIN, ok(400), form={})],
    # ------------------------------------------------------------------ public announcements
    (POST, "/announcements/<int:announcement_id>/withdraw"): [
        Check("/announcements/{announcement}/withdraw", frozenset({"industry", "admin"}), ok(400), form={})],
    (GET, "/public"): [Check("/public", EVERYONE, ok(200))],
    (GET, "/public/announcements.json"): [Check("/public/announcements.json", EVERYONE, ok(200))],
    # ------------------------------------------------------------------ the supervisors' board and statistics
    (GET, "/board"): [Check("/board", SUPERVISE, ok(200))],
    (GET, "/board/data.json"): [Check("/board/data.json", SUPERVISE, ok(200))],
    (GET, "/board/digest"): [Check("/board/digest", SUPERVISE, ok(200))],
    (GET, "/board/export.xlsx"): [Check("/board/export.xlsx", SUPERVISE, ok(200))],
    (POST, "/board/clock"): [Check("/board/clock", SUPERVISE, ok(303), form={})],
    (GET, "/statistics"): [Check("/statistics", SUPERVISE, ok(200))],
    (GET, "/statistics/data.json"): [Check("/statistics/data.json", SUPERVISE, ok(200))],
    (GET, "/statistics/export.xlsx"): [Check("/statistics/export.xlsx", SUPERVISE, ok(200))],
    # ------------------------------------------------------------------ cases
    (GET, "/cases"): [Check("/cases", SIGNED_IN, ok(200))],
    (GET, "/cases/export.xlsx"): [Check("/cases/export.xlsx", SIGNED_IN, ok(200))],
    (GET, "/cases/<int:case_id>"): [Check(f"/cases/{{{c}}}", readers_of(o), ok(200), of=o, label=c) for c, o in CASES],
    (GET, "/cases/<int:case_id>/diagram.bpmn"): [
        Check(f"/cases/{{{c}}}/diagram.bpmn", readers_of(o), ok(200), of=o, label=c) for c, o in CASES],
    # the case's enterprise and staff of a department taking part (lead, open or completed steps)
    (POST, "/cases/<int:case_id>/attachments"): [
        Check("/cases/{case_a}/attachments", frozenset({"enterprise_a", "industry"}), ok(400), form={}, of="a",
              label="case_a"),
        Check("/cases/{case_b}/attachments", frozenset({"enterprise_b", "industry"}), ok(400), form={}, of="b",
              label="case_b")],
    (GET, "/cases/<int:case_id>/attachments/<int:attachment_id>"): [
        Check("/cases/{case_a}/attachments/{attachment}", readers_of("a"), ok(200), of="a")],
    (GET, "/cases/enterprise-lookup"): [Check(f"/cases/enterprise-lookup?code={ENTERPRISE_A}", INTAKE, ok(200))],
    (GET, "/cases/new"): [Check("/cases/new", INTAKE, ok(200))],
    (POST, "/cases/new"): [Check("/cases/new", INTAKE, ok(400), form={})],
    (GET, "/cases/import"): [Check("/cases/import", INTAKE, ok(200))],
    (POST, "/cases/import"): [Check("/cases/import", INTAKE, ok(400), form={})],
    # a blank workbook: any staff member or administrator may fetch it
    (GET, "/cases/import/template.xlsx"): [Check("/cases/import/template.xlsx", STAFF | ADMIN, ok(200))],
    # an import batch belongs to the one who uploaded it (industry's staff member here)
    (GET, "/cases/import/<token>"): [Check("/cases/import/{batch}", frozenset({"industry"}), ok(200, 302))],
    (POST, "/cases/import/<token>/chunk"): [Check("/cases/import/{batch}/chunk", frozenset({"industry"}), ok(200),
                                                  form={})],
    (POST, "/cases/import/<token>/confirm"): [Check("/cases/import/{batch}/confirm", frozenset({"industry"}), ok(302),
                                                    form={})],
    (GET, "/cases/import/<token>/result"): [Check("/cases/import/{batch}/result", frozenset({"industry"}), ok(200))],
    # ------------------------------------------------------------------ inbox and task pages
    (GET, "/inbox"): [Check("/inbox", INBOX, ok(200))],
    (GET, "/tasks/<task_id>"): task_reads("/tasks"),
    (POST, "/tasks/<task_id>"): task_completions("/tasks", form={}),
    (POST, "/tasks/<task_id>/claim"): [
        Check("/tasks/{claim_industry}/claim", frozenset({"industry"}), ok(302), form={}, of="a", reset="unclaimed",
              label="industry"),
        Check("/tasks/{claim_enterprise}/claim", frozenset({"enterprise_a"}), ok(302), form={}, of="a",
              reset="unclaimed", label="enterprise")],
    # a task held by a colleague: only its holder, supervisors and administrators give it back
    (POST, "/tasks/<task_id>/release"): [
        Check("/tasks/{claim_industry}/release", SUPERVISE, ok(302), form={}, of="a", reset="held")],
    # ------------------------------------------------------------------ annual report
    (GET, "/reports/annual"): [Check("/reports/annual", EVERYONE, ok(200))],
    (GET, "/reports/annual/<int:year>"): [
        Check("/reports/annual/2025", EVERYONE, ok(200), label="published"),
        Check("/reports/annual/2026", DRAFT_READERS, ok(200), public=True, label="draft")],
    (GET, "/reports/annual/<int:year>.xlsx"): [
        Check("/reports/annual/2025.xlsx", EVERYONE, ok(200), label="published"),
        Check("/reports/annual/2026.xlsx", DRAFT_READERS, ok(200), public=True, label="draft")],
    (GET, "/reports/annual/tasks/<task_id>"): [Check("/reports/annual/tasks/{annual_task}", readers_of("-"), ok(200),
                                                     of="-")],
    (POST, "/reports/annual/tasks/<task_id>"): [Check("/reports/annual/tasks/{annual_task}", frozenset({"industry"}),
                                                      ok(400), form={}, of="-")],
    # ------------------------------------------------------------------ modeler (owners) and versions
    (GET, "/modeler/"): [Check("/modeler/", OWNER, ok(200))],
    (GET, "/modeler/options.json"): [Check("/modeler/options.json", OWNER, ok(200))],
    (GET, "/modeler/<process_id>"): [Check("/modeler/energy_use", OWNER, ok(200))],
    (GET, "/modeler/<process_id>/source.bpmn"): [Check("/modeler/energy_use/source.bpmn", OWNER, ok(200))],
    (POST, "/modeler/<process_id>/check"): [Check("/modeler/energy_use/check", OWNER, ok(200), raw=b"")],
    (POST, "/modeler/<process_id>/draft"): [Check("/modeler/energy_use/draft", OWNER, ok(400), raw=b"")],
    (POST, "/modeler/<process_id>/draft/discard"): [Check("/modeler/energy_use/draft/discard", OWNER, ok(302), form={})],
    (POST, "/modeler/<process_id>/deploy"): [Check("/modeler/energy_use/deploy", OWNER, ok(400), raw=b"")],
    (GET, "/forms"): [Check("/forms", VERSION_READERS, ok(200))],
    (GET, "/forms/new"): [Check("/forms/new", OWNER, ok(200))],
    (POST, "/forms/new"): [Check("/forms/new", OWNER, ok(400), form={})],
    (POST, "/forms/preview"): [Check("/forms/preview", OWNER, ok(400), raw=b"")],
    (GET, "/forms/<key>"): [Check("/forms/rectify.schema.json", OWNER, ok(200))],
    (POST, "/forms/<key>"): [Check("/forms/rectify.schema.json", OWNER, ok(400), form={})],
    (GET, "/forms/<key>/versions"): [Check("/forms/rectify.schema.json/versions", VERSION_READERS, ok(200))],
    (GET, "/forms/<key>/v<int:number>"): [Check("/forms/rectify.schema.json/v1", VERSION_READERS, ok(200))],
    (GET, "/processes"): [Check("/processes", VERSION_READERS, ok(200))],
    (GET, "/processes/<process_id>"): [Check("/processes/energy_use", VERSION_READERS, ok(200))],
    (GET, "/processes/<process_id>/v<int:version>.bpmn"): [Check("/processes/energy_use/v1.bpmn", VERSION_READERS,
                                                                 ok(200))],
    (GET, "/processes/<process_id>/diff"): [Check("/processes/energy_use/diff", VERSION_READERS, ok(200))],
    (POST, "/processes/<process_id>/cases/<int:case_id>/migrate"): [
        Check("/processes/energy_use/cases/{case_a}/migrate", MIGRATORS, ok(400), form={})],
}

CELLS = [pytest.param(method, rule, check, role, id=f"{method} {check.path}{' ' + check.label if check.label else ''}"
                      f" [{role}]")
         for (method, rule), checks in MATRIX.items() for check in checks for role in ROLES]


# ---------------------------------------------------------------------------------------------------------------
# The world: one app, one account per role, the objects the cells touch
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class World:
    app: Any
    ctx: EngineContext
    ids: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)  # pages: a signed-in test client per role
    csrf: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # API: a bearer header per role


def _account(role: str) -> tuple[str, str, str | None, str | None]:
    if role in DEPARTMENTS:
        return f"staff_{role}", "staff", role, None
    if role in ENTERPRISES:
        return role, "enterprise", None, ENTERPRISE_A if role == "enterprise_a" else ENTERPRISE_B
    return role, role, None, None


def _open(ctx: EngineContext, dimension: str, enterprise: str, lead: str = "industry") -> int:
    request = cases.NewCase(dimension=dimension, lead_department=lead, enterprise={
        "name": f"企业{enterprise[-4:]}", "credit_code": enterprise, "county": "任城区", "industry": "other"})
    return cases.start_case(ctx, actor("staff", lead), request)  # "other": no C-3.3 price branch beside rectify


def _task(ctx: EngineContext, case_id: int, key: str, department: str | None = None) -> str:
    view = cases.get_case(ctx, actor("supervisor"), case_id)
    found = [t["id"] for t in view["open_tasks"] if t["key"] == key and department in (None, t["department"])]
    assert found, f"no open {key} in case {case_id}: {view['open_tasks']}"
    return found[0]


def _work(ctx: EngineContext, case_id: int, key: str, data: dict[str, Any]) -> None:
    view = cases.get_case(ctx, actor("supervisor"), case_id)
    task = next(t for t in view["open_tasks"] if t["key"] == key)
    who = (actor("enterprise", enterprise=view["enterprise"]["credit_code"]) if task["department"] == "enterprise"
           else actor("staff", task["department"]))
    tasks.complete_task(ctx, who, task["id"], data)


def _objects(ctx: EngineContext, import_dir) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    ids["case_a"] = _open(ctx, "energy_use", ENTERPRISE_A)
    ids["rectify_a"] = _task(ctx, ids["case_a"], "rectify")
    ids["case_b"] = _open(ctx, "energy_use", ENTERPRISE_B)
    ids["rectify_b"] = _task(ctx, ids["case_b"], "rectify")
    for name in ("case_a", "case_b"):
        view = cases.get_case(ctx, actor("supervisor"), ids[name])
        ids[f"{name}_state"] = ([t["id"] for t in view["open_tasks"]], view["version"])
    reinspect = _open(ctx, "energy_use", ENTERPRISE_A)
    _work(ctx, reinspect, "rectify", {"outcome": "rectified", "report": "已整改"})
    ids["reinspect_a"] = _task(ctx, reinspect, "reinspect")
    approval = _open(ctx, "energy_use", ENTERPRISE_A)
    _work(ctx, approval, "rectify", {"outcome": "rectified", "report": "已整改"})
    _work(ctx, approval, "reinspect", {"result": "fail", "findings": "仍超限额"})
    ids["approval_a"] = _task(ctx, approval, "government_approval")
    claims = _open(ctx, "energy_use", ENTERPRISE_A)  # claimed and released by the claim cells only
    ids["claim_enterprise"] = _task(ctx, claims, "rectify")
    claims_industry = _open(ctx, "energy_use", ENTERPRISE_A)
    _work(ctx, claims_industry, "rectify", {"outcome": "rectified", "report": "已整改"})
    ids["claim_industry"] = _task(ctx, claims_industry, "reinspect")
    sealed = _open(ctx, "technology", ENTERPRISE_A)  # a current announcement of sealed equipment, led by industry
    _work(ctx, sealed, "assess_dismantling", {"dismantlable": False, "ditiaogang": False,
                                              "dismantle_deadline": "2026-06-20", "equipment": "中频炉2台"})
    _work(ctx, sealed, "seal_equipment", {"water_cut": True, "power_cut": True, "power_unit_removed": True,
                                          "equipment_sealed": True, "sealed_on": START_DAY})
    _work(ctx, sealed, "public_commitment", {"commitment": "封存设备不再恢复生产", "committed": True})
    _work(ctx, sealed, "publish_announcement", {"url": "https://www.jining.gov.cn/gg/1.html", "published_on": START_DAY})
    ids["announcement"] = announcements.current_list(ctx)[0].id
    ids["attachment"] = attachments.add_attachment(ctx, actor("enterprise", enterprise=ENTERPRISE_A), ids["case_a"],
                                                   "report.pdf", b"%PDF-1.4\n% capexit\n%%EOF\n").id
    # 2025's report published, 2026's collecting the departments' confirmations
    published = annual.start_due_report(ctx, datetime(2025, 12, 1, 0, 0, 1, tzinfo=SHANGHAI))
    for department in annual.DEPARTMENTS:
        tasks.complete_task(ctx, actor("staff", department), _task(ctx, published, "confirm_closures", department),
                            {"confirmed": True, "corrections": []})
    tasks.complete_task(ctx, actor("staff", "industry"), _task(ctx, published, "aggregate_report"),
                        {"summary": "各部门确认的依法关闭退出情况汇总如下。"})
    tasks.complete_task(ctx, actor("staff", "government"), _task(ctx, published, "government_approval"),
                        {"approved": True, "opinion": "同意公布"})
    ids["annual_case"] = annual.start_due_report(ctx, datetime(2026, 12, 1, 0, 0, 1, tzinfo=SHANGHAI))
    ids["annual_task"] = _task(ctx, ids["annual_case"], "confirm_closures", "industry")
    ids["batch"] = bulk_import.save_batch(import_dir, "staff_industry", "empty.xlsx", [])
    ids["spare_user"] = users.add_user(ctx, "spare_user", "staff", PASSWORD, department="hrss").id
    users.add_user(ctx, "holder_industry", "staff", PASSWORD, department="industry")
    accounts.add_department(ctx, actor("admin"), "spare", "备用部门", "Spare department")
    return ids


def _sign_in(world: World, role: str) -> None:
    client = world.app.test_client()
    if role == "anonymous":
        world.csrf[role] = csrf_from(client.get("/login").get_data(as_text=True))
        world.clients[role] = client
        return
    name, kind, department, enterprise = _account(role)
    users.add_user(world.ctx, name, kind, PASSWORD, department=department, enterprise=enterprise)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    world.csrf[role] = csrf_from(client.get("/public").get_data(as_text=True))
    world.clients[role] = client
    answer = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.get_json()
    world.tokens[role] = {"Authorization": f"Bearer {answer.get_json()['token']}"}


@pytest.fixture(scope="module")
def world(template_db, tmp_path_factory) -> Any:
    """An app with one account per role and the objects of the matrix, shared by the module's cells."""
    from werkzeug.security import generate_password_hash

    folder = tmp_path_factory.mktemp("authz")
    if PG_URL:
        app = create_app({**_config(PG_URL, folder), "CAPEXIT_IMPORT_DIR": str(folder / "imports")})
        _reset_postgres(app)
    else:
        shutil.copy(template_db, folder / "capexit.db")
        app = create_app({**_config(f"sqlite:///{folder / 'capexit.db'}", folder),
                          "CAPEXIT_IMPORT_DIR": str(folder / "imports")})
    with pytest.MonkeyPatch.context() as patch:  # cheap hashes, as conftest's autouse fixture does per test
        patch.setattr(users, "generate_password_hash",
                      lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))
        world = World(app, app.extensions["capexit"])
        world.ids = _objects(world.ctx, folder / "imports")
        for role in ROLES:
            _sign_in(world, role)
    yield world
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose()
    gc.collect()


def _reset(world: World, state: str, task_id: str) -> None:
    holder = None if state == "unclaimed" else "holder_industry"
    with world.ctx.unit_of_work() as session:
        session.execute(sa.update(OpenTask).where(OpenTask.id == task_id).values(claimed_by=holder))


def _request(world: World, method: str, check: Check, role: str):
    path = check.path.format(**world.ids)
    if path.startswith(API):
        client = world.app.test_client()
        headers = world.tokens.get(role, {})
        if check.raw is not None:
            return client.open(path, method=method, data=check.raw, headers=headers, content_type="application/xml")
        if check.form is not None:
            return client.open(path, method=method, data=check.form, headers=headers)
        return client.open(path, method=method, json=check.json, headers=headers)
    client = world.clients[role]
    if check.own_client:
        copy = world.app.test_client()
        cookie = client.get_cookie(world.app.config.get("SESSION_COOKIE_NAME", "session"))
        if cookie is not None:
            copy.set_cookie(cookie.key, cookie.value)
        client = copy
    if method == GET:
        return client.get(path)
    headers = {"X-CSRFToken": world.csrf[role]}
    if check.raw is not None:
        return client.post(path, data=check.raw, headers=headers, content_type="application/octet-stream")
    return client.post(path, data={**(check.form or {}), "csrf_token": world.csrf[role]}, headers=headers)


def test_every_route_has_a_matrix_entry(world):
    routes = {(method, rule.rule) for rule in world.app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert sorted(routes - MATRIX.keys()) == [], "routes without an authorization matrix entry: add them to MATRIX"
    assert sorted(MATRIX.keys() - routes) == [], "matrix entries for routes that no longer exist"


@pytest.mark.parametrize(("method", "rule", "check", "role"), CELLS)
def test_cell(world, method: str, rule: str, check: Check, role: str):
    if check.reset:
        _reset(world, check.reset, check.path.format(**world.ids).split("/")[2])
    answer = _request(world, method, check, role)
    status = answer.status_code
    location = urlsplit(answer.headers.get("Location", "")).path
    body = answer.get_data().decode("utf-8", "replace")
    assert "CSRF" not in body, f"the CSRF check refused the request: {body[:300]}"
    if role in check.allowed:
        assert status in check.ok, f"{role} may {method} {rule}: expected {sorted(check.ok)}, got {status}: {body[:300]}"
        if 300 <= status < 400 and not check.to_login:
            assert location != "/login", f"{role} was sent to the login page"
        return
    if role == "anonymous":
        if check.public:
            assert status == 404, f"anonymous {method} {rule}: expected 404, got {status}"
        elif rule.startswith(API):
            assert status == 401, f"anonymous {method} {rule}: expected 401, got {status}"
            assert answer.get_json()["errors"], "the API's error shape"
        else:
            assert status == 302 and location == "/login", f"anonymous {method} {rule}: expected the login page, " \
                                                           f"got {status} {location}"
        return
    foreign = check.of is not None and role in ENTERPRISES and (check.of == "-" or OTHER_ENTERPRISE[check.of] == role)
    expected = {404} if foreign else {403, 404}
    assert status in expected, f"{role} may not {method} {rule}: expected {sorted(expected)}, got {status}: {body[:300]}"
    if rule.startswith(API):
        error = answer.get_json()
        assert error["message"] and error["errors"], "the API's error shape"


def test_refused_cells_left_the_shared_objects_alone(world):
    """After every cell: the cases of A and B are as built, the departments and accounts are there."""
    for name in ("case_a", "case_b"):
        view = cases.get_case(world.ctx, actor("supervisor"), world.ids[name])
        assert ([t["id"] for t in view["open_tasks"]], view["version"]) == world.ids[f"{name}_state"]
    with world.ctx.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(User).where(User.active.is_(False))) == 0
        assert {"industry", "spare"} <= set(session.scalars(sa.select(Department.code)))
    assert announcements.current_list(world.ctx)[0].id == world.ids["announcement"]


# Ways to write "another site" that a naive "starts with one slash" check lets through: browsers drop tabs and
# newlines and read a backslash as a slash, so "/\t/evil.example" and "/\\evil.example" both mean //evil.example.
OFF_SITE = ("//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
            "https://evil.example", "\\\\evil.example", "/\\/evil.example", " //evil.example", "/\x0b/evil.example")


def _browser_reads(location: str) -> str:
    """The URL a browser follows for a Location header (WHATWG URL parsing drops tab/LF/CR, reads \\ as /)."""
    return location.strip().replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")


@settings(max_examples=60, deadline=None)
@given(target=st.one_of(st.sampled_from(OFF_SITE), st.text(alphabet="/\\\t\n\r :.%@evilxamp0", max_size=20)))
def test_sign_in_never_redirects_off_the_site(world, target):
    client = world.app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", query_string={"next": target},
                         data={"username": "staff_industry", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302
    followed = urlsplit(_browser_reads(answer.headers["Location"]))
    assert not followed.netloc and not followed.scheme, f"next={target!r} sent the browser to {answer.headers['Location']!r}"
