"""Alembic environment: runs on the connection handed over by engine.db.upgrade_schema."""

from alembic import context

from engine.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the CLI always hands over a connection
    raise RuntimeError("run migrations through `capexit init` (engine.db.upgrade_schema)")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
