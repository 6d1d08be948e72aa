"""The statutory procedures of DOMAIN.md, end to end through the engine's services.

Real BPMN from processes/, a fresh database per test, the simulated clock starting on
Monday 2026-03-02 09:00 (+08:00), never a sleep. The engine loads and saves the case
between every step, so each scenario also runs through save and restore;
``test_state_is_stored_without_spec_and_reloads_with_the_safe_engine`` checks that
explicitly once.

Key dates (2026 arrangements of the State Council):
- notice 2026-03-02 + 6 months -> 2026-09-02 (Wednesday), timer due 2026-09-03 00:00 +08:00;
- 2026-05-01 Labour Day -> 2026-05-06; 2026-06-20 Saturday -> 2026-06-22;
- 2026-10-01 National Day -> 2026-10-08; 2026-08-15 Saturday -> 2026-08-17.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine import runner, store
from engine.clock import SHANGHAI, parse_instant
from engine.errors import Conflict, InvalidInput, NotFound
from engine.expressions import SafeScriptEngine
from engine.models import Case, WaitingTimer
from engine.services import board, cases, instances, tasks, timers
from tests.conftest import CLOCK_START, ENTERPRISE_A, ENTERPRISE_B, START_DAY, _dispose, actor
from webapp import create_app

SUPERVISOR = actor("supervisor")

# ---------------------------------------------------------------------------------------------
# Form data
# ---------------------------------------------------------------------------------------------

RECTIFIED = {"outcome": "rectified", "report": "已完成节能改造"}
PASS = {"result": "pass", "findings": "复查达标"}
FAIL = {"result": "fail", "findings": "复查仍不达标"}
APPROVE = {"approved": True, "opinion": "同意关停"}
REFUSE = {"approved": False, "opinion": "不予批准，继续复查"}
CLOSE = {"order_no": "济政关〔2026〕1号", "order_date": START_DAY, "grounds": "逾期未整改"}
RECORD_EXIT = {"equipment": "450m³高炉1座", "capacity_tpy": 400000, "exit_date": START_DAY}
MEASURE_FORMS = {
    "resettle_workers": {"workers_affected": 120, "plan": "转岗安置"},
    "cancel_licence": {"licence_no": "XK05-001-00001", "authority": "山东省市场监督管理局",
                       "requested_on": START_DAY},
    "credit_listing": {"listed_on": START_DAY, "platforms": "市信用信息共享平台；信用中国（山东济宁）",
                       "published": True},
    "revoke_licences_notice": {"licences": "安全生产许可证", "notified_departments": "market"},
    "review_special_funds": {"eligible": True, "amount": 200, "basis": "符合职工安置专项资金支持条件"},
    "restrict_credit_pboc": {"credit_system_recorded": True, "guidance_issued_on": START_DAY,
                             "measures": "指导金融机构严控新增授信"},
    "restrict_credit_banking": {"new_credit_stopped": True, "loan_balance": 3500, "reduction_plan": "一年内压缩退出",
                                "notified_on": START_DAY},
    "dispose_land": {"disposal_method": "government_purchase", "area_m2": 52000, "plan": "政府收储改造"},
    "land_funds": {"amount": 800, "budget_basis": "土地出让收入按预算安排职工安置费用"},
}
# measures that open when another one is done (C-3.1 after C-3.5; the land funds after the land disposal, C-3.6)
FOLLOW_UPS = {"resettle_workers": ("review_special_funds", "finance"), "dispose_land": ("land_funds", "finance")}
# C-3.4 and C-3.8 for an exit not completed in time
OVERDUE_EXIT_MEASURES = {"credit_listing": "development", "restrict_credit_pboc": "pboc",
                         "restrict_credit_banking": "banking"}
UNPRICED = "flat_glass"  # an energy_use case without the C-3.3 price measure (tests/test_measures.py has those)
SEALED = {"water_cut": True, "power_cut": True, "power_unit_removed": True, "equipment_sealed": True,
          "sealed_on": START_DAY}
COMMITTED = {"commitment": "本企业承诺不再恢复生产", "committed": True}
ANNOUNCED = {"url": "https://www.jining.gov.cn/gg/2026/1.html", "published_on": START_DAY}
DISMANTLED = {"dismantled_on": START_DAY, "report": "主体设备已拆除"}


def extension(months: int) -> dict:
    return {"outcome": "extension_requested", "extension_months": months, "reason": "改造设备供货周期长"}


def assessment(*, dismantlable: bool, ditiaogang: bool = False, deadline: str = "2026-04-30") -> dict:
    return {"dismantlable": dismantlable, "ditiaogang": ditiaogang, "dismantle_deadline": deadline,
            "equipment": "中频炉2台"}


def screening(deadline: str) -> dict:
    return {"catalogue_item": "淘汰类 钢铁 第1项", "exit_method": "seal_equipment", "exit_deadline": deadline}


# ---------------------------------------------------------------------------------------------
# Reading a case
# ---------------------------------------------------------------------------------------------


def view(ctx, case_id: int) -> dict:
    return cases.get_case(ctx, SUPERVISOR, case_id)


def open_tasks(case: dict) -> list[tuple[str, str]]:
    """(key, department) of every open task, sorted."""
    return sorted((t["key"], t["department"]) for t in case["open_tasks"])


def open_keys(case: dict) -> list[str]:
    return sorted(t["key"] for t in case["open_tasks"])


def rectify_form(ctx, case_id: int) -> dict:
    """The form of the case's open rectification as the enterprise gets it."""
    (task,) = [t for t in view(ctx, case_id)["open_tasks"] if t["key"] == "rectify"]
    return tasks.get_task(ctx, actor("enterprise", enterprise=ENTERPRISE_A), task["id"])["form"]


def due(case: dict, key: str) -> str | None:
    (task,) = [t for t in case["open_tasks"] if t["key"] == key]
    return task["due"]


def actions(case: dict) -> list[str]:
    return [event["action"] for event in case["history"]]


def completed(case: dict) -> list[str]:
    """Keys of the completed tasks, in order."""
    return [e["detail"]["key"] for e in case["history"] if e["action"] == "task_completed"]


def fired(case: dict) -> list[str]:
    return [e["detail"]["timer"] for e in case["history"] if e["action"] == "timer_fired"]


def assert_deadline(case: dict, last_day: str | None, *mentions: str) -> None:
    """The case's deadline, and the dates its rule must name."""
    assert case["deadline"] == last_day
    if last_day is None:
        assert case["deadline_rule"] is None
        return
    for text in (last_day, *mentions):
        assert text in case["deadline_rule"], (text, case["deadline_rule"])
    assert last_day in case["deadline_rule_en"]


def timers_of(ctx, case_id: int) -> list[tuple[str, str]]:
    return [(t["task_key"], t["due_at"]) for t in timers.list_timers(ctx, SUPERVISOR) if t["case_id"] == case_id]


def fields(excinfo) -> set[str]:
    return {p.field for p in excinfo.value.problems}


def clock_to(ctx, instant: str) -> dict:
    """Move the simulated clock and sweep (as the scheduler does)."""
    return timers.advance_clock(ctx, SUPERVISOR, to=instant)


# ---------------------------------------------------------------------------------------------
# Steps shared by the procedures
# ---------------------------------------------------------------------------------------------


def approve_and_order_closure(work, case_id: int, lead: str) -> dict:
    case = work(case_id, "government_approval", APPROVE)
    assert open_tasks(case) == [("close_order", lead)]
    case = work(case_id, "close_order", CLOSE)
    assert open_tasks(case) == [("record_exit", lead)]
    assert case["status"] == "open"
    return case


def finish_closure(work, case_id: int, measures: dict[str, str]) -> dict:
    """record_exit, then every parallel measure (key -> department); the case ends ``exited``."""
    return complete_measures(work, case_id, work(case_id, "record_exit", RECORD_EXIT), measures)


def complete_measures(work, case_id: int, case: dict, measures: dict[str, str]) -> dict:
    """The measures after record_exit are exactly ``measures``; complete them one by one (and their follow-ups)."""
    assert open_tasks(case) == sorted(measures.items())
    assert case["status"] == "open"
    assert_deadline(case, None)
    remaining = dict(measures)
    while remaining:
        key = min(remaining)
        assert case["status"] == "open"
        case = work(case_id, key, MEASURE_FORMS[key])
        del remaining[key]
        remaining.update([FOLLOW_UPS[key]] if key in FOLLOW_UPS else [])
        assert open_tasks(case) == sorted(remaining.items())
    assert case["status"] == "exited"
    assert actions(case)[-1] == "case_exited"
    assert_deadline(case, None)
    return case


# ---------------------------------------------------------------------------------------------
# Rectification procedures: energy use (C-2.1), environmental (C-2.2), quality (C-2.3)
# ---------------------------------------------------------------------------------------------

# (dimension, industry, lead department, licence measure after a closure)
RECTIFICATION = [
    pytest.param("energy_use", UNPRICED, "industry", {"cancel_licence": "market"}, id="energy-flat-glass"),
    pytest.param("energy_use", "coal", "energy", {"cancel_licence": "market"}, id="energy-coal"),
    pytest.param("environmental", "steel", "environment", {"cancel_licence": "market"}, id="environmental"),
    pytest.param("quality", "steel", "market", {}, id="quality"),
]
SIX_MONTHS_RULE = ("2026-03-02", "2026-09-02", "6个月")


def start_rectification(ctx, make_case, work, dimension: str, industry: str, lead: str) -> int:
    """Open the case and reach ``rectify`` (quality first orders production stopped)."""
    case_id = make_case(dimension, industry=industry)
    case = view(ctx, case_id)
    assert case["status"] == "open" and case["lead_department"] == lead and case["overdue"] is False
    assert actions(case) == ["case_opened"]
    if dimension == "quality":
        assert open_tasks(case) == [("order_stop", "market")]
        # the six months run from the notice while the order is prepared: a clock the board shows, never fired
        assert_deadline(case, "2026-09-02", *SIX_MONTHS_RULE)
        assert due(case, "order_stop") == "2026-09-02"
        assert timers_of(ctx, case_id) == []
        with ctx.unit_of_work() as session:
            clocks = session.execute(sa.select(WaitingTimer.task_key, WaitingTimer.fires)
                                     .where(WaitingTimer.case_id == case_id)).all()
        assert clocks == [("order_stop", False)]
        case = work(case_id, "order_stop", {"order_no": "济市监停〔2026〕3号", "order_date": "2026-03-02"})
    assert open_tasks(case) == [("rectify", "enterprise")]
    assert due(case, "rectify") == "2026-09-02"
    assert_deadline(case, "2026-09-02", *SIX_MONTHS_RULE)
    assert "6 months" in case["deadline_rule_en"]
    assert timers_of(ctx, case_id) == [("rectify_deadline", "2026-09-03T00:00:00+08:00")]
    return case_id


@pytest.mark.parametrize(("dimension", "industry", "lead", "licence"), RECTIFICATION)
def test_rectified_and_passing_is_compliant(ctx, make_case, work, dimension, industry, lead, licence):
    case_id = start_rectification(ctx, make_case, work, dimension, industry, lead)
    case = work(case_id, "rectify", RECTIFIED)
    assert open_tasks(case) == [("reinspect", lead)]
    assert_deadline(case, None)
    assert timers_of(ctx, case_id) == []
    case = work(case_id, "reinspect", PASS)
    assert case["status"] == "compliant"
    assert open_tasks(case) == []
    assert case["overdue"] is False
    assert completed(case)[-2:] == ["rectify", "reinspect"]
    assert actions(case)[-1] == "case_compliant"
    assert "timer_fired" not in actions(case)


@pytest.mark.parametrize(("dimension", "industry", "lead", "licence"), RECTIFICATION)
def test_overdue_rectification_is_closed_without_credit_listing(ctx, make_case, work, dimension, industry, lead,
                                                                 licence):
    """A missed rectification deadline leads to closure; C-3.8 credit listing is for exits not completed in time."""
    case_id = start_rectification(ctx, make_case, work, dimension, industry, lead)
    result = timers.advance_clock(ctx, SUPERVISOR, by="P7M")
    assert result["fired"] == 1 and result["now"] == "2026-10-02T09:00:00+08:00"
    case = view(ctx, case_id)
    assert case["overdue"] is True and case["status"] == "open"
    assert open_tasks(case) == [("government_approval", "government")]
    assert_deadline(case, None)
    assert fired(case) == ["rectify_deadline"]
    assert case["history"][-1]["actor"] == "system"
    assert "rectify" not in completed(case)
    approve_and_order_closure(work, case_id, lead)
    case = finish_closure(work, case_id, {"resettle_workers": "hrss", **licence})
    tail = completed(case)[completed(case).index("government_approval"):]
    assert tail[:3] == ["government_approval", "close_order", "record_exit"]
    assert sorted(tail[3:]) == sorted(["resettle_workers", "review_special_funds", *licence])


@pytest.mark.parametrize(("dimension", "industry", "lead", "licence"), RECTIFICATION)
def test_failing_reinspection_is_closed_without_credit_listing(ctx, make_case, work, dimension, industry, lead,
                                                                licence):
    case_id = start_rectification(ctx, make_case, work, dimension, industry, lead)
    work(case_id, "rectify", RECTIFIED)
    case = work(case_id, "reinspect", FAIL)
    assert open_tasks(case) == [("government_approval", "government")]
    assert case["overdue"] is False
    approve_and_order_closure(work, case_id, lead)
    case = finish_closure(work, case_id, {"resettle_workers": "hrss", **licence})
    assert "credit_listing" not in completed(case)
    assert "timer_fired" not in actions(case)


def test_a_closure_order_dated_after_today_is_refused_today_is_accepted(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    work(case_id, "rectify", RECTIFIED)
    work(case_id, "reinspect", FAIL)
    work(case_id, "government_approval", APPROVE)
    before = view(ctx, case_id)
    with pytest.raises(InvalidInput) as refused:  # the simulated clock's today is 2026-03-02
        work(case_id, "close_order", {**CLOSE, "order_date": "2026-03-03"})
    assert fields(refused) == {"order_date"}
    (problem,) = refused.value.problems
    assert problem.message_zh == "「决定日期」不能晚于今天（2026-03-02），填写的是 2026-03-03"
    assert problem.message_en == "Date of decision cannot be after today (2026-03-02): got 2026-03-03"
    after = view(ctx, case_id)
    assert (after["version"], after["open_tasks"], actions(after)) == (
        before["version"], before["open_tasks"], actions(before))
    clock_to(ctx, "2026-03-03T00:00:00+08:00")  # today is Shanghai's: 2026-03-02 16:00 UTC
    case = work(case_id, "close_order", {**CLOSE, "order_date": "2026-03-03"})
    assert open_tasks(case) == [("record_exit", "industry")]


@pytest.mark.parametrize(("dimension", "industry", "lead", "licence"), RECTIFICATION)
def test_government_refusal_returns_to_reinspection(ctx, make_case, work, dimension, industry, lead, licence):
    case_id = start_rectification(ctx, make_case, work, dimension, industry, lead)
    work(case_id, "rectify", RECTIFIED)
    work(case_id, "reinspect", FAIL)
    case = work(case_id, "government_approval", REFUSE)
    assert open_tasks(case) == [("reinspect", lead)]
    assert case["status"] == "open"
    case = work(case_id, "reinspect", PASS)
    assert case["status"] == "compliant"
    assert completed(case)[-4:] == ["rectify", "reinspect", "government_approval", "reinspect"]


# --- extensions (C-2.1, C-2.2: once, at most 3 months, added to the current deadline) ------------

EXTENDABLE = [pytest.param("energy_use", "industry", id="energy"),
              pytest.param("environmental", "environment", id="environmental")]


@pytest.mark.parametrize(("dimension", "lead"), EXTENDABLE)
def test_granted_extension_moves_the_current_deadline(ctx, make_case, work, dimension, lead):
    case_id = start_rectification(ctx, make_case, work, dimension, UNPRICED, lead)
    assert timers.advance_clock(ctx, SUPERVISOR, by="P5M")["fired"] == 0  # 2026-08-02
    case = work(case_id, "rectify", extension(2))
    assert open_tasks(case) == [("review_extension", lead)]
    case = work(case_id, "review_extension", {"approved": True, "opinion": "同意延期2个月"})
    # 2026-09-02 + 2 months, not the grant date 2026-08-02 + 2 months (2026-10-02)
    assert open_tasks(case) == [("rectify", "enterprise")]
    assert due(case, "rectify") == "2026-11-02"
    assert_deadline(case, "2026-11-02", "2026-09-02", "2个月")
    assert "2026-10-02" not in case["deadline_rule"]
    assert timers_of(ctx, case_id) == [("rectify_deadline", "2026-11-03T00:00:00+08:00")]
    assert completed(case) == ["rectify", "review_extension"]
    # the original deadline no longer runs
    assert clock_to(ctx, "2026-09-10T09:00:00+08:00")["fired"] == 0
    form = rectify_form(ctx, case_id)
    assert form["properties"]["outcome"]["enum"] == ["rectified"]  # the form no longer offers a second request
    assert "extension_months" not in form["properties"] and "不能再次申请" in form["description"]
    with pytest.raises(InvalidInput) as refused:  # the one extension is used up
        work(case_id, "rectify", extension(1))
    assert fields(refused) == {"outcome"}
    case = work(case_id, "rectify", RECTIFIED)
    case = work(case_id, "reinspect", PASS)
    assert case["status"] == "compliant" and case["overdue"] is False


@pytest.mark.parametrize(("dimension", "lead"), EXTENDABLE)
def test_refused_extension_keeps_the_original_deadline(ctx, make_case, work, dimension, lead):
    case_id = start_rectification(ctx, make_case, work, dimension, UNPRICED, lead)
    original_rule = view(ctx, case_id)["deadline_rule"]
    work(case_id, "rectify", extension(3))
    case = work(case_id, "review_extension", {"approved": False, "opinion": "理由不充分"})
    assert open_tasks(case) == [("rectify", "enterprise")]
    assert due(case, "rectify") == "2026-09-02"
    assert_deadline(case, "2026-09-02", *SIX_MONTHS_RULE)
    assert case["deadline_rule"] == original_rule
    before = view(ctx, case_id)
    with pytest.raises(InvalidInput) as refused:  # a second request is refused at once
        work(case_id, "rectify", extension(1))
    assert fields(refused) == {"outcome"}
    after = view(ctx, case_id)
    assert (after["version"], after["open_tasks"], after["history"]) == (
        before["version"], before["open_tasks"], before["history"])
    # and the original deadline still runs
    assert clock_to(ctx, "2026-09-03T00:00:01+08:00")["fired"] == 1
    assert open_tasks(view(ctx, case_id)) == [("government_approval", "government")]


@pytest.mark.parametrize("months", [4, 0])
def test_extension_outside_one_to_three_months_is_refused_and_changes_nothing(ctx, make_case, work, months):
    case_id = start_rectification(ctx, make_case, work, "energy_use", UNPRICED, "industry")
    before = view(ctx, case_id)
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "rectify", extension(months))
    assert fields(refused) == {"extension_months"}
    after = view(ctx, case_id)
    assert (after["version"], after["open_tasks"], after["history"], after["deadline"]) == (
        before["version"], before["open_tasks"], before["history"], before["deadline"])
    # the refused request did not use up the one extension
    case = work(case_id, "rectify", extension(3))
    assert open_tasks(case) == [("review_extension", "industry")]


def test_quality_period_runs_from_the_notice_not_from_the_stop_order(ctx, make_case, work):
    case_id = make_case("quality")
    assert timers.advance_clock(ctx, SUPERVISOR, by="P10D")["fired"] == 0
    case = work(case_id, "order_stop", {"order_no": "济市监停〔2026〕3号", "order_date": "2026-03-12"})
    assert open_tasks(case) == [("rectify", "enterprise")]
    assert due(case, "rectify") == "2026-09-02"
    assert_deadline(case, "2026-09-02", *SIX_MONTHS_RULE)
    assert completed(case) == ["order_stop"]


@pytest.mark.parametrize("dimension", ["quality", "safety"])
def test_no_extension_outside_energy_and_environment(ctx, make_case, work, dimension):
    case_id = make_case(dimension)
    if dimension == "quality":
        work(case_id, "order_stop", {"order_no": "1", "order_date": "2026-03-02"})
    else:
        work(case_id, "order_suspension", {"order_no": "1", "rectify_until": "2026-04-30"})
    form = rectify_form(ctx, case_id)
    assert form["properties"]["outcome"]["enum"] == ["rectified"] and "不适用延期" in form["description"]
    assert form["x-en"] == {"title": "Rectification by the enterprise", "description": "The enterprise reports on its "
                            "rectification. The law allows no extension in this kind of case."}
    with pytest.raises(InvalidInput):
        work(case_id, "rectify", extension(1))


def test_the_first_rectification_form_offers_the_extension(ctx, make_case, work):
    case_id = start_rectification(ctx, make_case, work, "energy_use", UNPRICED, "industry")
    form = rectify_form(ctx, case_id)
    assert form["properties"]["outcome"]["enum"] == ["rectified", "extension_requested"]
    assert {"extension_months", "reason"} <= form["properties"].keys() and "then" in form


# ---------------------------------------------------------------------------------------------
# Environmental, solid waste (C-2.2b): the department sets the time limit
# ---------------------------------------------------------------------------------------------


def start_solid_waste(ctx, make_case, work) -> int:
    case_id = make_case("environmental", finding={"solid_waste": True})
    case = view(ctx, case_id)
    assert open_tasks(case) == [("set_treatment_deadline", "environment")]
    assert_deadline(case, None)
    case = work(case_id, "set_treatment_deadline", {"treatment_deadline": "2026-10-01", "requirements": "清运"})
    assert open_tasks(case) == [("treat_solid_waste", "enterprise")]
    assert due(case, "treat_solid_waste") == "2026-10-08"
    assert_deadline(case, "2026-10-08", "2026-10-01", "国庆节", "确定限期治理期限")
    assert timers_of(ctx, case_id) == [("treatment_deadline", "2026-10-09T00:00:00+08:00")]
    return case_id


def test_solid_waste_treated_in_time_is_compliant(ctx, make_case, work):
    case_id = start_solid_waste(ctx, make_case, work)
    case = work(case_id, "treat_solid_waste", {"report": "已清运处置"})
    assert open_tasks(case) == [("reinspect", "environment")]
    case = work(case_id, "reinspect", PASS)
    assert case["status"] == "compliant"
    assert completed(case) == ["set_treatment_deadline", "treat_solid_waste", "reinspect"]


def test_solid_waste_overdue_goes_to_government(ctx, make_case, work):
    case_id = start_solid_waste(ctx, make_case, work)
    assert clock_to(ctx, "2026-10-08T23:59:00+08:00")["fired"] == 0
    assert clock_to(ctx, "2026-10-09T00:00:01+08:00")["fired"] == 1
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")]
    assert fired(case) == ["treatment_deadline"] and case["overdue"] is True
    approve_and_order_closure(work, case_id, "environment")
    finish_closure(work, case_id, {"resettle_workers": "hrss", "cancel_licence": "market"})


def test_solid_waste_deadline_in_the_past_is_refused(ctx, make_case, work):
    case_id = make_case("environmental", finding={"solid_waste": True})
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "set_treatment_deadline", {"treatment_deadline": "2026-03-01", "requirements": "清运"})
    assert fields(refused) == {"treatment_deadline"}
    assert open_tasks(view(ctx, case_id)) == [("set_treatment_deadline", "environment")]


# ---------------------------------------------------------------------------------------------
# Safety (C-2.4): stop at once, the department sets the deadline, licences revoked on closure
# ---------------------------------------------------------------------------------------------

SAFETY = [pytest.param("steel", "emergency", id="emergency"), pytest.param("coal", "energy", id="coal-energy")]


def start_safety(ctx, make_case, work, industry: str, lead: str) -> int:
    case_id = make_case("safety", industry=industry)
    case = view(ctx, case_id)
    assert case["lead_department"] == lead
    assert open_tasks(case) == [("order_suspension", lead)]
    assert_deadline(case, None)
    case = work(case_id, "order_suspension", {"order_no": "济应急停〔2026〕5号", "rectify_until": "2026-05-01",
                                              "requirements": "停产停业整顿"})
    assert open_tasks(case) == [("rectify", "enterprise")]
    assert due(case, "rectify") == "2026-05-06"
    assert_deadline(case, "2026-05-06", "2026-05-01", "劳动节", "责令立即停产停业整顿")
    assert timers_of(ctx, case_id) == [("rectify_deadline", "2026-05-07T00:00:00+08:00")]
    return case_id


@pytest.mark.parametrize(("industry", "lead"), SAFETY)
def test_safety_still_unsafe_is_closed_and_licences_revoked(ctx, make_case, work, industry, lead):
    case_id = start_safety(ctx, make_case, work, industry, lead)
    case = work(case_id, "rectify", RECTIFIED)
    assert open_tasks(case) == [("reinspect", lead)]
    case = work(case_id, "reinspect", FAIL)
    assert open_tasks(case) == [("government_approval", "government")]
    approve_and_order_closure(work, case_id, lead)
    case = finish_closure(work, case_id, {"resettle_workers": "hrss", "revoke_licences_notice": lead})
    assert "cancel_licence" not in completed(case) and "credit_listing" not in completed(case)
    assert completed(case)[:4] == ["order_suspension", "rectify", "reinspect", "government_approval"]


def test_safety_rectified_is_compliant(ctx, make_case, work):
    case_id = start_safety(ctx, make_case, work, "steel", "emergency")
    work(case_id, "rectify", RECTIFIED)
    assert work(case_id, "reinspect", PASS)["status"] == "compliant"


def test_safety_overdue_goes_to_government(ctx, make_case, work):
    case_id = start_safety(ctx, make_case, work, "steel", "emergency")
    assert clock_to(ctx, "2026-05-06T23:59:00+08:00")["fired"] == 0
    assert clock_to(ctx, "2026-05-07T00:00:01+08:00")["fired"] == 1
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")] and case["overdue"] is True
    approve_and_order_closure(work, case_id, "emergency")
    finish_closure(work, case_id, {"resettle_workers": "hrss", "revoke_licences_notice": "emergency"})


def test_safety_deadline_today_or_in_the_past_is_refused_tomorrow_is_accepted(ctx, make_case, work):
    """A period runs from the day after it is set (Civil Code art. 201): one ending today would leave none."""
    case_id = make_case("safety")
    before = view(ctx, case_id)
    for day in ("2026-03-01", "2026-03-02"):  # today is 2026-03-02
        with pytest.raises(InvalidInput) as refused:
            work(case_id, "order_suspension", {"order_no": "1", "rectify_until": day})
        assert fields(refused) == {"rectify_until"}
        assert "应晚于今天 2026-03-02" in refused.value.problems[0].message_zh
    after = view(ctx, case_id)
    assert (after["version"], after["open_tasks"]) == (before["version"], before["open_tasks"])
    case = work(case_id, "order_suspension", {"order_no": "1", "rectify_until": "2026-03-03"})
    assert due(case, "rectify") == "2026-03-03"
    assert_deadline(case, "2026-03-03")


# ---------------------------------------------------------------------------------------------
# Technology (C-2.5): dismantle, or seal + commit + announce, then dismantle by a set deadline
# ---------------------------------------------------------------------------------------------


def assess(ctx, make_case, work, **kwargs) -> tuple[int, dict]:
    case_id = make_case("technology")
    case = view(ctx, case_id)
    assert open_tasks(case) == [("assess_dismantling", "industry")]
    assert_deadline(case, None)
    return case_id, work(case_id, "assess_dismantling", assessment(**kwargs))


def dismantle_and_pass(ctx, work, case_id: int, deadline: str) -> dict:
    case = view(ctx, case_id)
    assert open_tasks(case) == [("dismantle", "enterprise")]
    assert due(case, "dismantle") == deadline
    case = work(case_id, "dismantle", DISMANTLED)
    assert open_tasks(case) == [("reinspect", "industry")]
    case = work(case_id, "reinspect", PASS)
    assert open_tasks(case) == [("record_exit", "industry")]  # no government approval needed
    return finish_closure(work, case_id, {"resettle_workers": "hrss", "cancel_licence": "market"})


def test_technology_dismantlable_is_dismantled_and_exits(ctx, make_case, work):
    case_id, case = assess(ctx, make_case, work, dismantlable=True)
    assert_deadline(case, "2026-04-30", "认定拆除条件")
    case = dismantle_and_pass(ctx, work, case_id, "2026-04-30")
    assert completed(case)[:4] == ["assess_dismantling", "dismantle", "reinspect", "record_exit"]
    assert "government_approval" not in completed(case) and "credit_listing" not in completed(case)


def test_technology_ditiaogang_is_dismantled_even_if_not_dismantlable(ctx, make_case, work):
    case_id, case = assess(ctx, make_case, work, dismantlable=False, ditiaogang=True)
    assert open_tasks(case) == [("dismantle", "enterprise")]
    assert "seal_equipment" not in completed(dismantle_and_pass(ctx, work, case_id, "2026-04-30"))


def test_technology_not_dismantlable_is_sealed_committed_announced(ctx, make_case, work):
    case_id, case = assess(ctx, make_case, work, dismantlable=False, deadline="2026-06-20")
    assert open_tasks(case) == [("seal_equipment", "industry")]
    case = work(case_id, "seal_equipment", SEALED)
    assert open_tasks(case) == [("public_commitment", "enterprise")]
    case = work(case_id, "public_commitment", COMMITTED)
    assert open_tasks(case) == [("publish_announcement", "industry")]
    case = work(case_id, "publish_announcement", ANNOUNCED)
    assert_deadline(case, "2026-06-22", "2026-06-20", "周六")
    case = dismantle_and_pass(ctx, work, case_id, "2026-06-22")
    assert completed(case)[:6] == ["assess_dismantling", "seal_equipment", "public_commitment",
                                   "publish_announcement", "dismantle", "reinspect"]


@pytest.mark.parametrize("unmet", ["water_cut", "power_cut", "power_unit_removed", "equipment_sealed"])
def test_sealing_requires_all_four_measures(ctx, make_case, work, unmet):
    case_id, _ = assess(ctx, make_case, work, dismantlable=False)
    before = view(ctx, case_id)
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "seal_equipment", {**SEALED, unmet: False})
    assert fields(refused) == {unmet}
    assert view(ctx, case_id)["version"] == before["version"]


def test_enterprise_cannot_refuse_the_public_commitment(ctx, make_case, work):
    case_id, _ = assess(ctx, make_case, work, dismantlable=False)
    work(case_id, "seal_equipment", SEALED)
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "public_commitment", {**COMMITTED, "committed": False})
    assert fields(refused) == {"committed"}


def test_technology_failing_reinspection_dismantles_again(ctx, make_case, work):
    case_id, _ = assess(ctx, make_case, work, dismantlable=True)
    work(case_id, "dismantle", DISMANTLED)
    case = work(case_id, "reinspect", FAIL)
    assert open_tasks(case) == [("dismantle", "enterprise")]
    assert due(case, "dismantle") == "2026-04-30"
    assert_deadline(case, "2026-04-30")


def test_technology_dismantle_overdue_goes_to_government(ctx, make_case, work):
    case_id, _ = assess(ctx, make_case, work, dismantlable=True)
    assert clock_to(ctx, "2026-04-30T23:59:00+08:00")["fired"] == 0
    assert clock_to(ctx, "2026-05-01T00:00:01+08:00")["fired"] == 1
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")]
    assert fired(case) == ["dismantle_deadline_timer"] and case["overdue"] is True
    approve_and_order_closure(work, case_id, "industry")
    finish_closure(work, case_id, {"resettle_workers": "hrss", "cancel_licence": "market", **OVERDUE_EXIT_MEASURES})


def test_technology_government_refusal_returns_to_reinspection(ctx, make_case, work):
    case_id, _ = assess(ctx, make_case, work, dismantlable=True)
    clock_to(ctx, "2026-05-01T00:00:01+08:00")
    case = work(case_id, "government_approval", REFUSE)
    assert open_tasks(case) == [("reinspect", "industry")]


# ---------------------------------------------------------------------------------------------
# Phase-out (C-2.6): screen, keep the deadline, exit
# ---------------------------------------------------------------------------------------------


def screen(ctx, make_case, work) -> int:
    case_id = make_case("phase_out")
    case = view(ctx, case_id)
    assert open_tasks(case) == [("screen_item", "industry")]
    assert_deadline(case, None)
    case = work(case_id, "screen_item", screening("2026-08-15"))
    assert open_tasks(case) == [("exit_report", "enterprise")]
    assert due(case, "exit_report") == "2026-08-17"
    assert_deadline(case, "2026-08-17", "2026-08-15", "排查认定淘汰类项目")
    return case_id


def test_phase_out_exit_in_time(ctx, make_case, work):
    case_id = screen(ctx, make_case, work)
    case = work(case_id, "exit_report", {"exited_on": START_DAY, "report": "已封存主体设备"})
    assert open_tasks(case) == [("reinspect", "industry")]
    case = work(case_id, "reinspect", PASS)
    case = finish_closure(work, case_id, {"resettle_workers": "hrss", "cancel_licence": "market"})
    assert completed(case)[:3] == ["screen_item", "exit_report", "reinspect"]
    assert "government_approval" not in completed(case)


def test_phase_out_overdue_goes_to_government(ctx, make_case, work):
    case_id = screen(ctx, make_case, work)
    assert clock_to(ctx, "2026-08-18T00:00:01+08:00")["fired"] == 1
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")]
    assert fired(case) == ["exit_deadline_timer"]
    approve_and_order_closure(work, case_id, "industry")
    finish_closure(work, case_id, {"resettle_workers": "hrss", "cancel_licence": "market", **OVERDUE_EXIT_MEASURES})


def test_phase_out_deadline_in_the_past_is_refused(ctx, make_case, work):
    case_id = make_case("phase_out")
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "screen_item", screening("2026-02-27"))
    assert fields(refused) == {"exit_deadline"}


def test_every_problem_of_a_submission_is_reported_at_once(ctx, make_case, work):
    case_id = make_case("phase_out")
    before = cases.get_case(ctx, SUPERVISOR, case_id)
    with pytest.raises(InvalidInput) as refused:  # a schema error and a deadline in the past, in one refusal
        work(case_id, "screen_item", {**screening("2020-01-01"), "catalogue_item": "条" * 5000})
    assert fields(refused) == {"catalogue_item", "exit_deadline"}
    messages = {p.field: p.message_zh for p in refused.value.problems}
    assert "长度不能超过 500" in messages["catalogue_item"] and "2020-01-01 应晚于今天" in messages["exit_deadline"]
    assert messages["exit_deadline"].startswith("「退出期限」")  # named by its title, not its key
    english = {p.field: p.message_en for p in refused.value.problems}["exit_deadline"]
    assert english.startswith("Exit deadline 2020-01-01 must fall after today") and "exit_deadline" not in english
    with pytest.raises(InvalidInput) as refused:  # a field the form does not have, named in both languages
        work(case_id, "screen_item", {**screening("2026-08-15"), "data": 1, "notes": "x"})
    assert [(p.message_zh, p.message_en) for p in refused.value.problems] == [
        ("表单不含此字段：data、notes", "the form has no field data, notes")]
    after = cases.get_case(ctx, SUPERVISOR, case_id)
    assert (after["version"], after["open_tasks"]) == (before["version"], before["open_tasks"])


def test_a_statutory_rule_is_reported_with_the_schema_errors(ctx, make_case, work):
    case_id = make_case("quality", industry="flat_glass")
    work(case_id, "order_stop", {"order_no": "济市监停〔2026〕3号", "order_date": START_DAY})
    with pytest.raises(InvalidInput) as refused:  # no extension in quality cases, and a report too long
        work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备采购",
                                  "report": "报" * 5000})
    assert fields(refused) == {"outcome", "report"}


def test_a_required_checkbox_reads_yes_not_python(ctx, make_case, work):
    case_id = make_case("technology")
    work(case_id, "assess_dismantling", {"dismantlable": False, "ditiaogang": False,
                                         "dismantle_deadline": "2026-06-20", "equipment": "中频炉2台"})
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "seal_equipment", {"water_cut": True, "power_cut": False, "power_unit_removed": True,
                                         "equipment_sealed": True, "sealed_on": START_DAY})
    (problem,) = refused.value.problems
    assert problem.field == "power_cut" and problem.message_zh == "「已断电」填写有误：必须为「是」"
    assert problem.message_en == "Power cut: must be true"
    assert "True" not in problem.message_zh + problem.message_en


# ---------------------------------------------------------------------------------------------
# Timers
# ---------------------------------------------------------------------------------------------


def test_timer_does_not_fire_on_the_last_day_but_just_after_midnight(ctx, make_case):
    case_id = make_case("energy_use", industry=UNPRICED)
    assert clock_to(ctx, "2026-09-02T23:59:00+08:00")["fired"] == 0
    assert timers.sweep(ctx).fired == 0
    case = view(ctx, case_id)
    assert open_tasks(case) == [("rectify", "enterprise")] and case["overdue"] is False
    assert clock_to(ctx, "2026-09-03T00:00:01+08:00")["fired"] == 1
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")]
    (event,) = [e for e in case["history"] if e["action"] == "timer_fired"]
    assert event["at"] == "2026-09-03T00:00:01+08:00" and event["actor"] == "system"
    # the event keeps the period that ran out: the case's deadline columns clear once no period runs
    assert event["detail"]["deadline"] == "2026-09-02" and "6个月" in event["detail"]["rule"]
    assert event["detail"]["rule_en"] and case["deadline"] is None


def test_timer_fires_at_the_instant_the_period_ends(ctx, make_case, work):
    """24:00 of the last day is 00:00 of the next: at that very instant the timer fires, whether the sweep or a
    completion arriving at it finds it (the board already calls it overdue then)."""
    swept = make_case("energy_use", industry=UNPRICED)
    completed = make_case("energy_use", industry=UNPRICED, enterprise=ENTERPRISE_B)
    assert clock_to(ctx, "2026-09-02T23:59:59.999999+08:00")["fired"] == 0
    timers.set_clock(ctx, SUPERVISOR, parse_instant("2026-09-03T00:00:00+08:00"))
    task = next(t for t in view(ctx, completed)["open_tasks"] if t["key"] == "rectify")
    with pytest.raises(Conflict):
        tasks.complete_task(ctx, actor("enterprise", enterprise=ENTERPRISE_B), task["id"], RECTIFIED)
    assert open_tasks(view(ctx, completed)) == [("government_approval", "government")]
    assert timers.sweep(ctx).fired == 1
    case = view(ctx, swept)
    assert open_tasks(case) == [("government_approval", "government")] and case["overdue"] is True


def test_timer_fires_exactly_once(ctx, make_case):
    case_id = make_case("energy_use", industry=UNPRICED)
    assert timers.advance_clock(ctx, SUPERVISOR, by="P7M")["fired"] == 1
    assert timers.sweep(ctx).fired == 0
    assert timers.sweep(ctx).fired == 0
    assert timers.advance_clock(ctx, SUPERVISOR, by="P1M")["fired"] == 0
    case = view(ctx, case_id)
    assert fired(case) == ["rectify_deadline"]
    assert open_tasks(case) == [("government_approval", "government")]
    assert timers_of(ctx, case_id) == []


def test_timer_survives_a_restart(app, ctx, make_case):
    case_id = make_case("energy_use", industry=UNPRICED)
    assert timers.advance_clock(ctx, SUPERVISOR, by="P3M")["fired"] == 0  # mid-way through the period
    _dispose(app)  # the first process goes away
    restarted = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
                            "SECRET_KEY": "test-secret", "CAPEXIT_CLOCK": "simulated",
                            "CAPEXIT_CLOCK_START": CLOCK_START})
    try:
        ctx2 = restarted.extensions["capexit"]
        assert ctx2.now().astimezone(SHANGHAI).isoformat() == "2026-06-02T09:00:00+08:00"
        assert timers_of(ctx2, case_id) == [("rectify_deadline", "2026-09-03T00:00:00+08:00")]
        assert timers.advance_clock(ctx2, SUPERVISOR, by="P4M")["fired"] == 1
        assert timers.sweep(ctx2).fired == 0
        assert timers.sweep(ctx).fired == 0  # nor does the old context fire it again
        case = view(ctx2, case_id)
        assert fired(case) == ["rectify_deadline"]
        assert open_tasks(case) == [("government_approval", "government")]
    finally:
        _dispose(restarted)


def test_timer_fired_inside_a_task_completion_is_audited(ctx, make_case, work):
    """The review of an extension outlasts the original deadline; refusing it brings back an expired timer."""
    case_id = make_case("energy_use", industry=UNPRICED)
    work(case_id, "rectify", extension(2))
    assert timers.advance_clock(ctx, SUPERVISOR, by="P7M")["fired"] == 0  # no timer waits during the review
    case = work(case_id, "review_extension", {"approved": False, "opinion": "不同意"})
    assert open_tasks(case) == [("government_approval", "government")]
    assert case["overdue"] is True
    assert actions(case)[-2:] == ["task_completed", "timer_fired"]
    assert case["history"][-1]["actor"] == "system" and fired(case) == ["rectify_deadline"]
    assert case["history"][-1]["at"] == case["history"][-2]["at"] == "2026-10-02T09:00:00+08:00"
    assert case["history"][-1]["detail"]["deadline"] == "2026-09-02"  # the original period, refused no extension
    assert timers.sweep(ctx).fired == 0


def test_a_review_outlasting_the_deadline_is_a_clock_the_board_shows_and_the_sweep_leaves(ctx, make_case, work):
    """No timer waits while the department reviews an extension request, but the period runs on: the board and
    the department's alerts show it run out; the sweep never fires it; the review's end removes it."""
    case_id = make_case("energy_use", industry=UNPRICED)
    work(case_id, "rectify", extension(2))
    assert timers_of(ctx, case_id) == []  # the timer list shows timers alone

    def clock_rows() -> list[board.BoardRow]:
        return [r for rows in board.board(ctx, SUPERVISOR).rows.values() for r in rows if r.case_id == case_id]

    (row,) = clock_rows()
    assert (row.deadline, row.departments, row.steps, row.days_left) == (date(2026, 9, 2), ["industry"],
                                                                          ["审核延期申请"], 184)
    swept = timers.advance_clock(ctx, SUPERVISOR, by="P7M")  # 2026-10-02
    assert (swept["fired"], swept["cases"]) == (0, 0) and timers.sweep(ctx).cases == 0
    (row,) = clock_rows()
    assert row.days_left == -30 and row in board.board(ctx, SUPERVISOR).rows["overdue"]
    assert board.department_alerts(ctx, "industry")["overdue"] == 1
    assert view(ctx, case_id)["overdue"] is False  # the law's consequence waits for the review's outcome
    work(case_id, "review_extension", {"approved": False, "opinion": "不同意"})
    with ctx.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WaitingTimer)
                              .where(WaitingTimer.case_id == case_id)) == 0
    assert [r.kind for r in clock_rows()] == ["overdue_case"]


def test_rectify_completed_after_the_deadline_before_a_sweep_is_overdue(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    timers.set_clock(ctx, SUPERVISOR, datetime(2026, 9, 5, 9, 0, tzinfo=SHANGHAI))  # moves; sweeps nothing
    with contextlib.suppress(Conflict, NotFound):
        work(case_id, "rectify", RECTIFIED)
    case = view(ctx, case_id)
    assert case["overdue"] is True
    assert fired(case) == ["rectify_deadline"]
    assert open_tasks(case) == [("government_approval", "government")]


# ---------------------------------------------------------------------------------------------
# Persistence and case opening
# ---------------------------------------------------------------------------------------------


def test_state_is_stored_without_spec_and_reloads_with_the_safe_engine(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    timers.advance_clock(ctx, SUPERVISOR, by="P7M")
    approve_and_order_closure(work, case_id, "industry")
    case = work(case_id, "record_exit", RECORD_EXIT)  # now inside the closure_measures call activity
    with ctx.unit_of_work() as session:
        row = session.get(Case, case_id)
        stored = store.state_dict(row.state)
        assert "spec" not in stored and "subprocess_specs" not in stored
        assert stored["spec_name"] == "energy_use"
        assert stored["subprocesses"], "the call activity's instance is stored too"
        workflow, bundle = instances.load(ctx, session, row)
        assert isinstance(workflow.script_engine, SafeScriptEngine)
        assert workflow.subprocesses
        for sub in workflow.subprocesses.values():
            assert isinstance(sub.script_engine, SafeScriptEngine)
        position = runner.position(workflow, bundle)
        assert sorted(t.key for t in position.open_tasks) == open_keys(case)
        assert workflow.data["deadline"]["last_day"] == "2026-09-02"
    # and the reloaded instance runs on to the end
    complete_measures(work, case_id, case, {"resettle_workers": "hrss", "cancel_licence": "market"})


@pytest.mark.parametrize("dimension", ["energy_use", "environmental", "quality", "safety", "technology",
                                       "phase_out"])
def test_a_new_enterprise_can_open_a_case_in_every_dimension(ctx, make_case, dimension):
    """Regression: without a statutory deadline the enterprise once was not flushed before its case."""
    case_id = make_case(dimension, enterprise=ENTERPRISE_B)
    case = view(ctx, case_id)
    assert case["status"] == "open" and case["enterprise"]["credit_code"] == ENTERPRISE_B
    assert actions(case) == ["case_opened"]


def test_the_deadline_keeps_running_while_an_extension_is_reviewed(ctx, make_case, work):
    """Applying for an extension does not stop the legal clock: the review shows the running deadline."""
    case_id = make_case("energy_use", industry=UNPRICED)
    case = work(case_id, "rectify", extension(2))
    assert open_tasks(case) == [("review_extension", "industry")]
    assert case["deadline"] == "2026-09-02" and "2026-09-02" in case["deadline_rule"]
    assert due(case, "review_extension") == "2026-09-02"
    assert timers_of(ctx, case_id) == []


def test_a_date_of_what_happened_cannot_be_before_the_notice(ctx, make_case, work):
    """An order dated before the case's notice (2026-03-02) is refused, naming the field; the notice day itself is
    accepted."""
    case_id = make_case("quality")
    before = view(ctx, case_id)
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "order_stop", {"order_no": "1", "order_date": "2020-01-01"})
    assert [(p.field, p.message_zh) for p in refused.value.problems] == [
        ("order_date", "「责令日期」不能早于本案的通知日期（2026-03-02），填写的是 2020-01-01")]
    assert view(ctx, case_id)["version"] == before["version"]
    work(case_id, "order_stop", {"order_no": "1", "order_date": "2026-03-02"})


def test_a_closure_records_some_capacity_exited(ctx, make_case, work):
    """Capacity exited of 0 t/a is refused in words (a closure exits some capacity); the annual report sums it."""
    case_id, _ = assess(ctx, make_case, work, dismantlable=True, deadline="2026-06-30")
    work(case_id, "dismantle", DISMANTLED)
    case = work(case_id, "reinspect", PASS)
    assert open_tasks(case) == [("record_exit", "industry")]
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "record_exit", {**RECORD_EXIT, "capacity_tpy": 0})
    assert [(p.field, p.message_zh) for p in refused.value.problems] == [
        ("capacity_tpy", "「退出产能（吨/年）」填写有误：应大于 0")]
