"""Index tables rebuilt from a case's workflow on every save: open user tasks and waiting timers."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class OpenTask(Base):
    """A READY user task, so the inbox never deserializes a case."""

    __tablename__ = "open_tasks"
    __table_args__ = (sa.Index("ix_open_tasks_department_due", "department", "due", "created_at", "id"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))  # the task's ``nameEn`` property, if it has one
    department: Mapped[str] = mapped_column(sa.String(32))
    form: Mapped[str | None] = mapped_column(sa.String(200))
    due: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WaitingTimer(Base):
    """A timer event waiting in some case, so the sweep reads only due rows; or, with ``fires`` false, a legal
    period that runs on while no timer of the instance guards it (an extension request under review): a clock
    the board shows and the sweep never reads."""

    __tablename__ = "waiting_timers"
    __table_args__ = (sa.Index("ix_waiting_timers_fires_due_at", "fires", "due_at"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    task_key: Mapped[str] = mapped_column(sa.String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    fires: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
