"""Rest-day corrections from the database change new deadlines and settle running ones again; the scheduler
inside serve sweeps timers."""

import time
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from engine.clock import parse_instant
from engine.context import WorkflowCache
from engine.credit_code import make_credit_code
from engine.errors import PermissionDenied
from engine.models import Case, WaitingTimer
from engine.services import cases, instances, rest_days, timers
from tests.conftest import ENTERPRISE_B, actor
from webapp import create_app

SUPERVISOR = actor("supervisor")
ENTERPRISE_C = make_credit_code("91370800MA3C00030")


def _case(ctx, case_id: int) -> dict:
    return cases.get_case(ctx, SUPERVISOR, case_id)


def _timer_due(ctx, case_id: int) -> list[datetime]:
    with ctx.unit_of_work() as session:
        return list(session.scalars(sa.select(WaitingTimer.due_at).where(WaitingTimer.case_id == case_id)))


def test_a_new_rest_day_moves_a_running_deadline_its_timer_and_its_due_date(ctx, make_case):
    case_id = make_case("energy_use", industry="flat_glass")  # last day Wednesday 2026-09-02; rectify alone open
    other = make_case("energy_use", industry="flat_glass", enterprise=ENTERPRISE_B)
    timers.set_clock(ctx, SUPERVISOR, parse_instant("2026-03-03T09:00:00+08:00"))
    later = make_case("energy_use", industry="cement", enterprise=ENTERPRISE_C)  # last day 2026-09-03: a
    # correction of 09-02 leaves it (another enterprise: intake never changes a registered one's industry)
    rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 3), working=False, note="其他")  # moves `later`
    assert _case(ctx, later)["deadline"] == "2026-09-04"

    moved = rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 2), working=False, note="临时调整")
    assert moved == [case_id, other]
    ctx.workflows = WorkflowCache()  # as after a restart: what follows reads the stored instances
    case = _case(ctx, case_id)
    assert case["deadline"] == "2026-09-04"  # 09-02 and 09-03 are rest days now
    assert "该日为" in case["deadline_rule"] and "顺延至其后第一个工作日2026-09-04" in case["deadline_rule"]
    assert [t["due"] for t in case["open_tasks"]] == ["2026-09-04"]
    assert _timer_due(ctx, case_id) == [datetime(2026, 9, 4, 16, 0, tzinfo=UTC)]  # 24:00 of 09-04 in Shanghai
    redated = [e for e in case["history"] if e["action"] == "deadline_redated"]
    assert [(e["detail"]["deadline_before"], e["detail"]["deadline"], e["detail"]["day"]) for e in redated] == [
        ("2026-09-02", "2026-09-04", "2026-09-02")]
    assert _case(ctx, later)["deadline"] == "2026-09-04"

    timers.advance_clock(ctx, SUPERVISOR, to="2026-09-04T23:59:00+08:00")
    assert [t["key"] for t in _case(ctx, case_id)["open_tasks"]] == ["rectify"]  # not due before 24:00 of 09-04
    timers.advance_clock(ctx, SUPERVISOR, to="2026-09-05T00:00:00+08:00")
    assert [t["key"] for t in _case(ctx, case_id)["open_tasks"]] == ["government_approval"]


def test_clearing_a_correction_settles_the_deadline_back(ctx, make_case):
    case_id = make_case("energy_use", industry="flat_glass")
    rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 2), working=False, note="测试更正")
    assert _case(ctx, case_id)["deadline"] == "2026-09-03"
    assert rest_days.clear_rest_day(ctx, actor("admin"), date(2026, 9, 2)) == [case_id]
    case = _case(ctx, case_id)
    assert case["deadline"] == "2026-09-02" and "顺延" not in case["deadline_rule"]
    assert _timer_due(ctx, case_id) == [datetime(2026, 9, 2, 16, 0, tzinfo=UTC)]


def test_a_swapped_working_day_brings_a_deadline_back_to_its_own_last_day(ctx, make_case):
    timers.set_clock(ctx, SUPERVISOR, parse_instant("2026-03-05T09:00:00+08:00"))
    saturday = make_case("energy_use", industry="flat_glass")  # own last day Saturday 09-05, settled on Monday 09-07
    timers.set_clock(ctx, SUPERVISOR, parse_instant("2026-03-07T09:00:00+08:00"))
    monday = make_case("energy_use", industry="flat_glass", enterprise=ENTERPRISE_B)  # own last day Monday 09-07
    assert _case(ctx, saturday)["deadline"] == _case(ctx, monday)["deadline"] == "2026-09-07"
    assert rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 5), working=True, note="测试更正") == [saturday]
    assert _case(ctx, saturday)["deadline"] == "2026-09-05" and _case(ctx, monday)["deadline"] == "2026-09-07"


def test_a_deadline_stored_without_its_basis_is_settled_from_its_rule(ctx, make_case):
    case_id = make_case("energy_use", industry="flat_glass")
    with ctx.unit_of_work() as session:  # as instances recorded their deadline before the basis was kept
        case = session.get(Case, case_id)
        workflow, bundle = instances.load(ctx, session, case)
        del workflow.data["deadline"]["basis"]
        instances.save(session, case, workflow, bundle, ctx.now(session))
    assert rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 2), working=False, note="测试更正") == [case_id]
    assert _case(ctx, case_id)["deadline"] == "2026-09-03"


def test_a_deadline_that_has_run_out_keeps_its_day(ctx, make_case):
    case_id = make_case("energy_use", industry="flat_glass")
    timers.set_clock(ctx, SUPERVISOR, parse_instant("2026-09-03T08:00:00+08:00"))  # ran out; not swept yet
    assert rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 2), working=False, note="测试更正") == []
    assert _timer_due(ctx, case_id) == [datetime(2026, 9, 2, 16, 0, tzinfo=UTC)]


def test_an_extended_deadline_follows_a_correction_of_the_period_it_extends(ctx, make_case, work):
    case_id = make_case("energy_use", industry="flat_glass")  # last day Wednesday 2026-09-02
    other = make_case("energy_use", industry="flat_glass", enterprise=ENTERPRISE_B)
    timers.set_clock(ctx, SUPERVISOR, parse_instant("2026-08-03T09:00:00+08:00"))
    for extended in (case_id, other):
        work(extended, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备供货周期长"})
        work(extended, "review_extension", {"approved": True, "opinion": "同意延期2个月"})
    assert _case(ctx, case_id)["deadline"] == "2026-11-02"  # 09-02 + 2 months, a Monday
    with ctx.unit_of_work() as session:  # as an extension granted before its basis kept the period it extends
        case = session.get(Case, other)
        workflow, bundle = instances.load(ctx, session, case)
        workflow.data["deadline"]["basis"].pop("extension", None)
        instances.save(session, case, workflow, bundle, ctx.now(session))

    assert rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 2), working=False, note="临时调整") == [case_id]
    ctx.workflows = WorkflowCache()  # as after a restart: what follows reads the stored instances
    case = _case(ctx, case_id)
    assert case["deadline"] == "2026-11-03"  # the period it extends ends 09-03 now
    assert "在现行期限2026-09-03基础上延长2个月，届满日2026-11-03" in case["deadline_rule"]
    assert [t["due"] for t in case["open_tasks"]] == ["2026-11-03"]
    assert _timer_due(ctx, case_id) == [datetime(2026, 11, 3, 16, 0, tzinfo=UTC)]
    assert _case(ctx, other)["deadline"] == "2026-11-02"
    timers.advance_clock(ctx, SUPERVISOR, to="2026-11-04T00:00:00+08:00")
    assert [t["key"] for t in _case(ctx, case_id)["open_tasks"]] == ["government_approval"]


def test_override_makes_a_weekday_a_rest_day(ctx, make_case):
    # Notice 2026-03-02 + 6 months -> Wednesday 2026-09-02, a working day.
    first = cases.get_case(ctx, actor("supervisor"), make_case("energy_use"))
    assert first["deadline"] == "2026-09-02"
    rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 2), working=False, note="临时调整")
    second = cases.get_case(ctx, actor("supervisor"), make_case("energy_use", industry="cement",
                                                                enterprise=ENTERPRISE_B))
    assert second["deadline"] == "2026-09-03"
    assert "2026-09-03" in second["deadline_rule"]
    # the running case's deadline was settled again in the correction's transaction (see below)
    assert cases.get_case(ctx, actor("supervisor"), first["id"])["deadline"] == "2026-09-03"


def test_override_makes_a_saturday_a_working_day(ctx, make_case):
    # Notice 2026-03-02 + 6 months is Wednesday; make a case ending on a Saturday via a later notice.
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-03-05T09:00:00+08:00"))
    assert cases.get_case(ctx, actor("supervisor"), make_case("energy_use"))["deadline"] == "2026-09-07"
    rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 5), working=True, note="测试更正")
    assert cases.get_case(ctx, actor("supervisor"), make_case("energy_use"))["deadline"] == "2026-09-05"
    assert rest_days.list_rest_days(ctx) == [{"day": "2026-09-05", "working": True, "note": "测试更正"}]


def test_only_admins_correct_the_calendar(ctx):
    with pytest.raises(PermissionDenied):
        rest_days.set_rest_day(ctx, actor("staff", "industry"), date(2026, 9, 2), working=False)
    assert rest_days.list_rest_days(ctx) == []


def test_scheduler_in_serve_fires_a_due_timer(app, make_case):
    case_id = make_case("energy_use", industry="flat_glass")  # no C-3.3 price task beside the main path
    ctx = app.extensions["capexit"]
    # Move the clock past the deadline without sweeping; only the scheduler can fire the timer.
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-03T00:00:01+08:00"))
    served = create_app({**app.config, "CAPEXIT_SCHEDULER": True, "CAPEXIT_SWEEP_SECONDS": 0.2})
    scheduler = served.extensions["capexit_scheduler"]
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            keys = [t["key"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]]
            if keys == ["government_approval"]:
                break
            time.sleep(0.05)
        assert keys == ["government_approval"]
    finally:
        scheduler.shutdown(wait=True)
        from webapp.extensions import db

        with served.app_context():
            db.engine.dispose()
