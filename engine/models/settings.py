"""Settings kept in the database: the simulated clock, the rest-day corrections and the years whose arrangements
the administrators have entered."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class ClockState(Base):
    """The simulated clock's current instant (a single row, id 1)."""

    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    now: Mapped[datetime] = mapped_column(UTCDateTime())


class RestDayOverride(Base):
    """An administrator's correction of the published rest-day calendar."""

    __tablename__ = "rest_day_overrides"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_working_day: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class EnteredArrangement(Base):
    """A year whose State Council holiday arrangements the shipped data lacks and the administrators have entered
    in full as corrections, by the notice that published them: its deadlines are no longer estimates."""

    __tablename__ = "entered_arrangements"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    notice: Mapped[str] = mapped_column(sa.String(100))
    entered_by: Mapped[str] = mapped_column(sa.String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
