"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import (
    reinitialise_postgres_after_migrating,  # the module pytest loaded, whose state the fixtures keep
)

from engine.db import make_engine
from engine.models import Base, User
from tests.conftest import PG_URL
from webapp.extensions import db


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def _migrate(db_engine, step: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from engine.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, step)(config, revision)


def _columns(db_engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(db_engine).get_columns(table)}


def test_0011_adds_and_removes_the_real_name_keeping_the_accounts(tmp_path):
    """Upgrade to the newest revision, downgrade below 0011 and upgrade again: the accounts stay, their names go."""
    db_engine = make_engine(PG_URL or f"sqlite:///{tmp_path / 'migrations.db'}")
    try:
        _migrate(db_engine, "upgrade", "head")
        with db_engine.begin() as connection:
            connection.execute(sa.insert(User).values(
                username="migration_probe", password_hash="x", role="owner", active=True,
                created_at=datetime.now(UTC), display_name="王明"))
        _migrate(db_engine, "downgrade", "0010")
        assert "display_name" not in _columns(db_engine, "users")
        with db_engine.connect() as connection:
            assert connection.execute(sa.text("SELECT role FROM users WHERE username = 'migration_probe'")).all() == [
                ("owner",)]
        _migrate(db_engine, "upgrade", "0011")
        assert "display_name" in _columns(db_engine, "users")
        with db_engine.connect() as connection:
            assert connection.scalar(sa.select(User.display_name).where(User.username == "migration_probe")) is None
    finally:
        _migrate(db_engine, "upgrade", "head")
        with db_engine.begin() as connection:
            connection.execute(sa.delete(User).where(User.username == "migration_probe"))
        db_engine.dispose()
        reinitialise_postgres_after_migrating()
