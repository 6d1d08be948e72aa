"""Public announcements: sealed equipment under public supervision (C-2.5) and credit listings (C-3.8)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class Announcement(Base):
    """One public notice about a case; withdrawn ones stay, with the reason, for the record."""

    __tablename__ = "announcements"
    __table_args__ = (sa.Index("ix_announcements_current", "withdrawn_at", "published_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    enterprise_name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18))
    subject: Mapped[str] = mapped_column(sa.Text)
    published_on: Mapped[date]
    deadline: Mapped[date | None]
    url: Mapped[str | None] = mapped_column(sa.String(500))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(sa.String(64))
    withdraw_reason: Mapped[str | None] = mapped_column(sa.Text)
