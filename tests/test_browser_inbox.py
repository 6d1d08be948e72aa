"""An enterprise user works its rectification task in a real browser: a refused extension, then a valid one."""

from __future__ import annotations

from engine.services import cases, timers
from tests.conftest import ENTERPRISE_A, actor, screenshot


def _rectify_id(ctx, case_id: int) -> str:
    return next(t["id"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]
                if t["key"] == "rectify")


def test_enterprise_requests_an_extension(live_server, page, browser_login, make_case, ctx):
    supervisor = actor("supervisor")
    make_case("energy_use", industry="steel")  # due 2026-09-02: overdue once the clock is set below
    timers.advance_clock(ctx, supervisor, by="P1M")
    make_case("environmental", industry="steel")  # due 2026-10-08 (after National Day)
    timers.set_clock(ctx, supervisor, timers.parse_instant("2026-10-02T09:00:00+08:00"))  # no sweep yet
    case_id = make_case("energy_use", industry="steel", finding={"standard": "GB 21256"})
    task_id = _rectify_id(ctx, case_id)

    browser_login(page, live_server, "enterprise", enterprise=ENTERPRISE_A)
    page.goto(f"{live_server}/inbox")
    assert page.locator("#due-summary").inner_text().replace(" ", "").startswith("逾期1项，7日内到期1项")
    assert page.locator("tr[data-task]").count() == 3
    screenshot(page, "inbox")

    page.locator(f"tr[data-task='{task_id}'] a", has_text="企业整改").click()
    page.wait_for_url(f"**/tasks/{task_id}")
    assert not page.locator("#field-reason").is_visible()  # shown only for an extension request
    page.check("input[name=outcome][value=extension_requested]")
    assert page.locator("#field-reason").is_visible()
    page.fill("input[name=extension_months]", "4")
    page.fill("textarea[name=reason]", "节能改造设备供货周期较长，需延期完成安装调试")
    # The browser would stop 4 (max 3) itself; skip its check so the server's answer is what we test.
    page.eval_on_selector("#task-form", "form => { form.noValidate = true; }")
    page.click("#task-form button[type=submit]")
    page.wait_for_load_state()

    error = page.locator("#field-extension_months .field-error")
    assert "不能大于 3" in error.inner_text()
    assert page.input_value("input[name=extension_months]") == "4"
    assert "供货周期" in page.input_value("textarea[name=reason]")
    screenshot(page, "task-form")

    page.fill("input[name=extension_months]", "2")
    page.click("#task-form button[type=submit]")
    page.wait_for_url("**/inbox")
    assert "已提交" in page.locator(".flash").inner_text()
    assert page.locator(f"tr[data-task='{task_id}']").count() == 0
    assert any(t["key"] == "review_extension" for t in cases.get_case(ctx, supervisor, case_id)["open_tasks"])


def test_department_claims_and_approves_the_extension(live_server, page, browser_login, make_case, work, ctx):
    case_id = make_case("energy_use", industry="steel")
    work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备供货周期长"})
    make_case("technology", industry="steel")

    browser_login(page, live_server, "staff", department="industry")
    assert page.url.endswith("/inbox")
    assert page.locator("tr[data-task]").count() == 2
    page.locator("tr[data-task]", has_text="审核延期申请").locator("a", has_text="审核延期申请").click()
    assert "设备供货周期长" in page.locator("table.history").inner_text()  # the request under review
    page.click("button:has-text('认领')")
    assert "已认领" in page.locator(".flash").inner_text()
    page.check("input[name=approved][value=true]")
    page.fill("textarea[name=opinion]", "理由充分，同意延期2个月")
    screenshot(page, "task-review")
    page.click("#task-form button[type=submit]")
    page.wait_for_url("**/inbox")
    assert cases.get_case(ctx, actor("supervisor"), case_id)["deadline"] == "2026-11-02"


def test_lists_fit_a_phone_screen_and_their_tables_scroll(live_server, page, browser_login, make_case):
    """At 390 pixels the page itself does not scroll sideways: a wide table scrolls inside its own box."""
    make_case("energy_use", industry="steel")
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, live_server, "staff", department="industry")
    for path, table in (("/inbox", "table.inbox"), ("/cases", "table.cases")):
        page.goto(f"{live_server}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert page.eval_on_selector(table, "t => t.scrollWidth > t.clientWidth"), path  # it does scroll inside
    screenshot(page, "cases-phone")


def test_the_announcement_address_takes_only_web_addresses(live_server, page, browser_login, make_case, work, ctx):
    case_id = make_case("technology", industry="steel")
    work(case_id, "assess_dismantling", {"dismantlable": False, "ditiaogang": False,
                                         "dismantle_deadline": "2026-06-20", "equipment": "中频炉2台"})
    work(case_id, "seal_equipment", {"water_cut": True, "power_cut": True, "power_unit_removed": True,
                                     "equipment_sealed": True, "sealed_on": "2026-03-02"})
    case = work(case_id, "public_commitment", {"commitment": "封存设备不再恢复生产", "committed": True})
    task = next(t for t in case["open_tasks"] if t["key"] == "publish_announcement")

    browser_login(page, live_server, "staff", department=task["department"])
    page.goto(f"{live_server}/tasks/{task['id']}")
    url = page.locator("input[name=url]")
    for address, valid in (("javascript:alert(1)", False), ("https:///gg/1.html", False),
                           ("https://www.jining.gov.cn/gg/2026/1.html", True)):
        url.fill(address)
        assert url.evaluate("input => input.checkValidity()") is valid, address
    url.fill("javascript:alert(1)")
    page.fill("input[name=published_on]", "2026-03-02")
    page.click("#task-form button[type=submit]")  # the browser stops it: still on the form, nothing sent
    assert page.url.endswith(f"/tasks/{task['id']}")
    assert any(t["key"] == "publish_announcement" for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"])
