"""The statistics page: figures against counts computed from the cases, median, overdue rate, filters, Excel, charts."""

from __future__ import annotations

import io
import re
import statistics as stats
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from engine.clock import SHANGHAI
from engine.credit_code import make_credit_code
from engine.errors import PermissionDenied
from engine.services import cases, timers
from engine.services import statistics as statistics_service
from tests.conftest import actor, screenshot
from tests.test_english import _assert_english, compiled, english  # noqa: F401 (fixtures)

SUPERVISOR = actor("supervisor")
RECTIFIED = {"outcome": "rectified", "report": "已完成整改"}
PASS = {"result": "pass", "findings": "复查达标"}
FORMS: dict[str, dict[str, Any]] = {
    "government_approval": {"approved": True, "opinion": "同意关停"},
    "close_order": {"order_no": "济政关〔2026〕1号", "order_date": "2026-10-02", "grounds": "逾期未整改"},
    "record_exit": {"equipment": "熔炉1座", "capacity_tpy": 100000, "exit_date": "2026-06-01"},
    "resettle_workers": {"workers_affected": 10, "plan": "转岗安置"},
    "cancel_licence": {"licence_no": "XK-1", "authority": "山东省市场监督管理局", "requested_on": "2026-06-01"},
    "credit_listing": {"listed_on": "2026-10-02", "platforms": "信用中国（山东济宁）", "published": True},
    "revoke_licences_notice": {"licences": "安全生产许可证", "notified_departments": "market"},
    "review_special_funds": {"eligible": False, "basis": "不符合专项资金支持条件"},
}


def code(n: int) -> str:
    return make_credit_code(f"91370800MA3D{n:04d}0")


def clock_to(ctx, instant: str) -> None:
    timers.advance_clock(ctx, SUPERVISOR, to=instant)


def open_case(ctx, dimension: str, industry: str, county: str, n: int) -> int:
    """Open a case for enterprise ``n`` in ``county`` (make_case always uses 任城区)."""
    from engine.parties import default_lead

    lead = default_lead(dimension, industry)
    return cases.start_case(ctx, actor("staff", lead), cases.NewCase(dimension=dimension, enterprise={
        "name": f"企业{n}", "credit_code": code(n), "county": county, "industry": industry}))


def finish(ctx, work, case_id: int) -> None:
    """Complete every open task (closure and measures) until the case ends."""
    case = cases.get_case(ctx, SUPERVISOR, case_id)
    while case["status"] == "open":
        key = case["open_tasks"][0]["key"]
        assert key in FORMS, f"no form data for {key}"
        case = work(case_id, key, FORMS[key])


@pytest.fixture
def year_of_cases(ctx, make_case, work) -> dict[int, bool]:
    """Seven cases of 2026 on the simulated clock (case id -> whether it had a deadline); now 2026-10-02.

    Rectified on 03-12 (10 days) and 04-01 (30 days); exited on 06-01 (91 days) and, overdue, on 10-02
    (214 days); one overdue and still open; one with its deadline running; one without a deadline.
    """
    rectified_10 = make_case("energy_use", industry="flat_glass", enterprise=code(1))  # 任城区, industry
    rectified_30 = open_case(ctx, "environmental", "other", "兖州区", 2)
    exited_overdue = open_case(ctx, "energy_use", "coal", "兖州区", 3)  # lead energy
    exited_91 = open_case(ctx, "phase_out", "other", "曲阜市", 4)
    work(exited_91, "screen_item", {"catalogue_item": "淘汰类 第1项", "exit_method": "seal_equipment",
                                    "exit_deadline": "2026-08-15"})
    no_deadline = make_case("safety", industry="other", enterprise=code(5))  # waits for order_suspension
    open_overdue = open_case(ctx, "quality", "flat_glass", "曲阜市", 6)
    work(open_overdue, "order_stop", {"order_no": "济市监停〔2026〕3号", "order_date": "2026-03-02"})
    clock_to(ctx, "2026-03-12T10:00:00+08:00")
    work(rectified_10, "rectify", RECTIFIED)
    work(rectified_10, "reinspect", PASS)
    clock_to(ctx, "2026-04-01T10:00:00+08:00")
    work(rectified_30, "rectify", RECTIFIED)
    work(rectified_30, "reinspect", PASS)
    clock_to(ctx, "2026-06-01T10:00:00+08:00")
    work(exited_91, "exit_report", {"exited_on": "2026-05-30", "report": "已封存主体设备"})
    work(exited_91, "reinspect", PASS)
    finish(ctx, work, exited_91)
    running = open_case(ctx, "energy_use", "other", "曲阜市", 7)  # deadline 2026-12-01
    clock_to(ctx, "2026-10-02T09:00:00+08:00")  # the 09-02 deadlines of two cases fire
    finish(ctx, work, exited_overdue)
    return {rectified_10: True, rectified_30: True, exited_overdue: True, exited_91: True, no_deadline: False,
            open_overdue: True, running: True}


def expected(ctx, had_deadline: dict[int, bool], year: int = 2026) -> dict[str, Any]:
    """The figures, counted case by case from the cases' own views (status, history, flags)."""
    rows: dict[str, dict[Any, dict[str, Any]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    durations: dict[str, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
    with ctx.unit_of_work() as session:
        today = ctx.today(session).isoformat()
    for case_id, deadline in had_deadline.items():
        case = cases.get_case(ctx, SUPERVISOR, case_id)
        notice = date.fromisoformat(case["notice_date"])
        late = case["overdue"] or any(e["action"] == "timer_fired" for e in case["history"]) or (
            case["status"] == "open" and case["deadline"] is not None and case["deadline"] < today)
        keys = {"total": "total", "dimension": case["dimension"], "industry": case["enterprise"]["industry"],
                "county": case["enterprise"]["county"], "department": case["lead_department"]}
        ends = [datetime.fromisoformat(e["at"]).astimezone(SHANGHAI).date() for e in case["history"]
                if e["action"] in ("case_compliant", "case_exited")]
        for breakdown, key in {**keys, "month": notice.month}.items():
            if notice.year == year:
                row = rows[breakdown][key]
                row["opened"] += 1
                row["with_deadline"] += deadline
                row["overdue"] += late
                row["running"] += bool(case["deadline"]) and not late
        if ends and ends[-1].year == year:
            for breakdown, key in {**keys, "month": ends[-1].month}.items():
                rows[breakdown][key]["rectified" if case["status"] == "compliant" else "exited"] += 1
                durations[breakdown][key].append((ends[-1] - notice).days)
    for breakdown, by_key in durations.items():
        for key, days in by_key.items():
            rows[breakdown][key]["median_days"] = stats.median(days)
    return rows


FIELDS = ("opened", "rectified", "exited", "with_deadline", "overdue", "running")


def figures(row: Any) -> dict[str, Any]:
    """The non-zero figures of a row (a Figures or an expected dict)."""
    got = row.as_dict() if hasattr(row, "as_dict") else row
    return {k: got[k] for k in (*FIELDS, "median_days") if got.get(k)}


def test_figures_equal_the_cases(ctx, year_of_cases):
    data = statistics_service.statistics(ctx, SUPERVISOR)
    assert data.filters.year == 2026 and data.today == date(2026, 10, 2)  # the clock's year by default
    want = expected(ctx, year_of_cases)
    assert figures(data.total) == figures(want["total"]["total"])
    assert (data.total.opened, data.total.rectified, data.total.exited) == (7, 2, 2)
    assert data.total.median_days == 60.5  # 10, 30, 91 and 214 days
    assert (data.total.overdue, data.total.with_deadline, data.total.running) == (2, 6, 1)
    assert data.total.overdue_rate == pytest.approx(2 / 6)
    for breakdown in statistics_service.BREAKDOWNS:
        got = {row.key: figures(row) for row in data.breakdowns[breakdown] if figures(row)}
        assert got == {k: figures(v) for k, v in want[breakdown].items()}, breakdown
    assert [r.key for r in data.breakdowns["month"]] == list(range(1, 13))
    assert [r.key for r in data.breakdowns["industry"]][:5] == ["steel", "coal", "cement", "aluminium", "flat_glass"]
    assert [r.key for r in data.breakdowns["dimension"]] == ["energy_use", "environmental", "quality", "safety",
                                                             "technology", "phase_out"]
    assert data.counties == ["任城区", "兖州区", "曲阜市"]


def _table(html: str, breakdown: str) -> list[list[str]]:
    """The rows (body and totals) of one table on the page, as cell texts."""
    match = re.search(rf'<table class="compact figures" id="table-{breakdown}">(.*?)</table>', html, re.S)
    assert match, breakdown
    body = match.group(1).split("</thead>")[1]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_page_tables_json_and_workbook_agree(login_as, ctx, year_of_cases):
    client = login_as("supervisor")
    page = client.get("/statistics")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="median-days">60.5<' in html and 'id="overdue-rate">33.3%<' in html
    assert "逾期率 = 逾期案件数 ÷ 设有期限的案件数" in html  # the definition is stated
    assert _table(html, "month")[2][:4] == ["3月", "6", "1", "0"]
    assert _table(html, "month")[-1] == ["合计", "7", "2", "2", "60.5", "6", "2", "33.3%"]
    assert ["能耗", "3", "1", "1", "112", "3", "1", "33.3%"] in _table(html, "dimension")  # 10 and 214 days
    assert ["兖州区", "2", "1", "1", "122", "2", "1", "50.0%"] in _table(html, "county")
    assert 'data-chart="' in html and "/statistics/export.xlsx?year=2026" in html

    data = client.get("/statistics/data.json").get_json()
    assert data["total"]["opened"] == 7 and data["total"]["median_days"] == 60.5
    assert {r["code"]: r["opened"] for r in data["county"]} == {"任城区": 2, "兖州区": 2, "曲阜市": 3}
    assert data["department"][0] == {**data["department"][0], "code": "industry", "name": "市工业和信息化局"}

    answer = client.get("/statistics/export.xlsx")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["概况", "按月份", "按类别", "按行业", "按县市区", "按牵头部门"]
    summary = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=3, values_only=True)}
    assert summary["立案数"] == 7 and summary["办结用时中位数（天）"] == 60.5 and summary["逾期率"] == 0.3333
    for breakdown, (title, heading) in statistics_service.SHEETS.items():
        sheet = list(book[title].iter_rows(values_only=True))
        assert sheet[1][:2] == (heading, "立案数")
        page_rows = _table(html, breakdown)
        assert [r[0] for r in sheet[2:]] == [r[0] for r in page_rows]
        totals = sheet[-1]
        assert totals[0] == "合计"
        assert [totals[1], totals[2], totals[3], totals[6], totals[7]] == [int(c) for c in page_rows[-1][1:4]] + [
            int(page_rows[-1][5]), int(page_rows[-1][6])]
        assert sum(r[1] for r in sheet[2:-1]) == totals[1] == 7
        assert sum(r[3] for r in sheet[2:-1]) == totals[3] == 2


def test_filters_by_dimension_county_and_year(login_as, ctx, year_of_cases):
    client = login_as("admin")
    energy = client.get("/statistics/data.json?dimension=energy_use").get_json()
    assert (energy["total"]["opened"], energy["total"]["rectified"], energy["total"]["exited"]) == (3, 1, 1)
    assert [r["code"] for r in energy["dimension"] if r["opened"]] == ["energy_use"]
    county = client.get("/statistics/data.json?county=兖州区").get_json()
    assert (county["total"]["opened"], county["total"]["median_days"]) == (2, 122)
    html = client.get("/statistics?county=兖州区&dimension=energy_use").get_data(as_text=True)
    assert _table(html, "county") == [["兖州区", "1", "0", "1", "214", "1", "1", "100.0%"],
                                      ["合计", "1", "0", "1", "214", "1", "1", "100.0%"]]
    assert client.get("/statistics/data.json?year=2025").get_json()["total"]["opened"] == 0
    assert client.get("/statistics?year=1900").status_code == 400


def test_years_and_months_follow_shanghai_time(ctx, make_case, work):
    first = make_case("energy_use", industry="other")
    clock_to(ctx, "2026-12-20T09:00:00+08:00")  # the first case's deadline (09-02) has fired
    late_december = make_case("environmental", industry="other", enterprise=code(9))
    clock_to(ctx, "2027-01-01T07:00:00+08:00")  # 2026-12-31 23:00 UTC: already 2027 in Shanghai
    work(late_december, "rectify", RECTIFIED)
    work(late_december, "reinspect", PASS)
    this_year = statistics_service.statistics(ctx, SUPERVISOR)
    assert this_year.filters.year == 2027 and this_year.years[:2] == [2027, 2026]
    assert (this_year.total.opened, this_year.total.rectified, this_year.total.median_days) == (0, 1, 12)
    assert this_year.breakdowns["month"][0].rectified == 1
    last_year = statistics_service.statistics(ctx, SUPERVISOR, statistics_service.StatisticsFilter(2026))
    assert (last_year.total.opened, last_year.total.rectified, last_year.total.ended) == (2, 0, 0)
    assert (last_year.total.overdue, last_year.total.with_deadline) == (1, 2)
    assert cases.get_case(ctx, SUPERVISOR, first)["overdue"] is True


def test_a_period_that_ran_out_under_review_counts_as_overdue_as_on_the_board(ctx, make_case, work):
    """The six months end while the department still reviews the extension request: no timer fires until the review
    is done, but the board already lists the case as overdue, and so do the statistics."""
    under_review = make_case("energy_use", industry="other")  # last day 2026-09-02
    work(under_review, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备供货周期长"})
    running = make_case("energy_use", industry="other", enterprise=code(9))
    clock_to(ctx, "2026-09-02T23:00:00+08:00")  # the last day itself: not yet overdue
    on_last_day = statistics_service.statistics(ctx, SUPERVISOR).total
    assert (on_last_day.overdue, on_last_day.running, on_last_day.with_deadline) == (0, 2, 2)
    clock_to(ctx, "2026-09-03T09:00:00+08:00")
    after = statistics_service.statistics(ctx, SUPERVISOR).total
    view = cases.get_case(ctx, SUPERVISOR, under_review)
    assert view["overdue"] is False and view["deadline"] == "2026-09-02"  # no timer fired: the review holds it
    assert cases.get_case(ctx, SUPERVISOR, running)["overdue"] is True  # its rectify timer fired
    assert (after.overdue, after.running, after.with_deadline) == (2, 0, 2)


@pytest.mark.parametrize("role, extra", [("staff", {"department": "industry"}), ("owner", {}),
                                         ("enterprise", {"enterprise": code(1)})])
def test_only_supervisors_and_admins(login_as, ctx, role, extra):
    client = login_as(role, **extra)
    for path in ("/statistics", "/statistics/data.json", "/statistics/export.xlsx"):
        assert client.get(path).status_code == 403, path
    assert "/statistics" not in client.get("/cases").get_data(as_text=True)
    with pytest.raises(PermissionDenied):
        statistics_service.statistics(ctx, actor(role, **extra))


def test_anonymous_is_sent_to_login(client):
    assert client.get("/statistics").status_code in (302, 401)


def test_supervisor_sees_the_charts(page, live_server, browser_login, year_of_cases):
    browser_login(page, live_server, "supervisor")
    page.click("nav.mainnav a:has-text('统计分析')")
    page.wait_for_url(f"{live_server}/statistics")
    for chart in ("month", "dimension", "county"):
        page.wait_for_selector(f"#chart-{chart} canvas")
    assert page.inner_text("#median-days") == "60.5"
    screenshot(page, "statistics")


@pytest.mark.usefixtures("english")
def test_statistics_in_english(client, login_as, year_of_cases):
    login_as("supervisor")
    client.get("/lang/en")
    page = client.get("/statistics").get_data(as_text=True)
    _assert_english(page, data=("任城区", "兖州区", "曲阜市"))
    assert "Overdue rate" in page and "By lead department" in page and "Industry and Information Technology" in page
    assert ">Mar<" in page and "flat glass" in page
