"""Running a workflow instance: start, complete a user task, fire due timers, and read its position.

Pure in-memory operations on ``BpmnWorkflow`` (no database). Every call pins "now"
for SpiffWorkflow's timers, runs engine steps with the safe evaluator, and reports
which timers fired, so the caller can mark the case overdue and audit it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.clock import SHANGHAI, install_timer_clock, pinned_now
from engine.definitions import SpecBundle
from engine.expressions import attach_safe_engine, make_script_engine
from engine.parties import PARTY_CODES

install_timer_clock()

_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


@dataclass(frozen=True)
class OpenUserTask:
    """A READY user task as the index stores it."""

    id: str
    key: str
    name: str
    lane_department: str
    form: str | None
    due: date | None
    deadline_running: bool = False
    name_en: str | None = None


@dataclass(frozen=True)
class TimerInfo:
    """A timer event waiting in the instance."""

    id: str
    key: str
    due_at: datetime


@dataclass
class Position:
    """Where an instance stands after a unit of work."""

    open_tasks: list[OpenUserTask] = field(default_factory=list)
    timers: list[TimerInfo] = field(default_factory=list)
    finished: bool = False
    end_status: str | None = None


def _is_timer(task: Task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def _run_steps(workflow: BpmnWorkflow, fired: list[str]) -> None:
    def before(task: Task) -> None:
        if _is_timer(task):
            task.data["overdue"] = True
            fired.append(task.task_spec.bpmn_id)

    workflow.do_engine_steps(will_complete_task=before)


def start(bundle: SpecBundle, data: dict[str, Any], now: datetime) -> BpmnWorkflow:
    """Create an instance, seed its data, and run it to its first wait."""
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=make_script_engine())
    with pinned_now(now):
        start_task = workflow.get_next_task(state=TaskState.READY)
        start_task.data.update(data)
        _run_steps(workflow, [])
    return workflow


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    """The task with this id anywhere in the instance, or None."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, TypeError):
        return None
    except Exception:  # SpiffWorkflow raises its own TaskNotFoundException
        return None


def complete(workflow: BpmnWorkflow, task: Task, data: dict[str, Any], now: datetime) -> list[str]:
    """Complete a READY user task with form data; returns the ids of timers that fired meanwhile."""
    fired: list[str] = []
    attach_safe_engine(workflow)
    with pinned_now(now):
        task.set_data(**data)
        task.run()
        _run_steps(workflow, fired)
    return fired


def fire_due_timers(workflow: BpmnWorkflow, now: datetime) -> list[str]:
    """Fire every timer due by ``now`` (see ``clock.AT_THE_INSTANT``) and run on; returns the fired timer ids."""
    fired: list[str] = []
    attach_safe_engine(workflow)
    with pinned_now(now):
        workflow.refresh_timers()
        _run_steps(workflow, fired)
    return fired


def timer_due_at(task: Task) -> datetime | None:
    """The absolute instant a waiting timer falls due, from its stored event value."""
    value = task._get_internal_data("event_value")
    if not isinstance(value, str):
        return None
    try:
        due = TimerEventDefinition.parse_time_or_duration(value)
    except Exception:
        return None
    return due.astimezone(UTC) if isinstance(due, datetime) else None


def _waiting_timers(workflow: BpmnWorkflow) -> Iterator[Task]:
    """The instance's waiting timer events, subprocesses included, in no particular order.

    Read from the task dictionaries: walking the task tree (``get_tasks``) costs about eight
    times as much, and only the open user tasks need its order.
    """
    for owner in (workflow, *workflow.subprocesses.values()):
        for task in owner.tasks.values():
            if task.state == TaskState.WAITING and _is_timer(task):
                yield task


def redate_deadline(workflow: BpmnWorkflow, old_due: datetime, new_value: str, new_last_day: str) -> int:
    """Move a running deadline: the waiting timers due at ``old_due`` and the ``deadline_at`` and
    ``deadline_last_day`` of the tasks not yet finished (a timer reached later reads them); returns how many
    timers moved. Finished tasks keep the data they finished with."""
    moved = 0
    for task in _waiting_timers(workflow):
        if timer_due_at(task) == old_due:
            task._set_internal_data(event_value=new_value)
            moved += 1
    for owner in (workflow, *workflow.subprocesses.values()):
        for task in owner.tasks.values():
            value = task.data.get("deadline_at")
            if not task.state & _FINISHED and isinstance(value, str) and _instant(value) == old_due:
                task.data.update(deadline_at=new_value, deadline_last_day=new_last_day)
    return moved


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def has_due_timer(workflow: BpmnWorkflow, now: datetime) -> bool:
    """Whether a waiting timer of the instance fell due by ``now`` (the index's ``due_at <= now``)."""
    return any((due := timer_due_at(task)) is not None and due <= now for task in _waiting_timers(workflow))


def _department(task: Task, props: dict[str, str]) -> str | None:
    """The department named in the task's data by its ``departmentFrom`` property (one per instance of a
    multi-instance task, e.g. the annual report's confirmations), if it is a known party."""
    name = props.get("departmentFrom")
    value = task.data.get(name) if name else None
    return value if isinstance(value, str) and value in PARTY_CODES else None


def _due_date(task: Task, props: dict[str, str]) -> date | None:
    """The ``dueDate`` property ("MM-DD") in the year ``report_year`` of the task's data (not a legal deadline)."""
    raw, year = props.get("dueDate"), task.data.get("report_year")
    if not raw or not isinstance(year, int):
        return None
    try:
        return date.fromisoformat(f"{year:04d}-{raw}")
    except ValueError:
        return None


def position(workflow: BpmnWorkflow, bundle: SpecBundle) -> Position:
    """Open user tasks, waiting timers and end state of an instance."""
    out = Position()
    due_by_parent: dict[UUID, date] = {}  # a task with timers on its boundary is due the day before the first
    for task in _waiting_timers(workflow):
        due = timer_due_at(task)
        if due is None:
            continue
        out.timers.append(TimerInfo(str(task.id), task.task_spec.bpmn_id, due))
        day = (due.astimezone(SHANGHAI) - timedelta(days=1)).date()
        due_by_parent[task.parent.id] = min(day, due_by_parent.get(task.parent.id, day))
    # BpmnWorkflow.get_tasks walks the subprocesses too: each task is seen once, in the tree's order.
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        props = getattr(spec, "extensions", {}).get("properties", {})
        out.open_tasks.append(OpenUserTask(
            id=str(task.id),
            key=spec.bpmn_id,
            name=spec.bpmn_name or spec.bpmn_id,
            lane_department=_department(task, props) or bundle.lanes.get((task.workflow.spec.name, spec.bpmn_id), ""),
            form=props.get("formJsonSchemaFilename"),
            due=_due_date(task, props) or (due_by_parent.get(task.parent.id) if task.parent else None),
            deadline_running=props.get("deadlineRunning") == "true",
            name_en=props.get("nameEn") or None,
        ))
    out.finished = workflow.is_completed()
    if out.finished:
        for task in workflow.get_tasks(state=TaskState.COMPLETED):
            if isinstance(task.task_spec, EndEvent):
                status = getattr(task.task_spec, "extensions", {}).get("properties", {}).get("caseStatus")
                if status:
                    out.end_status = status
    return out
