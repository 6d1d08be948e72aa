"""The timer board in Chromium: charts draw, the simulated clock moves from the form, timers fire."""

from __future__ import annotations

from itertools import pairwise

import pytest

from engine.credit_code import make_credit_code
from engine.services import cases, tasks, timers
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


CLOCK_QUESTION = "时钟只能向前调整：前进后，所有到期的计时器立即触发，相关案件转入逾期处理，且不能撤销。确定调整时钟吗？"


def test_supervisor_watches_timers_fire(page, live_server, browser_login, ctx, running_cases):
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
    page.dialogs.accept = False  # asked first, the supervisor says no: the clock stays
    page.click("#advance-by button[type=submit]")
    assert page.dialogs.messages == [CLOCK_QUESTION]
    assert page.inner_text("#clock-now") == "2026-08-28 09:00"
    with ctx.unit_of_work() as session:
        assert ctx.now(session).isoformat().startswith("2026-08-28T")
    page.dialogs.accept = True
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


# The text of every table cell whose content (words, badges, lead lines) reaches past its left or right edge.
_SPILLED_CELLS = """cells => cells.filter(cell => {
    const edges = cell.getBoundingClientRect(), content = document.createRange();
    content.selectNodeContents(cell);
    const out = box => box.left < edges.left - 0.5 || box.right > edges.right + 0.5;
    return [...content.getClientRects()].some(out);
}).map(cell => cell.innerText.trim())"""


def test_english_board_and_digest_keep_text_inside_its_column(page, live_server, browser_login, ctx,
                                                             running_cases, make_case, work):
    """English at 1400 px: the columns (sized for Chinese) wrap long words, badges and lead lines in place."""
    waiting = make_case("energy_use", enterprise=make_credit_code("91370800MA3C00070"))
    work(waiting, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "改造周期长"})
    timers.advance_clock(ctx, actor("supervisor"), to="2027-03-31T09:00:00+08:00")  # the request is overdue
    page.set_viewport_size({"width": 1400, "height": 900})
    browser_login(page, live_server, "supervisor")
    page.wait_for_load_state("networkidle")  # a late static answer would re-send the session without English
    page.goto(f"{live_server}/lang/en")
    page.goto(f"{live_server}/board")
    overdue = page.inner_text("#group-overdue")
    assert "Environmental protection" in overdue and "Lead: " in overdue and "days overdue" in overdue
    assert page.eval_on_selector_all("table.groups th, table.groups td", _SPILLED_CELLS) == []
    screenshot(page, "board-english")
    page.goto(f"{live_server}/board/digest")
    assert "Handling department" in page.inner_text("table.digest thead")
    assert page.eval_on_selector_all("table.digest th, table.digest td", _SPILLED_CELLS) == []
    screenshot(page, "board-digest-english")


# Each y-axis label of the chart by department as drawn (its lines joined), with its box on the canvas.
_DEPARTMENT_LABELS = """() => {
    const chart = echarts.getInstanceByDom(document.getElementById('chart-department'));
    const names = chart.getOption().yAxis[0].data;
    const drawn = new Map();
    chart.getZr().storage.getDisplayList().forEach(part => {
        const label = part.parent;
        if (part.type !== 'tspan' || !label || !names.includes(label.style.text)) { return; }
        if (!drawn.has(label)) { drawn.set(label, []); }
        drawn.get(label).push(part.style.text);
    });
    return [...drawn].map(([label, lines]) => {
        const box = label.getBoundingRect().clone();
        box.applyTransform(label.getComputedTransform());
        return {name: label.style.text, shown: lines.join(' '), top: box.y, bottom: box.y + box.height};
    });
}"""


def test_english_department_names_are_shown_in_full_on_the_chart(page, live_server, browser_login, ctx, make_case):
    """At 1366 px the chart's labels are about 150 px wide: long English names wrap onto lines instead of ending in
    "Market Regulation Admini…", and no label overlaps the next."""
    codes = [make_credit_code(f"91370800MA3C0{n:03d}0") for n in range(1, 4)]
    make_case("quality", enterprise=codes[0])  # its first step is the Market Regulation Administration's
    make_case("energy_use", industry="flat_glass", enterprise=codes[1])  # the enterprise's rectification
    waiting = make_case("energy_use", industry="flat_glass", enterprise=codes[2])
    work_as_enterprise = cases.get_case(ctx, actor("supervisor"), waiting)["open_tasks"][0]
    tasks.complete_task(ctx, actor("enterprise", enterprise=codes[2]), work_as_enterprise["id"], {
        "outcome": "extension_requested", "extension_months": 2, "reason": "改造周期长"})  # industry reviews it
    page.set_viewport_size({"width": 1366, "height": 900})
    browser_login(page, live_server, "supervisor")
    page.goto(f"{live_server}/lang/en")
    page.goto(f"{live_server}/board")
    page.wait_for_selector("#chart-department canvas")
    labels = page.evaluate(_DEPARTMENT_LABELS)
    names = {label["name"] for label in labels}
    assert {"Market Regulation Administration", "Industry and Information Technology Bureau",
            "The regulated enterprise"} <= names
    assert [(label["name"], label["shown"]) for label in labels
            if label["shown"].split() != label["name"].split()] == []  # every word, none cut off
    boxes = sorted((label["top"], label["bottom"]) for label in labels)
    assert all(above[1] <= below[0] for above, below in pairwise(boxes)), boxes
    screenshot(page, "board-chart-english")
