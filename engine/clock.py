"""The one source of "now": the system clock, or a simulated clock kept in the database.

SpiffWorkflow reads ``datetime.now(timezone.utc)`` through the module-level name
``datetime`` of its timer module and offers no hook. ``install_timer_clock`` replaces
that name once with a subclass whose ``now()`` answers the instant pinned by
``pinned_now`` for the unit of work in progress, so every engine step of one
transaction sees the same, injected time.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

SHANGHAI = ZoneInfo("Asia/Shanghai")

_pinned: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("capexit_now", default=None)


class Clock(Protocol):
    """Anything that tells the current instant (offset-aware)."""

    simulated: bool

    def now(self, session: Session | None = None) -> datetime: ...


class SystemClock:
    """Wall-clock time."""

    simulated = False

    def now(self, session: Session | None = None) -> datetime:
        """Return the current UTC instant."""
        return datetime.now(UTC)


class SimulatedClock:
    """A clock stored in the ``clock_state`` row, shared by every process using the database."""

    simulated = True

    def __init__(self, db_engine: sa.Engine, start: datetime | None = None) -> None:
        self.db_engine = db_engine
        self.start = start

    def now(self, session: Session | None = None) -> datetime:
        """Return the simulated instant (the configured start if never set)."""
        from engine.models import ClockState

        if session is not None:
            row = session.get(ClockState, 1)
            value = row.now if row else None
        else:
            with Session(self.db_engine) as own:
                row = own.get(ClockState, 1)
                value = row.now if row else None
        if value is None:
            return (self.start or datetime.now(UTC)).astimezone(UTC)
        return value

    def set(self, session: Session, instant: datetime) -> datetime:
        """Move the clock to ``instant`` (in the caller's transaction)."""
        from engine.models import ClockState

        if instant.tzinfo is None:
            raise ValueError("the instant needs an offset, e.g. 2026-11-24T09:00:00+08:00")
        row = session.get(ClockState, 1)
        if row is None:  # the first move: insert the row, unless a concurrent first move just did
            insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
            session.execute(insert(ClockState).values(id=1, now=instant.astimezone(UTC))
                            .on_conflict_do_nothing(index_elements=["id"]))
            row = session.get(ClockState, 1)
        row.now = instant.astimezone(UTC)
        return instant.astimezone(UTC)


@contextlib.contextmanager
def pinned_now(instant: datetime) -> Iterator[None]:
    """Make SpiffWorkflow's timers see ``instant`` as now inside the block."""
    token = _pinned.set(instant.astimezone(UTC))
    try:
        yield
    finally:
        _pinned.reset(token)


# SpiffWorkflow fires a timer once now is strictly after its instant; a legal period ends at its instant (24:00 of
# the last day), so the timers see the pinned instant this much later: a timer fires at its instant, as the sweep's
# ``due_at <= now`` and the board's "overdue" have it.
AT_THE_INSTANT = timedelta(microseconds=1)


class _ClockedDatetime(datetime):
    """``datetime`` whose ``now()`` answers the pinned instant (see ``AT_THE_INSTANT``) when one is set."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        pinned = _pinned.get()
        if pinned is None:
            return datetime.now(tz)
        pinned = pinned + AT_THE_INSTANT
        return pinned.astimezone(tz) if tz is not None else pinned.astimezone(SHANGHAI).replace(tzinfo=None)


def install_timer_clock() -> None:
    """Route SpiffWorkflow's timer module through the pinned clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    if timer.datetime is not _ClockedDatetime:
        timer.datetime = _ClockedDatetime


_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def add_duration(instant: datetime, text: str) -> datetime:
    """Add an ISO 8601 duration; years and months move by calendar months in Asia/Shanghai."""
    from engine.deadlines import add_months

    match = _DURATION.match(text.strip().upper()) if text else None
    if not match or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r} (examples: P6M, P10D, PT12H)")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    local = instant.astimezone(SHANGHAI)
    months = parts.get("years", 0) * 12 + parts.get("months", 0)
    if months:
        day: date = add_months(local.date(), months)
        local = local.replace(year=day.year, month=day.month, day=day.day)
    delta = timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )
    return (local + delta).astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; a date or a time without offset is read in Asia/Shanghai."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(UTC)


def iso(instant: datetime) -> str:
    """ISO 8601 text of an instant in Asia/Shanghai, with its offset."""
    return instant.astimezone(SHANGHAI).isoformat()


def clock_from_config(kind: str, db_engine: sa.Engine, start: str | None = None) -> Clock:
    """Build the clock named by ``CAPEXIT_CLOCK`` (``system`` or ``simulated``)."""
    if kind == "system":
        return SystemClock()
    if kind == "simulated":
        return SimulatedClock(db_engine, parse_instant(start) if start else None)
    raise ValueError(f"CAPEXIT_CLOCK must be 'system' or 'simulated', not {kind!r}")
