"""The enterprise register: intake takes a known enterprise's details from it and never rewrites them;
administrators correct it explicitly, with grounds, in one audited transaction."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from engine.credit_code import make_credit_code
from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.models import AuditEvent, Case, CaseStatus, Enterprise
from engine.services import cases, enterprises, intake
from tests.conftest import ENTERPRISE_A, actor, csrf_from

API = "/api/v1"
STEEL = "济宁示范钢铁有限公司"
CODE_NEW = make_credit_code("91370800MA3C00090")
ADMIN = actor("admin")


@pytest.fixture
def steel_case(ctx) -> int:
    """A case of ENTERPRISE_A, registered as a steel company in 任城区."""
    return cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="energy_use", lead_department="industry", enterprise={
            "name": STEEL, "credit_code": ENTERPRISE_A, "county": "任城区", "industry": "steel",
            "address": "任城区钢城路1号"}))


def _registered(ctx, code: str = ENTERPRISE_A) -> dict[str, str]:
    with ctx.unit_of_work() as session:
        return enterprises.details_of(session.get(Enterprise, code))


def _case_count(ctx) -> int:
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Case))


def _audit(ctx, action: str) -> list[dict]:
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
        return [{"case_id": r.case_id, "actor": r.actor, **json.loads(r.detail)} for r in rows]


# --- intake through the API -----------------------------------------------------------------------------------


def test_an_intake_without_industry_takes_the_registered_one_and_its_price_task(ctx, client, api_token, steel_case):
    staff = api_token("staff", department="industry")
    answer = client.post(f"{API}/cases", headers=staff, json={
        "dimension": "energy_use", "lead_department": "industry",
        "enterprise": {"name": STEEL, "credit_code": ENTERPRISE_A}})
    assert answer.status_code == 201, answer.get_json()
    case = cases.get_case(ctx, actor("supervisor"), answer.get_json()["id"])
    assert case["enterprise"]["industry"] == "steel"
    assert "set_differential_price" in [t["key"] for t in case["open_tasks"]]  # C-3.3: steel only
    assert _registered(ctx) == {"credit_code": ENTERPRISE_A, "name": STEEL, "industry": "steel", "county": "任城区",
                                "address": "任城区钢城路1号"}


def test_an_intake_with_only_the_credit_code_takes_every_detail_from_the_register(ctx, steel_case):
    case_id = cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="technology", enterprise={"credit_code": ENTERPRISE_A}))
    case = cases.get_case(ctx, actor("supervisor"), case_id)
    assert case["enterprise"] == {"name": STEEL, "credit_code": ENTERPRISE_A, "county": "任城区", "industry": "steel"}


DIFFERING = {"name": "济宁另一家公司", "credit_code": ENTERPRISE_A, "county": "兖州区", "industry": "other"}


def test_details_that_differ_from_the_register_are_refused_and_nothing_changes(ctx, steel_case):
    before = cases.get_case(ctx, actor("supervisor"), steel_case)
    with pytest.raises(InvalidInput) as refused:  # the intake page and the import: their users see the register
        cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
            dimension="energy_use", lead_department="industry", enterprise=dict(DIFFERING)))
    errors = {p.field: p.message_zh for p in refused.value.problems}
    assert set(errors) == {"enterprise.name", "enterprise.county", "enterprise.industry"}
    assert errors["enterprise.name"] == (f"该统一社会信用代码已登记为「{STEEL}」（行业：钢铁），与填写的「济宁另一家公司」不一致；"
                                         "如需更正企业信息，请由管理员更正")
    assert "「任城区」" in errors["enterprise.county"] and "「兖州区」" in errors["enterprise.county"]
    assert "「钢铁」" in errors["enterprise.industry"] and "「其他」" in errors["enterprise.industry"]
    message = next(p.message_en for p in refused.value.problems if p.field == "enterprise.industry")
    assert "registered industry is “steel”, not “other”" in message and "administrator" in message
    assert _case_count(ctx) == 1
    assert _registered(ctx)["name"] == STEEL and _registered(ctx)["county"] == "任城区"
    after = cases.get_case(ctx, actor("supervisor"), steel_case)
    assert after["enterprise"] == before["enterprise"] and after["history"] == before["history"]


def test_an_api_intake_that_differs_opens_the_case_as_given_and_records_it(ctx, client, api_token, login_as,
                                                                           steel_case):
    """An outside system's finding is never lost over the register's spelling: the case follows the details it was
    given, the register and the earlier cases keep theirs, and the case's history says where they differ."""
    before = cases.get_case(ctx, actor("supervisor"), steel_case)
    answer = client.post(f"{API}/cases", headers=api_token("staff", department="industry"), json={
        "dimension": "energy_use", "lead_department": "industry", "enterprise": dict(DIFFERING)})
    assert answer.status_code == 201, answer.get_json()
    case = answer.get_json()
    opened = case["history"][0]
    assert opened["action"] == "case_opened" and opened["detail"]["enterprise_differs"] == {
        "name": {"registered": STEEL, "given": "济宁另一家公司"}, "industry": {"registered": "steel", "given": "other"},
        "county": {"registered": "任城区", "given": "兖州区"}}
    assert "set_differential_price" not in [t["key"] for t in case["open_tasks"]]  # its procedure: not steel (C-3.3)
    assert _registered(ctx) == {"credit_code": ENTERPRISE_A, "name": STEEL, "industry": "steel", "county": "任城区",
                                "address": "任城区钢城路1号"}
    after = cases.get_case(ctx, actor("supervisor"), steel_case)
    assert after["enterprise"] == before["enterprise"] and after["history"] == before["history"]
    login_as("supervisor")
    page = re.sub(r"\s+", "", client.get(f"/cases/{case['id']}").get_data(as_text=True))
    assert "立案时填写的企业信息与登记信息不一致，本案按填写的信息办理，登记信息未改动" in page
    assert "行业：登记「钢铁」，填写「其他」" in page and f"企业名称：登记「{STEEL}」，填写「济宁另一家公司」" in page
    # the facts show the details the case follows, and the register's beside them
    assert "<dt>企业名称</dt><dd>济宁另一家公司</dd>" in page and "<dt>行业</dt><dd>其他</dd>" in page
    assert f"本案按立案时填写的企业信息办理；企业登记信息为：{STEEL}，任城区，钢铁" in page


def test_surrounding_whitespace_is_not_a_difference(ctx, steel_case):
    case_id = cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="energy_use", enterprise={"name": f"  {STEEL} ", "credit_code": ENTERPRISE_A,
                                            "county": " 任城区", "industry": "steel"}))
    assert cases.get_case(ctx, actor("supervisor"), case_id)["enterprise"]["name"] == STEEL


def test_a_field_the_register_lacks_is_completed_and_audited(ctx):
    cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="energy_use", enterprise={"name": "某焦化厂", "credit_code": CODE_NEW}))
    assert _registered(ctx, CODE_NEW)["county"] == "" and _registered(ctx, CODE_NEW)["industry"] == "other"
    cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="technology", enterprise={"name": "某焦化厂", "credit_code": CODE_NEW, "county": "邹城市"}))
    assert _registered(ctx, CODE_NEW)["county"] == "邹城市"
    [event] = _audit(ctx, "enterprise_completed")
    assert event["case_id"] is None and event["credit_code"] == CODE_NEW and event["fields"] == {"county": "邹城市"}


def test_a_new_enterprise_still_needs_a_name(ctx):
    with pytest.raises(InvalidInput) as refused:
        cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
            dimension="energy_use", enterprise={"credit_code": CODE_NEW, "industry": "steel"}))
    assert [p.field for p in refused.value.problems] == ["enterprise.name"]
    assert _case_count(ctx) == 0


def test_the_lead_department_is_proposed_from_the_registered_industry(ctx):
    coal = make_credit_code("91370800MA3C00080")
    cases.start_case(ctx, actor("staff", "energy"), cases.NewCase(
        dimension="energy_use", enterprise={"name": "某煤矿", "credit_code": coal, "industry": "coal"}))
    case_id = cases.start_case(ctx, actor("staff", "energy"), cases.NewCase(
        dimension="safety", enterprise={"name": "某煤矿", "credit_code": coal}))
    assert cases.get_case(ctx, actor("supervisor"), case_id)["lead_department"] == "energy"


# --- intake page and bulk import ----------------------------------------------------------------------------


def _intake_form(client, **changes) -> dict[str, str]:
    data = {"name": STEEL, "credit_code": ENTERPRISE_A, "county": "任城区", "industry": "steel", "address": "",
            "dimension": "energy_use", "lead_department": "", "standard": "GB 21256-2013", "evidence": "",
            "measured_values": "", "equipment": "", "capacity_tpy": ""}
    data.update(changes, csrf_token=csrf_from(client.get("/cases/new").get_data(as_text=True)))
    return data


def test_the_intake_page_fills_a_known_enterprise_and_refuses_a_changed_value(ctx, client, login_as, steel_case):
    login_as("staff", department="industry")
    html = client.get(f"/cases/enterprise-lookup?code={ENTERPRISE_A}").get_data(as_text=True)
    assert f'value="{STEEL}"' in html and "以登记信息为准" in html
    answer = client.post("/cases/new", data=_intake_form(client, name="济宁另一家公司", county="兖州区", industry="other"))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert f'id="name-error">该统一社会信用代码已登记为「{STEEL}」（行业：钢铁），与填写的「济宁另一家公司」不一致' in html
    assert 'id="county-error">' in html and 'id="industry-error">' in html
    assert _case_count(ctx) == 1 and _registered(ctx)["name"] == STEEL


def test_the_intake_page_takes_empty_fields_from_the_register(ctx, client, login_as, steel_case):
    login_as("staff", department="industry")
    answer = client.post("/cases/new", data=_intake_form(client, name="", county="", industry="",
                                                         dimension="technology"))  # energy_use is running
    assert answer.status_code == 302, answer.get_data(as_text=True)
    case_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert cases.get_case(ctx, actor("supervisor"), case_id)["enterprise"]["industry"] == "steel"


def test_check_values_compares_with_the_register_it_is_given():
    staff = actor("staff", "industry")
    known = {ENTERPRISE_A: {"credit_code": ENTERPRISE_A, "name": STEEL, "industry": "steel", "county": "任城区",
                            "address": ""}}
    values = {"credit_code": ENTERPRISE_A, "dimension": "能耗", "standard": "GB 21256-2013"}
    checked = intake.check_values(staff, values, register=known)
    assert checked.request is not None and checked.request.enterprise["industry"] == "steel"
    checked = intake.check_values(staff, {**values, "industry": "水泥"}, register=known)
    assert [p.field for p in checked.problems] == ["enterprise.industry"]
    assert intake.check_values(staff, values).request is None  # unknown: name, county and industry required


# --- corrections by administrators --------------------------------------------------------------------------


def test_an_administrator_corrects_the_register_with_one_audit_event_in_its_trail(ctx, steel_case):
    changed = enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {
        "name": " 济宁新钢铁有限公司 ", "county": "兖州区", "industry": "steel", "address": "任城区钢城路1号"},
        reason="营业执照变更登记（2026-02-20）")
    assert changed == {"name": [STEEL, "济宁新钢铁有限公司"], "county": ["任城区", "兖州区"]}
    assert cases.get_case(ctx, actor("supervisor"), steel_case)["enterprise"]["name"] == "济宁新钢铁有限公司"
    [event] = [e for e in _audit(ctx, "enterprise_corrected") if e["case_id"] is None]
    assert event == {"case_id": None, "actor": ADMIN.username, "credit_code": ENTERPRISE_A,
                     "changes": {"name": [STEEL, "济宁新钢铁有限公司"], "county": ["任城区", "兖州区"]},
                     "reason": "营业执照变更登记（2026-02-20）", "cases": [steel_case]}
    assert enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {"name": "济宁新钢铁有限公司"}) == {}
    assert len(_audit(ctx, "enterprise_corrected")) == 2  # the register's event and the case's


RENAMED = "济宁示范钢铁股份有限公司"
GROUNDS = "营业执照变更（2026-11-20）"


@pytest.fixture
def closed_case(ctx, steel_case) -> int:
    """A second case of ENTERPRISE_A, closed (marked exited: the correction does not look at how it ended)."""
    case_id = cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="energy_use", lead_department="industry", enterprise={"credit_code": ENTERPRISE_A}))
    with ctx.unit_of_work() as session:
        session.get(Case, case_id).status = CaseStatus.EXITED
    return case_id


def test_a_correction_goes_into_the_history_of_every_case_of_the_enterprise(ctx, make_case, steel_case,
                                                                             closed_case):
    from engine.services import audit

    other = make_case("energy_use", enterprise=CODE_NEW)
    enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {"name": RENAMED, "industry": "cement"}, GROUNDS)
    for case_id in (steel_case, closed_case):
        last = cases.get_case(ctx, actor("supervisor"), case_id)["history"][-1]
        assert last["action"] == "enterprise_corrected" and last["actor"] == ADMIN.username
        assert last["detail"] == {"credit_code": ENTERPRISE_A, "reason": GROUNDS,
                                  "changes": {"name": [STEEL, RENAMED], "industry": ["steel", "cement"]}}
    assert cases.get_case(ctx, actor("supervisor"), other)["history"][-1]["action"] == "case_opened"
    [trail] = [e for e in _audit(ctx, "enterprise_corrected") if e["case_id"] is None]
    assert trail["cases"] == [steel_case, closed_case]
    assert audit.verify(ctx)[1] == []  # each event linked into its own chain


def test_a_refused_correction_writes_no_case_event(ctx, steel_case):
    with pytest.raises(InvalidInput):
        enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {"name": RENAMED}, reason="")
    assert cases.get_case(ctx, actor("supervisor"), steel_case)["history"][-1]["action"] == "case_opened"


def _history_row(html: str, action: str) -> str:
    """The text of the history row of ``action`` (tags removed, whitespace collapsed)."""
    history = html[html.index('id="h-history"'):]
    row = re.search(rf'<tr data-action="{action}">(.*?)</tr>', history, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))


def test_the_case_page_and_the_task_page_show_the_correction(ctx, client, login_as, steel_case, closed_case):
    enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {"name": RENAMED, "industry": "cement"}, GROUNDS)
    login_as("supervisor")
    for case_id in (steel_case, closed_case):
        row = _history_row(client.get(f"/cases/{case_id}").get_data(as_text=True), "enterprise_corrected")
        assert "企业登记信息已更正" in row and f"企业名称：{STEEL} → {RENAMED}" in row
        assert "行业：钢铁 → 水泥" in row and f"更正依据：{GROUNDS}" in row
    task = cases.get_case(ctx, actor("supervisor"), steel_case)["open_tasks"][0]
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    history = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="h-history"'):]))
    assert f"企业登记信息已更正 企业名称：{STEEL} → {RENAMED}" in history and f"更正依据：{GROUNDS}" in history
    client.get("/lang/en")
    row = _history_row(client.get(f"/cases/{steel_case}").get_data(as_text=True), "enterprise_corrected")
    assert "Enterprise register corrected" in row and f"Enterprise name: {STEEL} → {RENAMED}" in row
    assert "Industry: Steel → Cement" in row and f"Grounds for the correction: {GROUNDS}" in row
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "Enterprise register corrected" in page and "Industry: Steel → Cement" in re.sub(r"\s+", " ", page)


def test_the_enterprise_page_lists_its_corrections_newest_first_in_one_query(ctx, client, login_as, steel_case):
    login_as("admin")
    assert "该企业的登记信息没有更正过。" in client.get(f"/admin/enterprises/{ENTERPRISE_A}").get_data(as_text=True)
    enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {"name": RENAMED}, GROUNDS)
    enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {"county": "兖州区"}, "县市区登记有误")
    statements = []
    db_engine = ctx.session_factory.kw["bind"]
    listen = (db_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    sa.event.listen(*listen)
    try:
        found = enterprises.corrections(ctx, ADMIN, ENTERPRISE_A)
    finally:
        sa.event.remove(*listen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert [(c["changes"], c["reason"], c["actor"]) for c in found] == [
        ({"county": ["任城区", "兖州区"]}, "县市区登记有误", ADMIN.username),
        ({"name": [STEEL, RENAMED]}, GROUNDS, ADMIN.username)]
    page = client.get(f"/admin/enterprises/{ENTERPRISE_A}").get_data(as_text=True)
    listed = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="h-corrections"'):]))
    assert listed.index("县市区：任城区 → 兖州区") < listed.index(f"企业名称：{STEEL} → {RENAMED}")
    assert f"更正依据：{GROUNDS}" in listed and "更正依据：县市区登记有误" in listed


def test_a_correction_is_validated_like_intake_and_changes_nothing_when_refused(ctx, steel_case):
    with pytest.raises(InvalidInput) as refused:
        enterprises.correct_enterprise(ctx, ADMIN, ENTERPRISE_A, {
            "name": "", "county": "济南市", "industry": "textiles", "credit_code": CODE_NEW}, reason="")
    assert {p.field for p in refused.value.problems} == {"name", "county", "industry", "credit_code", "reason"}
    assert _registered(ctx)["name"] == STEEL and not _audit(ctx, "enterprise_corrected")
    with pytest.raises(NotFound):
        enterprises.correct_enterprise(ctx, ADMIN, CODE_NEW, {"name": "x"}, reason="x")


@pytest.mark.parametrize("who", [actor("staff", "industry"), actor("supervisor"), actor("owner")])
def test_only_administrators_correct_the_register(ctx, steel_case, who):
    with pytest.raises(PermissionDenied):
        enterprises.correct_enterprise(ctx, who, ENTERPRISE_A, {"name": "x"}, reason="x")


def test_the_admin_page_lists_and_corrects_an_enterprise(ctx, client, login_as, steel_case):
    login_as("admin")
    html = client.get(f"/admin/enterprises?q={STEEL[:4]}").get_data(as_text=True)
    assert f'id="enterprise-{ENTERPRISE_A}"' in html and STEEL in html
    page = client.get(f"/admin/enterprises/{ENTERPRISE_A}").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "name": "济宁新钢铁有限公司", "industry": "steel", "county": "任城区",
            "address": "任城区钢城路1号", "reason": ""}
    refused = client.post(f"/admin/enterprises/{ENTERPRISE_A}", data=form)
    assert refused.status_code == 400 and 'id="reason-error">请填写更正依据' in refused.get_data(as_text=True)
    assert _registered(ctx)["name"] == STEEL
    answer = client.post(f"/admin/enterprises/{ENTERPRISE_A}", data={**form, "reason": "更名"}, follow_redirects=True)
    assert answer.status_code == 200 and "已更正企业" in answer.get_data(as_text=True)
    assert _registered(ctx)["name"] == "济宁新钢铁有限公司"
    assert _audit(ctx, "enterprise_corrected")[0]["reason"] == "更名"


def test_the_flash_names_the_corrected_fields_in_english(ctx, client, login_as, steel_case):
    login_as("admin")
    client.get("/lang/en")
    page = client.get(f"/admin/enterprises/{ENTERPRISE_A}").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "name": RENAMED, "industry": "steel", "county": "任城区",
            "address": "任城区钢城路1号", "reason": GROUNDS}
    answer = client.post(f"/admin/enterprises/{ENTERPRISE_A}", data=form, follow_redirects=True)
    assert f"Corrected the registered details of enterprise {ENTERPRISE_A}: name<" in answer.get_data(as_text=True)
    answer = client.post(f"/admin/enterprises/{ENTERPRISE_A}", data={**form, "county": "兖州区", "address": "兖州区1号"},
                         follow_redirects=True)
    assert f"enterprise {ENTERPRISE_A}: county/district, address<" in answer.get_data(as_text=True)


def test_a_refused_industry_is_named_once(ctx, steel_case):
    with pytest.raises(InvalidInput) as refused:
        cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
            dimension="energy_use", lead_department="industry",
            enterprise={"credit_code": ENTERPRISE_A, "name": STEEL, "industry": "cement"}))
    [problem] = refused.value.problems
    assert problem.message_en.startswith(f"this credit code is registered as “{STEEL}”; its registered industry is "
                                         "“steel”, not “cement”;")
    assert problem.message_zh.startswith(f"该统一社会信用代码已登记为「{STEEL}」，登记的行业为「钢铁」，与填写的「水泥」不一致；")
    head_zh, head_en = enterprises.conflict("name", _registered(ctx), "x").message_zh, \
        enterprises.conflict("name", _registered(ctx), "x").message_en
    assert "（行业：钢铁）" in head_zh and "(industry: steel)" in head_en  # other fields keep the industry in the head


def test_the_register_pages_are_for_administrators(client, login_as, steel_case):
    login_as("staff", department="industry")
    assert client.get("/admin/enterprises").status_code == 403
    assert client.get(f"/admin/enterprises/{ENTERPRISE_A}").status_code == 403


# --- bulk import ---------------------------------------------------------------------------------------------


def _row(line: int, **values: str) -> dict:
    base = {"credit_code": ENTERPRISE_A, "dimension": "能耗", "standard": "GB 21256-2013"}
    return {"line": line, "values": {**base, **values}}


def test_the_import_preview_checks_rows_against_the_register_and_earlier_rows(ctx, steel_case):
    from engine.services import bulk_import

    checks = bulk_import.check_rows(ctx, actor("staff", "industry"), [  # other dimensions than the running case's
        _row(2, dimension="技术"),  # known: everything else from the register
        _row(3, dimension="产能退出", name="济宁另一家公司", county="任城区", industry="钢铁"),
        _row(4, dimension="技术", name="某焦化厂", credit_code=CODE_NEW, county="邹城市", industry="其他"),
        _row(5, dimension="产能退出", name="某焦化厂", credit_code=CODE_NEW, county="兖州区", industry="其他"),
    ])
    assert [c.valid for c in checks] == [True, False, True, False]
    assert checks[0].industry == "steel"
    [problem] = checks[1].problems
    assert problem.field == "enterprise.name" and f"「{STEEL}」" in problem.message_zh and "济宁另一家公司" in problem.message_zh
    [problem] = checks[3].problems
    assert problem.field == "enterprise.county" and problem.message_zh.startswith("第 4 行已为该统一社会信用代码填写「某焦化厂」")
    assert "row 4" in problem.message_en


def test_an_imported_row_that_differs_is_refused_when_created(ctx, steel_case):
    from engine.services import bulk_import

    result = bulk_import.create_row(ctx, actor("staff", "industry"), {
        **_row(2)["values"], "name": "济宁另一家公司", "county": "任城区", "industry": "钢铁"})
    assert [e[2] for e in result["errors"]] == ["enterprise.name"]
    assert _registered(ctx)["name"] == STEEL and _case_count(ctx) == 1
