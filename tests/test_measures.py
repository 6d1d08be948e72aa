"""The follow-up measures of section 3 as tasks in the right inboxes, through the engine's services.

C-3.3 differential prices (``energy_use`` of steel, cement, electrolytic aluminium: set by
``development`` when the finding is made, in a branch of its own; lifted when the case ends
compliant, not when it ends exited); C-3.4 credit restrictions by ``pboc`` and ``banking`` with
the C-3.8 listing when an exit is overdue; C-3.6 land disposal by ``land`` then ``finance`` after
a whole-enterprise phase-out; C-3.1 special funds reviewed by ``finance`` after every
resettlement plan. Same clock and fixtures as tests/test_procedures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.services import tasks
from tests.conftest import START_DAY, actor
from tests.test_procedures import (
    APPROVE,
    CLOSE,
    FAIL,
    MEASURE_FORMS,
    OVERDUE_EXIT_MEASURES,
    PASS,
    RECORD_EXIT,
    RECTIFIED,
    actions,
    approve_and_order_closure,
    assert_deadline,
    clock_to,
    completed,
    due,
    fields,
    finish_closure,
    open_tasks,
    timers_of,
    view,
)
from webapp.pages.forms import enum_labels

FORMS = Path(__file__).resolve().parents[1] / "forms"
PRICE_SET = {"electricity_price": "differential", "water_price_progressive": True,
             "surcharge": "每千瓦时加价0.3元；超定额用水加价50%", "effective_from": "2026-03-05",
             "document_no": "济发改价格〔2026〕8号"}
PRICE_LIFTED = {"lifted_on": "2026-09-10", "basis": "复查验收能耗达标"}
PRICED = ["steel", "cement", "aluminium"]
PRICE_TASKS = ("set_differential_price", "lift_differential_price")


def price_case(ctx, make_case, industry: str) -> int:
    """An energy_use case of a priced industry: rectification and the price measure open side by side."""
    case_id = make_case("energy_use", industry=industry)
    case = view(ctx, case_id)
    assert open_tasks(case) == [("rectify", "enterprise"), ("set_differential_price", "development")]
    assert due(case, "rectify") == "2026-09-02" and due(case, "set_differential_price") is None
    assert_deadline(case, "2026-09-02", "6个月")
    assert timers_of(ctx, case_id) == [("rectify_deadline", "2026-09-03T00:00:00+08:00")]
    return case_id


def inbox(ctx, department: str, case_id: int) -> list[str]:
    """Keys of the case's tasks in a department's inbox."""
    return sorted(t["key"] for t in tasks.list_tasks(ctx, actor("staff", department)) if t["case_id"] == case_id)


def exit_measures(dimension: str, *, overdue: bool = False, whole_site: bool = False) -> dict[str, str]:
    """The measures that open right after record_exit (follow-ups open later)."""
    measures = {"resettle_workers": "hrss", "cancel_licence": "market"}
    if overdue and dimension in ("technology", "phase_out"):
        measures.update(OVERDUE_EXIT_MEASURES)
    if whole_site:
        measures["dispose_land"] = "land"
    return measures


# ---------------------------------------------------------------------------------------------
# C-3.3: differential electricity and water prices
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dimension", "industry", "first"), [
    ("energy_use", "flat_glass", ("rectify", "enterprise")),
    ("energy_use", "coal", ("rectify", "enterprise")),
    ("energy_use", "other", ("rectify", "enterprise")),
    ("environmental", "steel", ("rectify", "enterprise")),
    ("quality", "cement", ("order_stop", "market")),
])
def test_no_price_measure_outside_energy_use_of_steel_cement_aluminium(ctx, make_case, work, dimension, industry,
                                                                         first):
    case_id = make_case(dimension, industry=industry)
    case = view(ctx, case_id)
    assert open_tasks(case) == [first]
    if first[0] == "order_stop":
        work(case_id, "order_stop", {"order_no": "济市监停〔2026〕3号", "order_date": "2026-03-02"})
    work(case_id, "rectify", RECTIFIED)
    case = work(case_id, "reinspect", PASS)
    assert case["status"] == "compliant" and open_tasks(case) == []
    assert not set(PRICE_TASKS) & set(completed(case))
    assert inbox(ctx, "development", case_id) == []


@pytest.mark.parametrize("industry", PRICED)
def test_price_set_at_the_finding_and_lifted_when_compliant(ctx, make_case, work, industry):
    case_id = price_case(ctx, make_case, industry)
    assert inbox(ctx, "development", case_id) == ["set_differential_price"]
    case = work(case_id, "set_differential_price", PRICE_SET)
    assert open_tasks(case) == [("rectify", "enterprise")] and case["status"] == "open"
    assert_deadline(case, "2026-09-02")  # the price measure does not touch the legal clock
    (event,) = [e for e in case["history"] if e["action"] == "task_completed"]
    assert (event["detail"]["key"], event["detail"]["department"]) == ("set_differential_price", "development")
    assert event["detail"]["data"]["electricity_price"] == "differential"
    work(case_id, "rectify", RECTIFIED)
    case = work(case_id, "reinspect", PASS)
    assert open_tasks(case) == [("lift_differential_price", "development")]
    assert case["status"] == "open"  # compliant once the prices are lifted
    case = work(case_id, "lift_differential_price", PRICE_LIFTED)
    assert case["status"] == "compliant" and open_tasks(case) == []
    assert completed(case) == ["set_differential_price", "rectify", "reinspect", "lift_differential_price"]
    assert actions(case)[-1] == "case_compliant"


def test_rectification_does_not_wait_for_the_price(ctx, make_case, work):
    """The enterprise rectifies before the price is set: the case ends compliant when both price steps are done."""
    case_id = price_case(ctx, make_case, "steel")
    case = work(case_id, "rectify", RECTIFIED)
    assert open_tasks(case) == [("reinspect", "industry"), ("set_differential_price", "development")]
    case = work(case_id, "reinspect", PASS)
    assert open_tasks(case) == [("lift_differential_price", "development"), ("set_differential_price", "development")]
    assert case["status"] == "open"
    case = work(case_id, "set_differential_price", PRICE_SET)
    assert case["status"] == "open"
    case = work(case_id, "lift_differential_price", PRICE_LIFTED)
    assert case["status"] == "compliant" and actions(case)[-1] == "case_compliant"


def test_price_ends_with_the_closure_without_a_lift(ctx, make_case, work):
    case_id = price_case(ctx, make_case, "cement")
    work(case_id, "set_differential_price", PRICE_SET)
    assert clock_to(ctx, "2026-09-03T00:00:01+08:00")["fired"] == 1
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")] and case["overdue"] is True
    approve_and_order_closure(work, case_id, "industry")
    case = finish_closure(work, case_id, exit_measures("energy_use", overdue=True))
    assert case["status"] == "exited"
    assert "set_differential_price" in completed(case) and "lift_differential_price" not in completed(case)
    assert not OVERDUE_EXIT_MEASURES.keys() & set(completed(case))  # credit measures: overdue exits only


def test_exit_waits_for_a_price_still_to_be_set(ctx, make_case, work):
    """The main path reaches end_exited first; the price branch's own end event carries no status."""
    case_id = price_case(ctx, make_case, "aluminium")
    work(case_id, "rectify", RECTIFIED)
    work(case_id, "reinspect", FAIL)
    work(case_id, "government_approval", APPROVE)
    work(case_id, "close_order", CLOSE)
    case = work(case_id, "record_exit", RECORD_EXIT)
    for key in ("resettle_workers", "cancel_licence", "review_special_funds"):
        case = work(case_id, key, MEASURE_FORMS[key])
    assert open_tasks(case) == [("set_differential_price", "development")] and case["status"] == "open"
    case = work(case_id, "set_differential_price", PRICE_SET)
    assert case["status"] == "exited" and open_tasks(case) == []
    assert actions(case)[-1] == "case_exited"
    assert "lift_differential_price" not in completed(case)


def test_price_form_is_checked(ctx, make_case, work):
    case_id = price_case(ctx, make_case, "steel")
    with pytest.raises(InvalidInput) as refused:
        work(case_id, "set_differential_price", {**PRICE_SET, "electricity_price": "free"})
    assert fields(refused) == {"electricity_price"}
    assert open_tasks(view(ctx, case_id))[1] == ("set_differential_price", "development")


# ---------------------------------------------------------------------------------------------
# C-3.4 with C-3.8: credit measures for overdue exits only
# ---------------------------------------------------------------------------------------------


def screened(ctx, make_case, work, exit_method: str, deadline: str = "2026-08-15") -> int:
    case_id = make_case("phase_out", industry="aluminium")
    work(case_id, "screen_item", {"catalogue_item": "160kA 以下预焙槽", "exit_method": exit_method,
                                  "exit_deadline": deadline})
    return case_id


@pytest.mark.parametrize("exit_method", ["seal_equipment", "close_enterprise"])
def test_no_credit_restriction_for_an_exit_completed_on_time(ctx, make_case, work, exit_method):
    case_id = screened(ctx, make_case, work, exit_method)
    work(case_id, "exit_report", {"exited_on": START_DAY, "report": "已按期退出"})
    work(case_id, "reinspect", PASS)
    whole_site = exit_method == "close_enterprise"
    case = finish_closure(work, case_id, exit_measures("phase_out", whole_site=whole_site))
    assert case["overdue"] is False
    assert not OVERDUE_EXIT_MEASURES.keys() & set(completed(case))
    assert inbox(ctx, "pboc", case_id) == inbox(ctx, "banking", case_id) == []


def test_overdue_exit_gets_credit_restrictions_and_listing(ctx, make_case, work):
    case_id = screened(ctx, make_case, work, "seal_equipment")
    assert clock_to(ctx, "2026-08-18T00:00:01+08:00")["fired"] == 1
    approve_and_order_closure(work, case_id, "industry")
    case = work(case_id, "record_exit", RECORD_EXIT)
    assert open_tasks(case) == sorted(exit_measures("phase_out", overdue=True).items())
    assert inbox(ctx, "pboc", case_id) == ["restrict_credit_pboc"]
    assert inbox(ctx, "banking", case_id) == ["restrict_credit_banking"]
    assert inbox(ctx, "development", case_id) == ["credit_listing"]
    assert inbox(ctx, "land", case_id) == []  # sealed equipment: the site is not vacated
    for key in ("restrict_credit_pboc", "restrict_credit_banking", "credit_listing", "cancel_licence",
                "resettle_workers", "review_special_funds"):
        case = work(case_id, key, MEASURE_FORMS[key])
    assert case["status"] == "exited"
    done = {e["detail"]["key"]: e["detail"]["department"] for e in case["history"] if e["action"] == "task_completed"}
    assert {k: done[k] for k in OVERDUE_EXIT_MEASURES} == OVERDUE_EXIT_MEASURES


def test_technology_overdue_exit_gets_credit_restrictions(ctx, make_case, work):
    case_id = make_case("technology")
    work(case_id, "assess_dismantling", {"dismantlable": True, "ditiaogang": False, "dismantle_deadline": "2026-04-30",
                                         "equipment": "中频炉2台"})
    assert clock_to(ctx, "2026-05-01T00:00:01+08:00")["fired"] == 1
    approve_and_order_closure(work, case_id, "industry")
    finish_closure(work, case_id, exit_measures("technology", overdue=True))


# ---------------------------------------------------------------------------------------------
# C-3.6: vacated land after a whole-enterprise exit; C-3.1: special funds after every resettlement plan
# ---------------------------------------------------------------------------------------------


def test_land_disposed_then_funded_after_a_whole_enterprise_exit(ctx, make_case, work):
    case_id = screened(ctx, make_case, work, "close_enterprise")
    work(case_id, "exit_report", {"exited_on": START_DAY, "report": "企业已整体关闭"})
    work(case_id, "reinspect", PASS)
    case = work(case_id, "record_exit", RECORD_EXIT)
    assert inbox(ctx, "land", case_id) == ["dispose_land"]
    assert inbox(ctx, "finance", case_id) == []
    case = work(case_id, "dispose_land", {"disposal_method": "owner_redevelopment", "area_m2": 12000.5,
                                          "plan": "原土地使用权人自主开发改造为物流园"})
    assert inbox(ctx, "finance", case_id) == ["land_funds"]
    event = [e for e in case["history"] if e["action"] == "task_completed"][-1]
    assert event["detail"]["data"]["disposal_method"] == "owner_redevelopment"
    for key in ("land_funds", "resettle_workers", "review_special_funds", "cancel_licence"):
        case = work(case_id, key, MEASURE_FORMS[key])
    assert case["status"] == "exited"
    assert completed(case).index("dispose_land") < completed(case).index("land_funds")


def test_land_form_offers_the_three_ways_in_chinese(ctx, make_case, work):
    schema = json.loads((FORMS / "dispose_land.schema.json").read_text(encoding="utf-8"))
    assert enum_labels(schema["properties"]["disposal_method"]) == {
        "government_purchase": "政府收储改造", "owner_redevelopment": "原土地使用权人自主开发改造",
        "market_redevelopment": "引入市场主体开发改造"}
    case_id = screened(ctx, make_case, work, "close_enterprise")
    work(case_id, "exit_report", {"exited_on": START_DAY, "report": "企业已整体关闭"})
    work(case_id, "reinspect", PASS)
    work(case_id, "record_exit", RECORD_EXIT)
    for bad, field in (({"disposal_method": "auction"}, "disposal_method"), ({"area_m2": -1}, "area_m2")):
        with pytest.raises(InvalidInput) as refused:
            work(case_id, "dispose_land", {**MEASURE_FORMS["dispose_land"], **bad})
        assert fields(refused) == {field}


@pytest.mark.parametrize(("dimension", "industry"), [("energy_use", "flat_glass"), ("environmental", "steel"),
                                                     ("quality", "coal"), ("safety", "steel")])
def test_special_funds_reviewed_for_every_exit(ctx, make_case, work, dimension, industry):
    case_id = make_case(dimension, industry=industry)
    if dimension == "quality":
        work(case_id, "order_stop", {"order_no": "1", "order_date": "2026-03-02"})
    if dimension == "safety":
        work(case_id, "order_suspension", {"order_no": "1", "rectify_until": "2026-04-30"})
    work(case_id, "rectify", RECTIFIED)
    work(case_id, "reinspect", FAIL)
    lead = view(ctx, case_id)["lead_department"]
    approve_and_order_closure(work, case_id, lead)
    work(case_id, "record_exit", RECORD_EXIT)
    assert inbox(ctx, "finance", case_id) == []  # after the resettlement plan
    work(case_id, "resettle_workers", MEASURE_FORMS["resettle_workers"])
    assert inbox(ctx, "finance", case_id) == ["review_special_funds"]


def test_special_funds_amount_required_when_eligible(ctx, make_case, work):
    case_id = make_case("environmental")
    work(case_id, "rectify", RECTIFIED)
    work(case_id, "reinspect", FAIL)
    approve_and_order_closure(work, case_id, "environment")
    work(case_id, "record_exit", RECORD_EXIT)
    work(case_id, "resettle_workers", MEASURE_FORMS["resettle_workers"])
    for bad, field in (({"eligible": True, "basis": "符合条件"}, "amount"),
                       ({"eligible": True, "amount": -5, "basis": "符合条件"}, "amount")):
        with pytest.raises(InvalidInput) as refused:
            work(case_id, "review_special_funds", bad)
        assert field in fields(refused)
    case = work(case_id, "review_special_funds", {"eligible": False, "basis": "不符合专项资金支持条件"})
    assert "review_special_funds" in completed(case)
    case = work(case_id, "cancel_licence", MEASURE_FORMS["cancel_licence"])
    assert case["status"] == "exited"
