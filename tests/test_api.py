"""The HTTP contract of DESIGN.md, through the Flask test client only.

Every case here is driven through ``/api/v1``: tokens for the departments, the
enterprise and the supervisor, a case of each dimension from notice to its end,
the role rules, bad input (400 naming the field, nothing changed), the OpenAPI
document, the annual report and the simulated clock.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.models import AuditEvent, Case
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, PASSWORD

API = "/api/v1"
TODAY = "2026-03-02"
ISO_SHANGHAI = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")
CJK = re.compile(r"[\u4e00-\u9fff]")
CASE_KEYS = {"id", "dimension", "status", "lead_department", "deadline", "deadline_rule", "open_tasks", "history"}
TASK_KEYS = {"id", "key", "name", "department", "due"}
UNPRICED = "flat_glass"  # energy_use without the C-3.3 price measure (tests/test_measures.py has those)
FUNDS = {"eligible": True, "amount": 120, "basis": "符合职工安置专项资金支持条件"}


# ---------------------------------------------------------------------------------------------------------------
# helpers


def case_body(dimension: str, *, code: str = ENTERPRISE_A, industry: str = "steel", lead: str | None = None,
              finding: dict | None = None, name: str = "济宁测试钢铁有限公司") -> dict[str, Any]:
    body: dict[str, Any] = {"dimension": dimension, "finding": finding or {"standard": "GB 21256", "evidence": "检查记录"},
                            "enterprise": {"name": name, "credit_code": code, "county": "任城区", "industry": industry}}
    if lead is not None:
        body["lead_department"] = lead
    return body


def open_case(client, headers, dimension: str, **kwargs) -> dict[str, Any]:
    answer = client.post(f"{API}/cases", json=case_body(dimension, **kwargs), headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def get_case(client, headers, case_id: int) -> dict[str, Any]:
    answer = client.get(f"{API}/cases/{case_id}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def task_of(case: dict[str, Any], key: str) -> dict[str, Any]:
    matching = [t for t in case["open_tasks"] if t["key"] == key]
    assert matching, f"no open {key!r}: {[t['key'] for t in case['open_tasks']]}"
    return matching[0]


def complete(client, headers, case: dict[str, Any], key: str, data: dict[str, Any]) -> dict[str, Any]:
    """Complete the open task ``key`` of ``case`` through the API as ``headers``; returns the case after it."""
    task = task_of(case, key)
    answer = client.post(f"{API}/tasks/{task['id']}/complete", json=data, headers=headers)
    assert answer.status_code == 200, (key, answer.get_json())
    body = answer.get_json()
    check_case_shape(body)
    return body


def check_case_shape(case: dict[str, Any]) -> None:
    assert CASE_KEYS <= set(case), set(case) ^ CASE_KEYS
    assert isinstance(case["id"], int)
    assert case["status"] in ("open", "compliant", "exited")
    for task in case["open_tasks"]:
        assert TASK_KEYS <= set(task), task
        assert task["due"] is None or date.fromisoformat(task["due"])
    for event in case["history"]:
        assert {"at", "actor", "action"} <= set(event), event
        assert ISO_SHANGHAI.match(event["at"]), event["at"]
    if case["deadline"] is not None:
        date.fromisoformat(case["deadline"])
        assert case["deadline_rule"]


def case_count(ctx) -> int:
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Case))


def errors_fields(answer) -> set[str]:
    body = answer.get_json()
    assert "errors" in body and isinstance(body["errors"], list), body
    return {e.get("field") for e in body["errors"]}


@pytest.fixture
def who(api_token):
    """Bearer headers for the parties of a case, made once per test on demand."""
    made: dict[tuple, dict[str, str]] = {}

    def get(role: str, department: str | None = None, enterprise: str | None = None) -> dict[str, str]:
        key = (role, department, enterprise)
        if key not in made:
            made[key] = api_token(role, department=department, enterprise=enterprise)
        return made[key]

    return get


def in_days(days: int, start: str = TODAY) -> str:
    return (date.fromisoformat(start) + timedelta(days=days)).isoformat()


# ---------------------------------------------------------------------------------------------------------------
# authentication


def test_token_good_password(client, api_token, ctx):
    from engine.services import users

    users.add_user(ctx, "alice", "supervisor", PASSWORD)
    answer = client.post(f"{API}/auth/token", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 200
    token = answer.get_json()["token"]
    assert isinstance(token, str) and len(token) >= 20
    assert client.get(f"{API}/timers", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("body", [{"username": "alice", "password": "wrong-password"},
                                  {"username": "nobody", "password": PASSWORD}])
def test_token_bad_password_is_403_without_token(client, ctx, body):
    from engine.services import users

    users.add_user(ctx, "alice", "supervisor", PASSWORD)
    answer = client.post(f"{API}/auth/token", json=body)
    assert answer.status_code == 403
    assert "token" not in answer.get_json()


@pytest.mark.parametrize("kwargs", [{}, {"data": "username=alice", "content_type": "text/plain"},
                                    {"json": ["alice", PASSWORD]}])
def test_token_missing_body_is_400(client, kwargs):
    answer = client.post(f"{API}/auth/token", **kwargs)
    assert answer.status_code == 400
    assert "token" not in answer.get_json()


PROTECTED = [
    ("post", "/cases"), ("get", "/cases/1"), ("get", "/tasks"), ("get", "/tasks/abc"),
    ("post", "/tasks/abc/complete"), ("get", "/timers"), ("post", "/clock/advance"), ("post", "/definitions"),
    ("get", "/definitions/energy_use"), ("get", "/reports/annual/2026.xlsx"),
]


def test_every_route_needs_a_token(client):
    for method, path in PROTECTED:
        for header in (None, "Bearer not-a-token", "Bearer ", "Basic YWxpY2U6cHc="):
            headers = {"Authorization": header} if header else {}
            answer = getattr(client, method)(f"{API}{path}", json={}, headers=headers)
            assert answer.status_code == 401, (method, path, header, answer.get_json())
            assert answer.get_json()["errors"]


# ---------------------------------------------------------------------------------------------------------------
# a case of each dimension, from notice to its end, through the API only


def test_energy_use_extension_then_compliant(client, who):
    industry = who("staff", "industry")
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    case = open_case(client, industry, "energy_use", industry=UNPRICED)
    assert isinstance(case["id"], int)
    case = get_case(client, industry, case["id"])
    check_case_shape(case)
    assert set(case) >= CASE_KEYS
    assert (case["dimension"], case["status"], case["lead_department"]) == ("energy_use", "open", "industry")
    # notice 2026-03-02 + 6 months = 2026-09-02 (a Wednesday, a working day)
    assert case["deadline"] == "2026-09-02"
    assert case["deadline_rule"]
    assert [t["key"] for t in case["open_tasks"]] == ["rectify"]
    rectify = case["open_tasks"][0]
    assert rectify["department"] == "enterprise"
    assert rectify["due"] == "2026-09-02"
    assert case["history"][0]["action"] == "case_opened"
    assert case["history"][0]["at"].startswith("2026-03-02T09:00:00")

    # the enterprise sees its task with its form and data
    mine = client.get(f"{API}/tasks", headers=firm).get_json()
    assert [t["id"] for t in mine] == [rectify["id"]]
    assert {"id", "case_id", "key", "name", "department", "due"} <= set(mine[0])
    assert mine[0]["case_id"] == case["id"]
    detail = client.get(f"{API}/tasks/{rectify['id']}", headers=firm).get_json()
    assert detail["form"]["type"] == "object" and "outcome" in detail["form"]["properties"]
    assert "data" in detail and isinstance(detail["data"], dict)

    case = complete(client, firm, case, "rectify",
                    {"outcome": "extension_requested", "extension_months": 2, "reason": "设备改造周期较长"})
    assert [t["key"] for t in case["open_tasks"]] == ["review_extension"]
    assert case["open_tasks"][0]["department"] == "industry"
    assert client.get(f"{API}/tasks", headers=firm).get_json() == []
    assert [t["key"] for t in client.get(f"{API}/tasks", headers=industry).get_json()] == ["review_extension"]

    case = complete(client, industry, case, "review_extension", {"approved": True, "opinion": "同意延期两个月"})
    assert case["deadline"] == "2026-11-02"  # extended by 2 months
    assert task_of(case, "rectify")["due"] == "2026-11-02"
    case = complete(client, firm, case, "rectify", {"outcome": "rectified", "report": "已完成节能改造"})
    case = complete(client, industry, case, "reinspect", {"result": "pass", "findings": "能耗达标"})
    assert case["status"] == "compliant"
    assert case["open_tasks"] == []
    assert case["deadline"] is None
    actions = [e["action"] for e in case["history"]]
    assert actions[0] == "case_opened" and actions.count("task_completed") == 4
    assert len({e["actor"] for e in case["history"]}) >= 2  # the staff member and the enterprise user


def test_environmental_overdue_to_exited_and_annual_report(client, who):
    env = who("staff", "environment")
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    supervisor = who("supervisor")
    case = open_case(client, env, "environmental", industry="cement")
    case = get_case(client, env, case["id"])
    assert (case["lead_department"], case["deadline"]) == ("environment", "2026-09-02")

    timers = client.get(f"{API}/timers", headers=supervisor)
    assert timers.status_code == 200
    rows = [t for t in timers.get_json() if t["case_id"] == case["id"]]
    assert len(rows) == 1 and {"case_id", "task_key", "due_at"} <= set(rows[0])
    assert rows[0]["task_key"] == "rectify_deadline"
    assert ISO_SHANGHAI.match(rows[0]["due_at"])
    assert datetime.fromisoformat(rows[0]["due_at"]).date() == date(2026, 9, 3)  # the day after the last day

    moved = client.post(f"{API}/clock/advance", json={"by": "P7M"}, headers=supervisor)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["now"].startswith("2026-10-02T09:00:00")
    assert moved.get_json()["fired"] >= 1

    case = get_case(client, supervisor, case["id"])
    assert case["status"] == "open"
    assert [t["key"] for t in case["open_tasks"]] == ["government_approval"]
    assert "timer_fired" in [e["action"] for e in case["history"]]
    assert [t for t in client.get(f"{API}/timers", headers=supervisor).get_json() if t["case_id"] == case["id"]] == []
    assert client.get(f"{API}/tasks", headers=firm).get_json() == []

    government = who("staff", "government")
    case = complete(client, government, case, "government_approval", {"approved": True, "opinion": "同意关停"})
    case = complete(client, env, case, "close_order",
                    {"order_no": "济环关〔2026〕1号", "order_date": "2026-10-02", "grounds": "逾期未整改"})
    case = complete(client, env, case, "record_exit",
                    {"equipment": "2500t/d 熟料生产线", "capacity_tpy": 750000, "exit_date": "2026-10-02"})
    # a missed rectification deadline leads to closure, not to credit listing (that is for missed exit deadlines)
    assert {t["key"]: t["department"] for t in case["open_tasks"]} == {
        "resettle_workers": "hrss", "cancel_licence": "market"}
    case = complete(client, who("staff", "hrss"), case, "resettle_workers", {"workers_affected": 120, "plan": "转岗安置"})
    assert case["status"] == "open"
    case = complete(client, who("staff", "finance"), case, "review_special_funds", FUNDS)
    case = complete(client, who("staff", "market"), case, "cancel_licence",
                    {"licence_no": "XK08-001", "authority": "省市场监管局", "requested_on": "2026-10-02"})
    assert case["status"] == "exited"
    assert case["open_tasks"] == [] and case["deadline"] is None

    # the annual report lists the exited case
    from openpyxl import load_workbook

    report = client.get(f"{API}/reports/annual/2026.xlsx", headers=supervisor)
    assert report.status_code == 200
    assert report.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(report.data))
    values = [cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row]
    assert ENTERPRISE_A in values
    assert case["id"] in values
    assert 750000 in values
    empty = load_workbook(io.BytesIO(client.get(f"{API}/reports/annual/2025.xlsx", headers=supervisor).data))
    assert ENTERPRISE_A not in [c for row in empty.worksheets[0].iter_rows(values_only=True) for c in row]


def test_quality_refused_closure_then_compliant(client, who):
    market = who("staff", "market")
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    case = open_case(client, market, "quality", industry="flat_glass")
    case = get_case(client, market, case["id"])
    assert case["lead_department"] == "market"
    case = complete(client, market, case, "order_stop", {"order_no": "济市监〔2026〕3号", "order_date": TODAY})
    case = complete(client, firm, case, "rectify", {"outcome": "rectified", "report": "更换熔窑"})
    case = complete(client, market, case, "reinspect", {"result": "fail", "findings": "仍不合格"})
    government = who("staff", "government")
    case = complete(client, government, case, "government_approval", {"approved": False, "opinion": "再次复查"})
    assert [t["key"] for t in case["open_tasks"]] == ["reinspect"]
    case = complete(client, market, case, "reinspect", {"result": "pass", "findings": "复查合格"})
    assert case["status"] == "compliant"


def test_safety_suspension_to_exited(client, who):
    emergency = who("staff", "emergency")
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    case = open_case(client, emergency, "safety")
    case = get_case(client, emergency, case["id"])
    assert case["lead_department"] == "emergency"
    case = complete(client, emergency, case, "order_suspension",
                    {"order_no": "济应急停〔2026〕1号", "rectify_until": in_days(60), "requirements": "完成安全整改"})
    # 1 May 2026 falls in the Labour Day holiday (1-5 May): the period ends on the next working day
    assert case["deadline"] == "2026-05-06"
    assert task_of(case, "rectify")["due"] == "2026-05-06"
    case = complete(client, firm, case, "rectify", {"outcome": "rectified", "report": "已整改"})
    case = complete(client, emergency, case, "reinspect", {"result": "fail", "findings": "重大隐患未消除"})
    case = complete(client, who("staff", "government"), case, "government_approval",
                    {"approved": True, "opinion": "同意关闭"})
    case = complete(client, emergency, case, "close_order",
                    {"order_no": "济应急关〔2026〕1号", "order_date": TODAY, "grounds": "整顿后仍不具备安全生产条件"})
    case = complete(client, emergency, case, "record_exit",
                    {"equipment": "1080m³ 高炉", "capacity_tpy": 1000000, "exit_date": TODAY})
    assert {t["key"]: t["department"] for t in case["open_tasks"]} == {
        "resettle_workers": "hrss", "revoke_licences_notice": "emergency"}
    case = complete(client, emergency, case, "revoke_licences_notice",
                    {"licences": "安全生产许可证", "notified_departments": "市场监管、生态环境"})
    case = complete(client, who("staff", "hrss"), case, "resettle_workers", {"workers_affected": 300, "plan": "内部转岗"})
    assert case["status"] == "open"
    case = complete(client, who("staff", "finance"), case, "review_special_funds", FUNDS)
    assert case["status"] == "exited"


def test_technology_dismantle_to_exited(client, who):
    industry = who("staff", "industry")
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    case = open_case(client, industry, "technology")
    case = get_case(client, industry, case["id"])
    case = complete(client, industry, case, "assess_dismantling", {
        "dismantlable": True, "ditiaogang": False, "dismantle_deadline": "2026-06-01", "equipment": "中频炉 2 台"})
    assert [t["key"] for t in case["open_tasks"]] == ["dismantle"]
    assert case["deadline"] == "2026-06-01"
    case = complete(client, firm, case, "dismantle", {"dismantled_on": TODAY, "report": "已拆除"})
    case = complete(client, industry, case, "reinspect", {"result": "pass", "findings": "已拆除到位"})
    case = complete(client, industry, case, "record_exit",
                    {"equipment": "中频炉 2 台", "capacity_tpy": 50000, "exit_date": TODAY})
    case = complete(client, who("staff", "hrss"), case, "resettle_workers", {"workers_affected": 0, "plan": "无"})
    case = complete(client, who("staff", "finance"), case, "review_special_funds",
                    {"eligible": False, "basis": "无职工安置"})
    case = complete(client, who("staff", "market"), case, "cancel_licence",
                    {"licence_no": "XK05-002", "authority": "省市场监管局", "requested_on": TODAY})
    assert case["status"] == "exited"


def test_phase_out_missed_exit_deadline_to_exited_with_credit_listing(client, who):
    development = who("staff", "development")
    supervisor = who("supervisor")
    case = open_case(client, development, "phase_out", industry="aluminium", lead="development")
    case = get_case(client, development, case["id"])
    assert case["lead_department"] == "development"
    assert case["deadline"] is None  # the department sets the exit deadline
    case = complete(client, development, case, "screen_item", {
        "catalogue_item": "160kA 以下预焙槽", "exit_method": "close_enterprise", "exit_deadline": in_days(30)})
    assert case["deadline"] == in_days(30)
    assert task_of(case, "exit_report")["department"] == "enterprise"

    moved = client.post(f"{API}/clock/advance", json={"by": "P2M"}, headers=supervisor)
    assert moved.status_code == 200 and moved.get_json()["fired"] == 1
    case = get_case(client, development, case["id"])
    assert [t["key"] for t in case["open_tasks"]] == ["government_approval"]
    assert client.get(f"{API}/tasks", headers=who("enterprise", enterprise=ENTERPRISE_A)).get_json() == []

    case = complete(client, who("staff", "government"), case, "government_approval",
                    {"approved": True, "opinion": "同意关停"})
    case = complete(client, development, case, "close_order",
                    {"order_no": "济发改关〔2026〕2号", "order_date": "2026-05-02", "grounds": "逾期未退出"})
    case = complete(client, development, case, "record_exit",
                    {"equipment": "预焙槽", "capacity_tpy": 80000, "exit_date": "2026-05-02"})
    assert {t["key"]: t["department"] for t in case["open_tasks"]} == {
        "resettle_workers": "hrss", "cancel_licence": "market", "credit_listing": "development",
        "restrict_credit_pboc": "pboc", "restrict_credit_banking": "banking", "dispose_land": "land"}
    case = complete(client, who("staff", "hrss"), case, "resettle_workers", {"workers_affected": 50, "plan": "安置"})
    case = complete(client, who("staff", "finance"), case, "review_special_funds", FUNDS)
    case = complete(client, who("staff", "market"), case, "cancel_licence",
                    {"licence_no": "XK-3", "authority": "省局", "requested_on": "2026-05-02"})
    case = complete(client, who("staff", "pboc"), case, "restrict_credit_pboc", {
        "credit_system_recorded": True, "guidance_issued_on": "2026-05-02", "measures": "严控新增授信"})
    case = complete(client, who("staff", "banking"), case, "restrict_credit_banking", {
        "new_credit_stopped": True, "loan_balance": 2000, "reduction_plan": "年内压缩退出", "notified_on": "2026-05-02"})
    case = complete(client, who("staff", "land"), case, "dispose_land", {
        "disposal_method": "market_redevelopment", "area_m2": 30000, "plan": "引入市场主体开发改造"})
    case = complete(client, who("staff", "finance"), case, "land_funds", {"amount": 0, "budget_basis": "非划拨土地"})
    assert case["status"] == "open"
    case = complete(client, development, case, "credit_listing",
                    {"listed_on": "2026-05-02", "platforms": "信用中国（山东济宁）", "published": True})
    assert case["status"] == "exited"


def test_timers_soonest_first(client, who):
    supervisor = who("supervisor")
    industry = who("staff", "industry")
    emergency = who("staff", "emergency")
    first = open_case(client, industry, "energy_use")  # due 2026-09-03
    second = open_case(client, emergency, "safety", code=ENTERPRISE_B)
    second = complete(client, emergency, get_case(client, emergency, second["id"]), "order_suspension",
                      {"order_no": "1", "rectify_until": in_days(10)})
    rows = client.get(f"{API}/timers", headers=supervisor).get_json()
    assert [r["case_id"] for r in rows] == [second["id"], first["id"]]
    dues = [datetime.fromisoformat(r["due_at"]) for r in rows]
    assert dues == sorted(dues)


# ---------------------------------------------------------------------------------------------------------------
# role rules


def test_other_department_cannot_complete(client, who, ctx):
    industry = who("staff", "industry")
    case = open_case(client, industry, "energy_use", industry=UNPRICED)
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    case = complete(client, firm, get_case(client, industry, case["id"]), "rectify",
                    {"outcome": "rectified", "report": "done"})
    task = task_of(case, "reinspect")
    before = get_case(client, industry, case["id"])
    for intruder in (who("staff", "environment"), who("staff", "government"), firm, who("supervisor"),
                     who("owner")):
        answer = client.post(f"{API}/tasks/{task['id']}/complete", json={"result": "pass", "findings": "x"},
                             headers=intruder)
        assert answer.status_code == 403, answer.get_json()
    after = get_case(client, industry, case["id"])
    assert after == before
    assert [t["id"] for t in after["open_tasks"]] == [task["id"]]


def test_enterprise_isolation(client, who):
    industry = who("staff", "industry")
    a = who("enterprise", enterprise=ENTERPRISE_A)
    b = who("enterprise", enterprise=ENTERPRISE_B)
    case_a = open_case(client, industry, "energy_use", code=ENTERPRISE_A)
    case_b = open_case(client, industry, "energy_use", code=ENTERPRISE_B, name="乙公司")
    answer = client.get(f"{API}/cases/{case_a['id']}", headers=b)
    assert answer.status_code == 404
    assert client.get(f"{API}/cases/{case_b['id']}", headers=b).status_code == 200
    tasks_b = client.get(f"{API}/tasks", headers=b).get_json()
    assert [t["case_id"] for t in tasks_b] == [case_b["id"]]
    rectify_a = task_of(get_case(client, industry, case_a["id"]), "rectify")
    assert client.get(f"{API}/tasks/{rectify_a['id']}", headers=b).status_code == 404
    answer = client.post(f"{API}/tasks/{rectify_a['id']}/complete", json={"outcome": "rectified"}, headers=b)
    assert answer.status_code == 404
    assert task_of(get_case(client, industry, case_a["id"]), "rectify")["id"] == rectify_a["id"]
    # A still does its own
    assert [t["case_id"] for t in client.get(f"{API}/tasks", headers=a).get_json()] == [case_a["id"]]


@pytest.mark.parametrize(("department", "dimension"), [("hrss", "environmental"), ("industry", "environmental"),
                                                       ("environment", "quality"), ("market", "energy_use"),
                                                       ("government", "safety")])
def test_department_that_may_not_lead_cannot_open(client, who, ctx, department, dimension):
    before = case_count(ctx)
    answer = client.post(f"{API}/cases", json=case_body(dimension), headers=who("staff", department))
    assert answer.status_code == 403, answer.get_json()
    assert case_count(ctx) == before


@pytest.mark.parametrize("role", ["supervisor", "owner", "enterprise"])
def test_non_staff_cannot_open(client, who, ctx, role):
    headers = who(role, enterprise=ENTERPRISE_A if role == "enterprise" else None)
    answer = client.post(f"{API}/cases", json=case_body("energy_use"), headers=headers)
    assert answer.status_code == 403
    assert case_count(ctx) == 0


def test_timers_supervisor_only(client, who):
    assert client.get(f"{API}/timers", headers=who("supervisor")).status_code == 200
    assert client.get(f"{API}/timers", headers=who("staff", "industry")).status_code == 403
    assert client.get(f"{API}/timers", headers=who("enterprise", enterprise=ENTERPRISE_A)).status_code == 403


def test_only_owners_deploy(client, who, app):
    bpmn = (app.extensions["capexit"].processes_dir / "energy_use.bpmn").read_bytes()
    edited = bpmn.replace("能耗不达标产能整改退出".encode(), "能耗不达标产能整改退出（修订）".encode())
    for role, dept in (("staff", "industry"), ("supervisor", None), ("admin", None)):
        answer = client.post(f"{API}/definitions", data=edited, content_type="application/xml",
                             headers=who(role, dept))
        assert answer.status_code == 403, role
    owner = who("owner")
    assert client.get(f"{API}/definitions/energy_use", headers=owner).get_json()["version"] == 1
    answer = client.post(f"{API}/definitions", data=edited, content_type="application/xml", headers=owner)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"process_id": "energy_use", "version": 2}


def test_clock_advance_by_staff_is_403(client, who):
    staff = who("staff", "industry")
    assert client.post(f"{API}/clock/advance", json={"by": "P1D"}, headers=staff).status_code == 403
    assert client.post(f"{API}/clock/advance", json={"by": "P1D"},
                       headers=who("enterprise", enterprise=ENTERPRISE_A)).status_code == 403
    # unchanged: a case opened now still has today's notice date
    case = get_case(client, staff, open_case(client, staff, "energy_use")["id"])
    assert case["history"][0]["at"].startswith("2026-03-02T09:00")


def test_report_refused_to_enterprise_and_bad_years(client, who):
    answer = client.get(f"{API}/reports/annual/2026.xlsx", headers=who("enterprise", enterprise=ENTERPRISE_A))
    assert answer.status_code == 403
    assert client.get(f"{API}/reports/annual/1900.xlsx", headers=who("supervisor")).status_code == 400
    assert client.get(f"{API}/reports/annual/next.xlsx", headers=who("supervisor")).status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# bad input: 400 naming the field, nothing changed


BAD_CODE = ENTERPRISE_A[:17] + ("0" if ENTERPRISE_A[17] != "0" else "1")


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda b: b["enterprise"].update(credit_code=BAD_CODE), "enterprise.credit_code"),
    (lambda b: b["enterprise"].update(credit_code=ENTERPRISE_A[:17]), "enterprise.credit_code"),
    (lambda b: b["enterprise"].update(credit_code=ENTERPRISE_A + "0"), "enterprise.credit_code"),
    (lambda b: b["enterprise"].update(credit_code="91370800MA3I00010" + "0"), "enterprise.credit_code"),
    (lambda b: b["enterprise"].update(credit_code=""), "enterprise.credit_code"),
    (lambda b: b.update(dimension="noise"), "dimension"),
    (lambda b: b["enterprise"].update(industry="textiles"), "enterprise.industry"),
    (lambda b: b.update(lead_department="environment"), "lead_department"),
    (lambda b: b.update(lead_department="nosuch"), "lead_department"),
    (lambda b: b["enterprise"].update(name=""), "enterprise.name"),
])
def test_bad_case_input(client, who, ctx, mutate, field):
    body = case_body("energy_use")
    mutate(body)
    before = case_count(ctx)
    answer = client.post(f"{API}/cases", json=body, headers=who("staff", "industry"))
    assert answer.status_code == 400, answer.get_json()
    assert field in errors_fields(answer)
    assert case_count(ctx) == before


@pytest.mark.parametrize("role", ["enterprise", "supervisor", "owner"])
def test_who_may_not_open_cases_is_refused_before_the_data_is_checked(client, who, ctx, role):
    body = case_body("energy_use")
    body["enterprise"]["credit_code"] = BAD_CODE
    headers = who(role, enterprise=ENTERPRISE_A if role == "enterprise" else None)
    answer = client.post(f"{API}/cases", json=body, headers=headers)
    assert answer.status_code == 403, answer.get_json()
    assert "enterprise.credit_code" not in errors_fields(answer)
    assert case_count(ctx) == 0


@pytest.mark.parametrize("industry", [["steel"], {"code": "steel"}])
def test_industry_of_the_wrong_type_is_400(client, who, ctx, industry):
    body = case_body("energy_use")
    body["enterprise"]["industry"] = industry
    answer = client.post(f"{API}/cases", json=body, headers=who("staff", "industry"))
    assert answer.status_code == 400
    assert "enterprise.industry" in errors_fields(answer)
    assert case_count(ctx) == 0


def test_bad_credit_code_messages_language(client, who):
    body = case_body("energy_use")
    body["enterprise"]["credit_code"] = BAD_CODE
    staff = who("staff", "industry")
    zh = client.post(f"{API}/cases", json=body, headers=staff).get_json()
    en = client.post(f"{API}/cases", json=body, headers={**staff, "Accept-Language": "en"}).get_json()
    zh_msg = next(e["message"] for e in zh["errors"] if e.get("field") == "enterprise.credit_code")
    en_msg = next(e["message"] for e in en["errors"] if e.get("field") == "enterprise.credit_code")
    assert CJK.search(zh_msg) and CJK.search(zh["message"])
    assert not CJK.search(en_msg) and not CJK.search(en["message"])
    assert "check character" in en_msg
    assert "18" in zh_msg


def test_forbidden_letter_names_position(client, who):
    body = case_body("energy_use")
    body["enterprise"]["credit_code"] = "91370800MA3I0001" + "00"
    answer = client.post(f"{API}/cases", json=body, headers={**who("staff", "industry"), "Accept-Language": "en"})
    assert answer.status_code == 400
    message = next(e["message"] for e in answer.get_json()["errors"] if e.get("field") == "enterprise.credit_code")
    assert "'I'" in message and "position 12" in message


def test_credit_code_with_lowercase_and_spaces_is_accepted(client, who):
    spaced = " ".join([ENTERPRISE_A[:6], ENTERPRISE_A[6:].lower()])
    case = open_case(client, who("staff", "industry"), "energy_use", code=spaced)
    assert case["enterprise"]["credit_code"] == ENTERPRISE_A


@pytest.fixture
def energy_case(client, who):
    """An energy_use case opened by industry staff; returns (case, staff headers, enterprise headers)."""
    industry = who("staff", "industry")
    case = open_case(client, industry, "energy_use")
    return get_case(client, industry, case["id"]), industry, who("enterprise", enterprise=ENTERPRISE_A)


def _version(ctx, case_id: int) -> int:
    with ctx.unit_of_work() as session:
        return session.get(Case, case_id).version


@pytest.mark.parametrize(("data", "field"), [
    ({}, "outcome"),
    ({"report": "x"}, "outcome"),
    ({"outcome": "given_up"}, "outcome"),
    ({"outcome": "extension_requested", "extension_months": 4, "reason": "x"}, "extension_months"),
    ({"outcome": "extension_requested", "extension_months": 0, "reason": "x"}, "extension_months"),
    ({"outcome": "extension_requested", "extension_months": "2", "reason": "x"}, "extension_months"),
    ({"outcome": "extension_requested", "reason": "x"}, "extension_months"),
    ({"outcome": "rectified", "colour": "red"}, None),
])
def test_bad_form_data(client, ctx, energy_case, data, field):
    case, _, firm = energy_case
    task = task_of(case, "rectify")
    version = _version(ctx, case["id"])
    answer = client.post(f"{API}/tasks/{task['id']}/complete", json=data, headers=firm)
    assert answer.status_code == 400, answer.get_json()
    if field is not None:
        assert field in errors_fields(answer)
    assert _version(ctx, case["id"]) == version
    assert get_case(client, firm, case["id"])["open_tasks"] == case["open_tasks"]


@pytest.mark.parametrize(("body", "field"), [
    ('{"outcome": "rectified", "report": "已整改\\ud800"}', "report"),
    ('{"outcome": "rectified", "report": "\\udc00已整改"}', "report"),
    ('{"outcome": "rectified", "report": "已整改\\u0000"}', "report"),
    ('{"outcome": "rectified", "\\ud83d": "x"}', None),
])
def test_text_that_cannot_be_stored_is_400(client, ctx, energy_case, body, field):
    """Half of a surrogate pair (a "\\ud800" escape alone) or NUL: refused with the field, nothing changed."""
    case, _, firm = energy_case
    task = task_of(case, "rectify")
    version = _version(ctx, case["id"])
    answer = client.post(f"{API}/tasks/{task['id']}/complete", data=body.encode(), headers=firm,
                         content_type="application/json")
    assert answer.status_code == 400, answer.get_data(as_text=True)
    if field is not None:
        assert errors_fields(answer) == {field}
    assert _version(ctx, case["id"]) == version
    assert get_case(client, firm, case["id"])["open_tasks"] == case["open_tasks"]


def test_text_that_cannot_be_stored_is_400_when_opening_a_case(client, ctx, who):
    staff = who("staff", "industry")
    body = case_body("energy_use")
    body["enterprise"]["name"] = "某钢铁\ud800公司"
    answer = client.post(f"{API}/cases", json=body, headers=staff)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert errors_fields(answer) == {"enterprise.name"}
    assert "surrogate" in client.post(f"{API}/cases", json=body, headers={**staff, "Accept-Language": "en"}
                                      ).get_json()["errors"][0]["message"]
    with ctx.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_form_errors_in_both_languages(client, energy_case):
    case, _, firm = energy_case
    task = task_of(case, "rectify")
    url = f"{API}/tasks/{task['id']}/complete"
    zh = client.post(url, json={"outcome": "given_up"}, headers=firm).get_json()
    en = client.post(url, json={"outcome": "given_up"}, headers={**firm, "Accept-Language": "en-GB,en;q=0.9"}).get_json()
    assert CJK.search(zh["errors"][0]["message"])
    assert not CJK.search(en["errors"][0]["message"]) and not CJK.search(en["message"])


@pytest.mark.parametrize(("dimension", "lead", "first"), [
    ("quality", "market", ("order_stop", {"order_no": "1", "order_date": TODAY})),
    ("safety", "emergency", ("order_suspension", {"order_no": "1", "rectify_until": "2026-06-01"})),
])
def test_no_extension_in_quality_and_safety(client, ctx, who, dimension, lead, first):
    staff = who("staff", lead)
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    case = open_case(client, staff, dimension)
    case = complete(client, staff, get_case(client, staff, case["id"]), *first)
    task = task_of(case, "rectify")
    version = _version(ctx, case["id"])
    answer = client.post(f"{API}/tasks/{task['id']}/complete", headers=firm,
                         json={"outcome": "extension_requested", "extension_months": 1, "reason": "需要时间"})
    assert answer.status_code == 400
    assert "outcome" in errors_fields(answer)
    assert _version(ctx, case["id"]) == version


def test_a_stop_order_dated_after_today_is_400_naming_the_field(client, ctx, who):
    market = who("staff", "market")
    case = get_case(client, market, open_case(client, market, "quality")["id"])
    task = task_of(case, "order_stop")
    version = _version(ctx, case["id"])
    url = f"{API}/tasks/{task['id']}/complete"
    answer = client.post(url, json={"order_no": "1", "order_date": in_days(1)}, headers=market)
    assert answer.status_code == 400, answer.get_json()
    (error,) = answer.get_json()["errors"]
    assert error == {"field": "order_date", "message": f"「责令日期」不能晚于今天（{TODAY}），填写的是 {in_days(1)}"}
    assert _version(ctx, case["id"]) == version
    assert get_case(client, market, case["id"])["open_tasks"] == case["open_tasks"]
    case = complete(client, market, case, "order_stop", {"order_no": "1", "order_date": TODAY})
    assert [t["key"] for t in case["open_tasks"]] == ["rectify"]


def test_second_extension_request_is_400(client, ctx, energy_case):
    case, industry, firm = energy_case
    case = complete(client, firm, case, "rectify", {"outcome": "extension_requested", "extension_months": 1,
                                                     "reason": "设备到货延迟"})
    case = complete(client, industry, case, "review_extension", {"approved": False, "opinion": "不同意"})
    task = task_of(case, "rectify")
    version = _version(ctx, case["id"])
    answer = client.post(f"{API}/tasks/{task['id']}/complete", headers=firm,
                         json={"outcome": "extension_requested", "extension_months": 1, "reason": "再次申请"})
    assert answer.status_code == 400
    assert errors_fields(answer) & {"outcome", "extension_months"}
    assert _version(ctx, case["id"]) == version
    assert case["deadline"] == "2026-09-02"  # refused: the deadline did not move
    assert get_case(client, firm, case["id"])["open_tasks"] == case["open_tasks"]


def test_task_completed_twice_is_409(client, ctx, energy_case):
    case, _, firm = energy_case
    task = task_of(case, "rectify")
    url = f"{API}/tasks/{task['id']}/complete"
    assert client.post(url, json={"outcome": "rectified"}, headers=firm).status_code == 200
    version = _version(ctx, case["id"])
    again = client.post(url, json={"outcome": "rectified"}, headers=firm)
    assert again.status_code == 409
    assert again.get_json()["errors"]
    assert _version(ctx, case["id"]) == version


def test_unknown_task_is_404(client, energy_case):
    _, industry, _ = energy_case
    for task_id in ("00000000-0000-0000-0000-000000000000", "nope"):
        assert client.get(f"{API}/tasks/{task_id}", headers=industry).status_code == 404
        answer = client.post(f"{API}/tasks/{task_id}/complete", json={"result": "pass"}, headers=industry)
        assert answer.status_code == 404
    assert client.get(f"{API}/cases/99999", headers=industry).status_code == 404


def test_non_json_body_is_400(client, ctx, energy_case):
    case, industry, firm = energy_case
    before = case_count(ctx)
    for kwargs in ({"data": "dimension=energy_use", "content_type": "text/plain"},
                   {"data": "{not json", "content_type": "application/json"},
                   {"json": ["energy_use"]}):
        answer = client.post(f"{API}/cases", headers=industry, **kwargs)
        assert answer.status_code == 400, kwargs
        assert answer.get_json()["errors"]
    assert case_count(ctx) == before
    task = task_of(case, "rectify")
    version = _version(ctx, case["id"])
    for kwargs in ({"data": "{not json", "content_type": "application/json"}, {"json": ["rectified"]}):
        answer = client.post(f"{API}/tasks/{task['id']}/complete", headers=firm, **kwargs)
        assert answer.status_code == 400, kwargs
    assert _version(ctx, case["id"]) == version


def test_errors_are_chinese_by_default_english_on_request(client, who):
    body = case_body("noise")
    staff = who("staff", "industry")
    zh = client.post(f"{API}/cases", json=body, headers=staff).get_json()
    en = client.post(f"{API}/cases", json=body, headers={**staff, "Accept-Language": "en"}).get_json()
    assert CJK.search(zh["message"]) and all(CJK.search(e["message"]) for e in zh["errors"])
    assert not CJK.search(en["message"]) and "dimension" in en["errors"][0]["message"]
    unauth_en = client.get(f"{API}/tasks", headers={"Accept-Language": "en"}).get_json()
    assert not CJK.search(unauth_en["message"])
    assert CJK.search(client.get(f"{API}/tasks").get_json()["message"])


# ---------------------------------------------------------------------------------------------------------------
# documents


CONTRACT_PATHS = ["/auth/token", "/cases", "/cases/{case_id}", "/tasks", "/tasks/{task_id}",
                  "/tasks/{task_id}/complete", "/timers", "/clock/advance", "/definitions",
                  "/definitions/{process_id}", "/reports/annual/{year}.xlsx"]


def test_openapi_document(client):
    answer = client.get(f"{API}/openapi.json")
    assert answer.status_code == 200
    doc = answer.get_json()
    assert doc["openapi"].startswith("3.1")
    paths = set(doc["paths"])
    prefix = "" if all(p.startswith("/") and not p.startswith(API) for p in paths) else API
    for path in CONTRACT_PATHS:
        assert f"{prefix}{path}" in paths, path
    methods = {("post", "/auth/token"), ("post", "/cases"), ("get", "/cases/{case_id}"), ("get", "/tasks"),
               ("get", "/tasks/{task_id}"), ("post", "/tasks/{task_id}/complete"), ("get", "/timers"),
               ("post", "/clock/advance"), ("post", "/definitions"), ("get", "/definitions/{process_id}"),
               ("get", "/reports/annual/{year}.xlsx")}
    for method, path in methods:
        assert method in doc["paths"][f"{prefix}{path}"], (method, path)


def test_definition_view(client, who):
    answer = client.get(f"{API}/definitions/energy_use", headers=who("staff", "industry"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert {"process_id", "version", "bpmn"} <= set(body)
    assert body["process_id"] == "energy_use" and body["version"] == 1
    assert body["bpmn"].lstrip().startswith("<?xml") and 'id="energy_use"' in body["bpmn"]
    assert client.get(f"{API}/definitions/nosuch", headers=who("staff", "industry")).status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# the simulated clock


def test_clock_advance_by_and_to(client, who, ctx):
    supervisor = who("supervisor")
    answer = client.post(f"{API}/clock/advance", json={"by": "P6M"}, headers=supervisor)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["now"] == "2026-09-02T09:00:00+08:00"
    answer = client.post(f"{API}/clock/advance", json={"to": "2026-12-31T18:00:00+08:00"}, headers=supervisor)
    assert answer.status_code == 200
    assert answer.get_json()["now"] == "2026-12-31T18:00:00+08:00"
    # a new case opened now has that day as its notice date
    case = open_case(client, who("staff", "industry"), "energy_use")
    assert case["history"][0]["at"] == "2026-12-31T18:00:00+08:00"
    assert case["deadline"] == "2027-06-30"


def test_clock_advance_fires_due_timers(client, who):
    supervisor = who("supervisor")
    industry = who("staff", "industry")
    case = open_case(client, industry, "energy_use", industry=UNPRICED)
    # the last day (2 Sep) is still within the period: nothing fires
    answer = client.post(f"{API}/clock/advance", json={"to": "2026-09-02T23:59:00+08:00"}, headers=supervisor)
    assert answer.get_json()["fired"] == 0
    assert [t["key"] for t in get_case(client, industry, case["id"])["open_tasks"]] == ["rectify"]
    answer = client.post(f"{API}/clock/advance", json={"by": "PT2M"}, headers=supervisor)
    assert answer.get_json()["fired"] == 1
    assert [t["key"] for t in get_case(client, industry, case["id"])["open_tasks"]] == ["government_approval"]


@pytest.mark.parametrize("body", [{"by": "6 months"}, {"by": "P"}, {"by": "P6X"}, {"to": "next tuesday"},
                                  {"to": "2026-02-30T09:00:00+08:00"}, {"to": "2020-01-01T00:00:00+08:00"}, {}])
def test_clock_advance_bad_input(client, who, ctx, body):
    supervisor = who("supervisor")
    answer = client.post(f"{API}/clock/advance", json=body, headers=supervisor)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["errors"]
    if body:
        assert errors_fields(answer) & {"by", "to"}
    assert ctx.now().isoformat().startswith("2026-03-02T01:00:00")


def test_history_at_is_shanghai_time(client, who, ctx):
    case = open_case(client, who("staff", "industry"), "energy_use")
    with ctx.unit_of_work() as session:
        stored = session.scalars(sa.select(AuditEvent).where(AuditEvent.case_id == case["id"])).all()
    assert stored
    assert all(ISO_SHANGHAI.match(e["at"]) for e in case["history"])



def test_a_form_encoded_completion_is_typed_by_the_schema(client, who, ctx):
    firm = who("enterprise", enterprise=ENTERPRISE_A)
    industry = who("staff", "industry")
    case = client.post(f"{API}/cases", json=case_body("energy_use"), headers=industry).get_json()
    task = task_of(case, "rectify")
    answer = client.post(f"{API}/tasks/{task['id']}/complete", headers=firm,
                         data={"outcome": "extension_requested", "extension_months": "2", "reason": "改造"})
    assert answer.status_code == 200, answer.get_json()
    review = task_of(answer.get_json(), "review_extension")
    answer = client.post(f"{API}/tasks/{review['id']}/complete", headers=industry,
                         data={"approved": "true", "opinion": "同意"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["deadline"] == "2026-11-02"
