"""The annual exit report (C-4.2, C-4.3): started once on 1 December, confirmed by six departments, compiled,
approved, published; its totals are the cases' (capacity from ``record_exit``), in the page and the workbook."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from engine.clock import SHANGHAI
from engine.credit_code import make_credit_code
from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.models import AnnualReport, AuditEvent, Case, OpenTask
from engine.services import annual, case_list, cases, deployments, reports, tasks, timers
from tests.conftest import START_DAY, _dispose, actor, csrf_from
from webapp import create_app

SUPERVISOR = actor("supervisor")
DEPARTMENTS = ["industry", "development", "environment", "emergency", "market", "energy"]
PASS = {"result": "pass", "findings": "复查通过"}
FAIL = {"result": "fail", "findings": "复查仍不达标"}
FORMS = {
    "resettle_workers": {"workers_affected": 80, "plan": "转岗安置"},
    "cancel_licence": {"licence_no": "XK05-001", "authority": "山东省市场监督管理局", "requested_on": START_DAY},
    "revoke_licences_notice": {"licences": "安全生产许可证", "notified_departments": "market"},
    "credit_listing": {"listed_on": START_DAY, "platforms": "市信用信息共享平台", "published": True},
    "review_special_funds": {"eligible": True, "amount": 50, "basis": "符合职工安置专项资金支持条件"},
}
# (code suffix, name, county, industry, dimension, lead, capacity in t/a)
CLOSURES = [
    ("0101", "济宁钢铁一厂", "任城区", "steel", "technology", "industry", 400000),
    ("0102", "兖州水泥公司", "兖州区", "cement", "phase_out", "development", 600000),
    ("0103", "曲阜平板玻璃厂", "曲阜市", "flat_glass", "phase_out", "environment", 1200000),
    ("0104", "邹城煤矿", "邹城市", "coal", "phase_out", "emergency", 300000),
    ("0105", "微山铝业", "微山县", "aluminium", "phase_out", "energy", 50000),
    ("0106", "任城钢管厂", "任城区", "steel", "quality", "market", 150000),
    ("0107", "汶上铸造厂", "汶上县", "other", "phase_out", "industry", 20000),
]


def code(suffix: str) -> str:
    return make_credit_code(f"91370800MA3D0{suffix}")


def filled(schema: dict) -> dict:
    """Minimal valid data for a measure form this test does not know (measures may be added by others)."""
    out = {}
    for name in schema.get("required", []):
        prop = schema["properties"][name]
        kind = prop.get("type")
        out[name] = (prop["const"] if "const" in prop else prop["enum"][0] if "enum" in prop
                     else True if kind == "boolean" else 1 if kind in ("integer", "number")
                     else START_DAY if prop.get("format") == "date" else "https://example.org/x"
                     if prop.get("format") == "uri" else "测试填写")
    return out


def open_case(ctx, suffix, name, county, industry, dimension, lead) -> int:
    request = cases.NewCase(dimension=dimension, lead_department=lead, enterprise={
        "name": name, "credit_code": code(suffix), "county": county, "industry": industry})
    return cases.start_case(ctx, actor("staff", lead), request)


def finish(ctx, work, case_id: int) -> dict:
    """Complete the measures after record_exit, whatever they are, until the case ends."""
    case = cases.get_case(ctx, SUPERVISOR, case_id)
    while case["open_tasks"]:
        task = case["open_tasks"][0]
        form = tasks.get_task(ctx, SUPERVISOR, task["id"])["form"]
        case = work(case_id, task["key"], FORMS.get(task["key"]) or filled(form))
    return case


def close_case(ctx, work, suffix, name, county, industry, dimension, lead, capacity) -> int:
    case_id = open_case(ctx, suffix, name, county, industry, dimension, lead)
    if dimension == "technology":
        work(case_id, "assess_dismantling", {"dismantlable": True, "ditiaogang": False,
                                             "dismantle_deadline": "2026-11-30", "equipment": "中频炉2台"})
        work(case_id, "dismantle", {"dismantled_on": START_DAY, "report": "已拆除"})
        work(case_id, "reinspect", PASS)
    elif dimension == "phase_out":
        work(case_id, "screen_item", {"catalogue_item": "淘汰类第1项", "exit_method": "seal_equipment",
                                      "exit_deadline": "2026-11-30"})
        work(case_id, "exit_report", {"exited_on": START_DAY, "report": "已封存"})
        work(case_id, "reinspect", PASS)
    else:  # quality: stop, rectify, still failing, the government approves the closure
        work(case_id, "order_stop", {"order_no": "济市监停〔2026〕3号", "order_date": "2026-03-02"})
        work(case_id, "rectify", {"outcome": "rectified"})
        work(case_id, "reinspect", FAIL)
        work(case_id, "government_approval", {"approved": True, "opinion": "同意关停"})
        work(case_id, "close_order", {"order_no": "济政关〔2026〕2号", "order_date": START_DAY, "grounds": "仍不达标"})
    work(case_id, "record_exit", {"equipment": f"{name}主体设备", "capacity_tpy": capacity, "exit_date": START_DAY})
    assert finish(ctx, work, case_id)["status"] == "exited"
    return case_id


@pytest.fixture
def year_of_cases(ctx, work):
    """Seven closures in 2026 across dimensions and leads, one compliant case, one still open."""
    ids = {c[0]: close_case(ctx, work, *c) for c in CLOSURES}
    compliant = open_case(ctx, "0201", "达标钢铁", "任城区", "steel", "energy_use", "industry")
    work(compliant, "rectify", {"outcome": "rectified"})
    work(compliant, "reinspect", PASS)
    assert finish(ctx, work, compliant)["status"] == "compliant"  # steel: C-3.3 prices set and lifted
    still_open = open_case(ctx, "0202", "整改中水泥", "兖州区", "cement", "environmental", "environment")
    return {"closed": ids, "compliant": compliant, "open": still_open}


def clock_to(ctx, instant: str) -> dict:
    return timers.advance_clock(ctx, SUPERVISOR, to=instant)


def report_rows(ctx) -> list[AnnualReport]:
    with ctx.unit_of_work() as session:
        found = list(session.scalars(sa.select(AnnualReport)))
        session.expunge_all()
        return found


def report_cases(ctx) -> list[int]:
    with ctx.unit_of_work() as session:
        return list(session.scalars(sa.select(Case.id).where(Case.dimension == "annual_report")))


def open_report_tasks(ctx, case_id: int) -> list[tuple[str, str, str]]:
    with ctx.unit_of_work() as session:
        return sorted((t.key, t.department, t.due.isoformat() if t.due else "") for t in session.scalars(
            sa.select(OpenTask).where(OpenTask.case_id == case_id)))


def task_of(ctx, case_id: int, key: str, department: str) -> str:
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(OpenTask.id).where(OpenTask.case_id == case_id, OpenTask.key == key,
                                                           OpenTask.department == department))


def confirm(ctx, case_id: int, department: str, corrections=(), who=None) -> dict:
    task_id = task_of(ctx, case_id, "confirm_closures", department)
    return tasks.complete_task(ctx, who or actor("staff", department), task_id,
                               {"confirmed": True, "corrections": list(corrections)})


def test_due_year_runs_from_december_to_january():
    at = lambda text: datetime.fromisoformat(text)  # noqa: E731
    assert annual.due_year(at("2026-11-30T23:59:59+08:00")) is None
    assert annual.due_year(at("2026-11-30T16:00:00+00:00")) == 2026   # 1 December 00:00 in Shanghai
    assert annual.due_year(at("2026-12-31T23:00:00+08:00")) == 2026
    assert annual.due_year(at("2027-01-31T12:00:00+08:00")) == 2026
    assert annual.due_year(at("2027-02-01T00:00:00+08:00")) is None


def test_nothing_starts_before_december(ctx):
    clock_to(ctx, "2026-11-30T23:59:59+08:00")
    timers.sweep(ctx)
    assert report_rows(ctx) == [] and report_cases(ctx) == []


def test_the_year_runs_from_cases_to_a_published_report(app, ctx, work, client, year_of_cases):
    closed = year_of_cases["closed"]
    clock_to(ctx, "2026-12-01T00:00:00+08:00")
    (report,) = report_rows(ctx)
    assert (report.year, report.status.value) == (2026, "collecting")
    assert report.started_at == datetime(2026, 12, 1, tzinfo=SHANGHAI)
    # exactly once: sweeping again, advancing again, a second server sweeping concurrently
    timers.sweep(ctx)
    clock_to(ctx, "2026-12-01T08:00:00+08:00")
    other = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        swept = []
        threads = [threading.Thread(target=lambda c=c: swept.append(timers.sweep(c)))
                   for c in (ctx, other.extensions["capexit"]) * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(swept) == 6
    finally:
        _dispose(other)
    assert [r.year for r in report_rows(ctx)] == [2026] and report_cases(ctx) == [report.case_id]

    # one confirmation per department that leads dimensions, due 31 December, each listing exactly its exits
    assert open_report_tasks(ctx, report.case_id) == sorted(
        ("confirm_closures", d, "2026-12-31") for d in DEPARTMENTS)
    expected = {d: sorted(closed[c[0]] for c in CLOSURES if c[5] == d) for d in DEPARTMENTS}
    for department in DEPARTMENTS:
        task_id = task_of(ctx, report.case_id, "confirm_closures", department)
        view = annual.task_context(ctx, actor("staff", department), task_id)
        assert sorted(r["case_id"] for r in view["listed"]) == expected[department]
        assert view["may_work"] and view["year"] == 2026
        with pytest.raises(PermissionDenied):
            tasks.complete_task(ctx, actor("staff", "finance"), task_id, {"confirmed": True})
    # the report's tasks are in the departments' inboxes, the case list does not show the run
    assert [t["key"] for t in tasks.list_tasks(ctx, actor("staff", "market"))] == ["confirm_closures"]
    listed = case_list.list_cases(ctx, SUPERVISOR, case_list.CaseFilter(), per_page=100)
    assert report.case_id not in [r["id"] for r in listed["rows"]]

    # a correction naming a case outside the department's list is refused; nothing is recorded
    with pytest.raises(InvalidInput) as refused:
        confirm(ctx, report.case_id, "market", [{"case_id": closed["0101"], "field": "equipment", "value": "x",
                                                 "reason": "不是本部门的"}])
    assert refused.value.problems[0].field == "corrections.0.case_id"
    with pytest.raises(InvalidInput) as refused:  # the clock reads 2026-12-01: an exit cannot lie ahead
        confirm(ctx, report.case_id, "market", [{"case_id": closed["0106"], "field": "exit_date",
                                                 "value": "2026-12-02", "reason": "据现场核查更正日期"}])
    assert refused.value.problems[0].field == "corrections.0.value"
    assert "退出日期不能晚于今天（2026-12-01）" in refused.value.problems[0].message_zh
    fixed = {"case_id": closed["0106"], "field": "equipment", "value": "Φ219无缝钢管机组1套", "reason": "据现场核查更正名称"}
    confirm(ctx, report.case_id, "market", [fixed])
    for department in ("industry", "development", "environment", "emergency"):
        confirm(ctx, report.case_id, department)
    assert report_rows(ctx)[0].status.value == "collecting"

    # energy is late: reminded once after 31 December, listed on the board
    clock_to(ctx, "2027-01-02T09:00:00+08:00")
    clock_to(ctx, "2027-01-03T09:00:00+08:00")
    late = annual.unconfirmed_departments(ctx, SUPERVISOR)
    assert [(r["department"], r["days_late"]) for r in late] == [("energy", 3)]
    with ctx.unit_of_work() as session:
        reminders = session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.case_id == report.case_id, AuditEvent.action == "report_reminder")).all()
    assert [json.loads(r)["department"] for r in reminders] == ["energy"]
    board = client.get("/board")
    assert board.status_code in (302, 401)  # signed out
    confirm(ctx, report.case_id, "energy")
    assert annual.unconfirmed_departments(ctx, SUPERVISOR) == []

    # industry compiles, the government sends it back once, then approves: published
    assert report_rows(ctx)[0].status.value == "aggregating"
    summary = {"summary": "全市依法关闭退出落后产能7项。"}
    tasks.complete_task(ctx, actor("staff", "industry"), task_of(ctx, report.case_id, "aggregate_report", "industry"),
                        summary)
    assert report_rows(ctx)[0].status.value == "approving"
    approval = task_of(ctx, report.case_id, "government_approval", "government")
    with pytest.raises(NotFound):
        annual.report_view(ctx, None, 2026)  # not public before approval
    tasks.complete_task(ctx, actor("staff", "government"), approval, {"approved": False, "opinion": "补充说明"})
    assert report_rows(ctx)[0].status.value == "aggregating"
    tasks.complete_task(ctx, actor("staff", "industry"), task_of(ctx, report.case_id, "aggregate_report", "industry"),
                        summary)
    approval = task_of(ctx, report.case_id, "government_approval", "government")
    tasks.complete_task(ctx, actor("staff", "government"), approval, {"approved": True, "opinion": "同意公布"})
    (report,) = report_rows(ctx)
    assert report.status.value == "published"
    assert report.published_at == datetime(2027, 1, 3, 9, tzinfo=SHANGHAI)

    # the totals are the sum over the cases, capacity as record_exit recorded it
    public = annual.report_view(ctx, None, 2026)
    assert public["confirmations"] == [] and all("corrections" not in r for r in public["rows"])
    view = annual.report_view(ctx, SUPERVISOR, 2026)
    assert public["totals"] == view["totals"]
    totals = view["totals"]
    assert sorted(r["case_id"] for r in view["rows"]) == sorted(closed.values())
    assert totals["projects"] == len(CLOSURES) == 7 and totals["enterprises"] == 7
    assert totals["capacity_tpy"] == sum(c[6] for c in CLOSURES)
    assert [g["code"] for g in totals["by_industry"]] == ["steel", "coal", "cement", "aluminium", "flat_glass", "other"]
    assert {g["code"]: g["capacity_tpy"] for g in totals["by_industry"]} == {
        "steel": 550000, "coal": 300000, "cement": 600000, "aluminium": 50000, "flat_glass": 1200000, "other": 20000}
    assert {g["name"]: g["projects"] for g in totals["by_county"]} == {
        "任城区": 2, "兖州区": 1, "曲阜市": 1, "邹城市": 1, "微山县": 1, "汶上县": 1}
    assert {g["code"]: g["projects"] for g in totals["by_dimension"] if g["projects"]} == {
        "technology": 1, "phase_out": 5, "quality": 1}
    corrected = next(r for r in view["rows"] if r["case_id"] == closed["0106"])
    assert corrected["equipment"] == fixed["value"] and corrected["corrections"][0]["reason"] == fixed["reason"]
    assert view["summary"] == summary["summary"] and view["opinion"] == "同意公布"
    assert annual.published_reports(ctx) == [{"year": 2026, "published_at": report.published_at, "projects": 7,
                                              "enterprises": 7, "capacity_tpy": 2720000}]

    # the workbook holds the same totals
    book = load_workbook(io.BytesIO(reports.workbook(view)))
    assert book.sheetnames == ["退出清单", "汇总表"]
    listing = list(book["退出清单"].iter_rows(values_only=True))
    assert listing[0][0] == "2026年度落后产能退出情况汇总表" and "审定" in listing[1][0]
    assert sorted(r[1] for r in listing[3:]) == sorted(closed.values())
    summary_rows = list(book["汇总表"].iter_rows(values_only=True))
    industry_table = summary_rows[summary_rows.index(("一、按行业汇总", None, None, None, None)) + 2:][:7]
    assert [(r[1], r[4]) for r in industry_table] == [
        ("钢铁", 550000), ("煤炭", 300000), ("水泥", 600000), ("电解铝", 50000), ("平板玻璃", 1200000),
        ("其他", 20000), ("合计", 2720000)]
    totals_rows = [r for r in summary_rows if r[1] == "合计"]
    assert len(totals_rows) == 3 and all(r[4] == 2720000 and r[3] == 7 for r in totals_rows)

    # the case run ended; its history tells the story
    history = [e["action"] for e in cases.get_case(ctx, SUPERVISOR, report.case_id)["history"]]
    assert history[:2] == ["case_opened", "report_started"] and "report_published" in history
    assert history.count("closures_confirmed") == 6 and history.count("report_reminder") == 1


def test_restarting_around_1_december_starts_one_report(app, ctx):
    clock_to(ctx, "2026-11-30T23:59:00+08:00")
    servers = [create_app(dict(app.config)) for _ in range(2)]
    try:
        clock_to(ctx, "2026-12-01T00:00:30+08:00")         # the first server's sweep
        for server in servers:                               # restarted servers sweep at once
            timers.sweep(server.extensions["capexit"])
        assert annual.start_due_report(servers[1].extensions["capexit"]) is None
    finally:
        for server in servers:
            _dispose(server)
    assert [r.year for r in report_rows(ctx)] == [2026] and len(report_cases(ctx)) == 1


def test_a_server_started_on_3_december_catches_up(app, ctx):
    timers.set_clock(ctx, SUPERVISOR, datetime(2026, 12, 3, 10, tzinfo=SHANGHAI))  # no sweep while "down"
    assert report_rows(ctx) == []
    server = create_app(dict(app.config))
    try:
        timers.sweep(server.extensions["capexit"])
    finally:
        _dispose(server)
    (report,) = report_rows(ctx)
    assert report.year == 2026 and report.started_at == datetime(2026, 12, 3, 10, tzinfo=SHANGHAI)


def test_two_starts_at_the_same_moment_make_one(ctx):
    now = datetime(2026, 12, 1, 0, 0, 1, tzinfo=SHANGHAI)
    barrier = threading.Barrier(4)
    results = []

    def start():
        barrier.wait()
        results.append(annual.start_due_report(ctx, now))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len([r for r in results if r]) == 1 and len(report_cases(ctx)) == 1


def test_corrections_change_and_exclude_rows():
    rows = [{"case_id": 1, "credit_code": "A", "county": "任城区", "industry": "steel", "dimension": "technology",
             "equipment": "高炉", "capacity_tpy": 100.0, "exit_date": "2026-05-01"},
            {"case_id": 2, "credit_code": "B", "county": "兖州区", "industry": "coal", "dimension": "phase_out",
             "equipment": "矿井", "capacity_tpy": 50.0, "exit_date": "2026-06-01"}]
    out = annual.apply_corrections(rows, [
        {"case_id": 1, "field": "capacity_tpy", "value": "120.5", "reason": "按核定产能"},
        {"case_id": 1, "field": "industry", "value": "other", "reason": "行业划分有误"},
        {"case_id": 2, "field": "exclude", "reason": "2025年已退出"}], 2026)
    assert [(r["case_id"], r["capacity_tpy"], r["industry"]) for r in out] == [(1, 120.5, "other")]
    assert [c["from"] for c in out[0]["corrections"]] == [100.0, "steel"]
    assert rows[0]["capacity_tpy"] == 100.0  # the input is untouched
    with pytest.raises(InvalidInput) as refused:
        annual.apply_corrections(rows, [{"case_id": 1, "field": "capacity_tpy", "value": "很多", "reason": "x"},
                                        {"case_id": 2, "field": "exit_date", "value": "2025-12-31", "reason": "y"},
                                        {"case_id": 2, "field": "industry", "value": "gold", "reason": "z"}], 2026)
    assert [p.field for p in refused.value.problems] == [f"corrections.{i}.value" for i in range(3)]
    totals = annual.totals_of(out)
    assert totals["capacity_tpy"] == 120.5 and totals["by_industry"][-1] == {
        "code": "other", "name": "其他", "projects": 1, "enterprises": 1, "capacity_tpy": 120.5}


def test_the_process_is_deployed_with_the_others(ctx):
    with ctx.unit_of_work() as session:
        definition = deployments.get_latest(session, "annual_report")
        bundle = deployments.bundle_for_ids(ctx, session, (definition.id,))
    props = bundle.spec.task_specs["confirm_closures [child]"].extensions["properties"]
    assert props["departmentFrom"] == "department" and props["dueDate"] == "12-31"


# ---------------------------------------------------------------- pages and the API

def started(ctx, work, closures=CLOSURES[:2]) -> tuple[int, dict[str, int]]:
    """Closures, then 1 December: the report's case id and the case ids by code suffix."""
    ids = {c[0]: close_case(ctx, work, *c) for c in closures}
    clock_to(ctx, "2026-12-01T00:00:01+08:00")
    return report_rows(ctx)[0].case_id, ids


def publish(ctx, case_id: int) -> None:
    for department in DEPARTMENTS:
        if task_of(ctx, case_id, "confirm_closures", department):
            confirm(ctx, case_id, department)
    tasks.complete_task(ctx, actor("staff", "industry"), task_of(ctx, case_id, "aggregate_report", "industry"),
                        {"summary": "各部门确认的依法关闭退出情况汇总如下。"})
    tasks.complete_task(ctx, actor("staff", "government"), task_of(ctx, case_id, "government_approval", "government"),
                        {"approved": True, "opinion": "同意公布"})


def test_the_task_page_heads_its_form_in_english(ctx, work, login_as, client):
    case_id, _ids = started(ctx, work)
    task_id = task_of(ctx, case_id, "confirm_closures", "development")
    login_as("staff", department="development")
    client.get("/lang/en")
    page = client.get(f"/reports/annual/tasks/{task_id}").get_data(as_text=True)
    assert "<h2>Confirm the department's annual list of closures and exits</h2>" in page.replace("&#39;", "'")
    assert "notify the municipal Industry and Information Technology Bureau by letter" in page


def test_confirming_on_the_task_page(ctx, work, login_as, client):
    from tests.conftest import csrf_from

    case_id, ids = started(ctx, work)
    task_id = task_of(ctx, case_id, "confirm_closures", "development")
    login_as("staff", department="development")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "年度报告" in inbox and "确认本部门年度关停退出清单" in inbox
    assert "<td>淘汰落后产能年度报告</td>" in inbox and "<td>annual_report</td>" not in inbox  # its category, named
    answer = client.get(f"/tasks/{task_id}")
    assert answer.status_code == 302 and answer.location.endswith(f"/reports/annual/tasks/{task_id}")
    page = client.get(answer.location).get_data(as_text=True)
    assert "兖州水泥公司" in page and "济宁钢铁一厂" not in page   # only the department's own closures
    assert "600,000" in page and "2026-12-31" in page
    token = csrf_from(page)
    refused = client.post(f"/reports/annual/tasks/{task_id}", data={
        "csrf_token": token, "confirmed": "true", "case_id": [str(ids["0102"])], "field": ["capacity_tpy"],
        "value": ["很多"], "reason": ["核定产能"]})
    assert refused.status_code == 400 and "产能应为不小于 0 的数字" in refused.get_data(as_text=True)
    done = client.post(f"/reports/annual/tasks/{task_id}", data={
        "csrf_token": token, "confirmed": "true", "case_id": [str(ids["0102"]), ""], "field": ["capacity_tpy", "equipment"],
        "value": ["580000", ""], "reason": ["按核定产能更正", ""], "confirm_note": "已函告"})
    assert done.status_code == 302
    confirmed = json.loads(report_rows(ctx)[0].confirmations)["development"]
    assert confirmed["rows"][0]["capacity_tpy"] == 580000 and confirmed["note"] == "已函告"
    assert confirmed["corrections"] == [{"case_id": ids["0102"], "field": "capacity_tpy", "value": "580000",
                                         "reason": "按核定产能更正"}]


def test_board_lists_unconfirmed_departments(ctx, work, login_as, client):
    case_id, _ = started(ctx, work)
    confirm(ctx, case_id, "industry")
    login_as("supervisor")
    page = client.get("/board").get_data(as_text=True)
    assert "年度报告未确认部门" in page
    section = page[page.index('id="annual-unconfirmed"'):page.index("</section>", page.index('id="annual-unconfirmed"'))]
    assert "市工业和信息化局" not in section and "市能源局" in section and "确认中" in section
    clock_to(ctx, "2027-01-05T09:00:00+08:00")
    page = client.get("/board").get_data(as_text=True)
    assert "已逾期 5 天" in page


def test_published_report_page_workbook_and_api(ctx, work, client, api_token):
    case_id, ids = started(ctx, work)
    assert client.get("/reports/annual/2026").status_code == 404          # not public before approval
    assert client.get("/reports/annual/2026.xlsx").status_code == 404
    supervisor = api_token("supervisor")
    draft = load_workbook(io.BytesIO(client.get("/api/v1/reports/annual/2026.xlsx", headers=supervisor).data))
    assert "初步汇总" in draft.worksheets[0]["A1"].value
    publish(ctx, case_id)
    page = client.get("/reports/annual/2026")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "济宁市2026年度落后产能退出情况汇总表" in html and "初步汇总" not in html
    assert "一、按行业汇总" in html and "二、按县市区汇总" in html and "三、按类别汇总" in html
    assert "1,000,000" in html and "济宁钢铁一厂" in html and "各部门确认情况" not in html   # public: no working notes
    book = load_workbook(io.BytesIO(client.get("/reports/annual/2026.xlsx").data))
    summary = [r for r in book["汇总表"].iter_rows(values_only=True) if r[1] == "合计"]
    assert [r[4] for r in summary] == [1000000] * 3
    api = client.get("/api/v1/reports/annual/2026.xlsx", headers=supervisor)
    approved = load_workbook(io.BytesIO(api.data))
    assert approved.worksheets[0]["A1"].value == "2026年度落后产能退出情况汇总表"
    assert {r[1] for r in approved.worksheets[0].iter_rows(min_row=4, values_only=True)} == set(ids.values())
    older = load_workbook(io.BytesIO(client.get("/api/v1/reports/annual/2025.xlsx", headers=supervisor).data))
    assert older.worksheets[0]["A1"].value == "2025年度落后产能退出情况汇总表（初步汇总）"
    index = client.get("/reports/annual").get_data(as_text=True)
    assert "/reports/annual/2026" in index and "已公布" in index


def test_the_scheduler_starts_the_report_on_its_calendar(app, ctx):
    """Inside ``capexit serve``: a cron job at 1 December 00:00 Asia/Shanghai, and the sweep job catching up."""
    import time

    timers.set_clock(ctx, SUPERVISOR, datetime(2026, 12, 1, 0, 0, 5, tzinfo=SHANGHAI))  # no sweep yet
    served = create_app({**app.config, "CAPEXIT_SCHEDULER": True, "CAPEXIT_SWEEP_SECONDS": 0.2})
    scheduler = served.extensions["capexit_scheduler"]
    try:
        job = scheduler.get_job("annual_report")
        after = datetime(2026, 11, 30, 12, tzinfo=SHANGHAI)
        assert job.trigger.get_next_fire_time(None, after) == datetime(2026, 12, 1, tzinfo=SHANGHAI)
        deadline = time.monotonic() + 10
        while not report_rows(ctx) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
        _dispose(served)
    assert [r.year for r in report_rows(ctx)] == [2026]


def test_the_public_page_lists_a_published_report(ctx, work, client):
    """Once approved, the report appears on /public with links to the table and the workbook."""
    assert "尚未发布" in client.get("/public").get_data(as_text=True)
    case_id, _ = started(ctx, work)
    publish(ctx, case_id)
    html = client.get("/public").get_data(as_text=True)
    assert "/reports/annual/2026" in html and "/reports/annual/2026.xlsx" in html
    assert "尚未发布" not in html


def test_the_case_page_names_the_annual_report(ctx, work, login_as, client):
    case_id, _ids = started(ctx, work)
    login_as("supervisor")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "淘汰落后产能年度报告" in html and "· annual_report" not in html
    assert '<li data-element="confirm_closures">确认本部门年度关停退出清单</li>' in html  # the multi-instance step, named
    assert re.search(r"<td>启动年度报告</td>", html)  # its history names what happened, not "report_started"


def test_two_sweeps_at_the_same_moment_remind_once(ctx):
    """Every server's sweep reminds the late departments in January: of two at the same moment, one records the
    reminders, even when the other has already read who is late."""
    from engine.services import audit

    clock_to(ctx, "2026-12-01T09:00:00+08:00")  # the report starts; every department's confirmation is open
    now = datetime(2027, 1, 1, 0, 0, 1, tzinfo=SHANGHAI)
    read_late, go_on = threading.Event(), threading.Event()
    lock_chain = audit._lock_chain

    def paused_lock(session, case_id):
        if threading.current_thread().name == "first" and not read_late.is_set():
            read_late.set()  # the first sweep has read the late confirmations
            go_on.wait(10)
        return lock_chain(session, case_id)

    audit._lock_chain = paused_lock
    recorded: dict[str, int] = {}
    try:
        first = threading.Thread(name="first", target=lambda: recorded.update(first=annual.remind_late(ctx, now)))
        first.start()
        assert read_late.wait(10)
        recorded["second"] = annual.remind_late(ctx, now)
        go_on.set()
        first.join(15)
    finally:
        audit._lock_chain = lock_chain
    assert recorded == {"first": 0, "second": 6}
    with ctx.unit_of_work() as session:
        reminded = session.scalars(sa.select(AuditEvent.task_id).where(AuditEvent.action == "report_reminder")).all()
    assert len(reminded) == len(set(reminded)) == 6
    assert audit.verify(ctx)[1] == []


def test_the_report_list_dates_a_start_in_beijing_time(ctx, login_as, client):
    """Started at 00:00:30 on 1 December in Beijing, which is still 30 November in UTC."""
    clock_to(ctx, "2026-12-01T00:00:30+08:00")
    timers.sweep(ctx)
    assert [r.year for r in report_rows(ctx)] == [2026]
    login_as("supervisor")
    index = client.get("/reports/annual").get_data(as_text=True)
    row = re.search(r"<tr><td>2026</td>(.*?)</tr>", index, re.S).group(1)
    assert "2026-12-01" in row and "2026-11-30" not in row


def test_the_digest_lists_a_departments_late_confirmation(ctx, work, login_as, client):
    case_id = started(ctx, work)[0]
    confirm(ctx, case_id, "industry")
    login_as("supervisor")
    assert "年度报告确认" not in client.get("/board/digest").get_data(as_text=True)  # not due within 7 days yet
    clock_to(ctx, "2027-01-05T09:00:00+08:00")
    digest = client.get("/board/digest").get_data(as_text=True)
    energy = digest[digest.index('id="dept-energy"'):]
    energy = energy[:energy.index("</section>")]
    assert "年度报告确认" in energy and "已逾期 5 天" in energy
    assert re.search(r'<span class="badge due-late">已逾期 1</span>', energy)  # the heading counts it
    industry = re.search(r'id="dept-industry".*?</section>', digest, re.S)
    assert industry is None or "年度报告确认" not in industry.group(0)  # confirmed: nothing to remind


def test_moving_the_clock_into_december_says_the_annual_report_started(ctx, login_as, client):
    login_as("supervisor")
    page = client.get("/board").get_data(as_text=True)
    answer = client.post("/board/clock", data={"csrf_token": csrf_from(page), "to": "2026-12-01"},
                         follow_redirects=True)
    assert "已启动 2026 年度落后产能退出情况汇总" in answer.get_data(as_text=True)
    assert [r.year for r in report_rows(ctx)] == [2026]
