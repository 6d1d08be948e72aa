"""Database connections: the SQLAlchemy engine with durable SQLite settings, and schema upgrades."""

from __future__ import annotations

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


def engine_options(url: str) -> dict:
    """Engine keyword arguments suited to the database behind ``url``."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 10, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def configure_engine(db_engine: sa.Engine) -> sa.Engine:
    """Attach per-connection settings (SQLite pragmas) to an engine made elsewhere."""
    if db_engine.dialect.name == "sqlite" and not event.contains(db_engine, "connect", _sqlite_pragmas):
        event.listen(db_engine, "connect", _sqlite_pragmas)
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
