"""The supervisors' timer board: every running clock, grouped by how soon it runs out.

A clock is a waiting timer, or a legal period that runs on while no timer guards it (the
department's review of an extension request, ``WaitingTimer.fires`` false): both are
``waiting_timers`` rows, read alike here; only the sweep tells them apart.

Reads only the index tables (``waiting_timers``, ``open_tasks``) joined with ``cases``
and ``enterprises`` on indexed columns; no workflow is ever deserialized. Index rows
exist only for open cases (every save rebuilds them), so timer queries start from the
``due_at`` index and stop after a page. Who holds a clock is the department of the
open task the timer is attached to (its ``due`` is set); a timer attached to no user
task is held by the lead department. A timer's legal last day is its ``due_at`` in
Asia/Shanghai minus one day (the period ends at 24:00 of the last day). Groups:
``overdue`` (timers due but not yet fired, then open cases flagged overdue, shown at
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
from engine.parties import DIMENSIONS, PARTIES, party_name
from engine.permissions import may_supervise
from engine.services.audit import ExpiredDeadline, expired_deadlines
from engine.services.sheets import table_workbook, taken
from engine.services.users import display_names, with_name
from engine.step_names import StepName, named

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
    """One running clock, or one overdue case (``kind="overdue_case"``: its timer already fired; ``deadline`` and
    ``rule`` are then those of the period that ran out, unless another runs now)."""

    case_id: int
    enterprise: str
    dimension: str
    lead_department: str
    departments: list[str]
    steps: list[StepName]
    deadline: date | None
    days_left: int | None
    rule: str | None
    rule_en: str | None
    kind: str = "timer"
    claimed_by: list[str] = field(default_factory=list)  # who took the tasks at ``steps`` (none: not taken)


@dataclass
class Window:
    """The clock's now and today, and the instants that split the groups."""

    now: datetime
    today: date

    @property
    def tomorrow(self) -> date:
        """The first day the clock can be moved to (a day starts at 00:00, which for today has passed)."""
        return self.today + timedelta(days=1)

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


def _ranges(window: Window) -> dict[str, Any]:
    """The ``due_at`` condition of each group of waiting timers."""
    due = WaitingTimer.due_at
    week, month = window.end_of(7), window.end_of(30)
    return {"overdue": due <= window.now, "week": sa.and_(due > window.now, due < week),
            "month": sa.and_(due > window.now, due >= week, due < month),
            "later": sa.and_(due > window.now, due >= month)}


def _timers(filters: BoardFilter, *columns: Any, with_case: bool = True) -> sa.Select:
    """Waiting timers (with their case when asked or filtered), filtered."""
    query = sa.select(*columns).select_from(WaitingTimer)
    if with_case or filters.department or filters.dimension:
        query = query.join(Case, Case.id == WaitingTimer.case_id)
    if filters.department:
        query = query.where(HOLDER == filters.department)
    if filters.dimension:
        query = query.where(Case.dimension == filters.dimension)
    if filters.day:
        start = datetime.combine(filters.day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
        query = query.where(WaitingTimer.due_at >= start, WaitingTimer.due_at < start + timedelta(days=1))
    return query


def _last_day(due_at: datetime) -> date:
    return (due_at.astimezone(SHANGHAI) - timedelta(days=1)).date()


def _holders(session: Session, case_ids: set[int]) -> dict[int, tuple[str, StepName, str | None]]:
    """(department, name, who claimed it) of the open task each case's timers are attached to (its first task
    with a ``due``, as ``HOLDER`` picks it), for the cases that have one: one query per 500 cases instead of
    two correlated subqueries per row."""
    found: dict[int, tuple[str, StepName, str | None]] = {}
    ids = sorted(case_ids)
    for first in range(0, len(ids), 500):
        for case_id, department, name, name_en, claimed_by in session.execute(
                sa.select(OpenTask.case_id, OpenTask.department, OpenTask.name, OpenTask.name_en, OpenTask.claimed_by)
                .where(OpenTask.case_id.in_(ids[first:first + 500]), OpenTask.due.is_not(None))
                .order_by(OpenTask.created_at, OpenTask.id)):
            found.setdefault(case_id, (department, named(name, name_en), claimed_by))
    return found


def _timer_rows(session: Session, window: Window, query: sa.Select) -> list[BoardRow]:
    """Board rows of the timers ``query`` selects, soonest first; held by the attached task's department (else the
    lead), at its step (else the timer's own task)."""
    found = session.execute(query.join(Enterprise, Enterprise.credit_code == Case.enterprise_code).add_columns(
        WaitingTimer.case_id, Enterprise.name, Case.dimension, Case.lead_department, WaitingTimer.task_key,
        WaitingTimer.due_at, Case.deadline_rule, Case.deadline_rule_en).order_by(WaitingTimer.due_at, WaitingTimer.id)
    ).all()
    holders = _holders(session, {row[0] for row in found})
    rows = []
    for case_id, name, dim, lead, key, due, rule, rule_en in found:
        holder, step, claimed_by = holders.get(case_id, (lead, named(key), None))
        last = _last_day(due)
        rows.append(BoardRow(case_id, name, dim, lead, [holder], [step], last, (last - window.today).days,
                             rule, rule_en, claimed_by=[claimed_by] if claimed_by else []))
    return rows


@dataclass(frozen=True)
class _OverdueCase:
    id: int
    dimension: str
    lead_department: str
    departments: tuple[str, ...]
    ran_out: ExpiredDeadline | None = None  # the period its deadline timer closed


def _overdue_cases(session: Session, filters: BoardFilter, *, listed: bool = True) -> list[_OverdueCase]:
    """Open cases flagged overdue with the departments of their open tasks and the period that ran out, filtered
    (one scan, and one read of their fired timers' events), the latest first: the period that ran out longest ago,
    then the case without one (flagged before the period was recorded), by case. Not ``listed`` (only counted):
    by case, without the period, and without reading the events."""
    found: dict[int, tuple[str, str, list[str]]] = {}
    for case_id, dimension, lead, department in session.execute(
            sa.select(Case.id, Case.dimension, Case.lead_department, OpenTask.department)
            .outerjoin(OpenTask, OpenTask.case_id == Case.id)
            .where(Case.status == CaseStatus.OPEN, Case.overdue.is_(True)).order_by(Case.id)):
        departments = found.setdefault(case_id, (dimension, lead, []))[2]
        if department and department not in departments:
            departments.append(department)
    cases = [(i, dim, lead, tuple(deps)) for i, (dim, lead, deps) in found.items()
             if not filters.day and (not filters.dimension or dim == filters.dimension)
             and (not filters.department or filters.department in deps)]
    if not listed:
        return [_OverdueCase(*c) for c in cases]
    ran_out = expired_deadlines(session, [c[0] for c in cases])
    return sorted((_OverdueCase(*c, ran_out=ran_out.get(c[0])) for c in cases),
                  key=lambda c: (c.ran_out is None, c.ran_out.last_day if c.ran_out else "", c.id))


def _case_rows(session: Session, overdue: list[_OverdueCase], today: date) -> list[BoardRow]:
    """Board rows of overdue cases in their order, listing their current steps, with the period that ran out and
    how long ago."""
    if not overdue:
        return []
    ids = [c.id for c in overdue]
    found = {row.id: row for row in session.execute(
        sa.select(Case.id, Enterprise.name, Case.dimension, Case.lead_department, Case.deadline_rule,
                  Case.deadline_rule_en)
        .join(Enterprise, Enterprise.credit_code == Case.enterprise_code).where(Case.id.in_(ids)))}
    cases = [found[c.id] for c in overdue if c.id in found]
    expired = {c.id: c.ran_out for c in overdue}
    tasks: dict[int, list[tuple[str, StepName, str | None]]] = {}
    for case_id, department, name, name_en, claimed_by in session.execute(
            sa.select(OpenTask.case_id, OpenTask.department, OpenTask.name, OpenTask.name_en, OpenTask.claimed_by)
            .where(OpenTask.case_id.in_(ids)).order_by(OpenTask.created_at, OpenTask.id)):
        tasks.setdefault(case_id, []).append((department, named(name, name_en), claimed_by))
    rows = []
    for cid, name, dim, lead, rule, rule_en in cases:
        ran_out = expired.get(cid)  # the period that ran out, when no other runs now
        if ran_out is not None and rule is None:
            rule, rule_en = ran_out.rule, ran_out.rule_en
        last_day = date.fromisoformat(ran_out.last_day) if ran_out else None
        rows.append(BoardRow(cid, name, dim, lead, list(dict.fromkeys(d for d, _, _ in tasks.get(cid, []))),
                             [s for _, s, _ in tasks.get(cid, [])], last_day,
                             (last_day - today).days if last_day else None, rule, rule_en,
                             kind="overdue_case", claimed_by=list(dict.fromkeys(c for _, _, c in tasks.get(cid, [])
                                                                                if c))))
    return rows


def window_of(ctx: EngineContext, session: Session) -> Window:
    """The clock's now and today (never the system date)."""
    now = ctx.now(session)
    return Window(now, now.astimezone(SHANGHAI).date())


def _histogram(session: Session, filters: BoardFilter) -> list[tuple[datetime, int]]:
    """How many waiting timers run out at each instant, filtered (one pass over the ``due_at`` index; periods
    end at 24:00 of their last day, so there are about as many instants as days with a deadline)."""
    return [(due, n) for due, n in session.execute(
        _timers(filters, WaitingTimer.due_at, sa.func.count(), with_case=False).group_by(WaitingTimer.due_at))]


def _timer_counts(session: Session, window: Window, filters: BoardFilter,
                  histogram: list[tuple[datetime, int]] | None = None) -> dict[str, int]:
    """How many waiting timers each group holds (from ``_histogram``; the groups as ``_ranges`` draws them)."""
    counts = dict.fromkeys(GROUPS, 0)
    week, month = window.end_of(7), window.end_of(30)
    for due, n in _histogram(session, filters) if histogram is None else histogram:
        group = "overdue" if due <= window.now else "week" if due < week else "month" if due < month else "later"
        counts[group] += n
    return counts


def _group_rows(session: Session, window: Window, filters: BoardFilter, group: str, offset: int,
                unfired: int, overdue: list[_OverdueCase]) -> list[BoardRow]:
    """One page of a group, soonest first (overdue: unfired timers first, then overdue cases)."""
    rows = _timer_rows(session, window, _timers(filters).where(_ranges(window)[group]).offset(offset).limit(ROW_LIMIT))
    if group == "overdue" and len(rows) < ROW_LIMIT:
        start = max(0, offset - unfired)
        rows += _case_rows(session, overdue[start:start + ROW_LIMIT - len(rows)], window.today)
    return rows


def _counts_by_department(session: Session, overdue: list[_OverdueCase]) -> Counter[str]:
    """Running timers per holder: once for each department holding a task it is attached to, else under the
    lead department; overdue cases under their current departments. Two grouped queries over the index tables
    that need no case row but its lead department."""
    attached = (sa.select(OpenTask.case_id, OpenTask.department).where(OpenTask.due.is_not(None))
                .distinct().subquery())
    totals: Counter[str] = Counter(dict(session.execute(
        sa.select(attached.c.department, sa.func.count()).select_from(attached)
        .join(WaitingTimer, WaitingTimer.case_id == attached.c.case_id).group_by(attached.c.department)).all()))
    totals.update(dict(session.execute(
        sa.select(Case.lead_department, sa.func.count()).select_from(Case)
        .join(WaitingTimer, WaitingTimer.case_id == Case.id)
        .where(WaitingTimer.case_id.not_in(sa.select(OpenTask.case_id).where(OpenTask.due.is_not(None))))
        .group_by(Case.lead_department)).all()))
    totals.update(d for c in overdue for d in c.departments)
    return totals


def _counts_by_dimension(session: Session, overdue: list[_OverdueCase]) -> Counter[str]:
    totals: Counter[str] = Counter(dict(session.execute(
        sa.select(Case.dimension, sa.func.count()).select_from(Case).join(WaitingTimer, WaitingTimer.case_id == Case.id)
        .group_by(Case.dimension)).all()))
    totals.update(c.dimension for c in overdue)
    return totals


def _sorted(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _calendar(session: Session, window: Window,
              histogram: list[tuple[datetime, int]] | None = None) -> list[list[tuple[date, int]]]:
    """Weeks from this Monday: each day with the number of clocks whose last day it is (from the unfiltered
    ``_histogram``)."""
    first = window.today - timedelta(days=window.today.weekday())
    days = [first + timedelta(days=i) for i in range(7 * CALENDAR_WEEKS)]
    end = window.end_of((days[-1] - window.today).days)
    per_day: Counter[date] = Counter()
    for due, n in _histogram(session, BoardFilter()) if histogram is None else histogram:
        if window.now < due < end:
            per_day[_last_day(due)] += n
    return [[(day, per_day.get(day, 0)) for day in days[w * 7:(w + 1) * 7]] for w in range(CALENDAR_WEEKS)]


def board(ctx: EngineContext, actor: Actor, filters: BoardFilter | None = None, group: str | None = None,
          page: int = 1) -> Board:
    """The board (supervisors, admins): group counts, up to ROW_LIMIT rows a group, charts' counts, calendar.

    ``group`` shows that group alone, ``page`` by ``page`` (ROW_LIMIT rows each). The charts
    and the calendar ignore the filters.
    """
    may_supervise(actor)
    filters = filters or BoardFilter()
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        unfiltered = filters == BoardFilter()
        every_overdue = _overdue_cases(session, BoardFilter(), listed=unfiltered)  # listed too when unfiltered
        every_timer = _histogram(session, BoardFilter())
        overdue = every_overdue if unfiltered else _overdue_cases(session, filters)
        counts = _timer_counts(session, window, filters, every_timer if unfiltered else None)
        unfired = counts["overdue"]
        counts["overdue"] += len(overdue)
        offset = (max(page, 1) - 1) * ROW_LIMIT if group in GROUPS else 0
        return Board(
            window=window, counts=counts,
            rows={g: _group_rows(session, window, filters, g, offset, unfired, overdue)
                  for g in ([group] if group in GROUPS else GROUPS)},
            by_department=_sorted(_counts_by_department(session, every_overdue)),
            by_dimension=_sorted(_counts_by_dimension(session, every_overdue)),
            calendar=_calendar(session, window, every_timer),
        )


EXPORT_LIMIT = 20_000
GROUP_NAMES = {"overdue": "已逾期", "week": "7日内到期", "month": "30日内到期", "later": "其他"}
EXPORT_HEADINGS = ("分组", "届满日", "剩余天数", "案件编号", "企业名称", "类别", "承办部门", "办理人", "牵头部门",
                   "当前环节", "期限依据")


def export_workbook(ctx: EngineContext, actor: Actor, filters: BoardFilter | None = None) -> bytes:
    """The filtered board as an .xlsx (every group, every page, at most ``EXPORT_LIMIT`` rows), in the page's
    order, with who holds each clock: the departments and the staff who claimed its tasks."""
    may_supervise(actor)
    filters = filters or BoardFilter()
    rows: list[tuple[str, BoardRow]] = []
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        for group in GROUPS:  # each group in one query (the page's order: unfired timers, then overdue cases)
            left = EXPORT_LIMIT - len(rows)
            found = _timer_rows(session, window, _timers(filters).where(_ranges(window)[group]).limit(left))
            if group == "overdue":
                found += _case_rows(session, _overdue_cases(session, filters)[:left - len(found)], window.today)
            rows += [(group, row) for row in found]
    names = display_names(ctx)
    return table_workbook("计时看板", EXPORT_HEADINGS, ([
        GROUP_NAMES[group], row.deadline, row.days_left, row.case_id, row.enterprise,
        DIMENSIONS[row.dimension].name_zh if row.dimension in DIMENSIONS else row.dimension,
        "、".join(map(party_name, row.departments)),
        "、".join(with_name(holder, names) for holder in row.claimed_by) or "未认领", party_name(row.lead_department),
        "、".join(row.steps), row.rule or ""] for group, row in rows),
        widths=(12, 12, 10, 10, 30, 10, 24, 14, 22, 24, 50), date_columns=(1,), about=[
            *taken(window.now, with_name(actor.username, names)), ("筛选条件", _filter_text(filters)),
            ("说明", f"剩余天数按导出之日（{window.today.isoformat()}）计算；“已逾期”含计时器已触发、案件已转入后续程序的案件，"
                   "其届满日和期限依据为已届满的期限")])


def _filter_text(filters: BoardFilter) -> str:
    """The board's filters in words (Chinese, as the export's headings)."""
    parts = [f"承办部门：{party_name(filters.department)}" if filters.department else "",
             f"类别：{DIMENSIONS[filters.dimension].name_zh}" if filters.dimension in DIMENSIONS else "",
             f"届满日：{filters.day.isoformat()}" if filters.day else ""]
    return "；".join(p for p in parts if p) or "全部"


def chart_data(ctx: EngineContext, actor: Actor) -> dict[str, Any]:
    """Counts by holder department, by dimension and by group, for the charts (supervisors, admins)."""
    may_supervise(actor)
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        overdue = _overdue_cases(session, BoardFilter(), listed=False)
        groups = _timer_counts(session, window, BoardFilter())
        groups["overdue"] += len(overdue)
        return {"today": window.today.isoformat(), "groups": groups,
                "by_department": _sorted(_counts_by_department(session, overdue)),
                "by_dimension": _sorted(_counts_by_dimension(session, overdue))}


def digest(ctx: EngineContext, actor: Actor, limit: int = 5000) -> tuple[Window, list[dict[str, Any]]]:
    """Per department, in the order of DOMAIN.md: the overdue items and those due within 7 days it holds or leads,
    and its confirmation of a running annual report (C-4.2) that is late or due within 7 days."""
    from engine.services.annual import unconfirmed_departments

    may_supervise(actor)
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        rows = _timer_rows(session, window, _timers(BoardFilter()).where(WaitingTimer.due_at < window.end_of(7))
                           .limit(limit))
        rows += _case_rows(session, _overdue_cases(session, BoardFilter())[:limit], window.today)
    reports = [r for r in unconfirmed_departments(ctx, actor) if r["due"] and (r["due"] - window.today).days < 7]
    sections = []
    for party in (p for p in PARTIES if p.code != "enterprise"):
        mine = [(row, "holds" if party.code in row.departments else "leads") for row in rows
                if party.code in row.departments or party.code == row.lead_department]
        overdue = [m for m in mine if m[0].kind == "overdue_case" or (m[0].days_left or 0) < 0]
        due_soon = [m for m in mine if m not in overdue]
        confirmations = [r for r in reports if r["department"] == party.code]
        if overdue or due_soon or confirmations:
            sections.append({"department": party.code, "overdue": overdue, "due_soon": due_soon,
                             "reports": confirmations})
    return window, sections


def department_alerts(ctx: EngineContext, department: str, enterprise_code: str | None = None) -> dict[str, int]:
    """For an inbox: how many items the department holds or leads are overdue, and how many run out within 7 days.

    ``enterprise_code`` narrows to one enterprise's cases (for the ``enterprise`` party's inbox).
    Reads only timers due within 7 days and the department's own cases, through indexes.
    """
    with ctx.unit_of_work() as session:
        window = window_of(ctx, session)
        ranges = _ranges(window)
        timers = (sa.select(sa.func.coalesce(sa.func.sum(sa.case((ranges["overdue"], 1), else_=0)), 0),
                            sa.func.coalesce(sa.func.sum(sa.case((ranges["week"], 1), else_=0)), 0))
                  .select_from(WaitingTimer).join(Case, Case.id == WaitingTimer.case_id)
                  .where(WaitingTimer.due_at < window.end_of(7), sa.or_(HOLDER == department,
                                                                         Case.lead_department == department)))
        open_overdue = sa.and_(Case.status == CaseStatus.OPEN, Case.overdue.is_(True))
        led = sa.select(Case.id).where(Case.lead_department == department, open_overdue)
        held = (sa.select(OpenTask.case_id).join(Case, Case.id == OpenTask.case_id)
                .where(OpenTask.department == department, open_overdue))
        if enterprise_code:
            timers = timers.where(Case.enterprise_code == enterprise_code)
            led = led.where(Case.enterprise_code == enterprise_code)
            held = held.where(Case.enterprise_code == enterprise_code)
        unfired, due_soon = session.execute(timers).one()
        cases = session.scalar(sa.select(sa.func.count()).select_from(sa.union(led, held).subquery())) or 0
        return {"overdue": int(unfired) + cases, "due_soon": int(due_soon)}
