"""Deployed process definitions: one row per version, holding the BPMN text."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class Definition(Base):
    """One deployed version of one BPMN process."""

    __tablename__ = "definitions"
    __table_args__ = (sa.UniqueConstraint("process_id", "version", name="uq_definitions_process_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    name_en: Mapped[str | None] = mapped_column(sa.String(200))  # the process's ``nameEn`` property, if it has one
    bpmn: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    called_processes: Mapped[str] = mapped_column(sa.Text, default="[]")
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deployed_by: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.Text, default="")
