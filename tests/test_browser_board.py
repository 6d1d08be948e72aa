"""The timer board in Chromium: charts draw, the simulated clock moves from the form, timers fire."""

from __future__ import annotations

import pytest

from engine.credit_code import make_credit_code
from engine.services import timers
from tests.conftest import actor, screenshot


@pytest.fixture
def running_cases(ctx, make_case):
    """Clocks in every group: notices on 2026-03-02, 03-10 and 04-01, and two more on 08-28 (today)."""
    codes = [make_credit_code(f"91370800MA3C0{n:03d}0") for n in range(1, 7)]
    supervisor = actor("supervisor")
    make_case("energy_use", enterprise=codes[0])
    timers.advance_clock(ctx, supervisor, to="2026-03-10T09:00:00+08:00")
    make_case("environmental", industry="cement", enterprise=codes[1])
    timers.advance_clock(ctx, supervisor, to="2026-04-01T09:00:00+08:00")
    make_case("energy_use", industry="coal", enterprise=codes[2])
    timers.advance_clock(ctx, supervisor, to="2026-08-28T09:00:00+08:00")
    make_case("environmental", industry="aluminium", enterprise=codes[3])
    make_case("energy_use", industry="flat_glass", enterprise=codes[4])
    make_case("safety", industry="coal", enterprise=codes[5])  # no clock until the department sets one


def _count(page, group: str) -> str:
    return page.inner_text(f".summary a.g-{group} .n")


def test_supervisor_watches_timers_fire(page, live_server, browser_login, running_cases):
    browser_login(page, live_server, "supervisor")
    page.goto(f"{live_server}/board")
    page.wait_for_selector("#chart-department canvas")
    page.wait_for_selector("#chart-dimension canvas")
    assert page.inner_text("#clock-now") == "2026-08-28 09:00"
    assert [_count(page, g) for g in ("overdue", "week", "month", "later")] == ["0", "1", "1", "3"]
    assert "2026-09-02" in page.inner_text("#group-week")
    assert page.locator("#calendar a.cnt").count() == 3
    screenshot(page, "board")

    page.select_option("#by", "P6M")
    page.click("#advance-by button[type=submit]")
    page.wait_for_load_state()
    assert "到期计时器已触发 3 个，涉及案件 3 件" in page.inner_text(".flash")
    assert page.inner_text("#clock-now") == "2027-02-28 09:00"
    assert [_count(page, g) for g in ("overdue", "week", "month", "later")] == ["3", "2", "0", "0"]
    overdue = page.inner_text("#group-overdue")
    assert overdue.count("审批关停") == 3 and "有批准权的人民政府" in overdue
    page.wait_for_selector("#chart-department canvas")
    screenshot(page, "board-after-advance")


def test_digest_is_printable(page, live_server, browser_login, ctx, running_cases):
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-05T09:00:00+08:00")  # 09-02 fired; 09-10 is near
    browser_login(page, live_server, "supervisor")
    page.goto(f"{live_server}/board/digest")
    assert "已逾期 1" in page.inner_text("#dept-industry h2")
    assert "7日内到期 1" in page.inner_text("#dept-environment h2")
    assert "审批关停" in page.inner_text("#dept-government")
    screenshot(page, "board-digest")
    page.emulate_media(media="print")
    assert not page.is_visible("header.topbar")
