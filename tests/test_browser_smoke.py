"""A real browser signs in and sees its landing page."""

from tests.conftest import screenshot


def test_supervisor_signs_in_with_chromium(live_server, page, browser_login):
    browser_login(page, live_server, "supervisor")
    assert page.url.endswith("/board")
    assert "计时看板" in page.content()
    screenshot(page, "smoke-board")


def test_every_menu_entry_stays_on_one_line_in_english(live_server, page, browser_login):
    """The longest menu (an administrator's) in English on a 1280-pixel screen: no entry breaks inside itself."""
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_login(page, live_server, "admin")
    page.goto(f"{live_server}/lang/en")
    page.goto(f"{live_server}/cases")
    entries = page.locator(".mainnav a")
    assert "Timer board" in entries.all_inner_texts()
    lines = page.eval_on_selector_all(".mainnav a", """links => links.map(a => {
        const text = document.createRange();
        text.selectNodeContents(a);
        return [a.innerText, text.getClientRects().length];  // one rectangle a line of text
    })""")
    assert len(lines) >= 8
    assert [text for text, rects in lines if rects != 1] == []
    screenshot(page, "menu-english")
