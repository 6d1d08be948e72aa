"""The form editor in Chromium: an owner adds a field, sees the live preview and a problem for broken JSON,
publishes with a note and finds version 2 with its diff."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.test_form_versions import RECTIFY, dumped, stored, with_rectify_field


def test_owner_edits_previews_and_publishes_a_form(live_server, page, browser_login, ctx):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "owner")
    page.goto(f"{live_server}/forms")
    page.locator(f'tr[data-key="{RECTIFY}"]').get_by_role("link", name="编辑").click()
    text, preview, problems = page.locator("#form-text"), page.locator("#form-preview"), page.locator("#form-problems li")
    expect(text).to_have_value(re.compile('"outcome"'))
    expect(preview.locator('input[name="outcome"]')).to_have_count(2)
    expect(preview.locator('[name="contact_phone"]')).to_have_count(0)

    edited = dumped(with_rectify_field())
    text.fill(edited)
    expect(preview.locator('input[name="contact_phone"]')).to_be_visible()
    expect(preview).to_contain_text("联系电话")
    expect(page.locator("#form-editor")).to_have_attribute("data-state", "ok")
    expect(problems).to_have_count(0)

    broken = edited.replace('"title": "联系电话",', '"title": "联系电话"', 1)
    text.fill(broken)
    expect(problems).to_have_count(1)
    line = next(n for n, row in enumerate(broken.splitlines(), 1) if '"title": "联系电话"' in row) + 1
    expect(problems.first).to_contain_text(f"第 {line} 行")
    expect(problems.first).to_contain_text("缺少逗号")
    expect(page.locator("#form-editor")).to_have_attribute("data-state", "error")
    expect(preview).to_have_class(re.compile("preview-stale"))
    expect(preview.locator('input[name="contact_phone"]')).to_be_visible()  # the last good preview stays
    problems.first.locator("button").click()  # selects the line in the text
    assert page.evaluate("() => { const t = document.getElementById('form-text');"
                         " return t.value.slice(0, t.selectionStart).split('\\n').length; }") == line
    screenshot(page, "form-editor-problem")

    text.fill(edited)
    expect(problems).to_have_count(0)
    expect(page.locator("#form-editor")).to_have_attribute("data-state", "ok")
    page.fill("#form-note", "增加联系电话，便于复查时联系企业")
    screenshot(page, "form-editor")
    page.click("#form-check")  # checking asks nothing
    page.wait_for_load_state()
    assert page.dialogs.messages == []
    page.fill("#form-note", "增加联系电话，便于复查时联系企业")
    page.click("#form-publish")
    page.wait_for_url(re.compile(r"/forms/rectify\.schema\.json/versions"))
    assert page.dialogs.messages == ["发布后，使用此表单的待办任务立即按新版本填写和校验。确定发布吗？"]
    expect(page.locator('#versions tr[data-version="2"]')).to_contain_text("增加联系电话，便于复查时联系企业")
    expect(page.locator('#versions tr[data-version="2"]')).to_contain_text("最新")
    added = page.locator('#diff-table tr[data-change="added"][data-field="contact_phone"]')
    expect(added).to_contain_text("联系电话")
    screenshot(page, "form-versions")
    assert [v for v, _, _ in stored(ctx, RECTIFY)] == [1, 2]
    assert not errors, errors
