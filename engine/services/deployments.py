"""Deployments: check and store BPMN definitions as numbered versions, and hand out parsed specs.

Who may call: ``deploy`` needs an owner (or the system at ``capexit init``); reads are open.
Errors: ``DefinitionInvalid`` with problems naming line and element; nothing is stored then.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import definitions as defs
from engine.context import Actor, EngineContext
from engine.errors import DefinitionInvalid, NotFound, PermissionDenied, Problem
from engine.models import Case, Definition
from engine.parties import PARTY_CODES
from engine.services import audit, forms


def latest(session: Session, process_id: str) -> Definition | None:
    """The newest version of a process, or None."""
    return session.scalars(
        sa.select(Definition).where(Definition.process_id == process_id).order_by(Definition.version.desc()).limit(1)
    ).first()


DEPLOY_REFUSED = ("BPMN 校验未通过，未部署", "BPMN validation failed; nothing was deployed")
CHECK_REFUSED = ("BPMN 校验未通过", "BPMN validation failed")


def check(ctx: EngineContext, session: Session, data: bytes, filename: str = "upload.bpmn", *,
          refusal: tuple[str, str] = DEPLOY_REFUSED) -> tuple[str, list[str]]:
    """Run every deploy-time check on BPMN bytes; return (process id, called process ids) or raise.

    ``refusal`` heads the problems of the content rules: a check of an edit, deploying nothing, passes
    ``CHECK_REFUSED``, which does not speak of deploying."""
    tree = defs.read_xml(data)
    problems = defs.lint(tree, forms.known_keys(session), PARTY_CODES)
    if problems:
        raise DefinitionInvalid(*refusal, problems)
    ids = defs.process_ids(tree)
    if len(ids) != 1:
        raise DefinitionInvalid("每个文件应只定义一个流程", "each file must define exactly one process", [Problem(
            f"找到 {len(ids)} 个流程", f"found {len(ids)} processes", line=tree.getroot().sourceline)])
    called = defs.called_elements(tree)
    called_trees = []
    for process_id in called:
        row = latest(session, process_id)
        if row is None:
            node = tree.getroot().xpath("//bpmn:callActivity[@calledElement=$p]", namespaces=defs.NS, p=process_id)[0]
            raise DefinitionInvalid("调用的流程尚未部署", "a called process is not deployed", [defs._problem(
                f"调用的流程 {process_id} 尚未部署", f"called process {process_id} is not deployed", node)])
        called_trees.append((f"{process_id}.bpmn", defs.read_xml(row.bpmn.encode("utf-8"))))
    defs.parse_bundle((filename, tree), called_trees, ids[0])
    return ids[0], called


def deploy(ctx: EngineContext, session: Session, actor: Actor, data: bytes, *, filename: str = "upload.bpmn",
           note: str = "") -> Definition:
    """Check and store a new version; returns the existing latest one if the text is unchanged."""
    if actor.role not in ("owner", "system"):
        raise PermissionDenied("只有流程管理员可以部署流程", "only process owners may deploy definitions")
    process_id, called = check(ctx, session, data, filename)
    tree = defs.read_xml(data)
    text = defs.as_utf8_text(data, tree)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    current = latest(session, process_id)
    if current is not None and current.sha256 == digest:
        return current
    name = tree.getroot().xpath("//bpmn:process/@name", namespaces=defs.NS)
    name_en = tree.getroot().xpath("string(//bpmn:process/bpmn:extensionElements/spiffworkflow:properties/"
                                   "spiffworkflow:property[@name='nameEn']/@value)", namespaces=defs.NS).strip()
    row = Definition(
        process_id=process_id, version=(current.version + 1) if current else 1, name=name[0] if name else "",
        name_en=name_en[:200] or None,
        bpmn=text, sha256=digest, called_processes=json.dumps(called),
        deployed_at=ctx.now(session), deployed_by=actor.username, note=note,
    )
    session.add(row)
    session.flush()
    audit.append(session, None, row.deployed_at, actor.username, "definition_deployed", process_id=process_id,
                 version=row.version)
    return row


def deploy_directory(ctx: EngineContext, session: Session, actor: Actor, folder: Path) -> list[Definition]:
    """Deploy every ``*.bpmn`` of a folder, called processes first (idempotent)."""
    pending = {p.stem: p for p in sorted(folder.glob("*.bpmn"))}
    done: list[Definition] = []
    while pending:
        progressed = False
        for stem, path in list(pending.items()):
            tree = defs.read_xml(path.read_bytes())
            if any(c in pending and c != stem for c in defs.called_elements(tree)):
                continue
            done.append(deploy(ctx, session, actor, path.read_bytes(), filename=path.name))
            del pending[stem]
            progressed = True
        if not progressed:
            raise DefinitionInvalid("流程之间存在循环调用", "the processes call each other in a cycle",
                                    [Problem(f"未能部署：{sorted(pending)}", f"not deployed: {sorted(pending)}")])
    return done


def bundle_key(definition: Definition, called: list[Definition]) -> tuple[int, ...]:
    """Cache key of a spec bundle: the main definition id, then the called ones."""
    return (definition.id, *[d.id for d in called])


def resolve_called(session: Session, definition: Definition) -> list[Definition]:
    """The newest versions of the processes a definition calls (pinned on a case at its start)."""
    rows = []
    for process_id in json.loads(definition.called_processes or "[]"):
        row = latest(session, process_id)
        if row is None:
            raise NotFound(f"调用的流程 {process_id} 未部署", f"called process {process_id} is not deployed")
        rows.append(row)
    return rows


def bundle_for_ids(ctx: EngineContext, session: Session, ids: tuple[int, ...]) -> defs.SpecBundle:
    """The parsed spec bundle for a main definition id and its called definition ids (cached)."""
    cached = ctx.specs.get(ids)
    if cached is not None:
        return cached
    rows = {d.id: d for d in session.scalars(sa.select(Definition).where(Definition.id.in_(ids)))}
    main = rows[ids[0]]
    trees = [(f"{rows[i].process_id}.bpmn", defs.read_xml(rows[i].bpmn.encode("utf-8"))) for i in ids[1:]]
    bundle = defs.parse_bundle((f"{main.process_id}.bpmn", defs.read_xml(main.bpmn.encode("utf-8"))), trees,
                               main.process_id)
    return ctx.specs.put(ids, bundle)


def bundle_for_case(ctx: EngineContext, session: Session, case: Case) -> defs.SpecBundle:
    """The parsed spec bundle a case runs on."""
    return bundle_for_ids(ctx, session, (case.definition_id, *json.loads(case.called_definitions or "[]")))


def get_latest(session: Session, process_id: str) -> Definition:
    """The newest version of a process, or NotFound."""
    row = latest(session, process_id)
    if row is None:
        raise NotFound(f"流程 {process_id} 不存在", f"no process {process_id}")
    return row


def deploy_upload(ctx: EngineContext, actor: Actor, data: bytes, note: str = "") -> dict:
    """Deploy uploaded BPMN in its own transaction; returns the process id and version."""
    with ctx.unit_of_work() as session:
        row = deploy(ctx, session, actor, data, note=note)
        return {"process_id": row.process_id, "version": row.version}


def definition_view(ctx: EngineContext, process_id: str) -> dict:
    """The latest version of a process with its BPMN text."""
    with ctx.unit_of_work() as session:
        row = get_latest(session, process_id)
        return {"process_id": row.process_id, "version": row.version, "bpmn": row.bpmn, "name": row.name,
                "name_en": row.name_en, "deployed_at": row.deployed_at.isoformat(), "deployed_by": row.deployed_by}
