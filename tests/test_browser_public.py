"""The public page in Chromium: anyone reads the announcements; lead staff withdraw one with a reason."""

from __future__ import annotations

import pytest

from engine.credit_code import make_credit_code
from engine.services import announcements
from tests.conftest import ENTERPRISE_A, actor, screenshot
from tests.test_announcements import COMMITMENT, CREDIT, EQUIPMENT, overdue_at_credit_listing, sealed_case

ENTERPRISE_C = make_credit_code("91370800MA3C00030")


@pytest.fixture
def published(ctx, make_case, work):
    """Two sealed-equipment announcements (one withdrawn) and one credit listing."""
    first = sealed_case(make_case, work)
    sealed_case(make_case, work, enterprise=ENTERPRISE_C)
    case_id = overdue_at_credit_listing(ctx, make_case, work)
    work(case_id, "credit_listing", CREDIT)
    board = announcements.public_board(ctx)
    (withdrawn,) = [a for a in board.current if a.kind == "sealed_equipment" and a.credit_code == ENTERPRISE_A]
    announcements.withdraw(ctx, actor("staff", "industry"), withdrawn.id, "公告所列设备型号有误，更正后重新公告")
    return first


def test_anonymous_visitor_reads_the_announcements(page, live_server, published):
    page.goto(f"{live_server}/public")
    assert page.url.endswith("/public")  # no sign-in
    current = page.inner_text("#current")
    assert ENTERPRISE_C in current and EQUIPMENT in current and COMMITMENT in current
    assert "2026-06-22" in current and "未按期完成落后产能退出" in current
    assert ENTERPRISE_A in current  # the credit listing (same enterprise as the withdrawn seal)
    assert page.locator("#current tbody tr").count() == 2
    withdrawn = page.inner_text("#withdrawn")
    assert "公告所列设备型号有误" in withdrawn and ENTERPRISE_A in withdrawn
    assert "尚未发布" in page.inner_text("#annual-report")
    assert "staff_" not in page.content() and page.locator("details.withdraw").count() == 0
    screenshot(page, "public")

    page.click("text=English")
    page.wait_for_load_state()
    assert "Current announcements" in page.inner_text("#current")
    assert "Not yet published" in page.inner_text("#annual-report")
    screenshot(page, "public-en")


def test_lead_staff_withdraws_from_the_page(page, live_server, browser_login, ctx, published):
    browser_login(page, live_server, "staff", department="industry")
    page.goto(f"{live_server}/public")
    (entry,) = [a for a in announcements.current_list(ctx) if a.credit_code == ENTERPRISE_C]
    row = page.locator(f"#announcement-{entry.id}")
    row.locator("summary").click()
    row.locator("button[type=submit]").click()  # no reason: refused by the server, shown at the field
    page.wait_for_load_state()
    assert "撤回理由" in page.inner_text(f"#announcement-{entry.id} .field-error")
    screenshot(page, "public-withdraw-refused")
    page.fill(f"#reason-{entry.id}", "企业已提前完成拆除")
    page.locator(f"#announcement-{entry.id} button[type=submit]").click()
    page.wait_for_load_state()
    assert "公告已撤回" in page.inner_text(".flash")
    assert "企业已提前完成拆除" in page.inner_text("#withdrawn")
    assert ENTERPRISE_C not in page.inner_text("#current")
    screenshot(page, "public-withdrawn")
