"""The inbox page and the task page: what a person sees before working a task.

``inbox_page`` reads only the ``open_tasks`` index joined with cases and enterprises
(no workflow is deserialized): staff see their department's tasks, enterprise users
their own cases' enterprise tasks, supervisors and administrators everything.
``task_page`` gathers one task with its form, the case summary, the legal basis of
the step (the BPMN element's documentation) and the case history; ``closed_task`` what the page
of a task that closed meanwhile shows.
Errors: ``InvalidInput`` (400) for an unknown sort, ``PermissionDenied`` (403) for
roles without an inbox, ``NotFound`` (404) for a task the actor may not see.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import runner
from engine.context import Actor, EngineContext
from engine.definitions import SpecBundle
from engine.errors import InvalidInput, NotFound, PermissionDenied, Problem
from engine.models import AuditEvent, Case, Definition, Enterprise, OpenTask
from engine.parties import DIMENSIONS
from engine.permissions import may_read_case, may_work_task
from engine.services import deployments, forms, instances, tasks
from engine.services.case_detail import diagram_state
from engine.services.intake import COUNTIES
from engine.step_names import StepName, named, step_name

PAGE_SIZE = 25
SOON_DAYS = 7
INBOX_ROLES = ("staff", "enterprise", "supervisor", "admin")
SORTS = ("due", "case", "dimension")


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox is narrowed to; empty values do not filter."""

    dimension: str = ""
    county: str = ""
    industry: str = ""
    department: str = ""
    due_before: date | None = None
    text: str = ""


@dataclass(frozen=True)
class InboxRow:
    """One open task as the inbox lists it."""

    task_id: str
    key: str
    name: str
    department: str
    case_id: int
    dimension: str
    enterprise_name: str
    credit_code: str
    county: str
    industry: str
    due: date | None
    days_left: int | None
    urgency: str  # of the task's own deadline: "late", "soon", "ok", or "" without one
    claimed_by: str | None
    case_overdue: bool = False  # a legal period of the case ran out: the board lists it as overdue
    name_en: str | None = None


@dataclass
class InboxPage:
    """One page of the inbox, with the totals shown above it."""

    rows: list[InboxRow]
    total: int
    page: int
    pages: int
    today: date
    overdue: int
    due_soon: int
    counties: list[str] = field(default_factory=list)


def urgency(due: date | None, today: date) -> str:
    """``late`` past its last day, ``soon`` within 7 days, ``ok`` later, ``""`` without a deadline."""
    if due is None:
        return ""
    days = (due - today).days
    return "late" if days < 0 else "soon" if days <= SOON_DAYS else "ok"


def _late(today: date) -> sa.ColumnElement[bool]:
    """An open task is overdue as the board counts it: its own last day passed, or its case is overdue."""
    return sa.or_(OpenTask.due < today, Case.overdue.is_(True))


def _scoped(query: sa.Select, actor: Actor) -> sa.Select:
    """The tasks the actor's inbox holds (``tasks.scope_to_actor``; ``cases`` is already joined)."""
    scoped = tasks.scope_to_actor(query, actor, cases_joined=True)
    if scoped is None:
        raise PermissionDenied("您的角色没有待办任务", "your role has no task inbox")
    return scoped


def _filtered(query: sa.Select, filters: InboxFilters) -> sa.Select:
    """``query`` narrowed by the filters; joins as ``_tasks`` decided."""
    if filters.dimension:
        query = query.where(Case.dimension == filters.dimension)
    if filters.county:
        query = query.where(Enterprise.county == filters.county)
    if filters.industry:
        query = query.where(Enterprise.industry == filters.industry)
    if filters.department:
        query = query.where(OpenTask.department == filters.department)
    if filters.due_before is not None:
        query = query.where(OpenTask.due <= filters.due_before)
    text = filters.text.strip()
    if text:
        matches = [Enterprise.name.contains(text, autoescape=True),
                   Enterprise.credit_code.contains(text.upper(), autoescape=True)]
        if text.lstrip("#").isdigit() and len(text) < 10:
            matches.append(OpenTask.case_id == int(text.lstrip("#")))
        query = query.where(sa.or_(*matches))
    return query


def _tasks(actor: Actor, filters: InboxFilters, *columns: Any, case: bool = False, enterprise: bool = False
           ) -> sa.Select:
    """``columns`` of the actor's open tasks, filtered, joining ``cases`` and ``enterprises`` only when the scope,
    the filters or the caller (``case``, ``enterprise``) need them: every open task has its case, and enterprises are
    outer-joined (an annual report's case has none), so the joins never drop a row, and the department's inbox is
    read from its index alone."""
    enterprise = enterprise or bool(filters.county or filters.industry or filters.text.strip())
    case = case or enterprise or bool(filters.dimension) or actor.role == "enterprise"
    query = sa.select(*columns).select_from(OpenTask)
    if case:
        query = query.join(Case, Case.id == OpenTask.case_id)
    if enterprise:
        query = query.outerjoin(Enterprise, Enterprise.credit_code == Case.enterprise_code)
    return _filtered(_scoped(query, actor), filters)


def inbox_page(ctx: EngineContext, actor: Actor, filters: InboxFilters, page: int = 1,
               sort: str = "due") -> InboxPage:
    """One page (25 rows) of the actor's open tasks, filtered and sorted (``due``, ``case``, ``dimension``;
    a leading ``-`` reverses), with the overdue and due-soon counts of the whole inbox.

    Counts read the ``open_tasks`` index joined with the tasks' cases (a task of an overdue case counts as
    overdue, as on the board); the page is chosen on ``open_tasks`` (joined with ``cases`` for the dimension
    sort) and only its rows are joined with their cases and enterprises. The county filter offers the city's
    counties (``intake.COUNTIES``, as intake and the case list do) rather than those of the inbox's tasks, which
    took a join of every task.
    """
    order = _order(sort)
    unfiltered = filters == InboxFilters()
    with ctx.unit_of_work() as session:
        today = ctx.today(session)
        soon = today + timedelta(days=SOON_DAYS)
        total, overdue, due_soon = session.execute(_tasks(
            actor, InboxFilters(), sa.func.count(),
            sa.func.count(sa.case((_late(today), 1))),
            sa.func.count(sa.case((sa.and_(OpenTask.due >= today, OpenTask.due <= soon, ~_late(today)), 1))),
            case=True)).one()
        if not unfiltered:
            total = session.scalar(_tasks(actor, filters, sa.func.count()))
        total = total or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        ids = _page_ids(session, actor, filters, sort, order, (page - 1) * PAGE_SIZE)
        found = {task.id: (task, dimension, enterprise, late) for task, dimension, enterprise, late in session.execute(
            sa.select(OpenTask, Case.dimension, Enterprise, Case.overdue)
            .join(Case, Case.id == OpenTask.case_id)
            .outerjoin(Enterprise, Enterprise.credit_code == Case.enterprise_code)
            .where(OpenTask.id.in_(ids)))} if ids else {}
        rows = [_row(*found[i], today) for i in ids if i in found]
        counties = [*COUNTIES, *([filters.county] if filters.county and filters.county not in COUNTIES else [])]
        return InboxPage(rows, total, page, pages, today, overdue or 0, due_soon or 0, counties)


def _page_ids(session: Session, actor: Actor, filters: InboxFilters, sort: str, order: list[Any],
              offset: int) -> list[str]:
    """The ids of one page of tasks. By due date: the tasks with a deadline in the order of the
    ``(department, due)`` index, then those without one, so the database never sorts a whole inbox."""
    name = sort.removeprefix("-")
    query = _tasks(actor, filters, OpenTask.id, case=name == "dimension")
    if name != "due":
        return list(session.scalars(query.order_by(*order).offset(offset).limit(PAGE_SIZE)))
    dated = list(session.scalars(query.where(OpenTask.due.is_not(None)).order_by(*order[1:])
                                 .offset(offset).limit(PAGE_SIZE)))
    if len(dated) == PAGE_SIZE:
        return dated
    before = offset + len(dated) if dated or not offset else session.scalar(
        _tasks(actor, filters, sa.func.count(OpenTask.due)))
    undated = session.scalars(query.where(OpenTask.due.is_(None)).order_by(*order[2:])
                              .offset(max(0, offset - before)).limit(PAGE_SIZE - len(dated)))
    return [*dated, *undated]


def _order(sort: str) -> list[Any]:
    """ORDER BY for a sort name; tasks without a deadline stay last whichever way the dates run
    (``dimension`` needs ``cases`` joined; the case number is the task's ``case_id``)."""
    name = sort.removeprefix("-")
    if name not in SORTS:
        raise InvalidInput("未知的排序方式", "unknown sort order", [Problem(
            f"排序应为 {'、'.join(SORTS)} 之一", f"sort must be one of {', '.join(SORTS)}", field="sort")])
    column = {"due": OpenTask.due, "case": OpenTask.case_id, "dimension": Case.dimension}[name]
    primary = column.desc() if sort.startswith("-") else column.asc()
    if name == "due":
        return [OpenTask.due.is_(None), primary, OpenTask.created_at, OpenTask.id]
    if name == "dimension":
        return [primary, OpenTask.due.is_(None), OpenTask.due, OpenTask.id]
    return [primary, OpenTask.created_at, OpenTask.id]


def _row(task: OpenTask, dimension: str, enterprise: Enterprise | None, case_overdue: bool, today: date) -> InboxRow:
    name, code, county, industry = ("年度报告", "", "", "") if enterprise is None else (  # None: annual report
        enterprise.name, enterprise.credit_code, enterprise.county, enterprise.industry)
    return InboxRow(task.id, task.key, task.name, task.department, task.case_id, dimension, name, code, county,
                    industry, task.due, (task.due - today).days if task.due else None,
                    urgency(task.due, today), task.claimed_by, case_overdue, task.name_en)


def task_schema(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """The JSON Schema of an open task's form (read from the index, no workflow loaded)."""
    with ctx.unit_of_work() as session:
        task = session.get(OpenTask, task_id)
        if task is None:
            return tasks.get_task(ctx, actor, task_id)["form"] or {"type": "object"}  # the engine's refusal
        may_read_case(actor, session.get(Case, task.case_id).enterprise_code)
        return forms.current(session, task.form).schema if task.form else {"type": "object"}


def closed_task(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """A task that is no longer open (completed, or closed by a deadline): its case's id and the JSON Schema of its
    form (None when the instance no longer knows the task), for the page that says so. ``NotFound`` for a task
    that never closed or whose case the actor may not read."""
    with ctx.unit_of_work() as session:
        case_id = session.scalar(sa.select(AuditEvent.case_id).where(
            AuditEvent.task_id == task_id, AuditEvent.action == "task_completed").limit(1))
        if case_id is None:  # the timer that closed it names it among its closed tasks
            case_id = session.scalar(sa.select(AuditEvent.case_id).where(
                AuditEvent.action == "timer_fired", AuditEvent.detail.contains(task_id)).limit(1))
        case = session.get(Case, case_id) if case_id is not None else None
        if case is None:
            raise NotFound("任务不存在", "no such task")
        may_read_case(actor, case.enterprise_code)
        workflow, _bundle = instances.load(ctx, session, case, readonly=True)
        spec = getattr(runner.find_task(workflow, task_id), "task_spec", None)
        form_file = getattr(spec, "extensions", {}).get("properties", {}).get("formJsonSchemaFilename")
        found = forms.current_many(session, [form_file] if form_file else [])
        return {"case_id": case.id, "form": found[form_file].schema if form_file in found else None}


FINDING_FACTS = ("equipment", "capacity_tpy")  # what intake recorded of the finding that a later form asks again


def finding_suggestions(form: dict[str, Any] | None, finding: str | None) -> dict[str, str]:
    """The values a task's form starts with: the facts of the case's finding its fields ask for again (the
    equipment and the capacity an exit records), as text; the person may change them."""
    fields = (form or {}).get("properties") or {}
    facts = json.loads(finding or "{}")
    return {name: str(facts[name]) for name in FINDING_FACTS if name in fields and facts.get(name) not in (None, "")}


def task_page(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """The task (``tasks.get_task``) with the case summary, the step's legal basis and the case history."""
    view = tasks.get_task(ctx, actor, task_id)
    with ctx.unit_of_work() as session:
        case = session.get(Case, view["case_id"])
        if case is None:
            raise NotFound("任务不存在", "no such task")
        enterprise = session.get(Enterprise, case.enterprise_code) if case.enterprise_code else None  # annual report
        bundle = deployments.bundle_for_case(ctx, session, case)
        view["case"] = {
            "id": case.id, "dimension": case.dimension, "status": case.status.value,
            "lead_department": case.lead_department, "notice_date": case.notice_date,
            "deadline": case.deadline, "deadline_rule": case.deadline_rule,
            "deadline_rule_en": case.deadline_rule_en, "overdue": case.overdue,
            "enterprise_name": enterprise.name if enterprise else "", "credit_code": case.enterprise_code,
            "county": enterprise.county if enterprise else "", "industry": enterprise.industry if enterprise else "",
        }
        basis = legal_basis(bundle, view["key"])
        view["legal_basis"] = basis or _dimension_clause(case.dimension)
        view["legal_basis_en"] = legal_basis_en(basis) if basis else _dimension_clause(case.dimension, "en")
        workflow, _ = instances.load(ctx, session, case, readonly=True)
        definition = session.get(Definition, case.definition_id)
        view["diagram_case"] = {"id": case.id, "diagram": diagram_state(workflow), "definition": {
            "process_id": definition.process_id, "version": definition.version,
            "name": named(definition.name, definition.name_en)}}
        view["history"] = _history(ctx, session, bundle, case.id)
        today = view["today"] = ctx.today(session)
        view["deadline_fields"] = sorted(bundle.field_timers())  # dates that set a deadline: after today
        view["suggested"] = finding_suggestions(view["form"], case.finding)
        view["due_date"] = date.fromisoformat(view["due"]) if view["due"] else None
        view["days_left"] = (view["due_date"] - today).days if view["due_date"] else None
        view["urgency"] = urgency(view["due_date"], today)
        view["case"]["days_left"] = (case.deadline - today).days if case.deadline else None
        view["case"]["urgency"] = urgency(case.deadline, today)
        try:
            may_work_task(actor, view["department"], case.enterprise_code)
            view["may_work"] = True
        except (PermissionDenied, NotFound):
            view["may_work"] = False
        return view


def _task_spec(bundle: SpecBundle, key: str) -> Any:
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        if key in spec.task_specs:
            return spec.task_specs[key]
    return None


def legal_basis(bundle: SpecBundle, key: str) -> str:
    """The documentation of the BPMN element ``key`` (its legal basis), or ``""``."""
    spec = _task_spec(bundle, key)
    return (getattr(spec, "documentation", None) or "").strip() if spec is not None else ""


_BASIS_HEAD = re.compile(r"依据\s*([^：:\s]+)\s*[：:]\s*")


def legal_basis_en(text: str) -> str:
    """A legal basis as English pages show it: its head "依据C-3.7：" as "Under C-3.7: ", the quoted wording left as the
    law reads (Chinese); a text of another shape as it is."""
    head = _BASIS_HEAD.match(text)
    return f"Under {head.group(1)}: {text[head.end():].removesuffix('。')}" if head else text


def _dimension_clause(dimension: str, lang: str = "zh") -> str:
    found = DIMENSIONS.get(dimension)
    if found is None:
        return ""
    return f"Under {found.clause} ({found.name_en})" if lang == "en" else f"依据{found.clause}（{found.name_zh}）"


def _event_step(detail: dict[str, Any], spec: Any, key: str | None) -> StepName:
    """The name of the step an audit event concerns: as the event recorded it, else as the case's definition
    names it, else its key."""
    if detail.get("name"):
        return named(detail["name"], detail.get("name_en"))
    if spec is not None and spec.bpmn_name:
        return step_name(spec)
    return named(key or "")


def _history(ctx: EngineContext, session: Session, bundle: SpecBundle, case_id: int) -> list[dict[str, Any]]:
    """The case's audit events, each with the name of the step it concerns and the form that step used."""
    out, form_files = [], []
    for event in session.scalars(sa.select(AuditEvent).where(AuditEvent.case_id == case_id)
                                 .order_by(AuditEvent.id)):
        detail = json.loads(event.detail or "{}")
        key = detail.get("key") or detail.get("timer")
        spec = _task_spec(bundle, key) if key else None
        form_file = getattr(spec, "extensions", {}).get("properties", {}).get("formJsonSchemaFilename") if spec else None
        form_files.append(form_file if detail.get("data") else None)
        out.append({"at": event.at, "actor": event.actor, "action": event.action, "detail": detail,
                    "step": _event_step(detail, spec, key), "form": None})
    found = forms.current_many(session, filter(None, form_files))  # one query for every form the history shows
    for row, form_file in zip(out, form_files, strict=True):
        row["form"] = found[form_file].schema if form_file in found else None
    return out
