"""The case page's read model: one case with its deadline, tasks, history, documents and diagram position.

Who may call: anyone who may read the case (``may_read_case``: enterprise users only
their own enterprise's cases, answered with ``NotFound`` otherwise). Read only: nothing
is written. The diagram position is read from the stored workflow instance of the
top-level process; a call activity (``closure``) counts as current while its
subprocess runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.definitions import SpecBundle
from engine.errors import CapexitError, NotFound
from engine.models import Case, CaseStatus, Definition
from engine.permissions import may_read_case, may_work_task
from engine.services import attachments, audit, forms, instances
from engine.step_names import StepName, english_name, named, step_name

CURRENT_STATES = TaskState.READY | TaskState.STARTED | TaskState.WAITING


@dataclass
class Step:
    """One BPMN element the instance has passed or stands on."""

    id: str
    name: str
    kind: str  # task, timer, subprocess, event, gateway
    times: int = 1
    name_en: str | None = None


@dataclass
class DiagramState:
    """Completed and current elements of the top-level process; current steps inside a running subprocess."""

    completed: list[Step] = field(default_factory=list)
    current: list[Step] = field(default_factory=list)
    sub_current: list[Step] = field(default_factory=list)

    @property
    def completed_ids(self) -> list[str]:
        """Ids of completed elements that are not current again."""
        now = set(self.current_ids)
        return [s.id for s in self.completed if s.id not in now]

    @property
    def current_ids(self) -> list[str]:
        """Ids of the elements the instance stands on."""
        return [s.id for s in self.current]


def _kind(task: Task) -> str:
    spec = task.task_spec
    if isinstance(getattr(spec, "event_definition", None), TimerEventDefinition):
        return "timer"
    name = type(spec).__name__
    if getattr(spec, "manual", False):
        return "task"
    if name in ("CallActivity", "SubWorkflowTask", "TransactionSubprocess"):
        return "subprocess"
    if "Gateway" in name:
        return "gateway"
    return "event" if "Event" in name else "task"


def _step(task: Task) -> Step:
    spec = task.task_spec
    named = spec if spec.bpmn_name else _named_like(task)
    return Step(spec.bpmn_id, named.bpmn_name or spec.bpmn_id, _kind(task), name_en=english_name(named))


def _named_like(task: Task) -> Any:
    """The named spec of the task's BPMN element: a multi-instance task's own spec has no name, its instances' has."""
    spec = task.task_spec
    return next((s for s in task.workflow.spec.task_specs.values() if s.bpmn_id == spec.bpmn_id and s.bpmn_name),
                spec)


def diagram_state(workflow: BpmnWorkflow) -> DiagramState:
    """Where the instance stands: completed elements in the order first done, and current ones."""
    state = DiagramState()
    completed: dict[str, Step] = {}
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]
    for task in sorted(done, key=lambda t: t.last_state_change):
        if task.workflow is not workflow:
            continue
        if task.task_spec.bpmn_id in completed:
            completed[task.task_spec.bpmn_id].times += 1
        else:
            completed[task.task_spec.bpmn_id] = _step(task)
    state.completed = list(completed.values())
    seen: set[str] = set()
    for task in workflow.get_tasks(state=CURRENT_STATES):
        if not task.task_spec.bpmn_id or task.task_spec.bpmn_id in seen:
            continue
        if task.workflow is workflow:
            seen.add(task.task_spec.bpmn_id)
            state.current.append(_step(task))
        elif task.state == TaskState.READY and task.task_spec.manual:
            state.sub_current.append(_step(task))
    return state


def element_names(bundle: SpecBundle) -> dict[str, StepName]:
    """The names (with their English names) of the named BPMN elements of a case's processes, by id."""
    names: dict[str, StepName] = {}
    for spec in [bundle.spec, *bundle.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if task_spec.bpmn_id and task_spec.bpmn_name:
                names.setdefault(task_spec.bpmn_id, step_name(task_spec))
    return names


def _task_forms(session: Session, bundle: SpecBundle) -> dict[str, dict[str, Any]]:
    """Per task key, the JSON Schema of its form (the web layer labels submitted data with it)."""
    keys: dict[str, str] = {}
    for spec in [bundle.spec, *bundle.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            form = getattr(task_spec, "extensions", {}).get("properties", {}).get("formJsonSchemaFilename")
            if form and task_spec.bpmn_id not in keys:
                keys[task_spec.bpmn_id] = form
    found = forms.current_many(session, keys.values())
    return {task: found[form].schema for task, form in keys.items() if form in found}


def _history(case_view: dict[str, Any], task_forms: dict[str, dict[str, Any]]) -> list[dict]:
    """The case's events, each with the schema of the form its data was submitted on (None when it has none)."""
    out = []
    for event in case_view["history"]:
        detail = event["detail"]
        form = task_forms.get(detail.get("key", "")) if event["action"] == "task_completed" else None
        out.append({"at": datetime.fromisoformat(event["at"]).astimezone(SHANGHAI), "actor": event["actor"],
                    "action": event["action"], "detail": detail, "form": form})
    return out


def _may_work(actor: Actor, task: dict[str, Any], enterprise_code: str) -> bool:
    try:
        may_work_task(actor, task["department"], enterprise_code)
    except CapexitError:
        return False
    return True


def _load_case(session: Session, actor: Actor, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在", "no such case")
    may_read_case(actor, case.enterprise_code)
    return case


def case_detail(ctx: EngineContext, actor: Actor, case_id: int) -> dict[str, Any]:
    """Everything the case page shows: the contract view plus days left, documents and diagram position.

    An open overdue case with no running period gets ``expired_deadline`` (last day and rule of the period that ran
    out, as its ``timer_fired`` event recorded them) and ``days_left`` counted from that last day (negative)."""
    from engine.services.cases import case_view

    with ctx.unit_of_work() as session:
        case = _load_case(session, actor, case_id)
        view = case_view(session, case)
        workflow, bundle = instances.load(ctx, session, case, readonly=True)
        definition = session.get(Definition, case.definition_id)
        today = ctx.today(session)
        view["days_left"] = (case.deadline - today).days if case.deadline else None
        view["late"] = case.overdue or case.period_ran_out(today)  # as the board, inboxes and statistics count it
        view["expired_deadline"] = None
        if view["late"] and case.deadline is None and case.status == CaseStatus.OPEN:
            ran_out = audit.expired_deadlines(session, [case.id]).get(case.id)  # as the board and case list show it
            if ran_out is not None:
                view["expired_deadline"] = asdict(ran_out)
                view["days_left"] = (date.fromisoformat(ran_out.last_day) - today).days
        view["definition"] = {"process_id": definition.process_id, "version": definition.version,
                              "name": named(definition.name, definition.name_en)}
        for task in view["open_tasks"]:
            task["may_work"] = _may_work(actor, task, case.enterprise_code)
        view["history"] = _history(view, _task_forms(session, bundle))
        _as_opened(view)
        view["attachments"] = attachments.attachment_rows(session, case.id)
        view["may_upload"] = attachments.may_attach(session, actor, case)
        view["task_choices"] = attachments.case_task_keys(session, case.id, actor)
        view["diagram"] = diagram_state(workflow)
        view["element_names"] = element_names(bundle)
        return view


def _as_opened(view: dict[str, Any]) -> None:
    """A case opened through the API with enterprise details that differ from the register follows the details it
    was given (``enterprises.register``): show those, and the registered ones beside them (``enterprise_registered``)."""
    opened = next((e["detail"] for e in view["history"] if e["action"] == "case_opened"), {})
    differs = opened.get("enterprise_differs") or {}
    if differs and view.get("enterprise"):
        view["enterprise_registered"] = dict(view["enterprise"])
        view["enterprise"] = {**view["enterprise"], **{k: d["given"] for k, d in differs.items()
                                                      if k in view["enterprise"]}}


def case_bpmn(ctx: EngineContext, actor: Actor, case_id: int) -> str:
    """The BPMN text of the definition version the case is pinned to."""
    with ctx.unit_of_work() as session:
        case = _load_case(session, actor, case_id)
        definition = session.get(Definition, case.definition_id)
        return definition.bpmn
