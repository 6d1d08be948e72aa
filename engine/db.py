"""Database connections: the SQLAlchemy engine with durable SQLite settings, and schema upgrades."""

from __future__ import annotations

import time
import weakref
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL with synchronous=FULL: an acknowledged commit survives a power cut."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


ALIVE_BYPASS_S = 0.5  # a pooled connection checked in this recently is taken as alive (HikariCP's default window)
_PINGING: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _ping_idle_connections(db_engine: sa.Engine) -> None:
    """At check-out, ping a server connection that was idle for more than ``ALIVE_BYPASS_S``; if the ping
    fails (the server restarted), the whole pool is replaced, as ``pool_pre_ping`` does. A connection
    checked in a moment ago, or a new one, is taken as it is: under load that saves a round trip on every
    unit of work, and a connection that died in that half second fails its one request and is replaced."""
    dialect = db_engine.dialect

    def note_idle(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < ALIVE_BYPASS_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise sa.exc.InvalidatePoolError() from exc

    event.listen(db_engine, "checkin", note_idle)
    event.listen(db_engine, "checkout", ping_if_idle)
    _PINGING.add(db_engine)


def engine_options(url: str) -> dict:
    """Engine keyword arguments suited to the database behind ``url``."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 10, "check_same_thread": False}}
    return {}


def configure_engine(db_engine: sa.Engine) -> sa.Engine:
    """Attach per-connection settings to an engine made elsewhere: SQLite's pragmas; for a database server,
    the check-out ping of connections that were idle."""
    if db_engine.dialect.name == "sqlite":
        if not event.contains(db_engine, "connect", _sqlite_pragmas):
            event.listen(db_engine, "connect", _sqlite_pragmas)
    elif db_engine not in _PINGING:
        _ping_idle_connections(db_engine)
    return db_engine


def make_engine(url: str) -> sa.Engine:
    """Create an engine for ``url`` with capexit's connection settings."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return configure_engine(sa.create_engine(url, **engine_options(url)))


def make_session_factory(db_engine: sa.Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(db_engine, expire_on_commit=False)


def upgrade_schema(db_engine: sa.Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
