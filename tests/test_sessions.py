"""Sessions: a reading session runs each statement on its own; a unit of work is always one transaction,
also on a pooled connection that served a reading session before."""

from __future__ import annotations

import contextlib
import time

import pytest
import sqlalchemy as sa

from engine import db
from engine.services import users


def _in_autocommit(session) -> bool:
    dbapi = session.connection().connection.dbapi_connection
    if hasattr(dbapi, "autocommit"):  # psycopg
        return dbapi.autocommit
    return dbapi.isolation_level is None  # sqlite3: None is autocommit


def test_a_reading_session_has_no_transaction_around_its_statements(ctx):
    with ctx.reading() as session:
        assert _in_autocommit(session)


def test_units_of_work_stay_transactions_after_reading_sessions_on_the_same_pool(ctx):
    for _ in range(12):  # more than the pool holds: every pooled connection has served a reading session
        with ctx.reading() as session:
            assert _in_autocommit(session)
        with ctx.unit_of_work() as session:
            assert not _in_autocommit(session)


def test_the_bearer_tokens_owner_is_read_without_a_transaction(ctx, monkeypatch):
    """Every API request reads it: no BEGIN and COMMIT round trips for it."""
    token = users.issue_token(ctx, users.add_user(ctx, "token_reader", "staff", "secret-passw0rd!", department="industry"))
    original, seen = ctx.reading, []

    @contextlib.contextmanager
    def reading():
        with original() as session:
            seen.append(_in_autocommit(session))
            yield session

    monkeypatch.setattr(ctx, "reading", reading)
    actor = users.actor_for_token(ctx, token)
    assert actor is not None and actor.username == "token_reader" and seen == [True]


def _server_only(ctx):
    if ctx.session_factory.kw["bind"].dialect.name == "sqlite":
        pytest.skip("connection pings: a database server (PostgreSQL)")


def test_a_connection_used_a_moment_ago_is_not_pinged_an_idle_one_is(ctx, monkeypatch):
    _server_only(ctx)
    dialect = ctx.session_factory.kw["bind"].dialect
    pings = []
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))
    with ctx.unit_of_work():
        pass
    for _ in range(3):
        with ctx.unit_of_work() as session:
            session.execute(sa.text("SELECT 1"))
    assert pings == []  # checked in a moment ago
    time.sleep(db.ALIVE_BYPASS_S + 0.1)
    with ctx.unit_of_work() as session:
        session.execute(sa.text("SELECT 1"))
    assert pings == [1]


def test_connections_of_a_restarted_server_are_replaced_without_an_error(ctx):
    """What a restart does to the pool, done to every pooled connection: their server processes end."""
    _server_only(ctx)
    db_engine = ctx.session_factory.kw["bind"]
    with ctx.unit_of_work() as session:
        session.execute(sa.text("SELECT 1"))
    with db_engine.connect() as other:
        other.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        other.commit()
    time.sleep(db.ALIVE_BYPASS_S + 0.1)
    with ctx.unit_of_work() as session:
        assert session.execute(sa.text("SELECT 1")).scalar() == 1
