"""Alembic migrations of the capexit schema."""
