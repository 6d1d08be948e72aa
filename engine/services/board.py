"""The supervisors' timer board: every running clock, grouped by how soon it runs out.

Reads only the index tables (``waiting_timers``, ``open_tasks``) joined with ``cases``
and ``enterprises`` on indexed columns; no workflow is ever deserialized, so a board
over ten thousand cases costs a few index scans. Who holds a clock is the department
of the open task the timer is attached to (its ``due`` is set); a timer attached to no
user task is held by the lead department. A timer's legal last day is its ``due_at``
in Asia/Shanghai minus one day (the period ends at 24:00 of the last day). Groups:
``overdue`` (timers due but not yet fired, and open cases flagged overdue, shown at
their current step), ``week`` (last day within 7 days), ``month`` (within 30), ``later``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.models import Case, CaseStatus, Enterprise, OpenTask, WaitingTimer
from engine.parties import PARTIES
from engine.permissions import may_supervise

GROUPS = ("overdue", "week", "month", "later")
ROW_LIMIT = 200
CALENDAR_WEEKS = 8


@dataclass(frozen=True)
class BoardFilter:
    """What the board lists: optionally one holder department, one dimension, one last day."""

    department: str | None = None
    dimension: str | None = None
    day: date | None = None


@dataclass
class BoardRow:
    """One running clock (or one overdue case) as the board shows it."""

    case_id: int
    enterprise: str
    dimension: str
    lead_department: str
    departments: list[str]
    steps: list[str]
    deadline: date | None
    days_left: int | None
    rule: str | None
    rule_en: str | None
    kind: str = "timer"  # or "overdue_case" (its timer already fired)


@dataclass
class Window:
    """The clock's now and today, and the instants that split the groups."""

    now: datetime
    today: date

    def end_of(self, days: int) -> datetime:
        """The instant a period whose last day is ``today + days`` runs out (24:00 of that day)."""
        return datetime.combine(self.today + timedelta(days=days + 1), time(0), tzinfo=SHANGHAI)


@dataclass
class Board:
    """Everything the board page shows."""

    window: Window
    counts: dict[str, int]
    rows: dict[str, list[BoardRow]]
    by_department: list[tuple[str, int]] = field(default_factory=list)
    by_dimension: list[tuple[str, int]] = field(default_factory=list)
    calendar: list[list[tuple[date, int]]] = field(default_factory=list)


def _attached(column: Any) -> Any:
    """Correlated subquery: ``column`` of the open task a case's timer is attached to."""
    return (sa.select(column).where(OpenTask.case_id == WaitingTimer.case_id, OpenTask.due.is_not(None))
            .order_by(OpenTask.created_at, OpenTask.id).limit(1).correlate(WaitingTimer).scalar_subquery())


HOLDER = sa.func.coalesce(_attached(OpenTask.department), Case.lead_department)
STEP = sa.func.coalesce(_attached(OpenTask.name), WaitingTimer.task_key)


def _group_range(window: Window, group: str) -> Any:
    """The ``due_at`` condition of a group of waiting timers."""
    due = WaitingTimer.due_at
    return {"overdue": due <= window.now,
            "week": sa.and_(due > window.now, due < window.end_of(7)),
            "month": sa.and_(due > window.now, due >= window.end_of(7), due < window.end_of(30)),
            "later": sa.and_(due > window.now, due >= window.end_of(30))}[group]


def _timers(filters: BoardFilter, *columns: Any) -> sa.Select:
    """Waiting timers of open cases, joined with their case and enterprise, filtered."""
    query = (sa.select(*columns).select_from(WaitingTimer).join(Case, Case.id == WaitingTimer.case_id)
             .join(Enterprise, Enterprise.credit_code == Case.enterprise_code).where(Case.status == CaseStatus.OPEN))
    if filters.department:
        query = query.where(HOLDER == filters.department)
    if filters.dimension:
        query = query.where(Case.dimension == filters.dimension)
    if filters.day:
        start = datetime.combine(filters.day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
        query = query.where(WaitingTimer.due_at >= start, WaitingTimer.due_at < start + timedelta(days=1))
    return query


def _overdue_cases(filters: BoardFilter, *columns: Any) -> sa.Select:
    """Open cases whose timer fired (flagged overdue), filtered; one row per case."""
    query = (sa.select(*columns).select_from(Case).join(Enterprise, Enterprise.credit_code == Case.enterprise_code)
             .where(Case.status == CaseStatus.OPEN, Case.overdue.is_(True)))
    if filters.department:
        query = query.where(sa.exists().where(OpenTask.case_id == Case.id, OpenTask.department == filters.department))
    if filters.dimension:
        query = query.where(Case.dimension == filters.dimension)
    if filters.day:
        query = query.where(sa.false())
    return query


def _last_day(due_at: datetime) -> date:
    return (due_at.astimezone(SHANGHAI) - timedelta(days=1)).date()


def _timer_rows(session: Session, window: Window, query: sa.Select) -> list[BoardRow]:
    rows = session.execute(query.add_columns(
        WaitingTimer.case_id, Enterprise.name, Case.dimension, Case.lead_department, HOLDER, STEP,
        WaitingTimer.due_at, Case.deadline_rule, Case.deadline_rule_en).order_by(WaitingTimer.due_at, WaitingTimer.case_id))
    return [BoardRow(case_id, name, dim, lead, [holder], [step], _last_day(due), (_last_day(due) - window.today).days,
                     rule, rule_en) for case_id, name, dim, lead, holder, step, due, rule, rule_en in rows]


def _case_rows(session: Session, query: sa.Select) -> list[BoardRow]:
    cases = session.execute(query.add_columns(Case.id, Enterprise.name, Case.dimension, Case.lead_department,
                                              Case.deadline_rule, Case.deadline_rule_en).order_by(Case.id)).all()
    tasks: dict[int, list[tuple[str, str]]] = {}
    if cases:
        for case_id, department, name in session.execute(
                sa.select(OpenTask.case_id, OpenTask.department, OpenTask.name)
                .where(OpenTask.case_id.in_([c[0] for c in cases])).order_by(OpenTask.created_at, OpenTask.id)):
            tasks.setdefault(case_id, []).append((department, name))
    return [BoardRow(cid, name, dim, lead, list(dict.fromkeys(d for d, _ in tasks.get(cid, []))),
                     [s for _, s in tasks.get(cid, [])], None, None, rule, rule_en, kind="overdue_case")
            for cid, name, dim, lead, rule, rule_en in cases]


def window_of(ctx: EngineContext, session: Session) -> Window:
    """The clock's now and today (never the system date)."""
    now = ctx.now(session)
    return Window(now, now.astimezone(SHANGHAI).date())


def group_count(session: Session, window: Window, filters: BoardFilter, group: str) -> int:
    """How many items a group holds under the filters."""
    count = session.scalar(_timers(filters, sa.func.count()).where(_group_range(window, group))) or 0
    if group == "overdue":
        count += session.scalar(_overdue_cases(filters, sa.func.count(Case.id))) or 0
    return count


def group_rows(session: Session, window: Window, filters: BoardFilter, group: str, offset: int = 0,
               limit: int | None = None) -> list[BoardRow]:
    """One page of a group's items, soonest first (overdue: unfired timers, then overdue cases)."""
    limit = limit or ROW_LIMIT
    timers = _timer_rows(session, window, _timers(filters).where(_group_range(window, group)).offset(offset).limit(limit))
    if group != "overdue" or len(timers) >= limit:
        return timers
    unfired = session.scalar(_timers(filters, sa.func.count()).where(_group_range(window, group))) or 0
    skip = max(0, offset - unfired)
    return timers + _case_rows(session, _overdue_cases(filters).offset(skip).limit(limit - len(timers)))


def _counts_by(session: Session, window: Window, timer_key: Any, case_key: Any, task_join: bool) -> list[tuple[str, int]]:
    totals: Counter[str] = Counter(dict(session.execute(
        _timers(BoardFilter(), timer_key, sa.func.count()).group_by(timer_key)).all()))
    query = _overdue_cases(BoardFilter(), case_key, sa.func.count(sa.distinct(Case.id)))
    if task_join:
        query = query.join(OpenTask, OpenTask.case_id == Case.id)
    totals.update(dict(session.execute(query.group_by(case_key)).all()))
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def _calendar(session: Session, window: Window) -> list[list[tuple[date, int]]]:
    """Weeks from this Monday: each day with the number of clocks whose last day it is."""
    first = window.today - timedelta(days=window.today.weekday())
    last = first + timedelta(days=7 * CALENDAR_WEEKS - 1)
    dues = session.scalars(_timers(BoardFilter(), WaitingTimer.due_at).where(
        WaitingTimer.due_at > window.now, WaitingTimer.due_at < window.end_of((last - window.today).days)))
    per_day = Counter(_last_day(due) for due in dues)
    days = [first + timedelta(days=i) for i in range(7 * CALENDAR_WEEKS)]
    return [[(day, per_day.get(day, 0)) for day in days[w * 7:(w + 1) * 7]] for w in range(CALENDAR_WEEKS)]


def board(ctx: EngineContext, actor: Actor, filters: BoardFilter | None = None, group: str | None = None,
          page: int = 1) -> Board:
    """The board (supervisors, admins): group counts, up to ROW_LIMIT rows a group, charts' counts, calendar.

    ``group`` shows that group alone, ``page`` by ``page`` (ROW_LIMIT rows each).
    """
    may_supervise(actor)
    filters = filters or BoardFilter()
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        shown = [group] if group in GROUPS else list(GROUPS)
        offset = (max(page, 1) - 1) * ROW_LIMIT if group in GROUPS else 0
        return Board(
            window=window,
            counts={g: group_count(session, window, filters, g) for g in GROUPS},
            rows={g: group_rows(session, window, filters, g, offset) for g in shown},
            by_department=_counts_by(session, window, HOLDER, OpenTask.department, True),
            by_dimension=_counts_by(session, window, Case.dimension, Case.dimension, False),
            calendar=_calendar(session, window),
        )


def chart_data(ctx: EngineContext, actor: Actor) -> dict[str, Any]:
    """Counts by holder department, by dimension and by group, for the charts (supervisors, admins)."""
    may_supervise(actor)
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        return {"today": window.today.isoformat(),
                "groups": {g: group_count(session, window, BoardFilter(), g) for g in GROUPS},
                "by_department": _counts_by(session, window, HOLDER, OpenTask.department, True),
                "by_dimension": _counts_by(session, window, Case.dimension, Case.dimension, False)}


def digest(ctx: EngineContext, actor: Actor, limit: int = 5000) -> tuple[Window, list[dict[str, Any]]]:
    """Per department, in the order of DOMAIN.md: the overdue items and those due within 7 days it holds or leads."""
    may_supervise(actor)
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        rows = _timer_rows(session, window, _timers(BoardFilter()).where(WaitingTimer.due_at < window.end_of(7))
                           .limit(limit))
        rows += _case_rows(session, _overdue_cases(BoardFilter()).limit(limit))
    sections = []
    for party in PARTIES:
        if party.code == "enterprise":
            continue
        mine = [(row, "holds" if party.code in row.departments else "leads") for row in rows
                if party.code in row.departments or party.code == row.lead_department]
        overdue = [m for m in mine if m[0].kind == "overdue_case" or (m[0].days_left or 0) < 0]
        due_soon = [m for m in mine if m not in overdue]
        if overdue or due_soon:
            sections.append({"department": party.code, "overdue": overdue, "due_soon": due_soon})
    return window, sections


def department_alerts(ctx: EngineContext, department: str, enterprise_code: str | None = None) -> dict[str, int]:
    """For an inbox: how many items the department holds or leads are overdue, and how many run out within 7 days.

    ``enterprise_code`` narrows to one enterprise's cases (for the ``enterprise`` party's inbox).
    """
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        concerned = sa.or_(HOLDER == department, Case.lead_department == department)
        timers = _timers(BoardFilter(), sa.func.count()).where(concerned)
        cases = _overdue_cases(BoardFilter(), sa.func.count(Case.id)).where(sa.or_(
            Case.lead_department == department,
            sa.exists().where(OpenTask.case_id == Case.id, OpenTask.department == department)))
        if enterprise_code:
            timers = timers.where(Case.enterprise_code == enterprise_code)
            cases = cases.where(Case.enterprise_code == enterprise_code)
        overdue = (session.scalar(timers.where(_group_range(window, "overdue"))) or 0) + (session.scalar(cases) or 0)
        due_soon = session.scalar(timers.where(_group_range(window, "week"))) or 0
        return {"overdue": overdue, "due_soon": due_soon}
