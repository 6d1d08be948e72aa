"""Reports: the annual exit report as an Excel workbook (C-4.2, C-4.3).

``annual_workbook`` serves the report the government approved for the year
(``engine.services.annual``) when there is one; otherwise a preliminary compilation from
the cases that exited in that year, titled 初步汇总. Both have the same sheets: the list
of exits, then the official summary table (by industry with the five key industries
first, by county, by dimension).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput
from engine.models import AuditEvent, Case, CaseStatus, Enterprise
from engine.parties import DIMENSIONS, INDUSTRIES, party_name
from engine.services.users import require_role

ANNUAL_DIMENSION = "annual_report"
HEADINGS = ("序号", "案件编号", "企业名称", "统一社会信用代码", "县市区", "行业", "类别", "牵头部门", "退出设备",
            "退出产能（吨/年）", "退出日期", "更正说明")
TOTAL_HEADINGS = ("序号", "{what}", "退出企业（家）", "退出项目（项）", "退出产能（吨/年）")
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def exited_rows(session: Session, year: int) -> list[dict[str, Any]]:
    """Cases that ended ``exited`` in the year (Asia/Shanghai), with what the closure recorded (``record_exit``)."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    rows = session.execute(
        sa.select(Case, Enterprise).join(Enterprise, Enterprise.credit_code == Case.enterprise_code)
        .where(Case.status == CaseStatus.EXITED, Case.closed_at >= start, Case.closed_at < end,
               Case.dimension != ANNUAL_DIMENSION)
        .order_by(Case.closed_at, Case.id)
    ).all()
    out = []
    for case, enterprise in rows:
        exit_data = _exit_record(session, case.id)
        out.append({
            "case_id": case.id, "enterprise": enterprise.name, "credit_code": enterprise.credit_code,
            "county": enterprise.county, "industry": enterprise.industry, "dimension": case.dimension,
            "lead_department": case.lead_department, "equipment": exit_data.get("equipment", ""),
            "capacity_tpy": float(exit_data.get("capacity_tpy") or 0),
            "exit_date": exit_data.get("exit_date") or case.closed_at.astimezone(SHANGHAI).date().isoformat(),
        })
    return out


def exited_in_year(ctx: EngineContext, year: int) -> list[dict]:
    """``exited_rows`` in its own unit of work."""
    with ctx.unit_of_work() as session:
        return exited_rows(session, year)


def _exit_record(session: Session, case_id: int) -> dict:
    """The fields of the case's latest ``record_exit`` step, from its audit trail."""
    detail = session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.case_id == case_id, AuditEvent.action == "task_completed")
        .where(AuditEvent.detail.contains('"key": "record_exit"')).order_by(AuditEvent.id.desc()).limit(1)
    )
    return json.loads(detail).get("data", {}) if detail else {}


def annual_workbook(ctx: EngineContext, actor: Actor, year: int) -> bytes:
    """The year's report as .xlsx: the approved one if the government approved it, else a preliminary one."""
    from engine.services import annual

    require_role(actor, "supervisor", "admin", "staff", "owner")
    if not 2000 <= year <= 2100:
        raise InvalidInput("年份超出范围", "year out of range")
    return workbook(annual.report_view(ctx, actor, year))


def title_of(view: dict[str, Any]) -> tuple[str, str]:
    """Title and status line of a report view (the approved report, or a preliminary compilation)."""
    title = f"{view['year']}年度落后产能退出情况汇总表"
    if view["status"] == "published":
        when = view["published_at"].astimezone(SHANGHAI).date()
        return title, f"经市人民政府审定，{when.year}年{when.month}月{when.day}日公布"
    return f"{title}（初步汇总）", "初步汇总，未经市人民政府审定，不得作为公布数据使用"


def workbook(view: dict[str, Any]) -> bytes:
    """An .xlsx of a report view (``annual.report_view``): the list of exits, then the summary tables."""
    book = Workbook()
    title, status = title_of(view)
    sheet = book.active
    sheet.title = "退出清单"
    _heading(sheet, title, status, len(HEADINGS))
    sheet.append(list(HEADINGS))
    for number, r in enumerate(view["rows"], 1):
        sheet.append([number, r["case_id"], r["enterprise"], r["credit_code"], r["county"],
                      INDUSTRIES.get(r["industry"], (r["industry"],))[0], _dimension(r["dimension"]),
                      party_name(r["lead_department"]), r["equipment"], r["capacity_tpy"], r["exit_date"],
                      correction_text(r)])
    _frame(sheet, 3, len(HEADINGS))
    summary = book.create_sheet("汇总表")
    _heading(summary, title, status, len(TOTAL_HEADINGS))
    totals = view["totals"]
    for caption, what, key in (("一、按行业汇总", "行业", "by_industry"), ("二、按县市区汇总", "县市区", "by_county"),
                               ("三、按类别汇总", "类别", "by_dimension")):
        summary.append([])
        summary.append([caption])
        summary.cell(summary.max_row, 1).font = Font(bold=True)
        first = summary.max_row + 1
        summary.append([h.format(what=what) for h in TOTAL_HEADINGS])
        for number, group in enumerate(totals[key], 1):
            summary.append([number, group["name"], group["enterprises"], group["projects"], group["capacity_tpy"]])
        summary.append(["", "合计", totals["enterprises"], totals["projects"], totals["capacity_tpy"]])
        _frame(summary, first, len(TOTAL_HEADINGS))
    if view.get("summary"):
        summary.append([])
        summary.append(["汇总说明", view["summary"]])
    if view.get("opinion"):
        summary.append(["审定意见", view["opinion"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def correction_text(row: dict[str, Any]) -> str:
    """The corrections a department made to a row, as one line (field: from -> to, reason)."""
    return "；".join(f"{c['title']}由“{c['from']}”更正为“{c['to']}”（{c['reason']}）" for c in row.get("corrections", []))


def _dimension(code: str) -> str:
    found = DIMENSIONS.get(code)
    return found.name_zh if found else code


def _heading(sheet: Any, title: str, status: str, width: int) -> None:
    sheet.append([title])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=width)
    sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=14)
    sheet.cell(sheet.max_row, 1).alignment = Alignment(horizontal="center")
    sheet.append([status])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=width)
    sheet.cell(sheet.max_row, 1).alignment = Alignment(horizontal="center")
    for column in range(1, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 8 if column == 1 else 18


def _frame(sheet: Any, first_row: int, width: int) -> None:
    """Bold headings and thin borders on a table starting at ``first_row``."""
    for row in sheet.iter_rows(min_row=first_row, max_row=sheet.max_row, max_col=width):
        for cell in row:
            cell.border = _BOX
            if cell.row == first_row:
                cell.font = Font(bold=True)
                cell.alignment = Alignment(horizontal="center", wrap_text=True)
