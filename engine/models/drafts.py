"""Work in progress of process owners: BPMN drafts, and form schemas with their versions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class DefinitionDraft(Base):
    """A saved, not yet deployed edit of a process (one per process and owner; saving again replaces it)."""

    __tablename__ = "definition_drafts"
    __table_args__ = (sa.UniqueConstraint("process_id", "saved_by", name="uq_definition_drafts_process_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    bpmn: Mapped[str] = mapped_column(sa.Text)
    base_version: Mapped[int | None]
    saved_by: Mapped[str] = mapped_column(sa.String(64))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FormVersion(Base):
    """One version of a user-task form (JSON Schema, optional UI schema); the newest one is in use."""

    __tablename__ = "form_versions"
    __table_args__ = (sa.UniqueConstraint("key", "version", name="uq_form_versions_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), index=True)
    version: Mapped[int]
    schema: Mapped[str] = mapped_column(sa.Text)
    ui_schema: Mapped[str | None] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    saved_by: Mapped[str] = mapped_column(sa.String(64))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(sa.Text, default="")
