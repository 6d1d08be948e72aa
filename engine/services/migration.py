"""Migrating a running case onto a newer version of its process.

A case may move when every step it has completed or stands on (the BPMN elements of its
COMPLETED, READY, WAITING and STARTED tasks, inside a running called process too) exists
unchanged in the new version: same id, type, lane department, form, and nothing else
changed by ``versions.diff_definitions`` but its English name (``nameEn``, a label that
changes nothing in how the step runs: a case may move onto a version that adds or corrects
it, and its open tasks take the new name). Every refusal names the element.

How: the stored instance refers to task specs by name (the BPMN element id), so it is
restored onto the new version's spec bundle (the new main definition with the newest
versions of the processes it calls). Predicted or cancelled tasks whose element the new
version no longer has are dropped first and their parents predicted again; a definite
task whose element is gone refuses the migration. After restoring we check that every
definite task still follows its parent in the new spec, that the READY and WAITING tasks
are the same elements, and that ``runner.position`` reads the instance; then the case is
repinned, saved through ``instances.save`` (index rebuilt) and audited as
``case_migrated``, all in one transaction.

SpiffWorkflow's own ``bpmn.util.diff`` (``SpecDiff``, ``WorkflowDiff``,
``migrate_workflow``) was considered: it aligns renamed elements by structure (we
require the same id) and ``migrate_workflow`` resets every READY and WAITING branch,
which re-runs their timers from "now" (a running legal deadline must not restart) and
re-inherits task data, so it is not used.

Who may call: ``migrate_case`` needs a process owner or an administrator;
``can_migrate`` and ``migration_candidates`` are reads (``candidates`` for readers of
versions). Errors: ``PermissionDenied`` (403), ``NotFound`` (404), ``InvalidInput`` with
one problem per reason (400), ``Conflict`` (409) when the case changed meanwhile or
already runs on the target versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import runner, store
from engine.context import Actor, EngineContext
from engine.definitions import SpecBundle
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem, invalid
from engine.models import Case, CaseStatus, Definition, Enterprise, OpenTask
from engine.services import deployments, instances, versions
from engine.services.versions import ASPECT_LABELS, DefinitionDiff, diff_definitions
from engine.step_names import StepName, named

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
CHECKED = TaskState.COMPLETED | LIVE
PRUNABLE = TaskState.PREDICTED_MASK | TaskState.CANCELLED
LABELS = ("name_en",)  # aspects of a change that never refuse a migration
MAX_NOTE = 500


def may_migrate(actor: Actor) -> None:
    """Process owners and administrators move running cases to another version."""
    if actor.role not in ("owner", "admin", "system"):
        raise PermissionDenied("只有流程管理员或系统管理员可以迁移案件的流程版本",
                               "only process owners or administrators may migrate cases to another version")


def _named(element_id: str, name: str | None) -> tuple[str, str]:
    return (f"步骤 {element_id}「{name}」", f"step {element_id} '{name}'") if name else (
        f"步骤 {element_id} ", f"step {element_id}")


def _reason(zh: str, en: str, element_id: str | None = None) -> Problem:
    return Problem(zh, en, element_id=element_id)


@dataclass
class _Plan:
    """What migrating one case would do, or why it cannot."""

    case: Case
    current: Definition
    target: Definition
    called: list[Definition]
    problems: list[Problem] = field(default_factory=list)
    same: bool = False
    workflow: BpmnWorkflow | None = None
    bundle: SpecBundle | None = None


@dataclass
class _Group:
    """The tasks of one (sub)workflow in the stored instance, with its old and new spec."""

    tasks: dict[str, dict[str, Any]]
    old_spec: Any
    new_spec: Any
    diff: DefinitionDiff | None
    pruned: set[str] = field(default_factory=set)
    reparent: set[str] = field(default_factory=set)


def _changed_reason(element_id: str, name: str | None, diff: DefinitionDiff | None) -> Problem | None:
    status = diff.status(element_id) if diff is not None else "removed"
    step_zh, step_en = _named(element_id, name)
    if status == "removed":
        return _reason(f"{step_zh}在新版本中已删除", f"{step_en} was removed in the new version", element_id)
    what = tuple(a for a in diff.change(element_id).what if a not in LABELS) if status == "changed" else ()
    if what:
        zh = "、".join(ASPECT_LABELS[a][0] for a in what)
        en = ", ".join(ASPECT_LABELS[a][1] for a in what)
        return _reason(f"{step_zh}在新版本中有改动（{zh}）", f"{step_en} changed in the new version ({en})", element_id)
    return None


def _groups(dct: dict[str, Any], old: SpecBundle, new: SpecBundle, diffs: dict[str, DefinitionDiff | None],
            main_diff: DefinitionDiff, problems: list[Problem]) -> list[_Group]:
    groups = [_Group(dct["tasks"], old.spec, new.spec, main_diff)]
    for sub in dct.get("subprocesses", {}).values():
        name = sub.get("spec", "")
        old_spec, new_spec = old.subprocess_specs.get(name), new.subprocess_specs.get(name)
        if new_spec is None:
            problems.append(_reason(f"调用的流程 {name} 在新版本中不存在，案件正在其中办理",
                                    f"the called process {name} the case runs in is missing from the new version",
                                    name))
            continue
        groups.append(_Group(sub["tasks"], old_spec, new_spec, diffs.get(name, main_diff)))
    return groups


def _check_group(group: _Group, problems: list[Problem], seen: set[str]) -> None:
    """Refusals for the tasks of one (sub)workflow; marks the tasks to drop."""
    for task_id, task in group.tasks.items():
        name, state = task["task_spec"], task["state"]
        old_ts = group.old_spec.task_specs.get(name) if group.old_spec is not None else None
        element = (old_ts.bpmn_id if old_ts is not None else None) or name
        label = old_ts.bpmn_name if old_ts is not None else None
        if name not in group.new_spec.task_specs:
            if state & PRUNABLE:
                group.pruned.add(task_id)
            elif element not in seen:
                seen.add(element)
                step_zh, step_en = _named(element, label)
                problems.append(_reason(f"{step_zh}在新版本中不存在，案件已办理或正处于该步骤",
                                        f"{step_en} is missing from the new version; the case passed or stands on "
                                        "it", element))
            continue
        if state & CHECKED and old_ts is not None and old_ts.bpmn_id and element not in seen:
            reason = _changed_reason(element, label, group.diff)
            if reason is not None:
                seen.add(element)
                problems.append(reason)
    # Drop whole branches: a dropped task's descendants go too, and must all be predicted or cancelled.
    stack = list(group.pruned)
    while stack:
        task = group.tasks[stack.pop()]
        for child in task["children"]:
            if child in group.tasks and child not in group.pruned:
                group.pruned.add(child)
                stack.append(child)
                if not group.tasks[child]["state"] & PRUNABLE:
                    spec = group.new_spec.task_specs.get(group.tasks[child]["task_spec"])
                    element = getattr(spec, "bpmn_id", None) or group.tasks[child]["task_spec"]
                    problems.append(_reason(f"步骤 {element} 位于新版本已删除的步骤之后",
                                            f"step {element} follows a step removed in the new version", element))
    group.reparent = {t["parent"] for tid, t in group.tasks.items()
                      if tid in group.pruned and t["parent"] and t["parent"] not in group.pruned}


def _prune(dct: dict[str, Any], group: _Group) -> None:
    for task_id in group.pruned:
        del group.tasks[task_id]
        dct.get("subprocesses", {}).pop(task_id, None)
    for task in group.tasks.values():
        task["children"] = [c for c in task["children"] if c not in group.pruned]


def _live_elements(groups: list[_Group]) -> list[tuple[str, int]]:
    out = []
    for group in groups:
        for task in group.tasks.values():
            if task["state"] & (TaskState.READY | TaskState.WAITING):
                spec = group.old_spec.task_specs.get(task["task_spec"])
                out.append((getattr(spec, "bpmn_id", None) or task["task_spec"], task["state"]))
    return sorted(out)


def _restore(plan: _Plan, dct: dict[str, Any], groups: list[_Group], bundle: SpecBundle) -> None:
    """Restore the pruned instance on the new bundle and verify it; sets ``plan.workflow`` or adds problems."""
    before = _live_elements(groups)
    for group in groups:
        _prune(dct, group)
    try:
        workflow = store.loads(json.dumps(dct, ensure_ascii=False), bundle)
        for group in groups:
            for parent_id in group.reparent:
                parent = workflow.get_task_from_id(UUID(parent_id))
                parent.task_spec._predict(parent, mask=TaskState.NOT_FINISHED_MASK)
    except Exception as exc:  # SpiffWorkflow raises many kinds here
        plan.problems.append(_reason(f"无法在新版本上恢复案件：{exc}", f"the case cannot be restored on the new "
                                     f"version: {exc}"))
        return
    for task in workflow.get_tasks(state=TaskState.DEFINITE_MASK):
        if task.parent is not None and task.task_spec not in task.parent.task_spec.outputs:
            step_zh, step_en = _named(task.task_spec.bpmn_id or task.task_spec.name, task.task_spec.bpmn_name)
            plan.problems.append(_reason(f"{step_zh}在新版本中不再接在 {task.parent.task_spec.name} 之后",
                                         f"{step_en} no longer follows {task.parent.task_spec.name} in the new "
                                         "version", task.task_spec.bpmn_id))
    after = sorted((t.task_spec.bpmn_id or t.task_spec.name, t.state)
                   for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING))
    if after != before:
        plan.problems.append(_reason("迁移后当前步骤与迁移前不一致", "the current steps differ after restoring on the "
                                     "new version"))
    try:
        runner.position(workflow, bundle)
    except Exception as exc:
        plan.problems.append(_reason(f"新版本上无法读取案件进度：{exc}", f"the case's position cannot be read on the "
                                     f"new version: {exc}"))
    if not plan.problems:
        plan.workflow, plan.bundle = workflow, bundle


def _plan(ctx: EngineContext, session: Session, case: Case, target: Definition) -> _Plan:
    """Check a migration of ``case`` to ``target`` (and the newest called processes); restore it if allowed."""
    current = session.get(Definition, case.definition_id)
    if target.process_id != current.process_id:
        raise invalid("version", f"目标版本不属于流程 {current.process_id}",
                      f"the target is not a version of {current.process_id}")
    plan = _Plan(case, current, target, deployments.resolve_called(session, target))
    if case.status != CaseStatus.OPEN:
        plan.problems.append(_reason("案件已结束，不能迁移", "the case has ended; it cannot be migrated"))
        return plan
    if target.version < current.version:
        plan.problems.append(_reason(f"只能迁移到更新的版本（案件在 v{current.version} 上运行）",
                                     f"cases move only to newer versions (this one runs on v{current.version})"))
        return plan
    old_ids = (case.definition_id, *json.loads(case.called_definitions or "[]"))
    new_ids = deployments.bundle_key(target, plan.called)
    if tuple(old_ids) == tuple(new_ids):
        plan.same = True
        plan.problems.append(_reason(f"案件已在 v{target.version} 上运行", f"the case already runs on "
                                     f"v{target.version}"))
        return plan
    rows = {d.id: d for d in session.scalars(sa.select(Definition).where(Definition.id.in_({*old_ids, *new_ids})))}
    old_files = {rows[i].process_id: rows[i] for i in old_ids}
    new_files = {rows[i].process_id: rows[i] for i in new_ids}
    diffs: dict[str, DefinitionDiff | None] = {
        pid: diff_definitions(row.bpmn, new_files[pid].bpmn) if pid in new_files else None
        for pid, row in old_files.items()}
    old_bundle = deployments.bundle_for_ids(ctx, session, tuple(old_ids))
    new_bundle = deployments.bundle_for_ids(ctx, session, tuple(new_ids))
    dct = store.state_dict(case.state)
    groups = _groups(dct, old_bundle, new_bundle, diffs, diffs[current.process_id], plan.problems)
    seen: set[str] = set()
    for group in groups:
        _check_group(group, plan.problems, seen)
    if not plan.problems:
        _restore(plan, dct, groups, new_bundle)
    return plan


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在", "no such case")
    return case


def can_migrate(ctx: EngineContext, case_id: int, target_definition_id: int) -> tuple[bool, list[Problem]]:
    """Whether a case may move to a definition version; the reasons (naming elements) when not."""
    with ctx.unit_of_work() as session:
        case = _case(session, case_id)
        target = session.get(Definition, target_definition_id)
        if target is None:
            raise NotFound("流程版本不存在", "no such definition version")
        plan = _plan(ctx, session, case, target)
        return not plan.problems, plan.problems


def _migrate(ctx: EngineContext, session: Session, actor: Actor, case: Case, target: Definition, note: str,
             expected_version: int | None) -> dict[str, Any]:
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise invalid("note", f"说明应为不超过 {MAX_NOTE} 字的文字", f"note must be text of at most {MAX_NOTE} "
                      "characters")
    if expected_version is not None and expected_version != case.version:
        raise Conflict("案件已被他人更新，请刷新后重试", "the case was changed meanwhile; reload and try again")
    plan = _plan(ctx, session, case, target)
    if plan.same:
        raise Conflict(f"案件已在 v{target.version} 上运行", f"the case already runs on v{target.version}")
    if plan.problems or plan.workflow is None or plan.bundle is None:
        raise InvalidInput(f"案件 {case.id} 不能迁移到 v{target.version}",
                           f"case {case.id} cannot be migrated to v{target.version}", plan.problems)
    now = ctx.now(session)
    old_called = json.loads(case.called_definitions or "[]")
    old_rows = {d.id: d for d in session.scalars(sa.select(Definition).where(Definition.id.in_(old_called)))}
    old_by_process = {old_rows[i].process_id: old_rows[i].version for i in old_called if i in old_rows}
    called_versions = {d.process_id: {"from": old_by_process.get(d.process_id), "to": d.version} for d in plan.called}
    case.definition_id = target.id
    case.called_definitions = json.dumps([d.id for d in plan.called])
    instances.save(session, case, plan.workflow, plan.bundle, now)
    instances.audit(session, case.id, now, actor.username, "case_migrated", process_id=target.process_id,
                    from_version=plan.current.version, to_version=target.version, by=actor.username, note=note,
                    version_note=target.note or None,
                    called=called_versions)
    return {"case_id": case.id, "process_id": target.process_id, "from_version": plan.current.version,
            "to_version": target.version, "version": case.version}


def migrate_case(ctx: EngineContext, actor: Actor, case_id: int, target_definition_id: int, note: str = "", *,
                 expected_version: int | None = None) -> dict[str, Any]:
    """Move a running case onto another definition version (and the newest called processes), audited."""
    may_migrate(actor)
    with ctx.unit_of_work() as session:
        case = _case(session, case_id)
        target = session.get(Definition, target_definition_id)
        if target is None:
            raise NotFound("流程版本不存在", "no such definition version")
        return _migrate(ctx, session, actor, case, target, note, expected_version)


def migrate_case_to_version(ctx: EngineContext, actor: Actor, case_id: int, version: Any, note: Any = "", *,
                            expected_version: int | None = None, process_id: str | None = None) -> dict[str, Any]:
    """``migrate_case`` by version number of the case's own process (as the API and pages send it).

    ``process_id``, when given, must be the case's process (a page posting for one process).
    """
    may_migrate(actor)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 2**31 - 1:
        raise invalid("version", "version 应为正整数", "version must be a positive integer")
    with ctx.unit_of_work() as session:
        case = _case(session, case_id)
        own = session.scalar(sa.select(Definition.process_id).where(Definition.id == case.definition_id))
        if process_id is not None and process_id != own:
            raise invalid("case", f"案件 {case_id} 不是流程 {process_id} 的案件", f"case {case_id} does not run "
                          f"{process_id}")
        target = session.scalars(sa.select(Definition).where(Definition.process_id == own,
                                                             Definition.version == version)).first()
        if target is None:
            raise invalid("version", f"流程 {own} 没有版本 {version}", f"process {own} has no version {version}")
        return _migrate(ctx, session, actor, case, target, note if note is not None else "", expected_version)


@dataclass
class CaseMigration:
    """A running case not on the newest versions, and whether it may move to them."""

    case_id: int
    enterprise: str
    version: int
    case_version: int
    steps: list[StepName]
    ok: bool
    reasons: list[Problem]


@dataclass
class MigrationCandidates:
    """The running cases of a process that are not on its newest versions (at most ``limit`` checked)."""

    process_id: str
    target_id: int
    target_version: int
    cases: list[CaseMigration]
    total: int


def migration_candidates(ctx: EngineContext, actor: Actor, process_id: str, limit: int = 200) -> MigrationCandidates:
    """Running cases of a process pinned to older versions, each checked against the newest one."""
    versions.may_read_versions(actor)
    with ctx.unit_of_work() as session:
        rows = versions.version_rows(session, process_id)
        target = rows[0]
        numbers = {r.id: r.version for r in rows}
        newest = deployments.bundle_key(target, deployments.resolve_called(session, target))
        light = session.execute(sa.select(Case.id, Case.definition_id, Case.called_definitions)
                                .where(Case.definition_id.in_(list(numbers)), Case.status == CaseStatus.OPEN)
                                .order_by(Case.id))
        stale = [cid for cid, did, called in light if (did, *json.loads(called or "[]")) != newest]
        chosen = stale[:limit]
        steps: dict[int, list[StepName]] = {}
        for case_id, name, name_en in session.execute(
                sa.select(OpenTask.case_id, OpenTask.name, OpenTask.name_en)
                .where(OpenTask.case_id.in_(chosen)).order_by(OpenTask.created_at)):
            steps.setdefault(case_id, []).append(named(name, name_en))
        out = []
        for case, enterprise in session.execute(
                sa.select(Case, Enterprise.name).outerjoin(Enterprise, Enterprise.credit_code == Case.enterprise_code)
                .where(Case.id.in_(chosen)).order_by(Case.id)):
            plan = _plan(ctx, session, case, target)
            out.append(CaseMigration(case.id, enterprise or "", numbers[case.definition_id], case.version,
                                     steps.get(case.id, []), not plan.problems, plan.problems))
        return MigrationCandidates(process_id, target.id, target.version, out, len(stale))
