"""Running deadlines settled again after a rest-day correction (Civil Code art. 203).

A period whose last day is a rest day ends on the next working day. When an administrator
corrects the calendar (a newly announced holiday, a swapped working day), each running
deadline that the corrected day changes is settled again from its basis, in the
correction's own transaction. The case's waiting timers, its deadline and rule, the due
dates of its open tasks and its board rows all move with it, and the case's history says
why.

A correction of ``day`` can change a deadline only when the period's own last day
(``Basis.nominal``) is on or before ``day`` and the settled last day is on or after it, with
rest days in between. So the only candidates are the open cases whose recorded last day lies
between ``day`` and the first working day from ``day`` under the calendar before the correction.
A deadline that has already run out keeps its day: its timer has fired, or fires on the next sweep.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import runner
from engine.calendar import RestDayCalendar
from engine.context import Actor, EngineContext
from engine.deadlines import resettle
from engine.models import Case, CaseStatus
from engine.services import instances


def redate_running(ctx: EngineContext, session: Session, day: date, before: RestDayCalendar,
                   after: RestDayCalendar, now: datetime, actor: Actor) -> list[int]:
    """Settle again, under ``after``, the running deadlines a correction of ``day`` changes; returns the case ids."""
    candidates = session.scalars(
        sa.select(Case).where(Case.status == CaseStatus.OPEN, Case.deadline >= day,
                              Case.deadline <= before.next_working_day(day)).order_by(Case.id)).all()
    moved = []
    for case in candidates:
        workflow, bundle = instances.load(ctx, session, case)
        old = instances.current_deadline(workflow)
        if old is None or old.basis is None or not old.basis.nominal <= day <= old.last_day or old.due_at <= now:
            continue
        new = resettle(old.basis, after)
        if new.last_day == old.last_day:
            continue
        timers = runner.redate_deadline(workflow, old.due_at, new.timer_value, new.last_day.isoformat())
        instances.remember_deadline(workflow, new)
        instances.save(session, case, workflow, bundle, now)
        instances.audit(session, case.id, now, actor.username, "deadline_redated", day=day.isoformat(),
                        deadline_before=old.last_day.isoformat(), deadline=new.last_day.isoformat(),
                        timers=timers, rule=new.rule, rule_en=new.rule_en)
        moved.append(case.id)
    return moved
