"""Rest-day corrections from the database change new deadlines; the scheduler inside serve sweeps timers."""

import time
from datetime import date

import pytest

from engine.clock import parse_instant
from engine.errors import PermissionDenied
from engine.services import cases, rest_days, timers
from tests.conftest import actor
from webapp import create_app


def test_override_makes_a_weekday_a_rest_day(ctx, make_case):
    # Notice 2026-03-02 + 6 months -> Wednesday 2026-09-02, a working day.
    first = cases.get_case(ctx, actor("supervisor"), make_case("energy_use"))
    assert first["deadline"] == "2026-09-02"
    rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 2), working=False, note="临时调整")
    second = cases.get_case(ctx, actor("supervisor"), make_case("energy_use", industry="cement"))
    assert second["deadline"] == "2026-09-03"
    assert "2026-09-03" in second["deadline_rule"]
    # the running case keeps its deadline
    assert cases.get_case(ctx, actor("supervisor"), first["id"])["deadline"] == "2026-09-02"


def test_override_makes_a_saturday_a_working_day(ctx, make_case):
    # Notice 2026-03-02 + 6 months is Wednesday; make a case ending on a Saturday via a later notice.
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-03-05T09:00:00+08:00"))
    assert cases.get_case(ctx, actor("supervisor"), make_case("energy_use"))["deadline"] == "2026-09-07"
    rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 5), working=True)
    assert cases.get_case(ctx, actor("supervisor"), make_case("energy_use"))["deadline"] == "2026-09-05"
    assert rest_days.list_rest_days(ctx) == [{"day": "2026-09-05", "working": True, "note": ""}]


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
