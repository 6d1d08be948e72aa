"""The annual exit report (C-4.2, C-4.3): started on 1 December, confirmed by departments, compiled, approved.

A year's run is a case with dimension ``annual_report`` and no enterprise, running
``processes/annual_report.bpmn``, plus a row of ``annual_reports`` keyed by the year. Both
are written in one transaction, so the primary key makes the report start exactly once
whatever the number of schedulers, sweepers or restarts (the loser's insert fails and it
does nothing).

- ``start_due_report`` (the timer sweep calls it first, and APScheduler at 1 December 00:00
  Asia/Shanghai): from 1 December of year Y until the end of January Y+1 (C-4.2 December,
  C-4.3 January), start Y's report if it has none: a server down on 1 December catches up.
  It also reminds departments whose confirmation is past its due date (31 December) once,
  in the report's history; the board lists them (``unconfirmed_departments``).
- The process gives each department that leads dimensions a ``confirm_closures`` task with
  the list of its closures of the year computed from the cases (``reports.exited_rows``); it
  confirms them, correcting rows with a reason. ``industry`` compiles (``aggregate_report``)
  and the government approves (``government_approval``); a refusal goes back to compiling.
- ``on_task_completed`` (called by ``tasks._complete`` in the completion's transaction)
  keeps the row in step: the department's confirmed rows, the compiled rows and totals,
  the status, and the publication when the process ends at ``reportStatus=published``.

Who may call: a published report is public (``report_view``, ``published_reports``); an
unpublished one is for staff, supervisors, owners and administrators; the task pages
are for whoever may read the task (``tasks.get_task``); ``unconfirmed_departments`` for
supervisors and administrators. Errors: ``NotFound``, ``PermissionDenied``, ``InvalidInput``
(a correction naming a case not in the department's list or a value of the wrong kind).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import runner
from engine.clock import SHANGHAI
from engine.context import SYSTEM, Actor, EngineContext
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem
from engine.models import AnnualReport, AuditEvent, Case, CaseStatus, OpenTask, ReportStatus
from engine.parties import DIMENSIONS, INDUSTRIES, party_name
from engine.permissions import may_supervise, may_work_task
from engine.services import audit, deployments, instances
from engine.services.reports import ANNUAL_DIMENSION, exited_rows

log = logging.getLogger(__name__)

ANNUAL = ANNUAL_DIMENSION
DEPARTMENTS = ("industry", "development", "environment", "emergency", "market", "energy")
KEY_INDUSTRIES = ("steel", "coal", "cement", "aluminium", "flat_glass")
CORRECTABLE = {"equipment": "退出设备", "capacity_tpy": "退出产能（吨/年）", "exit_date": "退出日期",
               "county": "县市区", "industry": "行业", "exclude": "不计入本年度"}
DRAFT_ROLES = ("staff", "supervisor", "owner", "admin")
OWN_PAGE_KEYS = ("confirm_closures", "aggregate_report", "government_approval")


def due_year(now: datetime) -> int | None:
    """The year whose report should be running at ``now``: Y from 1 December Y until 31 January Y+1 (Shanghai)."""
    local = now.astimezone(SHANGHAI)
    return local.year if local.month == 12 else local.year - 1 if local.month == 1 else None


def start_due_report(ctx: EngineContext, now: datetime | None = None) -> int | None:
    """Start the due year's report unless it exists, and remind late departments; returns the new case id."""
    now = now or ctx.now()
    year = due_year(now)
    if year is None:
        return None
    started = None
    with ctx.unit_of_work() as session:
        exists = session.get(AnnualReport, year) is not None
    if not exists:
        try:
            started = _start(ctx, year, now)
        except (sa.exc.IntegrityError, Conflict):
            return None  # another scheduler or server started it first
        except NotFound as exc:
            log.warning("annual report not started: %s", exc.message_en)
            return None
    try:
        remind_late(ctx, now)
    except Conflict:
        pass
    return started


def _start(ctx: EngineContext, year: int, now: datetime) -> int:
    with ctx.unit_of_work() as session:
        definition = deployments.get_latest(session, ANNUAL)
        called = deployments.resolve_called(session, definition)
        bundle = deployments.bundle_for_ids(ctx, session, deployments.bundle_key(definition, called))
        data = {"dimension": ANNUAL, "lead_department": "industry", "report_year": year,
                "departments": list(DEPARTMENTS)}
        workflow = runner.start(bundle, data, now)
        case = Case(definition_id=definition.id, called_definitions=json.dumps([d.id for d in called]),
                    dimension=ANNUAL, enterprise_code=None, lead_department="industry", status=CaseStatus.OPEN,
                    notice_date=now.astimezone(SHANGHAI).date(), finding=json.dumps({"year": year}), state="",
                    serializer_version="", created_at=now, updated_at=now)
        instances.save(session, case, workflow, bundle, now)
        session.add(AnnualReport(year=year, case_id=case.id, status=ReportStatus.COLLECTING, started_at=now,
                                 confirmations="{}", rows="[]", totals="{}"))
        session.flush()  # a second start fails here, on the year's primary key
        instances.audit(session, case.id, now, SYSTEM.username, "case_opened", dimension=ANNUAL,
                        lead_department="industry", definition_version=definition.version, deadline=None)
        instances.audit(session, case.id, now, SYSTEM.username, "report_started", year=year,
                        departments=list(DEPARTMENTS))
        return case.id


def remind_late(ctx: EngineContext, now: datetime) -> int:
    """Record one reminder per confirmation past its due date (in the report's history); returns how many.

    Every server's sweep calls this each second in January: the late confirmations are read again
    once the report's chain is held, so of two sweeps at the same moment only one records them.
    """
    today = now.astimezone(SHANGHAI).date()
    reminded = sa.exists().where(AuditEvent.task_id == OpenTask.id, AuditEvent.action == "report_reminder")
    unreminded = (sa.select(OpenTask.id, OpenTask.case_id, OpenTask.department, OpenTask.due)
                  .join(Case, Case.id == OpenTask.case_id)
                  .where(Case.dimension == ANNUAL, OpenTask.key == "confirm_closures", OpenTask.due < today,
                         ~reminded))
    with ctx.unit_of_work() as session:
        late = session.execute(unreminded).all()
        if not late:
            return 0
        for case_id in sorted({case_id for _, case_id, _, _ in late}):
            audit.hold_chain(session, case_id)
        late = session.execute(unreminded).all()
        for task_id, case_id, department, due in late:
            instances.audit(session, case_id, now, SYSTEM.username, "report_reminder", task_id=task_id,
                            department=department, due=due.isoformat())
        return len(late)


# ---------------------------------------------------------------- completions

def on_task_completed(session: Session, case: Case, task: OpenTask, data: dict[str, Any], workflow: Any,
                      now: datetime, actor: Actor) -> None:
    """Keep a report's row in step with a step just completed in its case (caller's transaction)."""
    if case.dimension != ANNUAL:
        return
    report = session.scalar(sa.select(AnnualReport).where(AnnualReport.case_id == case.id))
    if report is None:
        return
    if task.key == "confirm_closures":
        _record_confirmation(session, report, task.department, data, now, actor)
    elif task.key == "aggregate_report":
        rows = compiled_rows(session, report)
        report.rows = json.dumps(rows, ensure_ascii=False)
        report.totals = json.dumps(totals_of(rows), ensure_ascii=False)
    open_keys = set(session.scalars(sa.select(OpenTask.key).where(OpenTask.case_id == case.id)))
    if case.status != CaseStatus.OPEN and _ended_published(workflow):
        report.status, report.published_at = ReportStatus.PUBLISHED, now
        totals = json.loads(report.totals)
        instances.audit(session, case.id, now, actor.username, "report_published", year=report.year,
                        projects=totals.get("projects"), capacity_tpy=totals.get("capacity_tpy"))
    elif "government_approval" in open_keys:
        report.status = ReportStatus.APPROVING
    elif "aggregate_report" in open_keys:
        report.status = ReportStatus.AGGREGATING


def _ended_published(workflow: Any) -> bool:
    return any(isinstance(t.task_spec, EndEvent)
               and t.task_spec.extensions.get("properties", {}).get("reportStatus") == "published"
               for t in workflow.get_tasks(state=TaskState.COMPLETED))


def _record_confirmation(session: Session, report: AnnualReport, department: str, data: dict[str, Any],
                         now: datetime, actor: Actor) -> None:
    listed = department_closures(session, report.year, department)
    corrections = data.get("corrections") or []
    rows = apply_corrections(listed, corrections, report.year, now.astimezone(SHANGHAI).date())
    confirmations = json.loads(report.confirmations or "{}")
    confirmations[department] = {"by": actor.username, "at": now.isoformat(), "listed": [r["case_id"] for r in listed],
                                 "rows": rows, "corrections": corrections, "note": data.get("confirm_note", "")}
    report.confirmations = json.dumps(confirmations, ensure_ascii=False)
    instances.audit(session, report.case_id, now, actor.username, "closures_confirmed", department=department,
                    listed=len(listed), confirmed=len(rows), corrections=len(corrections))


def department_closures(session: Session, year: int, department: str) -> list[dict[str, Any]]:
    """The closures of the year that the department led, from the cases (C-4.2)."""
    return [r for r in exited_rows(session, year) if r["lead_department"] == department]


def apply_corrections(rows: list[dict[str, Any]], corrections: list[dict[str, Any]], year: int,
                      today: date | None = None) -> list[dict[str, Any]]:
    """The rows with a department's corrections applied (``exclude`` drops a row); InvalidInput names the item.
    A corrected exit date may not be after ``today`` (an exit is something that has happened)."""
    by_id = {r["case_id"]: {**r, "corrections": []} for r in rows}
    dropped: set[int] = set()
    problems = []
    for i, item in enumerate(corrections):
        field, case_id = item.get("field"), item.get("case_id")
        row = by_id.get(case_id)
        if row is None:
            problems.append(Problem(f"第 {i + 1} 条更正：案件 {case_id} 不在本部门本年度清单中",
                                    f"correction {i + 1}: case {case_id} is not in the department's list",
                                    field=f"corrections.{i}.case_id"))
            continue
        if field == "exclude":
            dropped.add(case_id)
            row["corrections"].append(_note(field, "", "", item))
            continue
        value, error = _corrected_value(field, str(item.get("value") or "").strip(), year, today)
        if error:
            problems.append(Problem(f"第 {i + 1} 条更正：{error[0]}", f"correction {i + 1}: {error[1]}",
                                    field=f"corrections.{i}.value"))
            continue
        row["corrections"].append(_note(field, row[field], value, item))
        row[field] = value
    if problems:
        raise InvalidInput("更正有误", "the corrections have errors", problems)
    return [r for cid, r in by_id.items() if cid not in dropped]


def _note(field: str, before: Any, after: Any, item: dict[str, Any]) -> dict[str, Any]:
    return {"field": field, "title": CORRECTABLE[field], "from": before, "to": after,
            "reason": str(item.get("reason", ""))}


def _corrected_value(field: str, raw: str, year: int, today: date | None) -> tuple[Any, tuple[str, str] | None]:
    if not raw:
        return None, ("请填写更正后的值", "a corrected value is required")
    if field == "capacity_tpy":
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 <= value < 1e12:
            return None, ("产能应为不小于 0 的数字（吨/年）", "capacity must be a number of tonnes a year, at least 0")
        return value, None
    if field == "exit_date":
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return None, ("日期格式应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
        if day.year != year:
            return None, (f"退出日期不在{year}年，应选择“不计入本年度”", f"the exit date is not in {year}: exclude it")
        if today is not None and day > today:
            return None, (f"退出日期不能晚于今天（{today}）", f"the exit date cannot be after today ({today})")
        return day.isoformat(), None
    if field == "industry":
        if raw not in INDUSTRIES:
            return None, (f"行业应为 {'、'.join(INDUSTRIES)} 之一", f"industry must be one of {', '.join(INDUSTRIES)}")
        return raw, None
    return raw[:100 if field == "county" else 2000], None


def compiled_rows(session: Session, report: AnnualReport | None, year: int | None = None) -> list[dict[str, Any]]:
    """The confirmed rows of the departments that confirmed, and the cases' rows of those that did not yet."""
    year = report.year if report is not None else year
    confirmations = json.loads(report.confirmations or "{}") if report is not None else {}
    rows = [r for r in exited_rows(session, year) if r["lead_department"] not in confirmations]
    rows += [r for d in confirmations.values() for r in d["rows"]]
    return sorted(rows, key=lambda r: (r["exit_date"], r["case_id"]))


def totals_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Projects, enterprises and capacity in all, by industry (five key ones first), by county, by dimension."""
    def group(pick: list[dict[str, Any]], code: str, name: str) -> dict[str, Any]:
        return {"code": code, "name": name, "projects": len(pick), "enterprises": len({r["credit_code"] for r in pick}),
                "capacity_tpy": round(sum(float(r["capacity_tpy"]) for r in pick), 4)}

    counties = sorted({r["county"] for r in rows})
    return {**group(rows, "", "合计"),
            "by_industry": [group([r for r in rows if r["industry"] == c], c, INDUSTRIES[c][0])
                            for c in (*KEY_INDUSTRIES, "other")],
            "by_county": [group([r for r in rows if r["county"] == c], c, c or "未填写") for c in counties],
            "by_dimension": [group([r for r in rows if r["dimension"] == d.code], d.code, d.name_zh)
                             for d in DIMENSIONS.values()]}


# ---------------------------------------------------------------- reading

def _step_data(session: Session, case_id: int, key: str) -> dict[str, Any]:
    detail = session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.case_id == case_id, AuditEvent.action == "task_completed")
        .where(AuditEvent.detail.contains(f'"key": "{key}"')).order_by(AuditEvent.id.desc()).limit(1))
    return json.loads(detail).get("data", {}) if detail else {}


def _view(session: Session, report: AnnualReport | None, year: int) -> dict[str, Any]:
    published = report is not None and report.status == ReportStatus.PUBLISHED
    compiled = report is not None and report.status in (ReportStatus.APPROVING, ReportStatus.PUBLISHED)
    rows = json.loads(report.rows) if compiled else compiled_rows(session, report, year)
    confirmations = json.loads(report.confirmations or "{}") if report is not None else {}
    return {
        "year": year, "status": report.status.value if report is not None else "none", "preliminary": not published,
        "case_id": report.case_id if report is not None else None,
        "started_at": report.started_at if report is not None else None,
        "published_at": report.published_at if published else None,
        "rows": rows, "totals": json.loads(report.totals) if compiled else totals_of(rows),
        "summary": _step_data(session, report.case_id, "aggregate_report").get("summary", "") if compiled else "",
        "opinion": _step_data(session, report.case_id, "government_approval").get("opinion", "") if published else "",
        "confirmations": [{"department": d, "name": party_name(d), "confirmed": d in confirmations,
                           **({k: confirmations[d][k] for k in ("by", "at", "note", "corrections")}
                              if d in confirmations else {}),
                           "projects": len(confirmations[d]["rows"]) if d in confirmations else None}
                          for d in DEPARTMENTS] if report is not None else [],
    }


def _may_see_drafts(actor: Actor | None) -> bool:
    return actor is not None and actor.role in DRAFT_ROLES


def report_view(ctx: EngineContext, actor: Actor | None, year: int) -> dict[str, Any]:
    """A year's report: the approved one (public, without the departments' corrections and who confirmed), or for
    staff and supervisors the current draft or a preliminary compilation from the cases (``preliminary`` true)."""
    with ctx.unit_of_work() as session:
        report = session.get(AnnualReport, year)
        if (report is None or report.status != ReportStatus.PUBLISHED) and not _may_see_drafts(actor):
            raise NotFound("该年度报告尚未公布", "this year's report is not published")
        view = _view(session, report, year)
    if not _may_see_drafts(actor):  # the public sees the figures, not the departments' working notes
        view["rows"] = [{k: v for k, v in r.items() if k != "corrections"} for r in view["rows"]]
        view["confirmations"] = []
    return view


def published_reports(ctx: EngineContext) -> list[dict[str, Any]]:
    """Published reports, newest first, with their totals (for the public page)."""
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(AnnualReport).where(AnnualReport.status == ReportStatus.PUBLISHED)
                               .order_by(AnnualReport.year.desc()))
        return [{"year": r.year, "published_at": r.published_at,
                 **{k: v for k, v in json.loads(r.totals).items() if k in ("projects", "enterprises", "capacity_tpy")}}
                for r in rows]


def all_reports(ctx: EngineContext, actor: Actor | None) -> list[dict[str, Any]]:
    """Every year's report with its status (staff and supervisors; others see the published ones)."""
    with ctx.unit_of_work() as session:
        query = sa.select(AnnualReport).order_by(AnnualReport.year.desc())
        if not _may_see_drafts(actor):
            query = query.where(AnnualReport.status == ReportStatus.PUBLISHED)
        return [{"year": r.year, "status": r.status.value, "case_id": r.case_id, "started_at": r.started_at,
                 "published_at": r.published_at} for r in session.scalars(query)]


def is_report_task(ctx: EngineContext, task_id: str) -> bool:
    """Whether an open task belongs to an annual report (it then has its own page)."""
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(OpenTask).join(Case, Case.id == OpenTask.case_id)
                              .where(OpenTask.id == task_id, Case.dimension == ANNUAL)) == 1


def task_context(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """A report task (``tasks.get_task``) with what its page shows: the department's closures, or the draft."""
    from engine.services import tasks
    from engine.services.inbox import legal_basis, legal_basis_en

    view = tasks.get_task(ctx, actor, task_id)
    with ctx.unit_of_work() as session:
        case = session.get(Case, view["case_id"])
        report = session.scalar(sa.select(AnnualReport).where(AnnualReport.case_id == case.id))
        if case.dimension != ANNUAL or report is None or view["key"] not in OWN_PAGE_KEYS:
            raise NotFound("不是年度报告的任务", "not a task of an annual report")
        view["year"] = report.year
        bundle = deployments.bundle_for_case(ctx, session, case)  # a multi-instance step's text is on its child
        view["legal_basis"] = legal_basis(bundle, view["key"]) or legal_basis(bundle, f"{view['key']} [child]")
        view["legal_basis_en"] = legal_basis_en(view["legal_basis"])
        if view["key"] == "confirm_closures":
            view["listed"] = department_closures(session, report.year, view["department"])
        view["draft"] = _view(session, report, report.year)
        if view["key"] == "government_approval":  # the government approves what industry compiled
            view["draft"]["rows"] = json.loads(report.rows)
            view["draft"]["totals"] = json.loads(report.totals)
            view["draft"]["summary"] = _step_data(session, case.id, "aggregate_report").get("summary", "")
    try:
        may_work_task(actor, view["department"], None)
        view["may_work"] = True
    except (PermissionDenied, NotFound):
        view["may_work"] = False
    return view


def unconfirmed_departments(ctx: EngineContext, actor: Actor) -> list[dict[str, Any]]:
    """Departments whose confirmation of a running report is still open, with its due date (supervisors)."""
    may_supervise(actor)
    with ctx.unit_of_work() as session:
        today = ctx.today(session)
        found = session.execute(
            sa.select(AnnualReport.year, OpenTask.id, OpenTask.department, OpenTask.due, OpenTask.claimed_by)
            .join(OpenTask, OpenTask.case_id == AnnualReport.case_id)
            .where(OpenTask.key == "confirm_closures").order_by(AnnualReport.year, OpenTask.department)).all()
    order = {d: i for i, d in enumerate(DEPARTMENTS)}
    return sorted(({"year": year, "task_id": tid, "department": dept, "name": party_name(dept), "due": due,
                    "days_late": (today - due).days if due and due < today else 0, "claimed_by": holder}
                   for year, tid, dept, due, holder in found), key=lambda r: (r["year"], order.get(r["department"], 99)))
