"""Shared fixtures: an app on a fresh database (SQLite by default, PostgreSQL when asked), actors, factories.

Set ``CAPEXIT_TEST_DATABASE_URL=postgresql+psycopg://...`` to run the database tests on PostgreSQL;
each test then starts from emptied tables with the processes deployed again.
"""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from engine import store
from engine.context import Actor, EngineContext
from engine.credit_code import make_credit_code
from engine.models import Base
from engine.services import cases, tasks, users
from webapp import create_app
from webapp.cli import initialise

# Every dump in the tests, and in the servers they start, checks what it reused against a fresh conversion.
store.CHECK_REUSE = True
os.environ["CAPEXIT_CHECK_REUSE"] = "1"

CLOCK_START = "2026-03-02T09:00:00+08:00"  # a Monday
START_DAY = CLOCK_START[:10]  # the date of a step that records what has happened: never after today
PASSWORD = "correct-horse-9"
PG_URL = os.environ.get("CAPEXIT_TEST_DATABASE_URL", "")


def _config(url: str, tmp_path) -> dict[str, Any]:
    return {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test-secret",
            "CAPEXIT_CLOCK": "simulated", "CAPEXIT_CLOCK_START": CLOCK_START}


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """Cheap password hashes in tests: scrypt, the production default, costs a quarter second per account."""
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr(users, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> str:
    """A migrated SQLite file with departments and processes deployed, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "capexit.db"
    app = create_app(_config(f"sqlite:///{path}", None))
    initialise(app.extensions["capexit"])
    _dispose(app)
    return str(path)


def _dispose(app) -> None:
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose()


_PG_READY: dict[str, set[int]] = {}


def reinitialise_postgres_after_migrating() -> None:
    """A test that moved a shared PostgreSQL database down and up its revisions dropped columns of the rows kept
    between tests (a deployed process's English name): the next test sets the database up afresh."""
    _PG_READY.clear()


def _reset_postgres(app) -> None:
    """Empty every table but the deployed definitions, seeded forms and departments (set up once per run)."""
    from engine.db import upgrade_schema
    from engine.models import Definition, Department, FormVersion
    from engine.parties import PARTY_CODES
    from webapp.extensions import db

    ctx: EngineContext = app.extensions["capexit"]
    with app.app_context():
        if "definitions" not in _PG_READY:
            upgrade_schema(db.engine)
            with db.engine.begin() as conn:
                names = ", ".join(t.name for t in Base.metadata.sorted_tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            initialise(ctx)
            with db.engine.begin() as conn:
                _PG_READY["definitions"] = set(conn.scalars(sa.select(Definition.id)))
                _PG_READY["forms"] = set(conn.scalars(sa.select(FormVersion.id)))
            return
        keep = {"definitions", "departments", "form_versions"}
        with db.engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name not in keep)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            conn.execute(sa.delete(Definition).where(Definition.id.not_in(_PG_READY["definitions"])))
            conn.execute(sa.delete(FormVersion).where(FormVersion.id.not_in(_PG_READY["forms"])))
            conn.execute(sa.delete(Department).where(Department.code.not_in(PARTY_CODES)))


@pytest.fixture
def app(tmp_path, template_db) -> Iterator:
    """A fresh app on its own database, clock simulated at ``CLOCK_START``."""
    if PG_URL:
        application = create_app(_config(PG_URL, tmp_path))
        _reset_postgres(application)
    else:
        path = tmp_path / "capexit.db"
        shutil.copy(template_db, path)
        application = create_app(_config(f"sqlite:///{path}", tmp_path))
    yield application
    _dispose(application)
    gc.collect()  # a connection left open by this test is reported here, not in a later test


@pytest.fixture
def ctx(app) -> EngineContext:
    """The app's engine context."""
    return app.extensions["capexit"]


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A Flask CLI runner."""
    return app.test_cli_runner()


ENTERPRISE_A = make_credit_code("91370800MA3C00010")
ENTERPRISE_B = make_credit_code("91370800MA3C00020")


def actor(role: str, department: str | None = None, enterprise: str | None = None) -> Actor:
    """An actor for engine-level tests (no account needed)."""
    name = department or enterprise or role
    return Actor(f"{role}_{name}", role, department, enterprise)


@pytest.fixture
def make_case(ctx):
    """Open a case: ``make_case("energy_use", industry="steel", enterprise=ENTERPRISE_A)`` -> case id."""

    def make(dimension: str, *, industry: str = "steel", enterprise: str = ENTERPRISE_A, lead: str | None = None,
             finding: dict | None = None) -> int:
        from engine.parties import default_lead

        lead_department = lead or default_lead(dimension, industry)
        request = cases.NewCase(dimension=dimension, lead_department=lead, finding=finding or {}, enterprise={
            "name": f"企业{enterprise[-4:]}", "credit_code": enterprise, "county": "任城区", "industry": industry})
        return cases.start_case(ctx, actor("staff", lead_department), request)

    return make


@pytest.fixture
def work(ctx):
    """Complete the one open task with ``key`` on a case as the right actor: ``work(case_id, "rectify", {...})``."""

    def do(case_id: int, key: str, data: dict[str, Any]) -> dict[str, Any]:
        case = cases.get_case(ctx, actor("supervisor"), case_id)
        matching = [t for t in case["open_tasks"] if t["key"] == key]
        assert matching, f"no open {key} in case {case_id}: {[t['key'] for t in case['open_tasks']]}"
        task = matching[0]
        who = (actor("enterprise", enterprise=case["enterprise"]["credit_code"]) if task["department"] == "enterprise"
               else actor("staff", task["department"]))
        tasks.complete_task(ctx, who, task["id"], data)
        return cases.get_case(ctx, actor("supervisor"), case_id)

    return do


@pytest.fixture
def api_token(ctx, client):
    """Create a user and return a bearer header for it: ``api_token("staff", department="industry")``."""
    counter = iter(range(1000))

    def make(role: str, department: str | None = None, enterprise: str | None = None) -> dict[str, str]:
        name = f"{role}{next(counter)}"
        users.add_user(ctx, name, role, PASSWORD, department=department, enterprise=enterprise)
        answer = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.get_json()
        return {"Authorization": f"Bearer {answer.get_json()['token']}"}

    return make


def csrf_from(html: str) -> str:
    """The CSRF token of a rendered page (every signed-in page has one in its logout form)."""
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def login_as(ctx, client):
    """Sign the test client in as a new user of ``role``: ``login_as("staff", department="industry")``."""
    counter = iter(range(1000))

    def do(role: str, department: str | None = None, enterprise: str | None = None):
        name = f"web_{role}{next(counter)}"
        users.add_user(ctx, name, role, PASSWORD, department=department, enterprise=enterprise)
        page = client.get("/login")
        answer = client.post("/login", data={"username": name, "password": PASSWORD,
                                             "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return client

    return do


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port in a thread; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (headless); skipped only outside CI when it is missing."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: scripts/test.sh installs it with apt-get")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        yield instance
        instance.close()


class Dialogs:
    """A page's confirmation dialogs: each message asked, answered yes unless ``accept`` is set False."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.accept = True

    def __call__(self, dialog) -> None:
        self.messages.append(dialog.message)
        dialog.accept() if self.accept else dialog.dismiss()


def answering_dialogs(tab) -> Dialogs:
    """Answer the page's dialogs as a person who means what they clicked would (Playwright would say no)."""
    dialogs = Dialogs()
    tab.on("dialog", dialogs)
    tab.dialogs = dialogs
    return dialogs


@pytest.fixture
def page(browser):
    """A fresh browser page (own cookies), 1280x900; ``page.dialogs`` answers and records its dialogs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    answering_dialogs(tab)
    yield tab
    context.close()


SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "test-output", "screenshots")


def screenshot(tab, name: str) -> str:
    """Save a full-page screenshot under test-output/screenshots/ and return its path."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    tab.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def browser_login(ctx):
    """Create a user and sign a browser page in: ``browser_login(page, base_url, "staff", department=...)``."""
    counter = iter(range(1000))

    def do(tab, base_url: str, role: str, department: str | None = None, enterprise: str | None = None) -> str:
        name = f"ui_{role}{next(counter)}"
        users.add_user(ctx, name, role, PASSWORD, department=department, enterprise=enterprise)
        tab.goto(f"{base_url}/login")
        tab.fill("#username", name)
        tab.fill("#password", PASSWORD)
        tab.click("button[type=submit]")
        # the sign-in's answer sets the new session cookie: wait for it to land, or a navigation started right
        # after could carry the old cookie and a later answer overwrite what it stored (the language, say)
        tab.wait_for_url(lambda url: "/login" not in url)
        # and for the landing page to settle before the test goes on
        tab.wait_for_load_state("networkidle")
        return name

    return do
