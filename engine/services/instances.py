"""Loading and saving a case's workflow, and rebuilding its index rows, inside the caller's transaction."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy.orm import Session

from engine import runner, store
from engine.context import EngineContext
from engine.deadlines import Deadline
from engine.definitions import SpecBundle
from engine.models import AuditEvent, Case, CaseStatus, OpenTask, WaitingTimer
from engine.services.deployments import bundle_for_case


def load(ctx: EngineContext, session: Session, case: Case) -> tuple[BpmnWorkflow, SpecBundle]:
    """The case's workflow on its cached spec bundle."""
    bundle = bundle_for_case(ctx, session, case)
    return store.loads(case.state, bundle), bundle


def remember_deadline(workflow: BpmnWorkflow, deadline: Deadline) -> dict[str, Any]:
    """Record the newest computed deadline on the instance; returns the task data that arms timers."""
    workflow.data["deadline"] = {
        "last_day": deadline.last_day.isoformat(), "rule": deadline.rule, "rule_en": deadline.rule_en,
        "due_at": deadline.timer_value,
    }
    return {"deadline_at": deadline.timer_value, "deadline_last_day": deadline.last_day.isoformat()}


def current_deadline(workflow: BpmnWorkflow) -> Deadline | None:
    """The newest computed deadline recorded on the instance."""
    raw = workflow.data.get("deadline")
    if not raw:
        return None
    return Deadline(date.fromisoformat(raw["last_day"]), datetime.fromisoformat(raw["due_at"]), raw["rule"],
                    raw["rule_en"])


def save(session: Session, case: Case, workflow: BpmnWorkflow, bundle: SpecBundle, now: datetime) -> runner.Position:
    """Write the instance, status, deadline and index rows of a case (no commit)."""
    pos = runner.position(workflow, bundle)
    case.state = store.dumps(workflow)
    case.serializer_version = store.SERIALIZER_VERSION
    case.updated_at = now
    deadline = current_deadline(workflow)
    if pos.timers and deadline is not None:
        case.deadline, case.deadline_rule, case.deadline_rule_en = deadline.last_day, deadline.rule, deadline.rule_en
    else:
        case.deadline = case.deadline_rule = case.deadline_rule_en = None
    if pos.finished:
        case.status = CaseStatus(pos.end_status or CaseStatus.EXITED.value)
        case.closed_at = now
    claims: dict[str, tuple] = {}
    if case.id is None:
        session.add(case)
        session.flush()
    else:
        claims = {row[0]: (row[1], row[2]) for row in session.execute(
            sa.select(OpenTask.id, OpenTask.claimed_by, OpenTask.claimed_at)
            .where(OpenTask.case_id == case.id, OpenTask.claimed_by.is_not(None)))}
        session.execute(sa.delete(OpenTask).where(OpenTask.case_id == case.id))
        session.execute(sa.delete(WaitingTimer).where(WaitingTimer.case_id == case.id))
    tasks = [
        {"id": t.id, "case_id": case.id, "key": t.key, "name": t.name, "form": t.form, "due": t.due,
         "department": case.lead_department if t.lane_department == "lead" else t.lane_department, "created_at": now,
         "claimed_by": claims.get(t.id, (None, None))[0], "claimed_at": claims.get(t.id, (None, None))[1]}
        for t in pos.open_tasks
    ]
    if tasks:
        session.execute(sa.insert(OpenTask), tasks)
    timers = [{"id": t.id, "case_id": case.id, "task_key": t.key, "due_at": t.due_at} for t in pos.timers]
    if timers:
        session.execute(sa.insert(WaitingTimer), timers)
    return pos


def audit(session: Session, case_id: int | None, at: datetime, actor: str, action: str, *,
          task_id: str | None = None, **detail: Any) -> None:
    """Append one audit event in the caller's transaction."""
    session.add(AuditEvent(case_id=case_id, at=at, actor=actor, action=action, task_id=task_id,
                           detail=json.dumps(detail, ensure_ascii=False, default=str)))
