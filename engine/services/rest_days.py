"""Rest days: administrators correct the published holiday calendar (e.g. a newly announced swap).

Who may call: ``set_rest_day`` and ``clear_rest_day`` need an admin (or the system);
``list_rest_days`` and ``year_overview`` are open. A correction applies to deadlines computed after it, and
settles again, in its own transaction, each running deadline it changes (``engine.services.redating``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.calendar import RestDayCalendar, holiday_name_en
from engine.context import Actor, EngineContext
from engine.errors import PermissionDenied, invalid
from engine.models import RestDayOverride
from engine.services.instances import audit
from engine.services.redating import redate_running

MIN_YEAR, MAX_YEAR = 2000, 2100


def _admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise PermissionDenied("只有系统管理员可以修改节假日安排", "only administrators may change the rest-day calendar")


def set_rest_day(ctx: EngineContext, actor: Actor, day: date, *, working: bool, note: str = "") -> list[int]:
    """Declare ``day`` a working day (``working=True``) or a rest day, overriding the published calendar;
    returns the ids of the cases whose running deadline the correction moved."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        before = ctx.calendar(session)
        row = session.get(RestDayOverride, day)
        if row is None:
            session.add(RestDayOverride(day=day, is_working_day=working, note=note[:200]))
        else:
            row.is_working_day, row.note = working, note[:200]
        session.flush()
        return _corrected(ctx, session, actor, day, before, "rest_day_set", working=working, note=note)


def clear_rest_day(ctx: EngineContext, actor: Actor, day: date) -> list[int]:
    """Remove a correction; the published calendar applies again. Returns the ids of the cases whose running
    deadline moved back."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        before = ctx.calendar(session)
        session.execute(sa.delete(RestDayOverride).where(RestDayOverride.day == day))
        return _corrected(ctx, session, actor, day, before, "rest_day_cleared")


def _corrected(ctx: EngineContext, session: Session, actor: Actor, day: date, before: RestDayCalendar,
               action: str, **detail: Any) -> list[int]:
    """Audit a correction with the running deadlines it moved (settled again in the same transaction)."""
    now = ctx.now(session)
    moved = redate_running(ctx, session, day, before, ctx.calendar(session), now, actor)
    audit(session, None, now, actor.username, action, day=day.isoformat(), **detail, redated_cases=moved)
    return moved


def list_rest_days(ctx: EngineContext) -> list[dict[str, Any]]:
    """Every correction, by date."""
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(RestDayOverride).order_by(RestDayOverride.day))
        return [{"day": r.day.isoformat(), "working": r.is_working_day, "note": r.note} for r in rows]


def _holiday_label(names: list[str]) -> str:
    """One label for a run of rest days: the festivals in it, without swap and make-up markers."""
    labels: list[str] = []
    for name in names:
        for part in name.split("、"):
            base = part.removesuffix("补假")
            if base != "调休" and base not in labels:
                labels.append(base)
    if "春节" in labels:
        labels = [x for x in labels if x not in ("农历除夕", "除夕")]
    return "、".join(labels)


def year_overview(ctx: EngineContext, year: int) -> dict[str, Any]:
    """The published holiday periods and swapped working days of ``year``, and the corrections in it."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise invalid("year", f"年份应在 {MIN_YEAR} 到 {MAX_YEAR} 之间", f"the year must be {MIN_YEAR}-{MAX_YEAR}")
    with ctx.unit_of_work() as session:
        effective = ctx.calendar(session)
        today = ctx.today(session)
        notes = dict(session.execute(sa.select(RestDayOverride.day, RestDayOverride.note)).all())
    published = RestDayCalendar()  # the State Council arrangements alone, without corrections
    first, last = date(year, 1, 1), date(year, 12, 31)
    periods: list[dict[str, Any]] = []
    day = first - timedelta(days=10)
    while day <= last + timedelta(days=10):
        if not published.is_rest_day(day):
            day += timedelta(days=1)
            continue
        start, names = day, []
        while published.is_rest_day(day):
            name = published.holiday_name(day)
            if name and day.year == year:
                names.append(name)
            day += timedelta(days=1)
        label = _holiday_label(names)
        if label:
            periods.append({"name": label, "name_en": holiday_name_en(label), "start": start, "end": day - timedelta(days=1),
                            "days": (day - start).days, "workdays": []})
    workdays = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    workdays = [d for d in workdays if d.weekday() >= 5 and published.is_working_day(d)]
    for swapped in workdays:
        nearest = min(periods, key=lambda p: min(abs((p["start"] - swapped).days), abs((swapped - p["end"]).days)),
                      default=None)
        if nearest is not None:
            nearest["workdays"].append(swapped)
    corrections = [{"day": d, "working": working, "note": notes.get(d, ""), "published": published.reason(d),
                    "published_en": published.reason_en(d)}
                   for d, working in sorted(effective.overrides.items()) if d.year == year]
    return {"year": year, "today": today, "published": published.has_arrangements(year),
            "arranged": effective.has_arrangements(year), "next_published": published.has_arrangements(year + 1),
            "periods": periods, "workdays": workdays, "corrections": corrections}
