"""A real browser signs in and sees its landing page."""

import pytest

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


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_the_english_menu_keeps_one_row_on_a_1366_pixel_screen(live_server, page, browser_login, role):
    """A laptop's 1366-pixel screen, less a 17-pixel scrollbar, in English: every entry of the menu on one line and
    all of them on one row beside the title and the user's links ("Public notices" used to drop below)."""
    page.set_viewport_size({"width": 1366 - 17, "height": 800})
    browser_login(page, live_server, role)
    page.goto(f"{live_server}/lang/en")
    page.goto(f"{live_server}/board")
    entries = page.eval_on_selector_all(".mainnav a", """links => links.map(a => {
        const text = document.createRange();
        text.selectNodeContents(a);
        return [a.innerText, text.getClientRects().length, Math.round(a.getBoundingClientRect().top)];
    })""")
    assert "Public notices" in [text for text, _lines, _top in entries]
    assert [text for text, lines, _top in entries if lines != 1] == []
    assert len({top for _text, _lines, top in entries}) == 1, entries
    bar = page.evaluate("""() => ['.brand', '.mainnav', '.userbox'].map(s => {
        const box = document.querySelector(s).getBoundingClientRect();
        return [box.left, box.right];
    })""")
    assert bar[0][1] <= bar[1][0] and bar[1][1] <= bar[2][0] <= bar[2][1] <= 1366 - 17  # side by side, inside
    screenshot(page, f"menu-english-1366-{role}")
