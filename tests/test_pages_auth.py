"""Sign-in, landing pages by role, CSRF and security headers."""

import pytest

from tests.conftest import PASSWORD, csrf_from


@pytest.mark.parametrize(("role", "extra", "landing"), [
    ("staff", {"department": "industry"}, "/inbox"),
    ("supervisor", {}, "/board"),
    ("admin", {}, "/admin/users"),
])
def test_each_role_lands_on_its_page(login_as, client, role, extra, landing):
    login_as(role, **extra)
    assert client.get("/").headers["Location"] == landing


def test_enterprise_user_lands_on_its_cases(login_as, client):
    from tests.conftest import ENTERPRISE_A

    login_as("enterprise", enterprise=ENTERPRISE_A)
    assert client.get("/").headers["Location"] == "/cases"


def test_an_enterprise_with_a_step_to_take_lands_on_its_inbox(login_as, client, make_case):
    from tests.conftest import ENTERPRISE_A

    make_case("energy_use", enterprise=ENTERPRISE_A)  # its rectification is open
    login_as("enterprise", enterprise=ENTERPRISE_A)
    assert client.get("/").headers["Location"] == "/inbox"


def test_wrong_password_is_refused(ctx, client):
    from engine.services import users

    users.add_user(ctx, "li", "supervisor", PASSWORD)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": "li", "password": "wrong-one", "csrf_token": token})
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.get_data(as_text=True)
    assert client.get("/board").status_code == 302


def test_login_without_csrf_token_is_refused(ctx, client):
    from engine.services import users

    users.add_user(ctx, "li", "supervisor", PASSWORD)
    answer = client.post("/login", data={"username": "li", "password": PASSWORD})
    assert answer.status_code == 400
    assert client.get("/board").status_code == 302


def test_staff_cannot_open_the_board(login_as, client):
    login_as("staff", department="industry")
    assert client.get("/board").status_code == 403


def test_logout_ends_the_session(login_as, client):
    login_as("supervisor")
    page = client.get("/board").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert client.get("/board").status_code == 302


def test_security_headers(client):
    headers = client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_language_switch(client):
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.get("/lang/en")
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)


def _session_cookies_set(answer) -> list[str]:
    return [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("session=")]


def test_an_answer_that_changes_nothing_does_not_resend_the_session_cookie(login_as, client):
    """A static file or page asked for before signing out must not, answering after, sign the person back in."""
    login_as("supervisor")
    assert _session_cookies_set(client.get("/static/favicon.svg")) == []
    assert _session_cookies_set(client.get("/board")) == []


def test_an_answer_sent_before_signing_out_cannot_sign_the_person_back_in(login_as, client):
    login_as("supervisor")
    page = client.get("/board").get_data(as_text=True)
    late = client.get("/static/favicon.svg")  # asked for while signed in; its answer reaches the browser last
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    for header in _session_cookies_set(late):  # the browser stores whatever cookie the late answer carries
        client.set_cookie("session", header.split(";")[0].split("=", 1)[1])
    assert client.get("/board").status_code == 302


def test_the_language_has_a_cookie_of_its_own_and_outlives_signing_out(login_as, client):
    login_as("supervisor")
    answer = client.get("/lang/en")
    assert any(h.startswith("capexit_lang=en") for h in answer.headers.getlist("Set-Cookie"))
    assert _session_cookies_set(answer) == []  # the session is not where the language lives
    page = client.get("/board").get_data(as_text=True)
    assert 'lang="en"' in page
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    client.get("/lang/zh")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_an_unknown_language_changes_nothing(client):
    answer = client.get("/lang/fr")
    assert answer.status_code == 302
    assert not any(h.startswith("capexit_lang=") for h in answer.headers.getlist("Set-Cookie"))


def test_a_password_reset_ends_open_sessions(ctx, login_as, client):
    from engine.services import users

    login_as("supervisor")
    assert client.get("/board").status_code == 200
    users.add_user(ctx, "web_supervisor0", "supervisor", "a-new-password-1")
    assert client.get("/board").status_code == 302


def test_staff_of_the_enterprise_party_is_refused(ctx):
    import pytest

    from engine.errors import InvalidInput
    from engine.services import users

    with pytest.raises(InvalidInput) as refused:
        users.add_user(ctx, "mallory", "staff", "long-password-1", department="enterprise")
    assert refused.value.problems[0].field == "department"


def test_the_session_cookie_expires(ctx, client):
    from engine.services import users

    users.add_user(ctx, "li", "supervisor", PASSWORD)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": token})
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_one(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.data.startswith(b"<svg")
