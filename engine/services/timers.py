"""Timers: list the waiting ones, fire the due ones, and move the simulated clock.

The sweep reads only ``waiting_timers`` rows that fire with ``due_at`` before now (an
index range scan on ``(fires, due_at)``), so its cost follows the number of due timers,
not of waiting cases nor of running clocks no timer guards (``fires`` false).
The sweep fires up to ``CASES_PER_TRANSACTION`` cases in one transaction (one commit
for all); a batch in which a case was saved by someone else in between (another
sweeper, a task completion) fails the version check, is rolled back whole, and its
cases are worked again one to a transaction, where such a case is left to the other
writer. So each timer fires exactly once. Sweepers running together (one in every
web worker) keep out of each other's way: each works its due cases in its own random
order, and on PostgreSQL a case another transaction holds is skipped
(``FOR UPDATE SKIP LOCKED``) instead of being worked twice and refused once.
A completion that finds its case's deadline passed fires that case alone
(``fire_case_timers``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import runner
from engine.clock import SHANGHAI, SimulatedClock, add_duration, parse_instant
from engine.context import SYSTEM, Actor, EngineContext
from engine.errors import Conflict, InvalidInput, Problem
from engine.models import Case, WaitingTimer
from engine.permissions import may_supervise
from engine.services import instances
from engine.services.audit import hold_case

log = logging.getLogger(__name__)

LAST_YEAR = 2100  # the simulated clock moves within the years the rest-day calendar covers


@dataclass
class SweepResult:
    """What one sweep did."""

    cases: int = 0
    fired: int = 0
    conflicts: int = 0
    skipped: int = 0
    failed: list[int] = field(default_factory=list)  # cases whose timers could not be fired (logged; retried next sweep)
    report_started: int | None = None  # the year of the annual report this sweep started (C-4.2), if any


def list_timers(ctx: EngineContext, actor: Actor, limit: int = 1000) -> list[dict[str, Any]]:
    """Every waiting timer, soonest first (supervisors)."""
    may_supervise(actor)
    with ctx.unit_of_work() as session:
        rows = session.execute(
            sa.select(WaitingTimer.case_id, WaitingTimer.task_key, WaitingTimer.due_at).where(WaitingTimer.fires)
            .order_by(WaitingTimer.due_at, WaitingTimer.case_id).limit(limit)
        ).all()
        return [{"case_id": c, "task_key": k, "due_at": d.astimezone(SHANGHAI).isoformat()} for c, k, d in rows]


def due_case_ids(ctx: EngineContext, now: datetime, limit: int) -> list[int]:
    """Cases with at least one timer due by ``now``, most overdue first (a range scan on ``due_at``)."""
    return list(dict.fromkeys(case_id for _, case_id in due_timers_after(ctx, now, limit * 4, None)))[:limit]


def due_timers_after(ctx: EngineContext, now: datetime, limit: int, after: tuple[datetime, int] | None
                     ) -> list[tuple[datetime, int]]:
    """(due_at, case_id) of up to ``limit`` timers due by ``now``, in that order, after the pair ``after``:
    a page of the range scan on ``due_at`` that goes on where the last one ended."""
    query = sa.select(WaitingTimer.due_at, WaitingTimer.case_id).where(WaitingTimer.fires, WaitingTimer.due_at <= now)
    if after is not None:
        query = query.where(sa.tuple_(WaitingTimer.due_at, WaitingTimer.case_id) > after)
    with ctx.unit_of_work() as session:
        return [(due, case_id) for due, case_id in
                session.execute(query.order_by(WaitingTimer.due_at, WaitingTimer.case_id).limit(limit))]


CASES_PER_TRANSACTION = 10  # the sweep's batch: one commit for up to this many cases


class _Held(Exception):
    """Internal: another transaction holds the case (PostgreSQL); it is left to that one."""


def fire_case_timers(ctx: EngineContext, case_id: int, now: datetime, *, skip_held: bool = False) -> int:
    """Fire the due timers of one case in one transaction; returns how many fired.

    With ``skip_held`` (the sweep), a case locked by another transaction on PostgreSQL raises
    ``_Held`` at once instead of waiting for it.
    """
    with ctx.unit_of_work() as session:
        if skip_held and session.bind.dialect.name == "postgresql":
            case = session.scalar(sa.select(Case).where(Case.id == case_id).with_for_update(skip_locked=True))
            if case is None and session.get(Case, case_id) is not None:
                raise _Held(case_id)
            if case is not None:
                hold_case(session, case.id)
        else:
            case = session.get(Case, case_id)
        return _fire_loaded(ctx, session, case, now)


def _fire_loaded(ctx: EngineContext, session: Session, case: Case | None, now: datetime) -> int:
    """Fire the due timers of a case read in this transaction, save and audit it; returns how many fired."""
    if case is None or case.status.value != "open":
        return 0
    workflow, bundle = instances.load(ctx, session, case)
    fired = runner.fire_due_timers(workflow, now)
    if not fired:
        return 0
    expired = instances.expired_deadline(workflow)
    _position, closed = instances.save_closing(session, case, workflow, bundle, now, overdue=True)
    for timer_key in fired:
        instances.audit(session, case.id, now, SYSTEM.username, "timer_fired", timer=timer_key,
                        closed_tasks=closed, **expired)
    if case.status.value != "open":
        instances.audit(session, case.id, now, SYSTEM.username, f"case_{case.status.value}")
    return len(fired)


def _fire_batch(ctx: EngineContext, case_ids: list[int], now: datetime) -> SweepResult:
    """Fire the due timers of several cases in one transaction (one commit for all of them).

    PostgreSQL locks the batch's cases in one query and leaves out those another transaction
    holds. SQLite reads each case when it comes to it: after the batch's first write the
    transaction holds the database's write lock, so only the first case can have changed
    since it was read, and then the version check refuses the whole batch.
    """
    result = SweepResult()
    with ctx.unit_of_work() as session:
        if session.bind.dialect.name == "postgresql":
            locked = session.scalars(sa.select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)
                                     .with_for_update(skip_locked=True)).all()
            loaded = {case.id: case for case in locked}
            for case_id in loaded:
                hold_case(session, case_id)
            result.skipped = len(case_ids) - len(loaded)  # cases are never deleted: the rest are held
            cases = [loaded[i] for i in case_ids if i in loaded]
        else:
            cases = (session.get(Case, i) for i in case_ids)
        for case in cases:
            result.fired += _fire_loaded(ctx, session, case, now)
            result.cases += 1
    return result


def _fire_one_by_one(ctx: EngineContext, case_ids: list[int], now: datetime, result: SweepResult) -> None:
    for case_id in case_ids:
        try:
            result.fired += fire_case_timers(ctx, case_id, now, skip_held=True)
            result.cases += 1
        except _Held:
            result.skipped += 1
        except Conflict:
            result.conflicts += 1
        except Exception:  # noqa: BLE001 - one case that cannot be fired must not stop every other clock
            log.exception("case %s: its due timers could not be fired; left waiting for the next sweep", case_id)
            result.failed.append(case_id)


def sweep(ctx: EngineContext, now: datetime | None = None, batch: int = 500) -> SweepResult:
    """Fire every timer due before now (after starting the annual report when it is due); safe to run in
    several processes at once.

    Cases are worked ``CASES_PER_TRANSACTION`` to a transaction. A batch that fails (another
    writer changed one of its cases, or one case cannot be fired) is rolled back whole and its
    cases are worked again one to a transaction, so one case's trouble stays its own: a case
    that still cannot be fired is logged, listed in ``failed`` and left due for the next sweep.

    The due timers are read a page at a time, each page going on after the last one's end, so
    however many cases before them cannot be fired (or are held elsewhere), every due timer is
    reached in one sweep.
    """
    from engine.services.annual import due_year, start_due_report

    now = now or ctx.now()
    result = SweepResult()
    if start_due_report(ctx, now) is not None:
        result.report_started = due_year(now)
    seen: set[int] = set()
    shuffle = random.Random().shuffle
    after: tuple[datetime, int] | None = None
    while page := due_timers_after(ctx, now, batch, after):
        after = page[-1]
        ids = [i for i in dict.fromkeys(case_id for _, case_id in page) if i not in seen]
        shuffle(ids)  # another sweeper's batch is the same cases: start elsewhere
        seen.update(ids)
        for first in range(0, len(ids), CASES_PER_TRANSACTION):
            chunk = ids[first:first + CASES_PER_TRANSACTION]
            try:
                done = _fire_batch(ctx, chunk, now)
            except Exception:  # noqa: BLE001 - rolled back whole; worked again case by case below
                _fire_one_by_one(ctx, chunk, now, result)
                continue
            result.fired += done.fired
            result.cases += done.cases
            result.skipped += done.skipped
    return result


def _simulated(ctx: EngineContext) -> SimulatedClock:
    if not isinstance(ctx.clock, SimulatedClock):
        raise Conflict("系统使用真实时钟，不能调整时间（CAPEXIT_CLOCK=simulated 时可用）",
                       "the clock is the system clock; only a simulated clock (CAPEXIT_CLOCK=simulated) can move")
    return ctx.clock


def set_clock(ctx: EngineContext, actor: Actor, instant: datetime) -> datetime:
    """Move the simulated clock to an instant (forward or back); fires nothing."""
    clock = _simulated(ctx)
    with ctx.unit_of_work() as session:
        before = clock.now(session)
        after = clock.set(session, instant)
        instances.audit(session, None, after, actor.username, "clock_set", before=before.isoformat(),
                        after=after.isoformat())
    return after


def advance_clock(ctx: EngineContext, actor: Actor, by: str | None = None, to: str | None = None) -> dict[str, Any]:
    """Move the simulated clock forward by a duration or to an instant, then sweep due timers."""
    clock = _simulated(ctx)
    for name, value in (("by", by), ("to", to)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput("时间格式有误", "bad time value", [Problem(
                f"{name} 应为文本", f"{name} must be a string", field=name)])
    try:
        current = clock.now()
        target = add_duration(current, by) if by else parse_instant(to or "")
        year = target.astimezone(SHANGHAI).year
    except (ValueError, OverflowError) as exc:  # OverflowError: beyond datetime's range
        raise InvalidInput("时间格式有误", "bad time value", [Problem(
            f"无法识别“{by or to}”：时长形如 P6M、P10D、PT12H，日期形如 2026-09-01",
            f"{exc} (durations look like P6M, P10D, PT12H; dates like 2026-09-01)",
            field="by" if by else "to")]) from None
    if year > LAST_YEAR:
        raise InvalidInput("时间超出范围", "time out of range", [Problem(
            f"模拟时钟只能调至 {LAST_YEAR} 年底以前", f"the simulated clock stops at the end of {LAST_YEAR}",
            field="by" if by else "to")])
    if target < current:
        shown, now_shown = (t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") for t in (target, current))
        raise InvalidInput("时钟只能向前调整", "the clock only moves forward here", [Problem(
            f"{shown} 早于当前模拟时间 {now_shown}（北京时间）",
            f"{shown} is before the simulated time now, {now_shown} (Beijing time)", field="by" if by else "to")])
    set_clock(ctx, actor, target)
    result = sweep(ctx, target)
    return {"now": target.astimezone(SHANGHAI).isoformat(), "fired": result.fired, "cases": result.cases,
            "failed_cases": result.failed, "report_started": result.report_started}
