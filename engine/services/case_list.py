"""The case list: cases filtered by status, dimension, industry, county, lead department and text; Excel export.

Who may call: every signed-in role; enterprise users see only their own enterprise's cases.
Rows are read from the case and enterprise tables only (no workflow is deserialized).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.errors import PermissionDenied
from engine.models import Case, CaseStatus, Enterprise
from engine.parties import DIMENSIONS, INDUSTRIES, ROLES, party_name
from engine.services.audit import ExpiredDeadline, expired_deadlines
from engine.services.sheets import table_workbook, taken
from engine.services.users import display_names, with_name

PER_PAGE = 25
EXPORT_LIMIT = 20000
SOON_DAYS = 30
STATUS_NAMES = {"open": ("办理中", "Open"), "compliant": ("已整改达标", "Rectified to standard"),
                "exited": ("已关停退出", "Closed and exited")}
EXPORT_HEADINGS = ("案件编号", "企业名称", "统一社会信用代码", "县市区", "行业", "类别", "牵头部门", "状态", "当前期限",
                   "期限依据", "通知日期", "是否逾期")


@dataclass(frozen=True)
class CaseFilter:
    """What the list is narrowed to; empty strings mean no restriction."""

    status: str = ""
    dimension: str = ""
    industry: str = ""
    county: str = ""
    lead_department: str = ""
    text: str = ""
    page: int = 1


def _query(actor: Actor, filters: CaseFilter) -> sa.Select:
    """Cases joined with their enterprise, visible to the actor and matching the filters."""
    if actor.role not in ROLES and actor.role != "system":
        raise PermissionDenied("无权查看案件", "you may not list cases")
    query = (sa.select(Case, Enterprise).join(Enterprise, Enterprise.credit_code == Case.enterprise_code)
             .where(Case.dimension != "annual_report"))  # the annual report's runs are not cases of an enterprise
    if actor.role == "enterprise":
        query = query.where(Case.enterprise_code == (actor.enterprise_code or ""))
    if filters.status in STATUS_NAMES:
        query = query.where(Case.status == CaseStatus(filters.status))
    if filters.dimension in DIMENSIONS:
        query = query.where(Case.dimension == filters.dimension)
    if filters.industry in INDUSTRIES:
        query = query.where(Enterprise.industry == filters.industry)
    if filters.county:
        query = query.where(Enterprise.county == filters.county)
    if filters.lead_department:
        query = query.where(Case.lead_department == filters.lead_department)
    text = filters.text.strip()[:100]
    if text:
        matches = [sa.func.lower(Enterprise.name).contains(text.lower(), autoescape=True),
                   Enterprise.credit_code.contains(text.upper(), autoescape=True),
                   Enterprise.address.contains(text, autoescape=True)]
        number = text.lstrip("#＃")
        if number.isdigit() and len(number) < 10:
            matches.append(Case.id == int(number))
        query = query.where(sa.or_(*matches))
    return query


def _row(case: Case, enterprise: Enterprise, today: date, expired: ExpiredDeadline | None = None) -> dict[str, Any]:
    """A case as the list shows it; ``due`` is ``late`` for an open case the board counts as overdue (flagged, or its
    period's last day passed), else ``soon`` within ``SOON_DAYS``, ``ok``, or None with no period running.
    ``expired`` is the period a fired timer closed, shown for an overdue case with no period running now."""
    due = days = None
    if case.status == CaseStatus.OPEN and case.deadline is not None:
        days = (case.deadline - today).days
        due = "late" if case.overdue or days < 0 else "soon" if days <= SOON_DAYS else "ok"
    elif case.status == CaseStatus.OPEN and case.overdue:
        due = "late"
    ran_out = expired if due == "late" and case.deadline is None else None
    return {"id": case.id, "enterprise": enterprise.name, "credit_code": enterprise.credit_code,
            "county": enterprise.county, "industry": enterprise.industry, "dimension": case.dimension,
            "lead_department": case.lead_department, "status": case.status.value,
            "deadline": case.deadline.isoformat() if case.deadline else None, "deadline_rule": case.deadline_rule,
            "deadline_rule_en": case.deadline_rule_en,
            "notice_date": case.notice_date.isoformat(), "overdue": case.overdue, "due": due, "days_left": days,
            "expired_deadline": ran_out.last_day if ran_out else None,
            "expired_rule": ran_out.rule if ran_out else None, "expired_rule_en": ran_out.rule_en if ran_out else None}


def _rows(session: Session, found: list[tuple[Case, Enterprise]], today: date) -> list[dict[str, Any]]:
    """The list's rows of cases read with their enterprises, with the periods that ran out of the overdue ones."""
    expired = expired_deadlines(session, [case.id for case, _ in found
                                          if case.status == CaseStatus.OPEN and case.overdue and case.deadline is None])
    return [_row(case, enterprise, today, expired.get(case.id)) for case, enterprise in found]


def list_cases(ctx: EngineContext, actor: Actor, filters: CaseFilter, per_page: int = PER_PAGE) -> dict[str, Any]:
    """One page of the cases the actor may see, newest first, with the total and page count."""
    query = _query(actor, filters)
    with ctx.unit_of_work() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, filters.page), pages)
        today = ctx.today(session)
        found = session.execute(query.order_by(Case.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
        rows = _rows(session, found, today)
    return {"rows": rows, "total": total, "page": page, "pages": pages, "per_page": per_page}


def labels(lang: str = "zh") -> dict[str, dict[str, str]]:
    """Display names of statuses, dimensions, industries and departments in the language."""
    i = 1 if lang == "en" else 0
    return {"status": {k: v[i] for k, v in STATUS_NAMES.items()},
            "dimension": {k: (d.name_en if i else d.name_zh) for k, d in DIMENSIONS.items()},
            "industry": {k: v[i] for k, v in INDUSTRIES.items()},
            "department": {c: party_name(c, lang) for d in DIMENSIONS.values() for c in d.leads}}


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def export_workbook(ctx: EngineContext, actor: Actor, filters: CaseFilter) -> bytes:
    """The filtered list (every page, at most ``EXPORT_LIMIT`` rows) as an .xlsx with Chinese headings."""
    query = _query(actor, filters).order_by(Case.id.desc()).limit(EXPORT_LIMIT)
    with ctx.unit_of_work() as session:
        now = ctx.now(session)
        today = now.astimezone(SHANGHAI).date()
        rows = _rows(session, session.execute(query).all(), today)
    names = labels("zh")
    exporter = with_name(actor.username, display_names(ctx))
    about = [*taken(now, exporter), ("筛选条件", _filter_text(filters, names)), ("说明", f"是否逾期按导出之日（{today.isoformat()}）判断；已逾期、已转入后续程序的案件，"
                                       "当前期限一栏为已届满的期限")]
    return table_workbook("案件清单", EXPORT_HEADINGS, ([
        r["id"], r["enterprise"], r["credit_code"], r["county"], names["industry"].get(r["industry"], r["industry"]),
        names["dimension"].get(r["dimension"], r["dimension"]), party_name(r["lead_department"]),
        names["status"][r["status"]], _day(r["deadline"] or r["expired_deadline"]),
        r["deadline_rule"] or r["expired_rule"] or "", date.fromisoformat(r["notice_date"]),
        "是" if r["due"] == "late" else "否"]
        for r in rows), widths=(10, 30, 22, 14, 10, 10, 22, 12, 12, 50, 12, 10), date_columns=(8, 10), about=about)


def _filter_text(filters: CaseFilter, names: dict[str, dict[str, str]]) -> str:
    """The list's filters in words (Chinese, as the export's headings)."""
    parts = [f"状态：{names['status'].get(filters.status, filters.status)}" if filters.status else "",
             f"类别：{names['dimension'].get(filters.dimension, filters.dimension)}" if filters.dimension else "",
             f"行业：{names['industry'].get(filters.industry, filters.industry)}" if filters.industry else "",
             f"县市区：{filters.county}" if filters.county else "",
             f"牵头部门：{party_name(filters.lead_department)}" if filters.lead_department else "",
             f"关键词：{filters.text.strip()[:100]}" if filters.text.strip() else ""]
    return "；".join(p for p in parts if p) or "全部"
