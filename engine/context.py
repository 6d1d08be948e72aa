"""What every engine service needs: sessions, the clock, the parsed-spec cache and the file folders."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.calendar import RestDayCalendar
from engine.clock import SHANGHAI, Clock
from engine.definitions import SpecCache

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the system itself (timers, scheduler)."""

    username: str
    role: str
    department: str | None = None
    enterprise_code: str | None = None


SYSTEM = Actor("system", "system")


@dataclass
class EngineContext:
    """Shared state of one running engine (one per process)."""

    session_factory: sessionmaker[Session]
    clock: Clock
    processes_dir: Path = ROOT / "processes"
    forms_dir: Path = ROOT / "forms"
    specs: SpecCache = field(default_factory=SpecCache)

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.session_factory() as session, session.begin():
            yield session

    def now(self, session: Session | None = None) -> datetime:
        """The current instant by the configured clock."""
        return self.clock.now(session)

    def today(self, session: Session | None = None) -> date:
        """Today's date in Asia/Shanghai by the configured clock."""
        return self.now(session).astimezone(SHANGHAI).date()

    def calendar(self, session: Session) -> RestDayCalendar:
        """The rest-day calendar with the administrators' corrections."""
        from engine.models import RestDayOverride

        rows = session.execute(sa.select(RestDayOverride.day, RestDayOverride.is_working_day)).all()
        return RestDayCalendar({day: working for day, working in rows})
