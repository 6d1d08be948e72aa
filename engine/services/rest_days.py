"""Rest days: administrators correct the published holiday calendar (e.g. a newly announced swap).

Who may call: ``set_rest_day``, ``clear_rest_day``, ``enter_arrangements`` and ``withdraw_arrangements`` need an
admin (or the system); ``list_rest_days`` and ``year_overview`` are open. A correction applies to deadlines
computed after it, and settles again, in its own transaction, each running deadline it changes
(``engine.services.redating``).

A correction needs its grounds (the notice, say) and must change the day; a day holds one correction, removed
before another is made. A year the shipped holiday data does not list stays an estimate, whatever corrections
it holds, until the administrators say they have entered its State Council arrangements in full, by the notice
(``enter_arrangements``): then the running deadlines ending in it are settled again without the estimate's mark.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.calendar import RestDayCalendar, holiday_name_en
from engine.context import Actor, EngineContext
from engine.errors import PermissionDenied, invalid
from engine.models import EnteredArrangement, RestDayOverride
from engine.services.instances import audit
from engine.services.redating import redate_running, redate_year

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_NOTE, MAX_NOTICE = 200, 100


def stored_calendar(session: Session) -> RestDayCalendar:
    """The rest-day calendar with the administrators' corrections and the years whose arrangements they entered."""
    rows = session.execute(sa.select(RestDayOverride.day, RestDayOverride.is_working_day)).all()
    return RestDayCalendar({day: working for day, working in rows},
                           session.scalars(sa.select(EnteredArrangement.year)).all())


def _admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise PermissionDenied("只有系统管理员可以修改节假日安排", "only administrators may change the rest-day calendar")


def set_rest_day(ctx: EngineContext, actor: Actor, day: date, *, working: bool, note: str = "") -> list[int]:
    """Declare ``day`` a working day (``working=True``) or a rest day, overriding the published calendar;
    returns the ids of the cases whose running deadline the correction moved."""
    _admin(actor)
    note = note.strip()
    if not note:
        raise invalid("note", "请填写更正依据（如国务院办公厅通知的文号）：更正会改变法定期限",
                      "give the grounds of the correction (the notice, say): it changes legal deadlines")
    if len(note) > MAX_NOTE:
        raise invalid("note", f"说明不超过 {MAX_NOTE} 字", f"the note takes at most {MAX_NOTE} characters")
    with ctx.unit_of_work() as session:
        before = ctx.calendar(session)
        held = session.get(RestDayOverride, day)
        if held is not None:
            kind = ("工作日", "a working day") if held.is_working_day else ("休息日", "a rest day")
            raise invalid("day", f"{day} 已有更正（设为{kind[0]}：{held.note or '无说明'}），请先删除该更正",
                          f"{day} already has a correction ({kind[1]}: {held.note or 'no note'}); remove it first")
        if before.is_rest_day(day) != working:
            reason = before.reason(day)
            raise invalid("kind", f"{day} 按国务院公布的安排本来就是{'工作日' if working else '休息日'}（{reason}），无需更正",
                          f"{day} already is {'a working' if working else 'a rest'} day under the published "
                          f"arrangements ({before.reason_en(day)}); nothing to correct")
        session.add(RestDayOverride(day=day, is_working_day=working, note=note))
        session.flush()
        return _corrected(ctx, session, actor, day, before, "rest_day_set", note, working=working, note=note)


def clear_rest_day(ctx: EngineContext, actor: Actor, day: date) -> list[int]:
    """Remove a correction; the published calendar applies again. Returns the ids of the cases whose running
    deadline moved back."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        before = ctx.calendar(session)
        held = session.get(RestDayOverride, day)
        if held is None:
            raise invalid("day", f"{day} 没有更正，无需删除", f"{day} has no correction to remove")
        session.delete(held)
        session.flush()
        return _corrected(ctx, session, actor, day, before, "rest_day_cleared", held.note)


def _corrected(ctx: EngineContext, session: Session, actor: Actor, day: date, before: RestDayCalendar,
               action: str, grounds: str, **detail: Any) -> list[int]:
    """Audit a correction with the running deadlines it moved (settled again in the same transaction, each
    naming the correction's ``grounds``)."""
    now = ctx.now(session)
    moved = redate_running(ctx, session, day, before, ctx.calendar(session), now, actor, grounds, action)
    audit(session, None, now, actor.username, action, day=day.isoformat(), **detail, redated_cases=moved)
    return moved


def enter_arrangements(ctx: EngineContext, actor: Actor, year: int, notice: str) -> list[int]:
    """Say that the State Council arrangements of ``year``, which the shipped data lacks, are entered in full as
    corrections, by the ``notice`` that published them; returns the ids of the cases whose running deadline was
    settled again (its rule no longer says it is an estimate)."""
    _admin(actor)
    notice = notice.strip()
    _check_year(year)
    if not notice:
        raise invalid("notice", "请填写公布放假安排的通知文号（如 国办发明电〔2026〕7号）",
                      "give the notice that published the arrangements")
    if len(notice) > MAX_NOTICE:
        raise invalid("notice", f"文号不超过 {MAX_NOTICE} 字", f"the notice takes at most {MAX_NOTICE} characters")
    if RestDayCalendar.is_published(year):
        raise invalid("year", f"{year}年放假安排已随系统的节假日数据公布，无需录入",
                      f"the {year} arrangements come with the shipped holiday data; nothing to enter")
    with ctx.unit_of_work() as session:
        held = session.get(EnteredArrangement, year)
        if held is not None:
            raise invalid("year", f"{year}年放假安排已于此前录入（{held.notice}）", f"the {year} arrangements are "
                          f"already entered ({held.notice})")
        now = ctx.now(session)
        session.add(EnteredArrangement(year=year, notice=notice, entered_by=actor.username, entered_at=now))
        session.flush()
        moved = redate_year(ctx, session, year, ctx.calendar(session), now, actor, notice)
        audit(session, None, now, actor.username, "arrangements_entered", year=year, notice=notice,
              redated_cases=moved)
        return moved


def withdraw_arrangements(ctx: EngineContext, actor: Actor, year: int) -> list[int]:
    """Take back ``enter_arrangements`` (entered by mistake): the year's deadlines are estimates again; returns the
    ids of the cases whose running deadline was settled again."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        held = session.get(EnteredArrangement, year)
        if held is None:
            raise invalid("year", f"{year}年放假安排未曾录入", f"the {year} arrangements were not entered")
        session.delete(held)
        session.flush()
        now = ctx.now(session)
        moved = redate_year(ctx, session, year, ctx.calendar(session), now, actor, held.notice, "arrangements_withdrawn")
        audit(session, None, now, actor.username, "arrangements_withdrawn", year=year, notice=held.notice,
              redated_cases=moved)
        return moved


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise invalid("year", f"年份应在 {MIN_YEAR} 到 {MAX_YEAR} 之间", f"the year must be {MIN_YEAR}-{MAX_YEAR}")


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


def _assign_swapped_workdays(published: RestDayCalendar, periods: list[dict[str, Any]], workdays: list[date]) -> None:
    """File each swapped working day under the holiday it makes up for: the nearest period that still has a
    weekday rest in lieu (调休) to make up, else the nearest period. A weekend festival next to a long holiday
    (2026: 中秋节 on 9-25, 国庆节 from 10-1, make-up day 9-20) needs none, so the day goes to the long one."""
    owed = {id(p): sum(1 for n in range((p["end"] - p["start"]).days + 1)
                       if published.holiday_name(p["start"] + timedelta(days=n)) == "调休") for p in periods}

    def distance(period: dict[str, Any], day: date) -> int:
        return min(abs((period["start"] - day).days), abs((day - period["end"]).days))

    for swapped in workdays:
        owing = [p for p in periods if owed[id(p)] > 0]
        chosen = min(owing or periods, key=lambda p: distance(p, swapped), default=None)
        if chosen is not None:
            chosen["workdays"].append(swapped)
            owed[id(chosen)] -= 1


def year_overview(ctx: EngineContext, year: int) -> dict[str, Any]:
    """The published holiday periods and swapped working days of ``year``, and the corrections in it."""
    _check_year(year)
    with ctx.unit_of_work() as session:
        effective = ctx.calendar(session)
        today = ctx.today(session)
        notes = dict(session.execute(sa.select(RestDayOverride.day, RestDayOverride.note)).all())
        entered = session.get(EnteredArrangement, year)
        entered = entered and {"notice": entered.notice, "by": entered.entered_by, "at": entered.entered_at}
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
    _assign_swapped_workdays(published, periods, workdays)
    corrections = [{"day": d, "working": working, "note": notes.get(d, ""), "published": published.reason(d),
                    "published_en": published.reason_en(d)}
                   for d, working in sorted(effective.overrides.items()) if d.year == year]
    return {"year": year, "today": today, "published": published.has_arrangements(year), "entered": entered,
            "arranged": effective.has_arrangements(year), "next_arranged": effective.has_arrangements(year + 1),
            "periods": periods, "workdays": workdays, "corrections": corrections}
