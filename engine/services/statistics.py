"""Statistics for supervisors: cases opened, rectified and exited in a year, broken down, and as a workbook.

Who may call: supervisors and admins (``PermissionDenied`` otherwise); a year outside
2000-2100 is ``InvalidInput``. Reads the ``cases``, ``enterprises`` and ``audit_events``
tables (and the deployed definitions' XML for the names of date fields that set a
deadline); no workflow is ever deserialized.

Definitions (the page states them too):

- *opened*: the notice date (the day the case was opened) falls in the year;
- *rectified*: the case ended ``compliant``, *exited*: it ended ``exited``, its
  ``closed_at`` (Asia/Shanghai) falling in the year; months likewise;
- *time to outcome*: for the cases ended in the year, the days from the notice date to the
  day the case ended (Asia/Shanghai); the median of those;
- *had a deadline*: a statutory period ran from the notice (the case's procedure has a
  ``deadlineRule=statutory`` timer), or a step entered the date of a deadline (a
  ``deadlineRule=field`` timer's field, such as ``rectify_until``, in a ``task_completed``
  event), or a deadline is running now, or a deadline timer fired;
- *overdue*: a deadline timer fired (``timer_fired`` in the audit trail, or the case's
  ``overdue`` flag), or the case is open and the last day of its running period has passed
  (``Case.period_ran_out``: the step holding the period is not done yet; the board counts
  it overdue too); the *overdue rate* is overdue cases over cases that had a deadline,
  both among the cases opened in the year. Deadlines still running count in the
  denominator; their number is reported as ``running``.
"""

from __future__ import annotations

import io
import statistics as stats
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.definitions import BPMN_NS, properties_of, read_xml
from engine.errors import InvalidInput
from engine.models import AuditEvent, Case, CaseStatus, Definition, Enterprise
from engine.parties import DIMENSIONS, INDUSTRIES, PARTIES, party_name
from engine.services.users import require_role

BREAKDOWNS = ("month", "dimension", "industry", "county", "department")
NO_COUNTY = ""


@dataclass(frozen=True)
class StatisticsFilter:
    """Which cases count: a year (None: the clock's year), optionally one dimension and one county."""

    year: int | None = None
    dimension: str | None = None
    county: str | None = None


@dataclass
class Figures:
    """The figures of one row (a month, a dimension, ...) or of the whole selection."""

    key: Any
    opened: int = 0
    rectified: int = 0
    exited: int = 0
    durations: list[int] = field(default_factory=list, repr=False)
    with_deadline: int = 0
    overdue: int = 0
    running: int = 0

    @property
    def ended(self) -> int:
        """Cases ended in the year, either way."""
        return self.rectified + self.exited

    @property
    def median_days(self) -> float | None:
        """Median days from notice to outcome of the cases ended in the year (None without any)."""
        return stats.median(self.durations) if self.durations else None

    @property
    def overdue_rate(self) -> float | None:
        """Overdue cases over cases that had a deadline (None without any)."""
        return self.overdue / self.with_deadline if self.with_deadline else None

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (for JSON)."""
        return {"opened": self.opened, "rectified": self.rectified, "exited": self.exited,
                "median_days": self.median_days, "with_deadline": self.with_deadline, "overdue": self.overdue,
                "running": self.running, "overdue_rate": self.overdue_rate}


@dataclass
class Statistics:
    """Everything the statistics page shows."""

    filters: StatisticsFilter
    today: date
    years: list[int]
    counties: list[str]
    total: Figures
    breakdowns: dict[str, list[Figures]]


@dataclass(frozen=True)
class _Fact:
    """One case as the figures see it."""

    dimension: str
    industry: str
    county: str
    department: str
    status: CaseStatus
    notice_date: date
    closed_on: date | None
    had_deadline: bool
    late: bool
    running: bool


@dataclass(frozen=True)
class _DeadlineRules:
    """What a definition's timers say about deadlines."""

    statutory: bool
    fields: frozenset[str]


_RULES: dict[str, _DeadlineRules] = {}  # by the definition's sha256 (versions never change)


def _rules_of(bpmn: str) -> _DeadlineRules:
    root = read_xml(bpmn.encode("utf-8")).getroot()
    props = [properties_of(node) for node in root.iter(f"{{{BPMN_NS}}}boundaryEvent",
                                                       f"{{{BPMN_NS}}}intermediateCatchEvent")]
    return _DeadlineRules(any(p.get("deadlineRule") == "statutory" for p in props),
                          frozenset(p["field"] for p in props if p.get("deadlineRule") == "field" and p.get("field")))


def deadline_rules(session: Session) -> tuple[set[int], frozenset[str]]:
    """Ids of the definitions with a statutory deadline from the notice, and the form fields that set a deadline.

    Read from the deployed definitions' XML (``deadlineRule=statutory`` or ``field`` timers), each
    version parsed once (cached by its SHA-256).
    """
    versions = session.execute(sa.select(Definition.id, Definition.sha256)).all()
    missing = {sha for _, sha in versions} - _RULES.keys()
    if missing:
        for sha, bpmn in session.execute(sa.select(Definition.sha256, Definition.bpmn)
                                         .where(Definition.sha256.in_(missing))):
            _RULES[sha] = _rules_of(bpmn)
    return ({i for i, sha in versions if _RULES[sha].statutory},
            frozenset().union(*(_RULES[sha].fields for _, sha in versions)))


def _event(action: str, *contains: str) -> Any:
    """EXISTS an audit event of the case with ``action`` whose detail holds one of ``contains``."""
    query = sa.select(AuditEvent.id).where(AuditEvent.case_id == Case.id, AuditEvent.action == action)
    if contains:
        query = query.where(sa.or_(*(AuditEvent.detail.contains(text, autoescape=True) for text in contains)))
    return query.correlate(Case).exists()


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year in Asia/Shanghai as UTC instants [start, end)."""
    return (datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC),
            datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC))


def _facts(session: Session, filters: StatisticsFilter, year: int, today: date) -> list[_Fact]:
    """The cases opened or ended in ``year``, filtered (one query)."""
    start, end = _year_bounds(year)
    statutory, fields = deadline_rules(session)
    late = sa.or_(Case.overdue.is_(True), _event("timer_fired"), Case.period_ran_out(today))
    had_deadline = sa.or_(late, Case.deadline.is_not(None), Case.definition_id.in_(sorted(statutory)),
                          *([_event("task_completed", *(f'"{name}": "' for name in sorted(fields)))] if fields else []))
    query = (sa.select(Case.dimension, Enterprise.industry, Enterprise.county, Case.lead_department, Case.status,
                       Case.notice_date, Case.closed_at, had_deadline, late, Case.deadline.is_not(None))
             .join(Enterprise, Enterprise.credit_code == Case.enterprise_code)  # annual report runs have none
             .where(Case.dimension != "annual_report")
             .where(sa.or_(Case.notice_date.between(date(year, 1, 1), date(year, 12, 31)),
                           sa.and_(Case.closed_at >= start, Case.closed_at < end))))
    if filters.dimension:
        query = query.where(Case.dimension == filters.dimension)
    if filters.county:
        query = query.where(Enterprise.county == filters.county)
    return [_Fact(dim, industry, county or NO_COUNTY, lead, CaseStatus(status), notice,
                  closed.astimezone(SHANGHAI).date() if closed else None, bool(had), bool(is_late),
                  bool(running) and not is_late)
            for dim, industry, county, lead, status, notice, closed, had, is_late, running in session.execute(query)]


def _add_opened(row: Figures, fact: _Fact) -> None:
    row.opened += 1
    row.with_deadline += fact.had_deadline
    row.overdue += fact.late
    row.running += fact.had_deadline and fact.running


def _add_ended(row: Figures, fact: _Fact) -> None:
    if fact.status == CaseStatus.COMPLIANT:
        row.rectified += 1
    else:
        row.exited += 1
    if fact.closed_on is not None:
        row.durations.append((fact.closed_on - fact.notice_date).days)


def _opened_in(fact: _Fact, year: int) -> bool:
    return fact.notice_date.year == year


def _ended_in(fact: _Fact, year: int) -> bool:
    return fact.closed_on is not None and fact.closed_on.year == year and fact.status != CaseStatus.OPEN


def _add(row: Figures, fact: _Fact, year: int) -> None:
    if _opened_in(fact, year):
        _add_opened(row, fact)
    if _ended_in(fact, year):
        _add_ended(row, fact)


def _by_month(facts: list[_Fact], year: int) -> list[Figures]:
    """Twelve rows: opened (and their deadlines) by notice month, ended by closing month."""
    months = [Figures(m) for m in range(1, 13)]
    for fact in facts:
        if _opened_in(fact, year):
            _add_opened(months[fact.notice_date.month - 1], fact)
        if _ended_in(fact, year) and fact.closed_on is not None:
            _add_ended(months[fact.closed_on.month - 1], fact)
    return months


def _grouped(facts: list[_Fact], year: int, key: Callable[[_Fact], str], fixed: Iterable[str] = (),
             keep_empty: bool = False) -> list[Figures]:
    """Rows by ``key``: the ``fixed`` keys first in their order (all of them if ``keep_empty``), then the rest."""
    fixed_keys = list(fixed)
    rows: dict[str, Figures] = {k: Figures(k) for k in fixed_keys}
    for fact in facts:
        _add(rows.setdefault(key(fact), Figures(key(fact))), fact, year)
    ordered = [rows[k] for k in fixed_keys] + sorted(
        (r for k, r in rows.items() if k not in fixed_keys), key=lambda r: (-(r.opened + r.ended), r.key))
    return [r for r in ordered if keep_empty and r.key in fixed_keys or r.opened or r.ended]


def _years(session: Session, today: date, year: int) -> list[int]:
    first = session.scalar(sa.select(sa.func.min(Case.notice_date)))
    low = min(first.year if first else today.year, year)
    return list(range(max(today.year, year), low - 1, -1))


def statistics(ctx: EngineContext, actor: Actor, filters: StatisticsFilter | None = None) -> Statistics:
    """The year's figures, in total and by month, dimension, industry, county and lead department."""
    require_role(actor, "supervisor", "admin")
    filters = filters or StatisticsFilter()
    with ctx.unit_of_work() as session:
        today = ctx.today(session)
        year = filters.year or today.year
        if not 2000 <= year <= 2100:
            raise InvalidInput("年份超出范围", "year out of range")
        filters = replace(filters, year=year)
        facts = _facts(session, filters, year, today)
        counties = sorted(c for c in set(session.scalars(
            sa.select(Enterprise.county).join(Case, Case.enterprise_code == Enterprise.credit_code).distinct())) if c)
        years = _years(session, today, year)
    total = Figures("total")
    for fact in facts:
        _add(total, fact, year)
    breakdowns = {
        "month": _by_month(facts, year),
        "dimension": _grouped(facts, year, lambda f: f.dimension, DIMENSIONS, keep_empty=True),
        "industry": _grouped(facts, year, lambda f: f.industry, INDUSTRIES, keep_empty=True),
        "county": _grouped(facts, year, lambda f: f.county),
        "department": _grouped(facts, year, lambda f: f.department, [p.code for p in PARTIES]),
    }
    return Statistics(filters, today, years, counties, total, breakdowns)


# ---------------------------------------------------------------------------------------------
# The workbook
# ---------------------------------------------------------------------------------------------

SHEETS = {"month": ("按月份", "月份"), "dimension": ("按类别", "类别"), "industry": ("按行业", "行业"),
          "county": ("按县市区", "县市区"), "department": ("按牵头部门", "牵头部门")}
HEADINGS = ("立案数", "整改达标数", "退出数", "办结数", "办结用时中位数（天）", "设有期限案件数", "逾期案件数", "逾期率")


def name_zh(breakdown: str, key: Any) -> str:
    """The Chinese label of a row key."""
    if breakdown == "month":
        return f"{key}月"
    if breakdown == "dimension":
        return DIMENSIONS[key].name_zh if key in DIMENSIONS else str(key)
    if breakdown == "industry":
        return INDUSTRIES[key][0] if key in INDUSTRIES else str(key)
    if breakdown == "county":
        return key or "（未填写）"
    return party_name(key)


def _cells(row: Figures) -> list[Any]:
    median = row.median_days
    rate = row.overdue_rate
    return [row.opened, row.rectified, row.exited, row.ended, median if median is not None else "—",
            row.with_deadline, row.overdue, round(rate, 4) if rate is not None else "—"]


def workbook(data: Statistics) -> bytes:
    """The same figures as an .xlsx file: a summary sheet and one sheet per breakdown, each with a totals row."""
    f = data.filters
    scope = "、".join(filter(None, [f"{f.year}年", DIMENSIONS[f.dimension].name_zh if f.dimension else "",
                                     f.county or ""]))
    book = Workbook()
    summary = book.active
    summary.title = "概况"
    summary.append([f"落后产能退出案件统计（{scope}）"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["指标", "数值"])
    for label, value in zip(HEADINGS, _cells(data.total), strict=True):
        summary.append([label, value])
    summary.cell(row=summary.max_row, column=2).number_format = "0.0%"
    summary.append(["统计日期", data.today.isoformat()])
    summary.append(["口径", "立案数按通知日期计；整改达标数、退出数按办结日期计（北京时间）；用时为通知日期至办结日期的天数；"
                            "逾期率=期限计时器已触发的案件数÷设有期限的案件数，均以当年立案的案件计。"])
    for breakdown, (title, heading) in SHEETS.items():
        sheet = book.create_sheet(title)
        sheet.append([f"{scope}：{title}"])
        sheet["A1"].font = Font(bold=True)
        sheet.append([heading, *HEADINGS])
        for row in data.breakdowns[breakdown]:
            sheet.append([name_zh(breakdown, row.key), *_cells(row)])
        sheet.append(["合计", *_cells(data.total)])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for (cell,) in sheet.iter_rows(min_row=3, min_col=9, max_col=9):
            cell.number_format = "0.0%"
        sheet.column_dimensions["A"].width = 22
    for sheet in book.worksheets:
        for column in "BCDEFGHI":
            sheet.column_dimensions[column].width = 14
    summary.column_dimensions["A"].width = 24
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
