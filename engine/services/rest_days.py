"""Rest days: administrators correct the published holiday calendar (e.g. a newly announced swap).

Who may call: ``set_rest_day`` and ``clear_rest_day`` need an admin (or the system);
``list_rest_days`` is open. A correction applies to deadlines computed after it; a
deadline already running keeps the day it was given (the rule text says how).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from engine.context import Actor, EngineContext
from engine.errors import PermissionDenied
from engine.models import RestDayOverride
from engine.services.instances import audit


def _admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise PermissionDenied("只有系统管理员可以修改节假日安排", "only administrators may change the rest-day calendar")


def set_rest_day(ctx: EngineContext, actor: Actor, day: date, *, working: bool, note: str = "") -> None:
    """Declare ``day`` a working day (``working=True``) or a rest day, overriding the published calendar."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        row = session.get(RestDayOverride, day)
        if row is None:
            session.add(RestDayOverride(day=day, is_working_day=working, note=note[:200]))
        else:
            row.is_working_day, row.note = working, note[:200]
        audit(session, None, ctx.now(session), actor.username, "rest_day_set", day=day.isoformat(), working=working,
              note=note)


def clear_rest_day(ctx: EngineContext, actor: Actor, day: date) -> None:
    """Remove a correction; the published calendar applies again."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        session.execute(sa.delete(RestDayOverride).where(RestDayOverride.day == day))
        audit(session, None, ctx.now(session), actor.username, "rest_day_cleared", day=day.isoformat())


def list_rest_days(ctx: EngineContext) -> list[dict[str, Any]]:
    """Every correction, by date."""
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(RestDayOverride).order_by(RestDayOverride.day))
        return [{"day": r.day.isoformat(), "working": r.is_working_day, "note": r.note} for r in rows]
