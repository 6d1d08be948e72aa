"""What every engine service needs: sessions, the clock, the parsed-spec cache and the file folders."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.calendar import RestDayCalendar
from engine.clock import SHANGHAI, Clock
from engine.definitions import SpecCache
from engine.errors import Conflict


class WorkflowCache:
    """Workflows as committed, by case id and version, so the next step of a case skips deserializing.

    A unit of work takes its entry out (no two threads share an instance); the entry comes
    back only after the transaction commits, with the case's new version. Bounded (LRU).
    """

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int) -> Any | None:
        """The entry saved at ``version``, removed from the cache; None if absent or stale."""
        with self._lock:
            found = self._entries.pop(case_id, None)
        return found[1] if found and found[0] == version else None

    def put(self, case_id: int, version: int, entry: Any) -> None:
        """Remember a committed entry."""
        with self._lock:
            self._entries[case_id] = (version, entry)
            self._entries.move_to_end(case_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def _is_write_conflict(exc: OperationalError) -> bool:
    """SQLite's busy lock, or PostgreSQL's serialization failure or deadlock."""
    text = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return "database is locked" in text or code in ("40001", "40P01")


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
    workflows: WorkflowCache = field(default_factory=WorkflowCache)

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        A lost race (another writer saved the same case first, or the database refused
        a concurrent write) becomes ``Conflict``, so the caller answers 409.
        """
        try:
            with self.session_factory() as session:
                with session.begin():
                    yield session
                for case_id, version, entry in session.info.pop("committed_workflows", []):
                    self.workflows.put(case_id, version, entry)
        except StaleDataError:
            raise Conflict("案件已被他人更新，请刷新后重试",
                           "the case was changed by someone else meanwhile; reload and try again") from None
        except OperationalError as exc:
            if not _is_write_conflict(exc):
                raise
            raise Conflict("数据正被其他操作修改，请稍后重试",
                           "the data is being changed by another request; try again") from None

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads alone: each statement runs on its own, with no transaction around them.

        That saves the BEGIN and COMMIT round trips on PostgreSQL, where each statement of a
        READ COMMITTED transaction sees its own snapshot anyway (SQLite runs reads outside a
        transaction in any case). For the hot reads of every request, such as the bearer token's owner.
        """
        with self.session_factory() as session:
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session

    def now(self, session: Session | None = None) -> datetime:
        """The current instant by the configured clock."""
        return self.clock.now(session)

    def today(self, session: Session | None = None) -> date:
        """Today's date in Asia/Shanghai by the configured clock."""
        return self.now(session).astimezone(SHANGHAI).date()

    def calendar(self, session: Session) -> RestDayCalendar:
        """The rest-day calendar with the administrators' corrections and the years they have entered."""
        from engine.services.rest_days import stored_calendar

        return stored_calendar(session)
