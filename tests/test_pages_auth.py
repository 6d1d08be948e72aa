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
