"""The case page in Chromium: the bpmn-js diagram renders and marks where the case stands."""

import os

from engine.services import attachments
from tests.conftest import ENTERPRISE_A, SCREENSHOTS, actor, screenshot

PDF = b"%PDF-1.7\n%%EOF\n"


def test_case_page_renders_the_diagram_with_markers(live_server, page, browser_login, make_case, work, ctx):
    case_id = make_case("energy_use", enterprise=ENTERPRISE_A,
                        finding={"standard": "GB 21256-2013 粗钢生产主要工序单位产品能源消耗限额",
                                 "evidence": "2026年2月节能监察现场检查记录", "capacity_tpy": 600000})
    work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 3,
                              "reason": "余热回收改造设备采购周期较长"})
    work(case_id, "review_extension", {"approved": True, "opinion": "理由充分，同意延期三个月"})
    attachments.add_attachment(ctx, actor("staff", "industry"), case_id, "节能监察现场检查记录.pdf", PDF)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "enterprise", enterprise=ENTERPRISE_A)
    page.goto(f"{live_server}/cases/{case_id}")
    page.wait_for_selector(".djs-container svg")
    page.wait_for_selector("#case-diagram[data-state=ready]")
    current = page.locator('.djs-element[data-element-id="rectify"]')
    assert "step-current" in (current.get_attribute("class") or "")
    done = page.locator('.djs-element[data-element-id="review_extension"]')
    assert "step-completed" in (done.get_attribute("class") or "")
    assert page.locator(".diagram-nojs").count() == 0
    assert "2026-12-02" in page.content()
    assert not errors, errors
    screenshot(page, "case-page")
    page.locator("#diagram").screenshot(path=os.path.join(SCREENSHOTS, "case-diagram.png"))


def test_case_page_without_javascript_lists_steps_and_takes_uploads(live_server, browser, browser_login, make_case,
                                                                    ctx, tmp_path):
    case_id = make_case("energy_use", enterprise=ENTERPRISE_A)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", java_script_enabled=False)
    tab = context.new_page()
    try:
        browser_login(tab, live_server, "enterprise", enterprise=ENTERPRISE_A)
        tab.goto(f"{live_server}/cases/{case_id}")
        assert "流程图需要启用 JavaScript" in tab.inner_text("#case-diagram")
        assert "企业整改" in tab.inner_text("#current-steps")
        document = tmp_path / "整改方案.pdf"
        document.write_bytes(PDF)
        tab.set_input_files("#file", str(document))
        tab.select_option("#task_key", "rectify")
        tab.click("form.upload button[type=submit]")
        tab.wait_for_load_state()
        assert tab.url.endswith(f"/cases/{case_id}#documents")
        assert "整改方案.pdf" in tab.inner_text("#documents")
        assert [a.filename for a in attachments.list_attachments(ctx, actor("supervisor"), case_id)] == ["整改方案.pdf"]
        screenshot(tab, "case-page-nojs")
    finally:
        context.close()
