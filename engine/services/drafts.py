"""The modeler's services: drafts of process owners, checks that store nothing, deploys of an edited process.

Who may call: process owners only (``PermissionDenied`` otherwise); each owner has at most one
draft per process, saving again replaces it. Drafts are work in progress and are not checked;
``check_edit`` runs every deploy-time check (``deployments.check``) in a transaction that is
rolled back; ``deploy_edit`` deploys through ``deployments.deploy`` and drops the owner's draft.
Errors: ``DefinitionInvalid`` (problems name line and element), ``InvalidInput``, ``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import definitions as defs
from engine.context import Actor, EngineContext
from engine.errors import DefinitionInvalid, PermissionDenied, Problem, invalid
from engine.models import Definition, DefinitionDraft, Department
from engine.parties import PARTIES
from engine.services import deployments, forms
from engine.step_names import named

MAX_NOTE = 2000


@dataclass(frozen=True)
class DraftView:
    """An owner's saved draft of a process."""

    process_id: str
    bpmn: str
    base_version: int | None
    saved_by: str
    saved_at: datetime


@dataclass(frozen=True)
class EditorSource:
    """What the modeler opens: the latest deployed version, and the owner's draft if there is one."""

    process_id: str
    name: str  # a ``StepName``: the Chinese name carrying the English one, if any
    version: int
    bpmn: str
    draft: DraftView | None


@dataclass(frozen=True)
class ProcessSummary:
    """One process in the modeler's list."""

    process_id: str
    name: str  # a ``StepName``, as ``EditorSource.name``
    version: int
    deployed_at: datetime
    deployed_by: str
    has_draft: bool


def _owner_only(actor: Actor) -> None:
    if actor.role != "owner":
        raise PermissionDenied("只有流程管理员可以编辑流程", "only process owners may edit definitions")


def _draft_row(session: Session, actor: Actor, process_id: str) -> DefinitionDraft | None:
    return session.scalars(sa.select(DefinitionDraft).where(
        DefinitionDraft.process_id == process_id, DefinitionDraft.saved_by == actor.username)).first()


def _view(row: DefinitionDraft) -> DraftView:
    return DraftView(row.process_id, row.bpmn, row.base_version, row.saved_by, row.saved_at)


def processes(ctx: EngineContext, actor: Actor) -> list[ProcessSummary]:
    """Every deployed process at its latest version, with whether the owner has a draft of it."""
    _owner_only(actor)
    with ctx.unit_of_work() as session:
        newest = sa.select(Definition.process_id, sa.func.max(Definition.version).label("v")).group_by(
            Definition.process_id).subquery()
        rows = session.scalars(sa.select(Definition).join(newest, sa.and_(
            Definition.process_id == newest.c.process_id, Definition.version == newest.c.v)).order_by(
            Definition.process_id)).all()
        drafts = set(session.scalars(sa.select(DefinitionDraft.process_id).where(
            DefinitionDraft.saved_by == actor.username)))
        return [ProcessSummary(r.process_id, named(r.name, r.name_en), r.version, r.deployed_at, r.deployed_by,
                               r.process_id in drafts) for r in rows]


def editor_source(ctx: EngineContext, actor: Actor, process_id: str) -> EditorSource:
    """The latest deployed version of a process and the owner's draft of it (NotFound if not deployed)."""
    _owner_only(actor)
    with ctx.unit_of_work() as session:
        row = deployments.get_latest(session, process_id)
        draft = _draft_row(session, actor, process_id)
        return EditorSource(row.process_id, named(row.name, row.name_en), row.version, row.bpmn, _view(draft) if draft else None)


def get_draft(ctx: EngineContext, actor: Actor, process_id: str) -> DraftView | None:
    """The owner's draft of a process, or None."""
    _owner_only(actor)
    with ctx.unit_of_work() as session:
        row = _draft_row(session, actor, process_id)
        return _view(row) if row else None


def save_draft(ctx: EngineContext, actor: Actor, process_id: str, bpmn: Any,
               base_version: int | None = None) -> DraftView:
    """Save (or replace) the owner's draft of a deployed process. The draft may be unfinished BPMN, but it must be
    well-formed XML with a ``bpmn:definitions`` root (read with the hardened parser): the modeler has to open it."""
    _owner_only(actor)
    if not isinstance(bpmn, str) or not bpmn.strip():
        raise invalid("bpmn", "草稿内容为空", "the draft is empty")
    if len(bpmn.encode("utf-8")) > defs.MAX_BPMN_BYTES:
        raise invalid("bpmn", f"草稿超过 {defs.MAX_BPMN_BYTES} 字节的上限", f"the draft is over {defs.MAX_BPMN_BYTES} bytes")
    if base_version is not None and (not isinstance(base_version, int) or isinstance(base_version, bool)):
        raise invalid("base_version", "基础版本号应为整数", "base_version must be an integer")
    defs.read_xml(bpmn.encode("utf-8"))
    with ctx.unit_of_work() as session:
        deployments.get_latest(session, process_id)
        now = ctx.now(session)
        row = _draft_row(session, actor, process_id)
        if row is None:
            row = DefinitionDraft(process_id=process_id, saved_by=actor.username, bpmn=bpmn, saved_at=now)
            session.add(row)
        row.bpmn, row.base_version, row.saved_at = bpmn, base_version, now
        session.flush()
        return _view(row)


def discard_draft(ctx: EngineContext, actor: Actor, process_id: str) -> bool:
    """Delete the owner's draft of a process; True if there was one."""
    _owner_only(actor)
    with ctx.unit_of_work() as session:
        row = _draft_row(session, actor, process_id)
        if row is None:
            return False
        session.delete(row)
        return True


def _same_process(data: bytes, process_id: str, found: str) -> None:
    """Refuse an edit that defines another process than the one being edited."""
    if found == process_id:
        return
    node = defs.read_xml(data).getroot().find(f"{{{defs.BPMN_NS}}}process")
    raise DefinitionInvalid("流程标识与正在编辑的流程不一致", "the process id differs from the process being edited", [
        defs._problem(f"此处应编辑流程 {process_id}，文件定义的是 {found}",
                      f"editing process {process_id}, but the file defines {found}", node)])


def check_edit(ctx: EngineContext, actor: Actor, process_id: str, data: bytes) -> None:
    """Run every deploy-time check on an edit without storing anything; raises DefinitionInvalid."""
    _owner_only(actor)
    with ctx.session_factory() as session:
        try:
            found, _called = deployments.check(ctx, session, data, f"{process_id}.bpmn",
                                               refusal=deployments.CHECK_REFUSED)
            _same_process(data, process_id, found)
        finally:
            session.rollback()


def deploy_edit(ctx: EngineContext, actor: Actor, process_id: str, data: bytes, note: Any) -> dict[str, Any]:
    """Deploy an edited process as a new version and drop the owner's draft of it.

    Returns ``{"process_id", "version", "unchanged"}``; ``unchanged`` is true when the text equals the
    latest version (no new version then). Nothing is stored when a check fails.
    """
    _owner_only(actor)
    if not isinstance(note, str) or not note.strip():
        raise invalid("note", "请填写部署说明（修改了什么、依据什么）", "a deploy note is required (what changed, and why)")
    if len(note) > MAX_NOTE:
        raise invalid("note", f"部署说明不能超过 {MAX_NOTE} 个字符", f"the deploy note is over {MAX_NOTE} characters")
    with ctx.unit_of_work() as session:
        before = deployments.get_latest(session, process_id)
        found, _called = deployments.check(ctx, session, data, f"{process_id}.bpmn")
        _same_process(data, process_id, found)
        row = deployments.deploy(ctx, session, actor, data, filename=f"{process_id}.bpmn", note=note.strip())
        draft = _draft_row(session, actor, process_id)
        if draft is not None:
            session.delete(draft)
        return {"process_id": row.process_id, "version": row.version, "unchanged": row.id == before.id}


def modeler_options(ctx: EngineContext, lang: str = "zh") -> dict[str, list[dict[str, str]]]:
    """The choices of the modeler's properties: lane departments (with ``lead``) and forms (latest titles)."""
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(Department)).all()
        choices = forms.modeler_forms(session)
    # only the codes the deploy check accepts (deployments.PARTY_CODES), in the order of DOMAIN.md
    order = {party.code: i for i, party in enumerate(PARTIES)}
    rows = sorted((r for r in rows if r.code in deployments.PARTY_CODES), key=lambda r: (order.get(r.code, 99), r.code))
    departments = [{"code": "lead", "name": "Lead department of the case" if lang == "en" else "案件牵头部门"}]
    departments += [{"code": r.code, "name": r.name_en if lang == "en" else r.name_zh} for r in rows]
    return {"departments": departments, "forms": choices}


def problems_of(exc: DefinitionInvalid) -> list[Problem]:
    """The problems of a refusal (the headline itself when it has none)."""
    return exc.problems or [Problem(exc.message_zh, exc.message_en)]
