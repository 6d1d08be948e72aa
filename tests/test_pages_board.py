"""The supervisors' timer board, its digest and data, the simulated clock controls, and the inbox alerts."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from engine.credit_code import make_credit_code
from engine.services import board as board_service
from engine.services import cases, tasks, timers
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, actor, csrf_from
from tests.test_english import compiled  # noqa: F401  (a fixture)


def _section(html: str, group: str) -> str:
    """The HTML of one group's section on the board."""
    match = re.search(rf'<section class="card" id="group-{group}">(.*?)</section>', html, re.S)
    assert match, f"no section {group}"
    return match.group(1)


def _group_of(html: str, case_id: int) -> list[str]:
    return [g for g in board_service.GROUPS if f"/cases/{case_id}\"" in _section(html, g)]


@pytest.fixture
def supervisor(login_as):
    return login_as("supervisor")


def test_board_shows_running_case_with_deadline_and_days_left(supervisor, make_case):
    case_id = make_case("energy_use")  # notice 2026-03-02: six months, last day 2026-09-02
    page = supervisor.get("/board")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    later = _section(html, "later")
    assert f"/cases/{case_id}" in later
    assert "2026-09-02" in later
    assert "184 天" in later  # 2026-03-02 to 2026-09-02
    assert "企业整改" in later and "企业" in later and "能耗" in later
    assert "民法典" in later  # the rule that produced the deadline
    assert "2026-03-02" in html  # the clock's today, not the system date
    assert _group_of(html, case_id) == ["later"]


def _open_task(ctx, case_id: int, key: str) -> dict:
    return next(t for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"] if t["key"] == key)


def _board_row(html: str, group: str, case_id: int) -> str:
    """The board row of a case in a group."""
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", _section(html, group), re.S) if f"/cases/{case_id}\"" in r]
    assert len(rows) == 1, rows
    return rows[0]


def test_the_board_names_who_holds_each_clock(supervisor, ctx, make_case):
    claimed, waiting = make_case("energy_use"), make_case("energy_use", enterprise=ENTERPRISE_B)
    tasks.claim_task(ctx, actor("enterprise", enterprise=ENTERPRISE_A), _open_task(ctx, claimed, "rectify")["id"])
    html = supervisor.get("/board").get_data(as_text=True)
    assert f"enterprise_{ENTERPRISE_A}" in _board_row(html, "later", claimed)
    assert "未认领" in _board_row(html, "later", waiting) and "enterprise_" not in _board_row(html, "later", waiting)
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-03T09:00:00+08:00")  # both fired: overdue cases
    tasks.claim_task(ctx, actor("staff", "government"), _open_task(ctx, claimed, "government_approval")["id"])
    html = supervisor.get("/board").get_data(as_text=True)
    assert "staff_government" in _board_row(html, "overdue", claimed)
    assert "未认领" in _board_row(html, "overdue", waiting)
    digest = supervisor.get("/board/digest").get_data(as_text=True)
    government = re.search(r'id="dept-government">(.*?)</section>', digest, re.S).group(1)
    assert "staff_government" in government and "未认领" in government


def test_the_board_exports_every_row_with_its_holder(supervisor, ctx, make_case, monkeypatch):
    monkeypatch.setattr(board_service, "ROW_LIMIT", 2)  # the export reads every page, not the first
    soon = make_case("energy_use")
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-30T09:00:00+08:00")  # 3 days left
    later = [make_case("energy_use", enterprise=code)
             for code in (ENTERPRISE_B, make_credit_code("91370800MA3C00030"), make_credit_code("91370800MA3C00040"))]
    tasks.claim_task(ctx, actor("enterprise", enterprise=ENTERPRISE_A), _open_task(ctx, soon, "rectify")["id"])
    answer = supervisor.get("/board/export.xlsx")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(answer.data))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == board_service.EXPORT_HEADINGS
    by_case = {r[3]: r for r in rows[1:]}
    assert len(rows) == 5 and list(by_case)[0] == soon and set(list(by_case)[1:]) == set(later)  # the page's order
    assert by_case[soon][:3] == ("7日内到期", by_case[soon][1], 3) and by_case[soon][1].date() == date(2026, 9, 2)
    assert by_case[soon][5:10] == ("能耗", "企业", f"enterprise_{ENTERPRISE_A}", "市工业和信息化局", "企业整改")
    assert {by_case[c][7] for c in later} == {"未认领"} and {by_case[c][0] for c in later} == {"其他"}
    assert "民法典" in by_case[soon][10] and sheet["B2"].number_format == "yyyy-mm-dd"
    filtered = load_workbook(io.BytesIO(supervisor.get("/board/export.xlsx?department=industry").data)).active
    assert filtered.max_row == 1  # the filters of the page apply: industry holds none of these clocks


def test_groups_follow_the_clock(supervisor, ctx, make_case):
    case_id = make_case("energy_use")
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-10T09:00:00+08:00")  # 23 days left
    html = supervisor.get("/board").get_data(as_text=True)
    assert _group_of(html, case_id) == ["month"]
    assert "23 天" in _section(html, "month")
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-30T09:00:00+08:00")  # 3 days left
    html = supervisor.get("/board").get_data(as_text=True)
    assert _group_of(html, case_id) == ["week"]
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-03T09:00:00+08:00")  # fired: overdue
    html = supervisor.get("/board").get_data(as_text=True)
    assert _group_of(html, case_id) == ["overdue"]
    overdue = _section(html, "overdue")
    assert "审批关停" in overdue and "有批准权的人民政府" in overdue and "已逾期" in overdue
    assert f"/cases/{case_id}\"" in supervisor.get("/board?department=government").get_data(as_text=True)
    assert f"/cases/{case_id}\"" not in supervisor.get("/board?department=enterprise").get_data(as_text=True)


def test_overdue_cases_are_listed_the_latest_first(supervisor, ctx, make_case, work):
    """Cases whose deadline timer fired are listed by how long ago their period ran out, on the page, in the export
    and in the digest; not by case number."""
    extended = make_case("energy_use")  # notice 2026-03-02; extended by 3 months: last day 2026-12-02
    work(extended, "rectify", {"outcome": "extension_requested", "extension_months": 3, "reason": "设备改造周期较长"})
    work(extended, "review_extension", {"approved": True, "opinion": "同意延期3个月"})
    timers.advance_clock(ctx, actor("supervisor"), to="2026-03-10T09:00:00+08:00")
    plain = make_case("energy_use", enterprise=ENTERPRISE_B)  # notice 2026-03-10: last day 2026-09-10
    timers.advance_clock(ctx, actor("supervisor"), to="2026-12-10T09:00:00+08:00")  # both ran out
    html = supervisor.get("/board").get_data(as_text=True)
    overdue = _section(html, "overdue")
    assert overdue.index(f"/cases/{plain}\"") < overdue.index(f"/cases/{extended}\"")
    assert "2026-09-10" in _board_row(html, "overdue", plain) and "2026-12-02" in _board_row(html, "overdue", extended)
    sheet = load_workbook(io.BytesIO(supervisor.get("/board/export.xlsx").data)).active
    assert [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)] == [plain, extended]
    digest = supervisor.get("/board/digest").get_data(as_text=True)
    assert digest.index(f"/cases/{plain}\"") < digest.index(f"/cases/{extended}\"")


def test_department_filter_uses_the_holder(supervisor, make_case):
    case_id = make_case("energy_use")
    assert f"/cases/{case_id}\"" in supervisor.get("/board?department=enterprise").get_data(as_text=True)
    assert f"/cases/{case_id}\"" not in supervisor.get("/board?department=industry").get_data(as_text=True)


def test_counts_by_department_and_dimension(ctx, make_case):
    make_case("energy_use", industry="flat_glass")  # no C-3.3 price task in development's inbox
    make_case("environmental", enterprise=ENTERPRISE_B)
    make_case("energy_use", industry="coal", enterprise=make_credit_code("91370800MA3C00030"))  # lead energy;
    # clock held by the enterprise (a coal company: intake never changes ENTERPRISE_B's registered industry)
    data = board_service.chart_data(ctx, actor("supervisor"))
    assert dict(data["by_department"]) == {"enterprise": 3}
    assert dict(data["by_dimension"]) == {"energy_use": 2, "environmental": 1}
    assert data["groups"] == {"overdue": 0, "week": 0, "month": 0, "later": 3}
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")
    data = board_service.chart_data(ctx, actor("supervisor"))
    assert dict(data["by_department"]) == {"government": 3}
    assert data["groups"]["overdue"] == 3 and data["groups"]["later"] == 0


def _department_card(html: str) -> str:
    """The card of the counts by handling department: the chart, its table and what the page says of them."""
    start = html.rindex('<section class="card">', 0, html.index('id="chart-department"'))
    return html[start:html.index("</section>", start)]


@pytest.mark.usefixtures("compiled")
def test_a_case_two_departments_hold_counts_for_each_and_the_page_says_so(supervisor, ctx, make_case):
    make_case("energy_use", industry="steel")  # development sets the C-3.3 prices beside the rectification
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")  # the period ran out: the government's approval is next
    data = board_service.chart_data(ctx, actor("supervisor"))
    assert data["groups"]["overdue"] == 1 and dict(data["by_department"]) == {"development": 1, "government": 1}
    card = _department_card(supervisor.get("/board").get_data(as_text=True))
    assert "同一案件由多个部门并行办理的，分别计入各部门" in card
    card = _department_card(supervisor.get("/board?lang=en").get_data(as_text=True))
    assert "A case that several departments handle in parallel counts once for each of them" in card


def test_counts_on_the_page_and_in_json(supervisor, make_case):
    make_case("energy_use")
    make_case("environmental", enterprise=ENTERPRISE_B)
    html = supervisor.get("/board").get_data(as_text=True)
    table = re.search(r'<table class="compact" id="table-dimension">(.*?)</table>', html, re.S).group(1)
    assert re.search(r"能耗</a></td><td class=\"num\">1<", table)
    assert re.search(r"环保</a></td><td class=\"num\">1<", table)
    assert 'data-chart="' in html
    data = supervisor.get("/board/data.json").get_json()
    assert {d["code"]: d["count"] for d in data["by_dimension"]} == {"energy_use": 1, "environmental": 1}
    assert data["by_department"] == [{"code": "enterprise", "name": "企业", "count": 2}]


def test_calendar_links_a_day_to_its_deadlines(supervisor, ctx, make_case):
    case_id = make_case("energy_use")
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-20T09:00:00+08:00")
    html = supervisor.get("/board").get_data(as_text=True)
    assert 'href="/board?day=2026-09-02#groups"' in html
    day = supervisor.get("/board?day=2026-09-02").get_data(as_text=True)
    assert f"/cases/{case_id}" in day
    assert f"/cases/{case_id}" not in supervisor.get("/board?day=2026-09-03").get_data(as_text=True)


def test_filters_and_group_pages(supervisor, make_case):
    energy = make_case("energy_use")
    environmental = make_case("environmental", enterprise=ENTERPRISE_B)
    html = supervisor.get("/board?dimension=environmental").get_data(as_text=True)
    assert f"/cases/{environmental}\"" in html and f"/cases/{energy}\"" not in html
    html = supervisor.get("/board?group=later&page=1").get_data(as_text=True)
    assert "共 2 项" in html and 'id="group-week"' not in html
    assert f"/cases/{energy}\"" not in supervisor.get("/board?group=later&page=2").get_data(as_text=True)


def test_group_lists_are_limited(ctx, make_case, monkeypatch):
    monkeypatch.setattr(board_service, "ROW_LIMIT", 2)
    for _ in range(3):
        make_case("energy_use")
    data = board_service.board(ctx, actor("supervisor"))
    assert data.counts["later"] == 3 and len(data.rows["later"]) == 2
    page2 = board_service.board(ctx, actor("supervisor"), group="later", page=2)
    assert len(page2.rows["later"]) == 1 and list(page2.rows) == ["later"]


def test_digest_lists_a_departments_items(supervisor, ctx, make_case):
    environmental = make_case("environmental")
    quiet = make_case("energy_use", enterprise=ENTERPRISE_B)
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-28T09:00:00+08:00")  # both due 2026-09-02
    make_case("quality")  # no clock of its own yet
    html = supervisor.get("/board/digest").get_data(as_text=True)
    section = re.search(r'id="dept-environment">(.*?)</section>', html, re.S).group(1)
    assert f"/cases/{environmental}\"" in section and f"/cases/{quiet}\"" not in section
    assert "7日内到期" in section and "牵头" in section and "5 天" in section
    assert 'id="dept-industry"' in html  # the energy-use case's lead department
    timers.advance_clock(ctx, actor("supervisor"), by="P7D")
    html = supervisor.get("/board/digest").get_data(as_text=True)
    government = re.search(r'id="dept-government">(.*?)</section>', html, re.S).group(1)
    assert "已逾期 2" in government and "承办" in government


def test_department_alerts(ctx, make_case):
    make_case("environmental")
    make_case("energy_use", enterprise=ENTERPRISE_B)
    assert board_service.department_alerts(ctx, "environment") == {"overdue": 0, "due_soon": 0}
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-28T09:00:00+08:00")
    assert board_service.department_alerts(ctx, "environment") == {"overdue": 0, "due_soon": 1}
    assert board_service.department_alerts(ctx, "enterprise") == {"overdue": 0, "due_soon": 2}
    assert board_service.department_alerts(ctx, "enterprise", ENTERPRISE_A) == {"overdue": 0, "due_soon": 1}
    timers.advance_clock(ctx, actor("supervisor"), by="P7D")
    assert board_service.department_alerts(ctx, "environment") == {"overdue": 1, "due_soon": 0}
    assert board_service.department_alerts(ctx, "government") == {"overdue": 2, "due_soon": 0}
    assert board_service.department_alerts(ctx, "market") == {"overdue": 0, "due_soon": 0}


def test_advance_clock_from_the_board_fires_the_timer(supervisor, ctx, make_case):
    from engine.services import cases

    case_id = make_case("energy_use", industry="flat_glass")
    html = supervisor.get("/board").get_data(as_text=True)
    assert 'id="clock"' in html and "2026-03-02 09:00" in html
    answer = supervisor.post("/board/clock", data={"by": "P7M", "csrf_token": csrf_from(html)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/board")
    after = supervisor.get("/board").get_data(as_text=True)
    assert "模拟时钟已调至 2026-10-02 09:00；到期计时器已触发 1 个，涉及案件 1 件" in after
    assert [t["key"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]] == ["government_approval"]
    assert _group_of(after, case_id) == ["overdue"]
    # the period that ran out stays named: its last day and the rule that produced it
    row = re.search(r"<tr>\s*<td[^>]*>([^<]*)</td>(?:(?!</tr>).)*?/cases/" + str(case_id) + r"\"(.*?)</tr>", after,
                    re.S)
    assert row.group(1) == "2026-09-02" and "自2026-03-02通知次日起算6个月" in row.group(2)
    sheet = load_workbook(io.BytesIO(supervisor.get("/board/export.xlsx").data)).active
    exported = [r for r in sheet.iter_rows(min_row=2, values_only=True) if case_id in r]
    assert len(exported) == 1 and date(2026, 9, 2) in [v.date() if hasattr(v, "date") else v for v in exported[0]]
    assert exported[0][2] == -30  # 剩余天数: the period ran out 30 days before the clock's today (10-02)
    assert "逾期 30 天" in row.group(0)
    about = dict(load_workbook(io.BytesIO(supervisor.get("/board/export.xlsx?dimension=energy_use").data))["导出说明"]
                 .iter_rows(min_row=2, values_only=True))
    assert about["导出时间"].startswith("2026-10-02 09:00") and about["筛选条件"] == "类别：能耗" and about["行数"] == 1


def test_advance_custom_duration_and_to_a_date(supervisor, ctx):
    token = csrf_from(supervisor.get("/board").get_data(as_text=True))
    supervisor.post("/board/clock", data={"by": "custom", "custom": "P10D", "csrf_token": token})
    assert ctx.today().isoformat() == "2026-03-12"
    answer = supervisor.post("/board/clock", data={"to": "2026-04-01", "csrf_token": token}, follow_redirects=True)
    assert ctx.today().isoformat() == "2026-04-01" and "没有计时器到期" in answer.get_data(as_text=True)
    answer = supervisor.post("/board/clock", data={"by": "custom", "custom": "six months", "csrf_token": token},
                             follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert "时间格式有误" in text and ctx.today().isoformat() == "2026-04-01"
    assert "无法识别“six months”：时长形如 P6M、P10D、PT12H" in text  # all Chinese, with examples
    answer = supervisor.post("/board/clock", data={"to": "2026-01-01", "csrf_token": token}, follow_redirects=True)
    assert "时钟只能向前调整：2026-01-01 00:00 早于当前模拟时间 2026-04-01 00:00（北京时间）" in answer.get_data(as_text=True)


def test_the_date_to_move_to_starts_tomorrow(supervisor, ctx):
    """A date moves the clock to that day's 00:00, which for today has passed: the picker starts at tomorrow."""
    html = supervisor.get("/board").get_data(as_text=True)
    assert 'id="to" name="to" type="date" min="2026-03-03"' in html and ctx.today().isoformat() == "2026-03-02"


def test_advance_needs_csrf(supervisor, ctx):
    assert supervisor.post("/board/clock", data={"by": "P1D"}).status_code == 400
    assert ctx.today().isoformat() == "2026-03-02"


@pytest.mark.parametrize("role, extra", [("staff", {"department": "industry"}), ("enterprise", {"enterprise": ENTERPRISE_A}),
                                         ("owner", {})])
def test_others_get_403(login_as, ctx, role, extra):
    client = login_as(role, **extra)
    for path in ("/board", "/board/digest", "/board/data.json", "/board/export.xlsx"):
        assert client.get(path).status_code == 403
    token = csrf_from(client.get("/board").get_data(as_text=True))  # the 403 page has the logout form
    assert client.post("/board/clock", data={"by": "P7M", "csrf_token": token}).status_code == 403
    assert ctx.today().isoformat() == "2026-03-02"


def test_anonymous_is_sent_to_login(client):
    answer = client.get("/board")
    assert answer.status_code in (302, 401)


def test_admin_sees_the_board(login_as):
    assert login_as("admin").get("/board").status_code == 200


def test_system_clock_hides_controls_and_refuses_advance(supervisor, ctx, monkeypatch):
    from engine.clock import SystemClock

    token = csrf_from(supervisor.get("/board").get_data(as_text=True))
    monkeypatch.setattr(ctx, "clock", SystemClock())
    html = supervisor.get("/board").get_data(as_text=True)
    assert 'id="clock"' not in html and "/board/clock" not in html and "系统时钟" in html
    answer = supervisor.post("/board/clock", data={"by": "P7M", "csrf_token": token})
    assert answer.status_code == 409
    assert "真实时钟" in answer.get_data(as_text=True)
