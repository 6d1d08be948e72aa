"""A year the shipped holiday data lacks stays an estimate until the administrators say they have entered its
arrangements in full, by the notice; a correction needs its grounds, must change the day, and never silently
replaces another."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from engine.clock import parse_instant
from engine.errors import InvalidInput, PermissionDenied
from engine.models import AuditEvent
from engine.services import cases, rest_days, timers
from tests.conftest import ENTERPRISE_B, actor, csrf_from

ADMIN, SUPERVISOR = actor("admin"), actor("supervisor")
ESTIMATE = "2027年放假安排尚未公布，按推定计算"
NOTICE = "国办发明电〔2026〕9号"


@pytest.fixture
def case_ending_in_2027(ctx, make_case) -> int:
    timers.set_clock(ctx, ADMIN, parse_instant("2026-11-25T09:00:00+08:00"))
    return make_case("energy_use")  # notice 2026-11-25: six months, last day 2027-05-25


def _rule(ctx, case_id: int) -> str:
    return cases.get_case(ctx, SUPERVISOR, case_id)["deadline_rule"]


def _problem(refused: pytest.ExceptionInfo) -> tuple[str | None, str]:
    problem = refused.value.problems[0]
    return problem.field, problem.message_zh


def test_a_correction_in_a_year_not_yet_published_leaves_its_deadlines_estimates(ctx, make_case, case_ending_in_2027):
    assert rest_days.year_overview(ctx, 2027)["published"] is False
    assert ESTIMATE in _rule(ctx, case_ending_in_2027)
    rest_days.set_rest_day(ctx, ADMIN, date(2027, 6, 1), working=False, note="地方临时安排")
    assert ESTIMATE in _rule(ctx, case_ending_in_2027)
    assert ESTIMATE in _rule(ctx, make_case("energy_use", enterprise=ENTERPRISE_B))  # a deadline computed after it
    assert rest_days.year_overview(ctx, 2027)["arranged"] is False


def test_entering_a_years_arrangements_settles_its_deadlines_again_and_can_be_taken_back(ctx, make_case,
                                                                                        case_ending_in_2027):
    assert rest_days.enter_arrangements(ctx, ADMIN, 2027, NOTICE) == [case_ending_in_2027]
    with ctx.unit_of_work() as session:
        actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["deadline_redated", "arrangements_entered"]
    rule = _rule(ctx, case_ending_in_2027)
    assert ESTIMATE not in rule and "2027-05-25" in rule
    assert ESTIMATE not in _rule(ctx, make_case("energy_use", enterprise=ENTERPRISE_B))
    overview = rest_days.year_overview(ctx, 2027)
    assert overview["arranged"] is True and overview["entered"]["notice"] == NOTICE

    assert set(rest_days.withdraw_arrangements(ctx, ADMIN, 2027)) >= {case_ending_in_2027}
    assert ESTIMATE in _rule(ctx, case_ending_in_2027)
    assert rest_days.year_overview(ctx, 2027)["entered"] is None


def test_what_cannot_be_entered_is_refused_and_changes_nothing(ctx, case_ending_in_2027):
    with pytest.raises(InvalidInput) as refused:
        rest_days.enter_arrangements(ctx, ADMIN, 2027, "  ")
    assert _problem(refused)[0] == "notice"
    with pytest.raises(InvalidInput) as refused:
        rest_days.enter_arrangements(ctx, ADMIN, 2026, NOTICE)
    assert _problem(refused) == ("year", "2026年放假安排已随系统的节假日数据公布，无需录入")
    with pytest.raises(PermissionDenied):
        rest_days.enter_arrangements(ctx, actor("staff", "industry"), 2027, NOTICE)
    rest_days.enter_arrangements(ctx, ADMIN, 2027, NOTICE)
    with pytest.raises(InvalidInput) as refused:
        rest_days.enter_arrangements(ctx, ADMIN, 2027, "另一份通知")
    assert NOTICE in _problem(refused)[1]
    rest_days.withdraw_arrangements(ctx, ADMIN, 2027)
    with pytest.raises(InvalidInput):
        rest_days.withdraw_arrangements(ctx, ADMIN, 2027)


def test_a_correction_needs_grounds_a_change_and_a_free_day(ctx):
    with pytest.raises(InvalidInput) as refused:
        rest_days.set_rest_day(ctx, ADMIN, date(2027, 6, 1), working=False, note=" ")
    assert _problem(refused)[0] == "note"
    with pytest.raises(InvalidInput) as refused:  # a Saturday is a rest day already
        rest_days.set_rest_day(ctx, ADMIN, date(2027, 5, 29), working=False, note="重复")
    assert _problem(refused)[0] == "kind" and "本来就是休息日" in _problem(refused)[1]
    rest_days.set_rest_day(ctx, ADMIN, date(2027, 1, 24), working=True, note="调休上班")
    with pytest.raises(InvalidInput) as refused:  # never silently replaces the correction the day has
        rest_days.set_rest_day(ctx, ADMIN, date(2027, 1, 24), working=False, note="改为休息")
    assert _problem(refused)[0] == "day" and "调休上班" in _problem(refused)[1]
    assert rest_days.list_rest_days(ctx) == [{"day": "2027-01-24", "working": True, "note": "调休上班"}]
    with pytest.raises(InvalidInput) as refused:  # nothing to remove
        rest_days.clear_rest_day(ctx, ADMIN, date(2027, 1, 25))
    assert _problem(refused) == ("day", "2027-01-25 没有更正，无需删除")


def test_the_calendar_page_enters_and_withdraws_a_years_arrangements(login_as, client, case_ending_in_2027, ctx):
    login_as("admin")
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "录入完毕前，最后一日落在本年的期限都标注“按推定计算”。" in page
    assert 'id="estimated-table"' in page and "随系统发布的节假日数据" not in page  # the table is no notice's
    token = csrf_from(page)
    refused = client.post("/admin/calendar/2027/entered", data={"csrf_token": token, "notice": ""})
    assert refused.status_code == 400 and "请填写公布放假安排的通知文号" in refused.get_data(as_text=True)
    answer = client.post("/admin/calendar/2027/entered", data={"csrf_token": token, "notice": NOTICE})
    assert answer.status_code == 302
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert f"管理员已按 {NOTICE} 录入本年放假安排" in page and "有 1 件案件据此重新计算" in page
    assert ESTIMATE not in _rule(ctx, case_ending_in_2027)
    assert client.post("/admin/calendar/2027/entered/withdraw", data={"csrf_token": token}).status_code == 302
    assert ESTIMATE in _rule(ctx, case_ending_in_2027)


def test_staff_cannot_enter_a_years_arrangements(login_as, client):
    login_as("staff", department="industry")
    assert client.post("/admin/calendar/2027/entered", data={"notice": NOTICE}).status_code in (400, 403)
    assert client.get("/admin/calendar").status_code == 403


def test_a_deadline_on_a_day_made_a_working_day_says_why_and_its_history_names_the_grounds(ctx, make_case,
                                                                                          login_as, client):
    timers.set_clock(ctx, ADMIN, parse_instant("2026-03-05T09:00:00+08:00"))
    case_id = make_case("energy_use")  # six months: Saturday 2026-09-05, so it ends Monday 09-07
    assert cases.get_case(ctx, SUPERVISOR, case_id)["deadline"] == "2026-09-07"
    assert rest_days.set_rest_day(ctx, ADMIN, date(2026, 9, 5), working=True, note="国办发明电〔2026〕7号") == [case_id]
    case = cases.get_case(ctx, SUPERVISOR, case_id)
    assert case["deadline"] == "2026-09-05"
    assert "该日原为周六，现为管理员设定工作日，不顺延" in case["deadline_rule"]
    assert "2026-09-05 would be a rest day (Saturday) but is a working day set by an administrator" in \
        case["deadline_rule_en"]
    login_as("supervisor")
    history = client.get(f"/cases/{case_id}").get_data(as_text=True)
    redated = history[history.index('data-action="deadline_redated"'):]
    redated = redated[:redated.index("</tr>")]
    assert "更正的日期：2026-09-05" in redated and "更正依据：国办发明电〔2026〕7号" in redated


@pytest.mark.parametrize(("year", "festival", "workdays"), [
    (2026, "国庆节", ["2026-09-20", "2026-10-10"]),  # 国办发明电〔2025〕7号: 9-20 makes up for National Day
    (2026, "中秋节", None),  # 9-25 (Friday) with its weekend: nothing to make up
    (2021, "中秋节", ["2021-09-18"]),
    (2021, "国庆节", ["2021-09-26", "2021-10-09"]),
])
def test_a_swapped_working_day_is_filed_under_the_holiday_it_makes_up_for(ctx, year, festival, workdays):
    periods = {p["name"]: [d.isoformat() for d in p["workdays"]] for p in rest_days.year_overview(ctx, year)["periods"]}
    assert periods.get(festival) == (workdays or [])


def _history_rows(html: str, action: str) -> list[str]:
    return re.findall(rf'<tr data-action="{action}">(.*?)</tr>', html, re.S)


def test_the_history_says_why_a_deadline_was_settled_again(ctx, make_case, case_ending_in_2027, login_as, client):
    """Entering and withdrawing a year, and removing a correction, each say so in the history of the cases they
    touch, on the case page and on the task page alike."""
    rest_days.enter_arrangements(ctx, ADMIN, 2027, NOTICE)
    rest_days.withdraw_arrangements(ctx, ADMIN, 2027)
    login_as("supervisor")
    entered, withdrawn = (re.sub(r"\s+", " ", row) for row in
                          _history_rows(client.get(f"/cases/{case_ending_in_2027}").get_data(as_text=True),
                                        "deadline_redated"))
    assert f"2027年放假安排已按 {NOTICE} 录入，期限不再按推定计算" in entered and "届满日不变：2027-05-25" in entered
    assert f"撤回 2027 年放假安排的录入（{NOTICE}），期限重新按推定计算" in withdrawn
    assert "→" not in entered  # the last day did not move
    task_id = cases.get_case(ctx, SUPERVISOR, case_ending_in_2027)["open_tasks"][0]["id"]
    task_page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f"2027年放假安排已按 {NOTICE} 录入" in task_page


def test_removing_a_correction_says_so_with_the_grounds_it_had(ctx, make_case, login_as, client):
    timers.set_clock(ctx, ADMIN, parse_instant("2026-03-05T09:00:00+08:00"))
    case_id = make_case("energy_use")  # last day Saturday 2026-09-05, so Monday 09-07
    rest_days.set_rest_day(ctx, ADMIN, date(2026, 9, 5), working=True, note="调休上班")
    rest_days.clear_rest_day(ctx, ADMIN, date(2026, 9, 5))
    login_as("supervisor")
    rows = _history_rows(client.get(f"/cases/{case_id}").get_data(as_text=True), "deadline_redated")
    removed = re.sub(r"\s+", " ", rows[-1])
    assert "删除 2026-09-05 的更正（原依据：调休上班）" in removed and "新届满日：2026-09-07" in removed
    assert "更正依据" not in removed


def test_a_year_entered_is_no_longer_called_unpublished(ctx, login_as, client):
    rest_days.enter_arrangements(ctx, ADMIN, 2027, NOTICE)
    login_as("admin")
    page_2027 = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert 'id="arrangements-entered"' in page_2027 and "2027年放假安排尚未公布" not in page_2027
    timers.set_clock(ctx, ADMIN, parse_instant("2026-11-25T09:00:00+08:00"))
    assert "2027年放假安排尚未公布" not in client.get("/admin/calendar?year=2026").get_data(as_text=True)
