"""Repeated failed sign-ins are slowed down, on the page and on the API, and a good one clears the count."""

from engine.services import users
from tests.conftest import PASSWORD, csrf_from
from webapp.login_limits import PER_USER, WINDOW_SECONDS, LoginLimiter


def test_the_window_opens_again():
    now = [1000.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for _ in range(PER_USER):
        limiter.failed("li", "10.0.0.1")
    assert limiter.wait_seconds("li", "10.0.0.2") > 0
    assert limiter.wait_seconds("wang", "10.0.0.1") == 0
    now[0] += WINDOW_SECONDS + 1
    assert limiter.wait_seconds("li", "10.0.0.1") == 0


def test_the_login_page_locks_after_five_failures(ctx, client):
    users.add_user(ctx, "li", "supervisor", PASSWORD)
    for _ in range(PER_USER):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        assert client.post("/login", data={"username": "li", "password": "nope-nope", "csrf_token": token}
                           ).status_code == 401
    token = csrf_from(client.get("/login").get_data(as_text=True))
    locked = client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)


def test_the_token_endpoint_locks_too(ctx, client):
    users.add_user(ctx, "li", "supervisor", PASSWORD)
    for _ in range(PER_USER):
        assert client.post("/api/v1/auth/token", json={"username": "li", "password": "x"}).status_code == 403
    assert client.post("/api/v1/auth/token", json={"username": "li", "password": PASSWORD}).status_code == 429


def test_a_good_sign_in_clears_the_count(ctx, client):
    users.add_user(ctx, "li", "supervisor", PASSWORD)
    for _ in range(PER_USER - 1):
        client.post("/api/v1/auth/token", json={"username": "li", "password": "x"})
    assert client.post("/api/v1/auth/token", json={"username": "li", "password": PASSWORD}).status_code == 200
    client.post("/api/v1/auth/token", json={"username": "li", "password": "x"})
    assert client.post("/api/v1/auth/token", json={"username": "li", "password": PASSWORD}).status_code == 200
