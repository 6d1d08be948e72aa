"""The whole journey of an environmental case in Chromium, one person per browser context.

Intake by the environment bureau, the clock runs out on the supervisor's board, the government
approves the closure, the departments do their follow-up measures, and the case ends as exited.
Every step is done through the pages; only the accounts are created directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.credit_code import make_credit_code
from engine.services import timers
from tests.conftest import actor, answering_dialogs, screenshot

ENTERPRISE = make_credit_code("91370800MA3C00090")
NAME = "济宁示范水泥有限公司"


@contextmanager
def person(page, live_server: str, browser_login: Callable, role: str, **who) -> Iterator:
    """A fresh browser context (own cookies) signed in as a new user."""
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    answering_dialogs(tab)
    try:
        browser_login(tab, live_server, role, **who)
        yield tab
    finally:
        context.close()


def open_task(tab, live_server: str, case_id: int, name: str) -> None:
    """From the inbox, open the task called ``name`` of the case."""
    tab.goto(f"{live_server}/inbox")
    row = tab.locator("tr[data-task]", has=tab.locator(f"a[href$='/cases/{case_id}']"))
    row.locator("a", has_text=name).click()
    tab.wait_for_url(re.compile(r".*/tasks/[^/]+$"))
    assert name in tab.locator("h1").inner_text()


def submit(tab) -> None:
    tab.click("#task-form button[type=submit]")
    tab.wait_for_url("**/inbox")
    assert "已提交" in tab.locator(".flash").inner_text()


def test_environmental_case_from_intake_to_exit(page, live_server, browser_login):
    # 1. The environment bureau opens the case through the intake form.
    browser_login(page, live_server, "staff", department="environment")
    page.goto(f"{live_server}/cases/new")
    page.fill("#name", NAME)
    page.fill("#credit_code", ENTERPRISE)
    page.select_option("#county", "任城区")
    page.select_option("#industry", "cement")
    page.fill("#address", "任城区工业园区 8 号")
    page.select_option("#dimension", "environmental")
    page.fill("#standard", "GB 4915-2013 水泥工业大气污染物排放标准 表1")
    page.fill("#evidence", "2026年2月在线监测数据及现场执法记录（济环执〔2026〕12号）")
    page.fill("#measured_values", "颗粒物 48 mg/m³（限值 30 mg/m³）")
    page.fill("#equipment", "φ3.2×50m 回转窑 1 条")
    page.fill("#capacity_tpy", "600000")
    screenshot(page, "journey-intake")
    page.click("#intake-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])
    assert f"已立案，案件编号 {case_id}" in page.locator(".flash").inner_text()
    assert NAME in page.locator("h1.case-title").inner_text()
    assert page.locator(".deadline-date").inner_text() == "2026-09-02"  # 6 months from the day after 03-02
    rule = page.locator("section:has(#h-deadline) p.rule").inner_text()
    assert "6个月" in rule or "6 个月" in rule, rule
    page.wait_for_selector(".djs-container svg")
    page.wait_for_selector("#case-diagram[data-state=ready]")
    assert "企业整改" in page.locator("#current-steps").inner_text()
    screenshot(page, "journey-case-page")

    # 2. A supervisor watches the clock on the board and lets seven months pass.
    with person(page, live_server, browser_login, "supervisor") as board:
        board.goto(f"{live_server}/board")
        board.wait_for_selector("#chart-department canvas")
        running = board.locator("#groups")
        assert f"案件 {case_id}" in running.inner_text()
        assert "2026-09-02" in board.locator("#group-later").inner_text()
        screenshot(board, "journey-board")
        board.select_option("#by", "custom")
        board.fill("#custom", "P7M")
        board.click("#advance-by button[type=submit]")
        board.wait_for_load_state()
        assert "到期计时器已触发 1 个，涉及案件 1 件" in board.locator(".flash").inner_text()
        assert board.inner_text("#clock-now") == "2026-10-02 09:00"
        overdue = board.locator("#group-overdue").inner_text()
        assert f"案件 {case_id}" in overdue and "审批关停" in overdue and "有批准权的人民政府" in overdue
        board.wait_for_selector("#chart-department canvas")
        screenshot(board, "journey-board-after")

        # 3. The government approves the closure.
        with person(page, live_server, browser_login, "staff", department="government") as gov:
            gov.goto(f"{live_server}/inbox")
            row = gov.locator("tr[data-task]", has=gov.locator(f"a[href$='/cases/{case_id}']"))
            assert "审批关停" in row.inner_text() and NAME in row.inner_text()
            screenshot(gov, "journey-inbox")
            open_task(gov, live_server, case_id, "审批关停")
            gov.check("input[name=approved][value=true]")
            gov.fill("textarea[name=opinion]", "逾期未完成整改，颗粒物排放仍超标，同意责令关闭。")
            screenshot(gov, "journey-task-form")
            submit(gov)

        # 4. The environment bureau orders the closure and records the capacity exited.
        open_task(page, live_server, case_id, "下达关停决定")
        page.fill("input[name=order_no]", "济环罚〔2026〕45号")
        page.fill("input[name=order_date]", "2026-10-02")
        page.fill("textarea[name=grounds]", "《大气污染防治法》第九十九条；市政府批准关闭。")
        submit(page)
        open_task(page, live_server, case_id, "登记退出产能")
        page.fill("textarea[name=equipment]", "φ3.2×50m 回转窑 1 条")
        page.fill("input[name=capacity_tpy]", "600000")
        page.fill("input[name=exit_date]", "2026-10-02")
        submit(page)

        # 5. Worker resettlement (hrss), special funds (finance), cancellation of the production licence (market).
        with person(page, live_server, browser_login, "staff", department="hrss") as hrss:
            open_task(hrss, live_server, case_id, "职工安置方案")
            hrss.fill("input[name=workers_affected]", "126")
            hrss.fill("textarea[name=plan]", "转岗安置 80 人，内部退养 21 人，依法解除劳动合同并经济补偿 25 人。")
            submit(hrss)
        with person(page, live_server, browser_login, "staff", department="finance") as finance:  # C-3.1
            open_task(finance, live_server, case_id, "审核职工安置和转产专项资金")
            finance.check("input[name=eligible][value=true]")
            finance.fill("input[name=amount]", "180")
            finance.fill("textarea[name=basis]", "符合市级职工安置专项资金支持条件。")
            submit(finance)
        with person(page, live_server, browser_login, "staff", department="market") as market:
            open_task(market, live_server, case_id, "报请注销生产许可证")
            market.fill("input[name=licence_no]", "XK08-001-00123")
            market.fill("input[name=authority]", "山东省市场监督管理局")
            market.fill("input[name=requested_on]", "2026-10-02")
            submit(market)

        # 6. The case has exited; its history lists every step; the board has no clock for it.
        page.goto(f"{live_server}/cases/{case_id}")
        badge = page.locator("h1.case-title .badge.status-exited")
        assert "关停退出" in badge.inner_text()
        history = page.locator("#history").inner_text()
        for step in ("立案", "期限届满", "办理：审批关停", "办理：下达关停决定", "办理：登记退出产能",
                     "办理：职工安置方案", "办理：审核职工安置和转产专项资金", "办理：报请注销生产许可证", "关停退出结案"):
            assert step in history, step
        assert page.locator("#history tr[data-action=task_completed]").count() == 6
        assert "案件已结案" in page.locator("#h-deadline").locator("..").inner_text()
        page.wait_for_selector("#case-diagram[data-state=ready]")
        screenshot(page, "journey-case-exited")

        board.goto(f"{live_server}/board")
        assert board.locator(f"#groups a[href$='/cases/{case_id}']").count() == 0
        assert [board.inner_text(f".summary a.g-{g} .n") for g in ("overdue", "week", "month", "later")] == ["0"] * 4


def test_task_form_error_is_shown_next_to_its_field_and_the_data_is_kept(page, live_server, browser_login, make_case,
                                                                         work, ctx):
    case_id = make_case("environmental", industry="cement", enterprise=ENTERPRISE)
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")
    work(case_id, "government_approval", {"approved": True, "opinion": "同意关闭"})

    browser_login(page, live_server, "staff", department="environment")
    open_task(page, live_server, case_id, "下达关停决定")
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    page.fill("input[name=order_date]", "2026-10-02")
    page.fill("textarea[name=grounds]", "《大气污染防治法》第九十九条")
    page.click("#task-form button[type=submit]")
    page.wait_for_load_state()

    error = page.locator("#field-order_no .field-error")
    assert error.is_visible() and "「决定书文号」为必填项" in error.inner_text()
    assert "表单填写有误" in page.locator("#task-form").locator("..").locator(".flash.error").inner_text()
    assert page.locator("#field-order_no").get_attribute("class").split().count("has-error") == 1
    assert page.locator("#field-grounds .field-error").count() == 0
    assert page.input_value("input[name=order_date]") == "2026-10-02"
    assert page.input_value("textarea[name=grounds]") == "《大气污染防治法》第九十九条"
    assert "/tasks/" in page.url
