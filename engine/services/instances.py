"""Loading and saving a case's workflow, and rebuilding its index rows, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine import runner, store
from engine.context import EngineContext
from engine.deadlines import Basis, Deadline, basis_of_rule
from engine.definitions import SpecBundle
from engine.models import Case, CaseStatus, OpenTask, WaitingTimer
from engine.services.audit import hold_case
from engine.services.deployments import bundle_for_case


def load(ctx: EngineContext, session: Session, case: Case, *, readonly: bool = False
         ) -> tuple[BpmnWorkflow, SpecBundle]:
    """The case's workflow on its cached spec bundle.

    A unit of work that will save takes the committed instance from the workflow cache when
    it holds this version; a read-only one deserializes its own copy and leaves the cache be.
    """
    cached = ctx.workflows.take(case.id, case.version) if case.id is not None and not readonly else None
    if cached is not None:
        return cached
    bundle = bundle_for_case(ctx, session, case)
    return store.loads(case.state, bundle), bundle


def put_back(ctx: EngineContext, case: Case, loaded: tuple[BpmnWorkflow, SpecBundle]) -> None:
    """Return what ``load`` took to the workflow cache, unchanged (a refused submission): the case's next step
    need not deserialize it again."""
    ctx.workflows.put(case.id, case.version, loaded)


def remember_deadline(workflow: BpmnWorkflow, deadline: Deadline) -> dict[str, Any]:
    """Record the newest computed deadline on the instance, with its basis (so a rest-day correction can settle
    it again); returns the task data that arms timers."""
    workflow.data["deadline"] = {
        "last_day": deadline.last_day.isoformat(), "rule": deadline.rule, "rule_en": deadline.rule_en,
        "due_at": deadline.timer_value,
    }
    if deadline.basis is not None:
        workflow.data["deadline"]["basis"] = deadline.basis.as_dict()
    return {"deadline_at": deadline.timer_value, "deadline_last_day": deadline.last_day.isoformat()}


def current_deadline(workflow: BpmnWorkflow) -> Deadline | None:
    """The newest computed deadline recorded on the instance (its basis read back from the rule text when it was
    recorded without one)."""
    raw = workflow.data.get("deadline")
    if not raw:
        return None
    stored = raw.get("basis")
    basis = Basis.from_dict(stored) if stored else basis_of_rule(raw["rule"], raw["rule_en"])
    return Deadline(date.fromisoformat(raw["last_day"]), datetime.fromisoformat(raw["due_at"]), raw["rule"],
                    raw["rule_en"], basis)


def expired_deadline(workflow: BpmnWorkflow) -> dict[str, str]:
    """What a fired deadline timer's audit event records of the period that ran out: its last day and rule
    (the newest deadline recorded; only services record one, never a step the timer set off)."""
    deadline = current_deadline(workflow)
    if deadline is None:
        return {}
    return {"deadline": deadline.last_day.isoformat(), "rule": deadline.rule, "rule_en": deadline.rule_en}


def save(session: Session, case: Case, workflow: BpmnWorkflow, bundle: SpecBundle, now: datetime, *,
         overdue: bool = False) -> runner.Position:
    """Write the instance, status, deadline and index rows of a case (no commit); ``overdue`` marks it so."""
    return save_closing(session, case, workflow, bundle, now, overdue=overdue)[0]


def save_closing(session: Session, case: Case, workflow: BpmnWorkflow, bundle: SpecBundle, now: datetime, *,
                 overdue: bool = False) -> tuple[runner.Position, list[str]]:
    """``save``, also returning the ids of the open tasks this save closed (their index rows removed)."""
    pos = runner.position(workflow, bundle)
    row: dict[str, Any] = {"state": store.dumps(workflow), "serializer_version": store.SERIALIZER_VERSION,
                           "updated_at": now, "deadline": None, "deadline_rule": None, "deadline_rule_en": None}
    deadline = current_deadline(workflow)
    running = any(t.deadline_running for t in pos.open_tasks)
    if deadline is not None and running:
        pos.open_tasks = [replace(t, due=deadline.last_day) if t.deadline_running else t for t in pos.open_tasks]
    if (pos.timers or running) and deadline is not None:
        row.update(deadline=deadline.last_day, deadline_rule=deadline.rule, deadline_rule_en=deadline.rule_en)
    if pos.finished:
        row.update(status=CaseStatus(pos.end_status or CaseStatus.EXITED.value), closed_at=now)
    if overdue:
        row["overdue"] = True
    if case.id is None:
        for column, value in row.items():
            setattr(case, column, value)
        session.add(case)
        session.flush()  # assigns the id
    else:
        _write_case(session, case, row)
    hold_case(session, case.id)  # the UPDATE (or INSERT) holds the row until the transaction ends
    clocks = running_clocks(pos, deadline) if running and not pos.timers else []
    closed, open_now = _sync_index(session.connection(), case, pos, now, clocks)
    session.info.setdefault("open_tasks_written", {})[case.id] = open_now
    session.info.setdefault("committed_workflows", []).append((case.id, case.version, (workflow, bundle)))
    return pos, closed


def running_clocks(pos: runner.Position, deadline: Deadline | None) -> list[runner.TimerInfo]:
    """The legal period that runs on while an open task carries it and no timer guards it (the department's
    review of an extension request): one clock, indexed like a timer that never fires, so the board and the
    inboxes' alerts see it run out. Its id follows from the task's, so it stays while the task stays open."""
    if deadline is None:
        return []
    holder = next(t for t in pos.open_tasks if t.deadline_running)
    return [runner.TimerInfo(str(uuid5(UUID(holder.id), "running-deadline")), holder.key, deadline.due_at)]


# Every column a save may write, in one UPDATE built once, with the version check of the ORM's version_id_col.
_SAVED = ("state", "serializer_version", "updated_at", "deadline", "deadline_rule", "deadline_rule_en", "status",
          "closed_at", "overdue")
_CASES = Case.__table__
_UPDATE_CASE = (sa.update(_CASES)
                .where(_CASES.c.id == sa.bindparam("case_id"), _CASES.c.version == sa.bindparam("old_version"))
                .values(version=sa.bindparam("new_version"), **{c: sa.bindparam(f"new_{c}") for c in _SAVED}))


def _write_case(session: Session, case: Case, row: dict[str, Any]) -> None:
    """Write a saved case's row as the ORM's flush would, version check included, in the prebuilt UPDATE,
    and give the case object the written values as committed ones (nothing left for a flush to do).

    The flush's unit of work cost several times the statement. A case with changes of its own
    (a migration's new definition) goes through the ORM's flush instead.
    """
    if sa.inspect(case).modified:
        for column, value in row.items():
            setattr(case, column, value)
        session.flush()  # bumps the version and checks it
        return
    values = {c: row[c] if c in row else getattr(case, c) for c in _SAVED}
    old = case.version
    written = session.connection().execute(_UPDATE_CASE, {
        "case_id": case.id, "old_version": old, "new_version": old + 1,
        **{f"new_{c}": v for c, v in values.items()}}).rowcount
    if written != 1:
        raise StaleDataError(f"case {case.id}: version {old} was changed by someone else")
    for column, value in values.items():
        set_committed_value(case, column, value)
    set_committed_value(case, "version", old + 1)


# The index statements, built once: constructing a statement costs far more than running it here.
# One query reads the case's task rows whole (the case view shows them) and its timers' ids.
_TASK_COLUMNS = (OpenTask.id, OpenTask.key, OpenTask.name, OpenTask.name_en, OpenTask.department, OpenTask.form,
                 OpenTask.due, OpenTask.created_at, OpenTask.claimed_by, OpenTask.claimed_at)
_INDEX_ROWS = sa.union_all(
    sa.select(sa.literal("task").label("kind"), *_TASK_COLUMNS).where(OpenTask.case_id == sa.bindparam("case_id")),
    # a timer's due_at comes in the column of the tasks' created_at (both UTCDateTime)
    sa.select(sa.literal("timer").label("kind"), WaitingTimer.id, *[sa.null()] * (len(_TASK_COLUMNS) - 4),
              WaitingTimer.due_at, sa.null(), sa.null())
    .where(WaitingTimer.case_id == sa.bindparam("case_id")),
)
_MOVE_TASKS = sa.update(OpenTask).where(OpenTask.id == sa.bindparam("task_id")).values(due=sa.bindparam("new_due"))
_NAME_TASKS = (sa.update(OpenTask).where(OpenTask.id == sa.bindparam("task_id"))
               .values(name_en=sa.bindparam("new_name_en")))
_MOVE_TIMERS = (sa.update(WaitingTimer).where(WaitingTimer.id == sa.bindparam("timer_id"))
                .values(due_at=sa.bindparam("new_due_at")))
_DELETE_TASKS = sa.delete(OpenTask).where(OpenTask.id.in_(sa.bindparam("ids", expanding=True)))
_DELETE_TIMERS = sa.delete(WaitingTimer).where(WaitingTimer.id.in_(sa.bindparam("ids", expanding=True)))
_INSERT_TASKS = sa.insert(OpenTask)
_INSERT_TIMERS = sa.insert(WaitingTimer)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_written_tasks(session: Session, _transaction: Any) -> None:
    session.info.pop("open_tasks_written", None)


def written_open_tasks(session: Session, case_id: int) -> list[OpenTask] | None:
    """The case's open-task rows as this transaction's last save left them (detached copies, oldest first),
    or None when this transaction has not saved the case."""
    return session.info.get("open_tasks_written", {}).get(case_id)


def _sync_index(conn: sa.Connection, case: Case, pos: runner.Position, now: datetime,
                clocks: list[runner.TimerInfo]) -> tuple[list[str], list[OpenTask]]:
    """Make the case's open-task and timer rows match its position, touching only rows that changed;
    returns the ids of the task rows removed, and the task rows now open (oldest first).

    A task that stays open keeps its row (and so who holds it); task and timer ids are SpiffWorkflow's
    task ids, which are new whenever a step is reached again. One query reads both tables' rows. A kept row
    takes the position's ``due`` and English name when they changed (a deadline settled again; a case moved
    onto a version that names its steps in English, or rows written before the column existed).
    """
    have_tasks: dict[str, sa.Row] = {}
    have_timers: dict[str, datetime] = {}
    for row in conn.execute(_INDEX_ROWS, {"case_id": case.id}):
        if row.kind == "task":
            have_tasks[row.id] = row
        else:
            have_timers[row.id] = row.created_at  # the timer's due_at
    want_tasks = {t.id: t for t in pos.open_tasks}
    gone = sorted(have_tasks.keys() - want_tasks.keys())
    if gone:
        conn.execute(_DELETE_TASKS, {"ids": gone})
    new = [
        {"id": t.id, "case_id": case.id, "key": t.key, "name": t.name, "name_en": t.name_en, "form": t.form,
         "due": t.due, "department": case.lead_department if t.lane_department == "lead" else t.lane_department, "created_at": now}
        for tid, t in want_tasks.items() if tid not in have_tasks
    ]
    if new:
        conn.execute(_INSERT_TASKS, new)
    moved = [{"task_id": tid, "new_due": want_tasks[tid].due} for tid, row in have_tasks.items()
             if tid in want_tasks and row.due != want_tasks[tid].due]  # a deadline settled again
    if moved:
        conn.execute(_MOVE_TASKS, moved)
    named = [{"task_id": tid, "new_name_en": want_tasks[tid].name_en} for tid, row in have_tasks.items()
             if tid in want_tasks and row.name_en != want_tasks[tid].name_en]
    if named:
        conn.execute(_NAME_TASKS, named)
    kept = [OpenTask(case_id=case.id, **{c.key: row._mapping[c.key] for c in _TASK_COLUMNS
                                         if c.key not in ("due", "name_en")},
                     due=want_tasks[tid].due, name_en=want_tasks[tid].name_en)  # the position's: the row has them now
            for tid, row in have_tasks.items() if tid in want_tasks]
    open_now = sorted(kept, key=lambda t: t.created_at) + [OpenTask(**row) for row in new]
    want_timers = {t.id: (t, True) for t in pos.timers} | {t.id: (t, False) for t in clocks}
    gone_timers = have_timers.keys() - want_timers.keys()
    if gone_timers:
        conn.execute(_DELETE_TIMERS, {"ids": sorted(gone_timers)})
    new_timers = [{"id": t.id, "case_id": case.id, "task_key": t.key, "due_at": t.due_at, "fires": fires}
                  for tid, (t, fires) in want_timers.items() if tid not in have_timers]
    if new_timers:
        conn.execute(_INSERT_TIMERS, new_timers)
    moved_timers = [{"timer_id": tid, "new_due_at": t.due_at} for tid, (t, _) in want_timers.items()
                    if tid in have_timers and have_timers[tid] != t.due_at]
    if moved_timers:
        conn.execute(_MOVE_TIMERS, moved_timers)
    return gone, open_now


def audit(session: Session, case_id: int | None, at: datetime, actor: str, action: str, *,
          task_id: str | None = None, **detail: Any) -> None:
    """Append one audit event (hash-chained per case) in the caller's transaction."""
    from engine.services.audit import append

    append(session, case_id, at, actor, action, task_id=task_id, **detail)
