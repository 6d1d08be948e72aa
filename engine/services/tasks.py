"""Tasks: the inbox (read from the index, no case is deserialized), one task with its form, and completion.

``complete_task`` is one unit of work: check the actor and the task's state, validate
the form data (JSON Schema, dates of what has happened not after today, the statutory
rules: an extension at most once and for at most 3 months, a department's date not in the
past; every problem found in one refusal, before anything is written), set deadlines the step
decides, run the workflow, save the case and its index, audit, commit. A lost race
on the case's version raises ``Conflict`` (409) and changes nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import jsonschema
import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import form_rules, runner
from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.deadlines import deadline_on, extend
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem
from engine.form_english import ENGLISH, english_name
from engine.models import AuditEvent, Case, ClockState, Enterprise, OpenTask
from engine.permissions import may_read_case, may_work_task
from engine.schema_messages import reason_en, reason_zh
from engine.services import announcements, annual, audit, forms, instances

MAX_EXTENSION_MONTHS = form_rules.MAX_EXTENSION_MONTHS  # the law's cap; the form editor cannot raise it either


def task_view(task: OpenTask) -> dict[str, Any]:
    """The contract's task summary, plus who holds it and the step's English name (None when it has none)."""
    return {"id": task.id, "case_id": task.case_id, "key": task.key, "name": task.name, "name_en": task.name_en,
            "department": task.department, "due": task.due.isoformat() if task.due else None,
            "claimed_by": task.claimed_by}


def scope_to_actor(query: sa.Select, actor: Actor, *, cases_joined: bool = False) -> sa.Select | None:
    """Restrict an ``open_tasks`` query to the tasks the actor sees (staff: own department; enterprise: own
    cases' enterprise tasks; supervisors and admins: all); None for roles without a task list."""
    if actor.role == "staff":
        return query.where(OpenTask.department == actor.department)
    if actor.role == "enterprise":
        if not cases_joined:
            query = query.join(Case, Case.id == OpenTask.case_id)
        return query.where(Case.enterprise_code == actor.enterprise_code, OpenTask.department == "enterprise")
    if actor.role in ("supervisor", "admin"):
        return query
    return None


def visible_tasks_query(actor: Actor) -> sa.Select:
    """Open tasks the actor works, soonest due first (an empty query for roles without a task list)."""
    query = sa.select(OpenTask).order_by(OpenTask.due.is_(None), OpenTask.due, OpenTask.created_at)
    scoped = scope_to_actor(query, actor)
    return scoped if scoped is not None else query.where(sa.false())


def list_tasks(ctx: EngineContext, actor: Actor, limit: int = 500) -> list[dict[str, Any]]:
    """The actor's open tasks, soonest due first."""
    with ctx.unit_of_work() as session:
        return [task_view(t) for t in session.scalars(visible_tasks_query(actor).limit(limit))]


def _open_task(session: Session, actor: Actor, task_id: str) -> tuple[OpenTask, Case]:
    """The open task and its case, read in one query; Conflict or NotFound when it is not open."""
    task, case = _open_task_row(session, actor, task_id, _TASK_AND_CASE)
    return task, case


def _open_task_with_form(session: Session, actor: Actor, task_id: str
                         ) -> tuple[OpenTask, Case, tuple[Enterprise | None, ClockState | None],
                                    forms.FormSchema | None]:
    """The open task, its case, the case's enterprise and the newest version of its form, read in one query
    with the simulated clock's row.

    While the caller holds the enterprise and the clock row, the session finds them by their keys without
    asking the database again (the identity map keeps only objects someone refers to): the case view a
    completion answers with needs the enterprise, and the simulated clock reads its row.
    """
    task, case, enterprise, clock_row, *newest = _open_task_row(session, actor, task_id, _TASK_CASE_AND_FORM)
    return (task, case, (enterprise, clock_row),
            forms.compiled(session, task.form, *newest) if task.form else None)


def _task_and_case(*extra: Any) -> sa.Select:
    return sa.select(OpenTask, Case, *extra).join(Case, Case.id == OpenTask.case_id).where(
        OpenTask.id == sa.bindparam("task_id"))


# Built once: constructing these costs more than running them.
_TASK_AND_CASE = _task_and_case()
_TASK_CASE_AND_FORM = (_task_and_case(Enterprise, ClockState, *forms.newest_of(OpenTask.form))
                       .outerjoin(Enterprise, Enterprise.credit_code == Case.enterprise_code)
                       .outerjoin(ClockState, ClockState.id == 1))


def _open_task_row(session: Session, actor: Actor, task_id: str, statement: sa.Select) -> sa.Row:
    found = session.execute(statement, {"task_id": task_id}).first()
    if found is None:
        done = session.scalar(sa.select(AuditEvent.case_id).where(AuditEvent.task_id == task_id,
                                                                  AuditEvent.action == "task_completed"))
        if done is not None:
            case = session.get(Case, done)
            may_read_case(actor, case.enterprise_code)
            raise Conflict("该任务已办结，不能再次提交", "this task is no longer open: it was already completed")
        if _cancelled_by_deadline(session, task_id):
            raise Conflict("法定期限已届满，该任务已转入逾期处理", "the legal deadline has passed: this task was closed "
                           "and the case moved on to the overdue procedure")
        raise NotFound("任务不存在", "no such task")
    may_read_case(actor, found[1].enterprise_code)
    return found


def _cancelled_by_deadline(session: Session, task_id: str) -> bool:
    """Whether the task was open when a deadline timer closed it (recorded on the timer's audit event)."""
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "timer_fired", AuditEvent.detail.contains(task_id))) > 0


def get_task(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """One open task with its form (JSON Schema) and the case data it shows."""
    with ctx.unit_of_work() as session:
        task, case, _held, form = _open_task_with_form(session, actor, task_id)
        view = task_view(task)
        workflow, _ = instances.load(ctx, session, case, readonly=True)
        view["form"] = statutory_form(workflow, task.key, form.schema) if form else None
        spiff_task = runner.find_task(workflow, task_id)
        view["data"] = dict(spiff_task.data) if spiff_task else {}
        view["deadline"] = case.deadline.isoformat() if case.deadline else None
        view["deadline_rule"] = case.deadline_rule
        return view


def validate_form(validator: jsonschema.protocols.Validator, data: dict[str, Any]) -> list[Problem]:
    """JSON Schema errors, each naming its field, in Chinese and English (by its title in each language)."""
    schema = validator.schema
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = ".".join(filter(None, [path, missing]))
            prop = schema.get("properties", {}).get(missing, {})
            problems.append(Problem(f"「{prop.get('title', missing)}」为必填项",
                                    f"{english_name(prop, missing)} is required", field=path))
            continue
        if error.validator == "additionalProperties":
            known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            extra = sorted(map(str, set(error.instance) - set(known))) if isinstance(error.instance, dict) else []
            problems.append(Problem(f"表单不含此字段：{'、'.join(extra) or error.message}",
                                    f"the form has no field {', '.join(extra)}" if extra else error.message,
                                    field=path or None))
            continue
        prop = schema.get("properties", {}).get(path, {}) if path else {}
        title = prop.get("title", path)
        problems.append(Problem(f"「{title}」填写有误：{reason_zh(error)}",
                                f"{english_name(prop, path) or 'form'}: {reason_en(error)}", field=path or None))
    return problems


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def dates_out_of_range(schema: dict[str, Any], data: dict[str, Any], today: date,
                       earliest: date | None = None) -> list[Problem]:
    """Fields marked ``x-notAfterToday`` (the date of something that has happened in the case) whose date is after
    today or before ``earliest`` (the case's notice date), each naming its field; a value that is no date is left
    to the schema's format check."""
    problems = []
    for name, prop in (schema.get("properties") or {}).items():
        value = data.get(name)
        if not isinstance(prop, dict) or prop.get(form_rules.NOT_AFTER_TODAY) is not True \
                or not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            continue
        if day > today:
            problems.append(Problem(f"「{prop.get('title', name)}」不能晚于今天（{today}），填写的是 {day}",
                                    f"{english_name(prop, name)} cannot be after today ({today}): got {day}",
                                    field=name))
        elif earliest is not None and day < earliest:
            problems.append(Problem(f"「{prop.get('title', name)}」不能早于本案的通知日期（{earliest}），填写的是 {day}",
                                    f"{english_name(prop, name)} cannot be before the case's notice date "
                                    f"({earliest}): got {day}", field=name))
    return problems


EXTENSION_FIELDS = ("extension_months", "reason")
# The rectification form's description when it offers no extension, by whether the case had its one request.
NO_EXTENSION_ZH = {True: "企业报告整改情况。本案已申请过一次延期，依法不能再次申请。",
                   False: "企业报告整改情况。本类案件依法不适用延期。"}
NO_EXTENSION_EN = {True: "The enterprise reports on its rectification. This case has already had its one extension "
                         "request; the law allows no second one.",
                   False: "The enterprise reports on its rectification. The law allows no extension in this kind of "
                          "case."}


def statutory_form(workflow: Any, key: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The form as the law leaves it to this case: a rectification with no extension request to offer (the case
    had its one, or its procedure allows none) does not offer one. ``statutory_problems`` refuses it anyway."""
    outcome = schema.get("properties", {}).get("outcome", {})
    if key != "rectify" or "extension_requested" not in outcome.get("enum", []):
        return schema
    if "review_extension" in workflow.spec.task_specs and not workflow.data.get("extension_requested"):
        return schema
    narrowed = copy.deepcopy(schema)
    narrowed["properties"]["outcome"]["enum"] = [v for v in outcome["enum"] if v != "extension_requested"]
    for name in EXTENSION_FIELDS:
        narrowed["properties"].pop(name, None)
    narrowed.pop("if", None)
    narrowed.pop("then", None)
    had_one = bool(workflow.data.get("extension_requested"))
    narrowed["description"] = NO_EXTENSION_ZH[had_one]
    narrowed[ENGLISH] = {**narrowed.get(ENGLISH, {}), "description": NO_EXTENSION_EN[had_one]}  # published: a dict
    return narrowed


def statutory_problems(workflow: Any, task: OpenTask, data: dict[str, Any]) -> list[Problem]:
    """An extension may be requested once, for 1 to 3 months (DOMAIN.md, C-2.1/C-2.2)."""
    if task.key != "rectify" or data.get("outcome") != "extension_requested":
        return []
    if "review_extension" not in workflow.spec.task_specs:
        return [Problem("该类别的整改期限不能申请延期（仅能耗、环保类可申请一次不超过3个月的延期）",
                        "no extension in this procedure (only energy use and environmental cases allow one of up to "
                        "3 months)", field="outcome")]
    if workflow.data.get("extension_requested"):
        return [Problem("本案已申请过一次延期，依法不能再次申请", "this case already had its one extension request",
                        field="outcome")]
    months = data.get("extension_months")
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= MAX_EXTENSION_MONTHS:
        return [Problem(f"延期月数应为 1 到 {MAX_EXTENSION_MONTHS} 的整数（收到 {months!r}）",
                        f"extension_months must be a whole number from 1 to {MAX_EXTENSION_MONTHS} (got {months!r})",
                        field="extension_months")]
    return []


def _entered_deadlines(bundle: Any, data: dict[str, Any]) -> list[tuple[str, date, dict[str, str]]]:
    """(field, day, timer properties) of the dates this step enters for a timer's field rule; a value that is no
    date is left to the schema's format check."""
    found = []
    for field_name, props in bundle.field_timers().items():
        value = data.get(field_name)
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                found.append((field_name, date.fromisoformat(value), props))
            except ValueError:
                continue
    return found


def past_deadline_problems(bundle: Any, data: dict[str, Any], today: date,
                           schema: dict[str, Any] | None = None) -> list[Problem]:
    """A deadline a department enters (a timer's field rule) must leave a period: it falls after today (a period
    starts the day after it is set, Civil Code art. 201); each problem names the field by its title in the form's
    ``schema`` (in both languages) when it has one."""
    props = (schema or {}).get("properties") or {}
    return [Problem(f"「{props.get(field_name, {}).get('title', field_name)}」{day} 应晚于今天 {today}：期限自次日起算，"
                    "不能是今天或已过去的日期",
                    f"{english_name(props.get(field_name, {}), field_name)} {day} must fall after today {today}: a "
                    "period runs from the next day, so it cannot end today or in the past", field=field_name)
            for field_name, day, _props in _entered_deadlines(bundle, data) if day <= today]


def _deadline_data(ctx: EngineContext, session: Session, workflow: Any, bundle: Any, task: OpenTask,
                   data: dict[str, Any]) -> dict[str, Any]:
    """Deadlines this step sets: a granted extension, or a date entered for a timer's field rule (checked before by
    ``past_deadline_problems``)."""
    if task.key == "rectify" and data.get("outcome") == "extension_requested":
        workflow.data["extension_requested"] = True
        workflow.data["extension_months"] = data["extension_months"]
    if task.key == "review_extension" and data.get("approved") is True:
        current = instances.current_deadline(workflow)
        if current is not None:
            extended = extend(current, int(workflow.data.get("extension_months", 0)), ctx.calendar(session))
            workflow.data["extension_granted"] = True
            return instances.remember_deadline(workflow, extended)
    for _field_name, day, props in _entered_deadlines(bundle, data)[:1]:
        clause = props.get("clause", "")
        source, source_en = f"{task.name}（{clause}）", f"{task.name_en or task.name} ({clause})"
        return instances.remember_deadline(workflow, deadline_on(day, ctx.calendar(session), source=source,
                                                                 source_en=source_en))
    return {}


def form_problems(form: forms.FormSchema | None, workflow: Any, bundle: Any, task: OpenTask, data: dict[str, Any],
                  today: date, notice_date: date | None = None) -> list[Problem]:
    """Everything wrong with a submission that can be seen without running the step, in one list: the schema,
    dates of what happened after today or before the notice, the statutory rules and a department's deadline
    that leaves no period (a field the schema already refused is not named twice)."""
    problems = ([*validate_form(form.validator, data), *dates_out_of_range(form.schema, data, today, notice_date)]
                if form else [])
    named = {p.field for p in problems}
    return problems + [p for p in [*statutory_problems(workflow, task, data),
                                   *past_deadline_problems(bundle, data, today, form.schema if form else None)]
                              if p.field not in named]


class _DeadlinePassed(Exception):
    """Internal: a deadline of the case passed before this completion; fire it first."""


def complete_task(ctx: EngineContext, actor: Actor, task_id: str, data: dict[str, Any], *,
                  answer: Callable[[Session, Case], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Complete an open task with form data; returns the case's id, status, version and open tasks, or
    what ``answer`` makes of the case in the same transaction (the API's case view).

    A deadline of the case that passed before this completion (the sweep had not run yet)
    fires first, in its own transaction, and the completion is refused with Conflict: the
    law's clock wins whatever the sweep interval.
    """
    if not isinstance(data, dict):
        raise InvalidInput("表单数据应为对象", "form data must be a JSON object")
    try:
        return _complete(ctx, actor, task_id, data, answer)
    except _DeadlinePassed as passed:
        from engine.services.timers import fire_case_timers

        case_id, now = passed.args
        fire_case_timers(ctx, case_id, now)
        raise Conflict("法定期限已届满，该任务已转入逾期处理", "the legal deadline has passed: this task was "
                       "closed and the case moved on to the overdue procedure") from None


def _complete(ctx: EngineContext, actor: Actor, task_id: str, data: dict[str, Any],
              answer: Callable[[Session, Case], dict[str, Any]] | None) -> dict[str, Any]:
    with ctx.unit_of_work() as session:
        task, case, held, form = _open_task_with_form(session, actor, task_id)  # held for the clock and the answer
        may_work_task(actor, task.department, case.enterprise_code)
        if task.claimed_by not in (None, actor.username):
            raise Conflict(f"该任务已由 {task.claimed_by} 认领办理", f"{task.claimed_by} holds this task")
        now = ctx.now(session)
        today = now.astimezone(SHANGHAI).date()
        workflow, bundle = instances.load(ctx, session, case)
        problems = form_problems(form, workflow, bundle, task, data, today, case.notice_date)
        if problems:  # before anything is written; the checks only read the workflow
            instances.put_back(ctx, case, (workflow, bundle))
            raise InvalidInput("表单填写有误", "the form has errors", problems)
        if runner.has_due_timer(workflow, now):
            raise _DeadlinePassed(case.id, now)
        spiff_task = runner.find_task(workflow, task_id)
        if spiff_task is None or spiff_task.state != TaskState.READY or not spiff_task.task_spec.manual:
            raise Conflict("该任务已不在办理状态", "this task is no longer open")
        _take_task(session, actor, task_id)
        extra = _deadline_data(ctx, session, workflow, bundle, task, data)
        fired = runner.complete(workflow, spiff_task, {**data, **extra}, now)
        expired = instances.expired_deadline(workflow) if fired else {}  # the period the fired timer closed
        position = instances.save(session, case, workflow, bundle, now, overdue=bool(fired))
        if answer is not None:  # the answer shows the history: read it now, and the chain's end with it
            audit.read_chain(session, case.id)
        instances.audit(session, case.id, now, actor.username, "task_completed", task_id=task_id,
                        key=task.key, name=task.name, name_en=task.name_en, department=task.department, data=data,
                        form_version=form.version if form else None)
        announcements.on_task_completed(session, case, task.key, data, workflow, now, actor)
        annual.on_task_completed(session, case, task, data, workflow, now, actor)
        for timer_key in fired:
            instances.audit(session, case.id, now, "system", "timer_fired", timer=timer_key, **expired)
        if case.status.value != "open":
            instances.audit(session, case.id, now, "system", f"case_{case.status.value}")
        session.flush()
        if answer is not None:
            return answer(session, case)
        return {"case_id": case.id, "status": case.status.value, "version": case.version,
                "open_tasks": [{"id": t.id, "key": t.key, "name": t.name, "name_en": t.name_en}
                               for t in position.open_tasks]}


# The completed task's index row goes first, and only while no one else holds it: a claim written meanwhile
# (on PostgreSQL the DELETE waits for it, then sees it) is never silently overridden. The save finds it gone.
_TAKE_TASK = sa.delete(OpenTask).where(
    OpenTask.id == sa.bindparam("task_id"),
    sa.or_(OpenTask.claimed_by.is_(None), OpenTask.claimed_by == sa.bindparam("actor")))


def _take_task(session: Session, actor: Actor, task_id: str) -> None:
    """Remove the task's index row for its completion; Conflict if it was claimed or completed meanwhile."""
    if session.connection().execute(_TAKE_TASK, {"task_id": task_id, "actor": actor.username}).rowcount != 1:
        _refuse_taken(session, task_id)


def _refuse_taken(session: Session, task_id: str) -> None:
    """Conflict naming who holds the task now, or saying it is no longer open."""
    row = session.execute(sa.select(OpenTask.claimed_by).where(OpenTask.id == task_id)).first()
    if row is None:
        raise Conflict("该任务已不在办理状态", "this task is no longer open")
    raise Conflict(f"该任务已由 {row.claimed_by} 认领办理", f"{row.claimed_by} holds this task")


def claim_task(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """Take a task so colleagues see it is being worked; Conflict if someone else holds it."""
    with ctx.unit_of_work() as session:
        task, case = _open_task(session, actor, task_id)
        may_work_task(actor, task.department, case.enterprise_code)
        if task.claimed_by not in (None, actor.username):
            raise Conflict(f"该任务已由 {task.claimed_by} 认领", f"{task.claimed_by} already holds this task")
        now, held = ctx.now(session), task.claimed_by
        claimed = session.execute(
            sa.update(OpenTask).where(OpenTask.id == task_id, OpenTask.claimed_by.is_(None))
            .values(claimed_by=actor.username, claimed_at=now)
        ).rowcount
        if claimed:
            instances.audit(session, case.id, now, actor.username, "task_claimed", task_id=task_id, key=task.key)
        elif held is None:  # read unclaimed, but claimed or completed before the UPDATE
            _refuse_taken(session, task_id)
        session.refresh(task)
        return task_view(task)


def release_task(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """Give a task back to the department's pool (its holder, or a supervisor/admin)."""
    with ctx.unit_of_work() as session:
        task, case = _open_task(session, actor, task_id)
        if task.claimed_by is None:
            return task_view(task)
        if task.claimed_by != actor.username and actor.role not in ("supervisor", "admin"):
            raise PermissionDenied("只能释放自己认领的任务", "you can release only tasks you hold")
        now = ctx.now(session)
        holder = task.claimed_by
        task.claimed_by, task.claimed_at = None, None
        instances.audit(session, case.id, now, actor.username, "task_released", task_id=task_id, key=task.key,
                        holder=holder)
        return task_view(task)
