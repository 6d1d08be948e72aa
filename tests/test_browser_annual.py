"""The annual report in Chromium: a department confirms on its task page; anyone opens the published official table."""

from __future__ import annotations

import pytest

from tests.conftest import screenshot
from tests.test_annual_report import CLOSURES, confirm, publish, report_rows, started

pytestmark = pytest.mark.browser


def test_department_confirms_with_a_correction(page, live_server, browser_login, ctx, work):
    case_id, ids = started(ctx, work)
    browser_login(page, live_server, "staff", department="industry")
    page.goto(f"{live_server}/inbox")
    page.click("text=确认本部门年度关停退出清单")
    page.wait_for_load_state()
    assert "/reports/annual/tasks/" in page.url
    listed = page.inner_text("#department-list")
    assert "济宁钢铁一厂" in listed and "400,000" in listed and "兖州水泥公司" not in listed
    row = page.locator("#correction-rows tr").first
    row.locator("select[name=case_id]").select_option(str(ids["0101"]))
    row.locator("select[name=field]").select_option("equipment")
    row.locator("input[name=value]").fill("450m³高炉1座（含配套烧结机）")
    row.locator("input[name=reason]").fill("据拆除验收记录补全设备名称")
    page.check("input[name=confirmed]")
    screenshot(page, "annual-confirm")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert page.url.endswith("/inbox") and "已提交" in page.content()


def test_published_report_is_an_official_table(page, live_server, ctx, work):
    case_id, ids = started(ctx, work, CLOSURES)
    confirm(ctx, case_id, "market", [{"case_id": ids["0106"], "field": "equipment", "value": "Φ219无缝钢管机组1套",
                                      "reason": "据现场核查更正名称"}])
    publish(ctx, case_id)
    assert report_rows(ctx)[0].status.value == "published"
    page.goto(f"{live_server}/reports/annual/2026")
    assert page.url.endswith("/reports/annual/2026")          # no sign-in
    assert page.inner_text("h1") == "济宁市2026年度落后产能退出情况汇总表"
    industries = page.locator("#by-industry + table tbody tr td:nth-child(2)").all_inner_texts()
    assert industries == ["钢铁", "煤炭", "水泥", "电解铝", "平板玻璃", "其他", "合计"]
    assert "2,720,000" in page.inner_text("#by-industry + table")
    assert "Φ219无缝钢管机组1套" in page.inner_text("#exit-list") and "据现场核查" not in page.content()
    screenshot(page, "annual-report")
    with page.expect_download() as download:
        page.click("#download-xlsx")
    assert download.value.suggested_filename == "capexit-annual-2026.xlsx"
    page.emulate_media(media="print")
    assert not page.locator(".report-actions").is_visible() and not page.locator(".topbar").is_visible()
    screenshot(page, "annual-report-print")
