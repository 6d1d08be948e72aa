"""A real browser signs in and sees its landing page."""

from tests.conftest import screenshot


def test_supervisor_signs_in_with_chromium(live_server, page, browser_login):
    browser_login(page, live_server, "supervisor")
    assert page.url.endswith("/board")
    assert "计时看板" in page.content()
    screenshot(page, "smoke-board")
