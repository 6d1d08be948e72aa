"""Reports: the annual exit report as an Excel workbook (C-4.2, C-4.3).

Until the annual report process is approved for a year, the workbook is marked as a
preliminary compilation from the cases that exited in that year.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput
from engine.models import AuditEvent, Case, CaseStatus, Enterprise
from engine.parties import DIMENSIONS, INDUSTRIES, party_name
from engine.services.users import require_role

HEADINGS = ("案件编号", "企业名称", "统一社会信用代码", "县市区", "行业", "类别", "牵头部门", "设备", "退出产能（吨/年）",
            "退出日期")


def exited_in_year(ctx: EngineContext, year: int) -> list[dict]:
    """Cases that ended ``exited`` in the year (Asia/Shanghai), with what the closure recorded."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    with ctx.unit_of_work() as session:
        rows = session.execute(
            sa.select(Case, Enterprise).join(Enterprise, Enterprise.credit_code == Case.enterprise_code)
            .where(Case.status == CaseStatus.EXITED, Case.closed_at >= start, Case.closed_at < end)
            .order_by(Case.closed_at)
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


def _exit_record(session, case_id: int) -> dict:
    """The fields of the case's latest ``record_exit`` step, from its audit trail."""
    detail = session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.case_id == case_id, AuditEvent.action == "task_completed")
        .where(AuditEvent.detail.contains('"key": "record_exit"')).order_by(AuditEvent.id.desc()).limit(1)
    )
    return json.loads(detail).get("data", {}) if detail else {}


def annual_workbook(ctx: EngineContext, actor: Actor, year: int) -> bytes:
    """The year's exits as an .xlsx file: a list sheet and totals by industry."""
    require_role(actor, "supervisor", "admin", "staff", "owner")
    if not 2000 <= year <= 2100:
        raise InvalidInput("年份超出范围", "year out of range")
    rows = exited_in_year(ctx, year)
    book = Workbook()
    sheet = book.active
    sheet.title = "退出清单"
    sheet.append([f"{year}年度落后产能退出情况（初步汇总，待审批）"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(HEADINGS))
    for r in rows:
        sheet.append([r["case_id"], r["enterprise"], r["credit_code"], r["county"], INDUSTRIES[r["industry"]][0],
                      DIMENSIONS[r["dimension"]].name_zh, party_name(r["lead_department"]), r["equipment"],
                      r["capacity_tpy"], r["exit_date"]])
    totals = book.create_sheet("按行业汇总")
    totals.append(["行业", "企业数", "退出产能（吨/年）"])
    for code, (name_zh, _) in INDUSTRIES.items():
        picked = [r for r in rows if r["industry"] == code]
        totals.append([name_zh, len(picked), sum(r["capacity_tpy"] for r in picked)])
    totals.append(["合计", len(rows), sum(r["capacity_tpy"] for r in rows)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
