"""In Chromium: a staff member opens a case through the intake form, imports a workbook, sees the list."""

from __future__ import annotations

import re

from engine.credit_code import make_credit_code
from tests.conftest import ENTERPRISE_A, screenshot
from tests.test_bulk_import import ROWS, workbook


def test_staff_opens_a_case_through_the_intake_form(live_server, page, browser_login, make_case):
    make_case("technology", industry="coal", enterprise=ENTERPRISE_A)  # registered as a coal company
    browser_login(page, live_server, "staff", department="energy")
    page.goto(f"{live_server}/cases/new")
    page.fill("#lookup-code", ENTERPRISE_A)
    page.click("form.lookup button[type=submit]")
    assert page.input_value("#name") == f"企业{ENTERPRISE_A[-4:]}"  # filled in by the server
    assert page.input_value("#industry") == "coal" and page.is_disabled("#industry")  # the register's
    assert page.get_attribute("#name", "readonly") is not None
    page.select_option("#dimension", "energy_use")
    auto = page.locator("#lead_department option[value='']").inner_text()
    assert "市能源局" in auto  # coal: the energy bureau is proposed
    assert page.locator("#lead_department option[value='environment']").is_hidden() or \
        page.locator("#lead_department option[value='environment']").is_disabled()
    page.fill("#evidence", "2026年2月节能监察报告（济能监〔2026〕3号）")
    page.fill("#measured_values", "原煤生产综合能耗 14.2 kgce/t（限额 ≤ 11.8）")
    page.fill("#equipment", "主井提升机 2 台")
    page.fill("#capacity_tpy", "900000")
    screenshot(page, "intake")
    page.click("#intake-form button[type=submit]")  # the standard violated is missing
    assert page.locator("#standard-error").inner_text()
    assert page.input_value("#capacity_tpy") == "900000"  # the data is kept
    assert page.input_value("#industry") == "coal" and page.is_disabled("#industry")
    screenshot(page, "intake-error")
    page.fill("#standard", "GB 29444-2012 煤炭井工开采单位产品能源消耗限额")
    page.click("#intake-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/\d+$"))


def test_staff_uploads_a_workbook_sees_the_preview_and_creates_the_valid_rows(live_server, page, browser_login,
                                                                              tmp_path):
    browser_login(page, live_server, "admin")
    rows = ROWS + [[f"示范{n}号钢铁有限公司", make_credit_code(f"91370800MA3D0{n:04d}"), "梁山县", "钢铁", "",
                    "能耗", "", "GB 21256-2013", "", "", "", 120000] for n in range(1, 9)]
    path = tmp_path / "五大行业筛查.xlsx"
    path.write_bytes(workbook(rows))
    page.goto(f"{live_server}/cases/import")
    page.set_input_files("#file", str(path))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/import/[A-Za-z0-9_-]+$"))
    assert page.locator("tr.row-error").count() == 6 and page.locator("tr.row-ok").count() == 10
    assert "第 18 位校验码错误" in page.content()
    screenshot(page, "import-preview")
    posted = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
    page.click("#confirm-form button[type=submit]")  # with JavaScript: chunks behind a progress bar
    page.wait_for_url(re.compile(r".*/result$"))
    assert sum(url.endswith("/chunk") for url in posted) == 4 and not any(u.endswith("/confirm") for u in posted)
    assert page.locator(".created-count").inner_text() == "10"
    screenshot(page, "import-result")
    page.goto(f"{live_server}/cases?county=梁山县")
    assert "共 8 件" in page.content()
    page.goto(f"{live_server}/cases")
    screenshot(page, "case-list")


def test_english_intake_shows_the_whole_proposed_lead_department(live_server, page, browser_login):
    """English: the lead select is as wide as its longest option, the proposed department spelt out."""
    page.set_viewport_size({"width": 1400, "height": 900})
    browser_login(page, live_server, "staff", department="industry")
    page.wait_for_load_state("networkidle")  # a late static answer would re-send the session without English
    page.goto(f"{live_server}/lang/en")
    page.goto(f"{live_server}/cases/new")
    page.select_option("#industry", "steel")
    page.select_option("#dimension", "energy_use")
    assert page.locator("#lead_department option[value='']").inner_text() == \
        "Determined by category and industry: Industry and Information Technology Bureau"
    width, needed = page.eval_on_selector("#lead_department", """select => {
        const free = select.cloneNode(true);  // the same select at its own width
        free.style.cssText = "width:auto; min-width:0; max-width:none; position:absolute; visibility:hidden";
        document.body.append(free);
        const needed = free.getBoundingClientRect().width;
        free.remove();
        return [select.getBoundingClientRect().width, needed];
    }""")
    assert width >= needed - 0.5
    screenshot(page, "intake-english")
