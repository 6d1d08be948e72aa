"""Running deadlines settled again when the rest-day calendar changes (Civil Code art. 203).

A period whose last day is a rest day ends on the next working day. When an administrator
corrects the calendar (a newly announced holiday, a swapped working day), each running
deadline that the corrected day changes is settled again from its basis, in the
correction's own transaction (``redate_running``). The case's waiting timers, its deadline
and rule, the due dates of its open tasks and its board rows all move with it, and the
case's history says why.

A correction of ``day`` can change a deadline only when the period's own last day
(``Basis.nominal``) is on or before ``day`` and the settled last day is on or after it, with
rest days in between. So the only candidates are the open cases whose recorded last day lies
between ``day`` and the first working day from ``day`` under the calendar before the correction.

An extension is counted from the last day of the period it extends (DOMAIN.md: "adds to the original
deadline"), so when a correction moves that last day, the extended deadline follows it: the extension's
basis keeps the period it extends, and the candidates also take the extended deadlines (their rule says
``基础上延长``) up to ``MAX_EXTENSION_MONTHS`` after that last day.

When the published calendar itself changes (a release of the holiday data with a year's
arrangements that were an estimate before), ``resettle_all`` settles every running deadline
again under the calendar as it now stands, one case per transaction. A deadline that has
already run out keeps its day: its timer has fired, or fires on the next sweep.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import runner
from engine.calendar import RestDayCalendar
from engine.context import Actor, EngineContext
from engine.deadlines import EXTENSION_MARK, add_months, resettle
from engine.form_rules import MAX_EXTENSION_MONTHS
from engine.models import Case, CaseStatus
from engine.services import instances


def redate_running(ctx: EngineContext, session: Session, day: date, before: RestDayCalendar,
                   after: RestDayCalendar, now: datetime, actor: Actor, grounds: str = "",
                   cause: str = "rest_day_set") -> list[int]:
    """Settle again, under ``after``, the running deadlines a correction of ``day`` changes (each case's history
    names the ``cause``, the correction made or removed, and its ``grounds``); returns the case ids."""
    settled = before.next_working_day(day)
    extended_until = before.next_working_day(add_months(settled, MAX_EXTENSION_MONTHS))
    candidates = session.scalars(
        sa.select(Case).where(Case.status == CaseStatus.OPEN, Case.deadline >= day, sa.or_(
            Case.deadline <= settled,
            sa.and_(Case.deadline <= extended_until, Case.deadline_rule.contains(EXTENSION_MARK))))
        .order_by(Case.id)).all()
    return [case.id for case in candidates if _redate(ctx, session, case, after, now, actor, day, grounds, cause)]


def redate_year(ctx: EngineContext, session: Session, year: int, after: RestDayCalendar, now: datetime,
                actor: Actor, grounds: str = "", cause: str = "arrangements_entered") -> list[int]:
    """Settle again, under ``after``, the running deadlines whose last day falls in ``year`` (its arrangements were
    entered, or taken back); returns the ids of the cases whose deadline or rule changed."""
    candidates = session.scalars(
        sa.select(Case).where(Case.status == CaseStatus.OPEN, Case.deadline >= date(year, 1, 1),
                              Case.deadline <= date(year, 12, 31)).order_by(Case.id)).all()
    return [case.id for case in candidates
            if _redate(ctx, session, case, after, now, actor, grounds=grounds, cause=cause, year=year)]


def resettle_all(ctx: EngineContext, actor: Actor) -> list[int]:
    """Settle every running deadline again under the calendar as it now stands, one case per transaction;
    returns the ids of the cases whose deadline moved."""
    with ctx.unit_of_work() as session:
        today = ctx.today(session)
        ids = session.scalars(sa.select(Case.id).where(Case.status == CaseStatus.OPEN, Case.deadline >= today)
                              .order_by(Case.id)).all()
    moved = []
    for case_id in ids:
        with ctx.unit_of_work() as session:
            case = session.get(Case, case_id)
            if case is not None and _redate(ctx, session, case, ctx.calendar(session), ctx.now(session), actor):
                moved.append(case_id)
    return moved


def _redate(ctx: EngineContext, session: Session, case: Case, calendar: RestDayCalendar, now: datetime,
            actor: Actor, day: date | None = None, grounds: str = "", cause: str | None = None,
            year: int | None = None) -> bool:
    """Settle the case's running deadline again under ``calendar`` (only if ``day``, when given, lies between its
    own last day and its settled one), save and audit it; whether it moved."""
    if case.status != CaseStatus.OPEN:
        return False
    workflow, bundle = instances.load(ctx, session, case)
    old = instances.current_deadline(workflow)
    if old is None or old.basis is None or old.due_at <= now:
        return False
    if day is not None and not old.basis.first_nominal <= day <= old.last_day:
        return False
    new = resettle(old.basis, calendar)
    if new.last_day == old.last_day and new.rule == old.rule:
        return False
    timers = runner.redate_deadline(workflow, old.due_at, new.timer_value, new.last_day.isoformat())
    instances.remember_deadline(workflow, new)
    instances.save(session, case, workflow, bundle, now)
    instances.audit(session, case.id, now, actor.username, "deadline_redated", day=day.isoformat() if day else None,
                    deadline_before=old.last_day.isoformat(), deadline=new.last_day.isoformat(), timers=timers,
                    rule=new.rule, rule_en=new.rule_en, grounds=grounds or None, cause=cause, year=year)
    return True
