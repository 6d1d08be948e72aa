"""Versions of process definitions: list them, compare two, count the cases running on each.

Who may call: process owners, supervisors and administrators (``may_read_versions``);
everyone else gets ``PermissionDenied``. Read only: nothing is written.

``diff_definitions`` is a pure function over two BPMN texts: elements are matched by id
and compared on their type, name, lane department, form, ``spiffworkflow:properties``,
documentation, condition, timer expression, event definitions, incoming and outgoing
flows and their other attributes. The diagram interchange (shapes, positions) is ignored.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.orm import Session

from engine.context import Actor, EngineContext
from engine.definitions import BPMN_NS, NS, SPIFF_NS, read_xml
from engine.errors import NotFound, PermissionDenied
from engine.models import Case, CaseStatus, Definition
from engine.step_names import named

ASPECTS = ("type", "name", "name_en", "lane", "form", "properties", "documentation", "condition", "timer", "event",
           "incoming", "outgoing", "source", "target", "attributes")
ASPECT_LABELS = {
    "type": ("类型", "type"), "name": ("名称", "name"), "name_en": ("英文名称", "English name"),
    "lane": ("泳道部门", "lane department"),
    "form": ("表单", "form"), "properties": ("扩展属性", "properties"), "documentation": ("说明", "documentation"),
    "condition": ("条件", "condition"), "timer": ("定时表达式", "timer expression"),
    "event": ("事件定义", "event definition"), "incoming": ("流入连线", "incoming flows"),
    "outgoing": ("流出连线", "outgoing flows"), "source": ("连线起点", "flow source"),
    "target": ("连线终点", "flow target"), "attributes": ("其他属性", "other attributes"),
}
FORM_KEYS = ("formJsonSchemaFilename", "formUiSchemaFilename")
_SKIPPED_TAGS = {"laneSet", "documentation", "conditionExpression", "timeDate", "timeDuration", "timeCycle",
                 "incoming", "outgoing", "flowNodeRef", "extensionElements", "text"}
_SPACE = re.compile(r"\s+")


# --- comparing two BPMN texts ---------------------------------------------------------------------------------

@dataclass
class ElementChange:
    """One element added, removed or changed; ``what`` names the changed aspects (empty when added or removed)."""

    id: str
    name: str
    what: tuple[str, ...] = ()
    tag: str = ""
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)


@dataclass
class DefinitionDiff:
    """Elements of the second text that are new, gone or different from the first, matched by id."""

    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def status(self, element_id: str) -> str:
        """``added``, ``removed``, ``changed``, ``unchanged``, or ``absent`` when neither text has the id."""
        for kind in ("added", "removed", "changed"):
            if any(c.id == element_id for c in getattr(self, kind)):
                return kind
        return "unchanged" if element_id in self.unchanged else "absent"

    def change(self, element_id: str) -> ElementChange | None:
        """The change record of an element, if it was added, removed or changed."""
        return next((c for c in [*self.added, *self.removed, *self.changed] if c.id == element_id), None)

    @property
    def empty(self) -> bool:
        """True when the two texts define the same elements alike."""
        return not (self.added or self.removed or self.changed)


def _text(node: etree._Element | None) -> str:
    return _SPACE.sub(" ", "".join(node.itertext())).strip() if node is not None else ""


# BPMN 2.0's defaults: a modeler may write them or leave them out, and either way the element means the same.
_DEFAULT_ATTRIBUTES = {"cancelActivity": "true", "isInterrupting": "true", "isForCompensation": "false",
                       "startQuantity": "1", "completionQuantity": "1", "parallelMultiple": "false",
                       "instantiate": "false", "triggeredByEvent": "false", "isImmediate": "true"}


def _attr_name(key: str) -> str:
    qname = etree.QName(key)
    if qname.namespace in (None, BPMN_NS):
        return qname.localname
    if qname.namespace == SPIFF_NS:
        return f"spiffworkflow:{qname.localname}"
    return key


def _describe(node: etree._Element, local: str, lanes: dict[str, str], flows: dict[str, etree._Element]) -> dict:
    eid = node.get("id")
    props = {p.get("name"): p.get("value", "")
             for p in node.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
                                 namespaces=NS)}
    form = " | ".join(f"{k}={props.pop(k)}" if k != FORM_KEYS[0] else props.pop(k) for k in FORM_KEYS if k in props)
    name_en = props.pop("nameEn", "")
    extras = [f"{_attr_name(child.tag)}={_text(child)}"
              for child in node.xpath("bpmn:extensionElements/*", namespaces=NS)
              if isinstance(child.tag, str) and child.tag != f"{{{SPIFF_NS}}}properties"]
    definitions = [child for child in node if isinstance(child.tag, str) and child.tag.endswith("EventDefinition")]
    timers = []
    for definition in definitions:
        for expr in definition:
            if isinstance(expr.tag, str) and etree.QName(expr).localname in ("timeDate", "timeDuration", "timeCycle"):
                timers.append(f"{etree.QName(expr).localname}: {_text(expr)}")
    events = sorted(
        etree.QName(d).localname + "".join(f" {_attr_name(k)}={v}" for k, v in sorted(d.attrib.items()) if k != "id")
        for d in definitions)
    incoming = {(n.text or "").strip() for n in node.findall("bpmn:incoming", NS)}
    outgoing = {(n.text or "").strip() for n in node.findall("bpmn:outgoing", NS)}
    if local != "sequenceFlow":
        incoming |= {fid for fid, f in flows.items() if f.get("targetRef") == eid}
        outgoing |= {fid for fid, f in flows.items() if f.get("sourceRef") == eid}
    attributes = sorted(f"{_attr_name(k)}={v}" for k, v in node.attrib.items()
                        if k not in ("id", "name", "sourceRef", "targetRef")
                        and _DEFAULT_ATTRIBUTES.get(_attr_name(k)) != v)
    return {
        "type": local,
        "name": _SPACE.sub(" ", node.get("name", "")).strip(),
        "name_en": _SPACE.sub(" ", name_en).strip(),
        "lane": lanes.get(eid, ""),
        "form": form,
        "properties": "; ".join([f"{k}={v}" for k, v in sorted(props.items())] + extras),
        "documentation": " / ".join(_text(d) for d in node.findall("bpmn:documentation", NS)),
        "condition": _text(node.find("bpmn:conditionExpression", NS)),
        "timer": "; ".join(timers),
        "event": "; ".join(events),
        "incoming": ", ".join(f"{fid} ← {flows[fid].get('sourceRef', '?') if fid in flows else '?'}"
                              for fid in sorted(incoming)),
        "outgoing": ", ".join(f"{fid} → {flows[fid].get('targetRef', '?') if fid in flows else '?'}"
                              for fid in sorted(outgoing)),
        "source": node.get("sourceRef", ""),
        "target": node.get("targetRef", ""),
        "attributes": "; ".join(attributes),
    }


def elements_of(tree: etree._ElementTree) -> dict[str, dict[str, str]]:
    """Every identified element of the file's processes (lanes, nodes, flows, the process itself), described."""
    out: dict[str, dict[str, str]] = {}
    for process in tree.getroot().iter(f"{{{BPMN_NS}}}process"):
        lanes: dict[str, str] = {}
        for lane in process.iter(f"{{{BPMN_NS}}}lane"):
            department = lane.xpath("string(bpmn:extensionElements/spiffworkflow:properties/"
                                    "spiffworkflow:property[@name='department']/@value)", namespaces=NS)
            for ref in lane.findall("bpmn:flowNodeRef", NS):
                lanes[(ref.text or "").strip()] = str(department)
        flows = {f.get("id"): f for f in process.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("id")}
        for node in process.iter():
            if not isinstance(node.tag, str) or not node.tag.startswith(f"{{{BPMN_NS}}}") or not node.get("id"):
                continue
            local = etree.QName(node).localname
            if local in _SKIPPED_TAGS or local.endswith("EventDefinition"):
                continue
            if any(True for _ in node.iterancestors(f"{{{BPMN_NS}}}extensionElements")):
                continue
            out.setdefault(node.get("id"), _describe(node, local, lanes, flows))
    return out


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


def diff_definitions(a_xml: str | bytes, b_xml: str | bytes) -> DefinitionDiff:
    """Compare two BPMN texts element by element (by id): what the second adds, removes and changes."""
    return _cached_diff(_as_bytes(a_xml), _as_bytes(b_xml))


@functools.lru_cache(maxsize=64)
def _cached_diff(a_xml: bytes, b_xml: bytes) -> DefinitionDiff:
    old, new = elements_of(read_xml(a_xml)), elements_of(read_xml(b_xml))
    diff = DefinitionDiff()
    for eid, desc in new.items():
        if eid not in old:
            diff.added.append(ElementChange(eid, desc["name"], (), desc["type"], {}, desc))
            continue
        before = old[eid]
        what = tuple(a for a in ASPECTS if before.get(a, "") != desc.get(a, ""))
        if what:
            diff.changed.append(ElementChange(eid, desc["name"] or before["name"], what, desc["type"],
                                              {a: before.get(a, "") for a in what}, {a: desc.get(a, "") for a in what}))
        else:
            diff.unchanged.append(eid)
    for eid, desc in old.items():
        if eid not in new:
            diff.removed.append(ElementChange(eid, desc["name"], (), desc["type"], desc, {}))
    return diff


# --- reading versions -----------------------------------------------------------------------------------------

def may_read_versions(actor: Actor) -> None:
    """Process owners, supervisors and administrators see definition versions and the cases on them."""
    if actor.role not in ("owner", "supervisor", "admin", "system"):
        raise PermissionDenied("只有流程管理员、监督人员和系统管理员可以查看流程版本",
                               "only process owners, supervisors and administrators may see definition versions")


@dataclass
class VersionInfo:
    """One deployed version with the number of cases running on it and ended on it."""

    id: int
    process_id: str
    version: int
    name: str  # a ``StepName``: the Chinese name carrying the English one (``nameEn``), if any
    deployed_at: datetime
    deployed_by: str
    note: str
    sha256: str
    running: int = 0
    ended: int = 0
    latest: bool = False

    def as_dict(self) -> dict:
        """The JSON shape of the API."""
        return {"process_id": self.process_id, "version": self.version, "name": self.name,
                "name_en": getattr(self.name, "name_en", None), "deployed_at": self.deployed_at.isoformat(), "deployed_by": self.deployed_by, "note": self.note,
                "sha256": self.sha256, "running_cases": self.running, "ended_cases": self.ended,
                "latest": self.latest}


@dataclass
class ProcessSummary:
    """A process with its newest version and how many cases run on each version."""

    process_id: str
    name: str  # a ``StepName``, as ``VersionInfo.name``
    latest: VersionInfo
    versions: int
    running_by_version: dict[int, int]
    called_by: list[str] = field(default_factory=list)

    @property
    def running(self) -> int:
        """Cases running on any version."""
        return sum(self.running_by_version.values())


def _case_counts(session: Session, rows: list[Definition]) -> dict[int, tuple[int, int]]:
    """Per definition id: (running, ended) cases pinned to it, as the main process or as a called one."""
    counts: dict[int, list[int]] = {r.id: [0, 0] for r in rows}
    ids = list(counts)
    grouped = session.execute(sa.select(Case.definition_id, Case.status, sa.func.count())
                              .where(Case.definition_id.in_(ids)).group_by(Case.definition_id, Case.status))
    for definition_id, status, n in grouped:
        counts[definition_id][0 if status == CaseStatus.OPEN else 1] += n
    if _is_called(session, {r.process_id for r in rows}):
        for text, status in session.execute(sa.select(Case.called_definitions, Case.status)):
            for definition_id in json.loads(text or "[]"):
                if definition_id in counts:
                    counts[definition_id][0 if status == CaseStatus.OPEN else 1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _is_called(session: Session, process_ids: set[str]) -> bool:
    """Whether any deployed definition calls one of these processes."""
    for text in session.scalars(sa.select(Definition.called_processes).distinct()):
        if process_ids & set(json.loads(text or "[]")):
            return True
    return False


def _info(row: Definition, counts: dict[int, tuple[int, int]], latest_version: int) -> VersionInfo:
    running, ended = counts.get(row.id, (0, 0))
    return VersionInfo(row.id, row.process_id, row.version, named(row.name, row.name_en), row.deployed_at, row.deployed_by,
                       row.note or "", row.sha256, running, ended, row.version == latest_version)


def version_rows(session: Session, process_id: str) -> list[Definition]:
    """Every version of a process, newest first; NotFound when none is deployed."""
    rows = list(session.scalars(sa.select(Definition).where(Definition.process_id == process_id)
                                .order_by(Definition.version.desc())))
    if not rows:
        raise NotFound(f"流程 {process_id} 不存在", f"no process {process_id}")
    return rows


def list_processes(ctx: EngineContext, actor: Actor) -> list[ProcessSummary]:
    """Every deployed process with its newest version and the running cases per version."""
    may_read_versions(actor)
    with ctx.unit_of_work() as session:
        rows = list(session.scalars(sa.select(Definition).order_by(Definition.process_id,
                                                                   Definition.version.desc())))
        counts = _case_counts(session, rows)
        callers: dict[str, set[str]] = {}
        by_process: dict[str, list[Definition]] = {}
        for row in rows:
            by_process.setdefault(row.process_id, []).append(row)
            for called in json.loads(row.called_processes or "[]"):
                callers.setdefault(called, set()).add(row.process_id)
        out = []
        for process_id, versions in by_process.items():
            newest = versions[0]
            running = {r.version: counts[r.id][0] for r in versions if counts[r.id][0]}
            out.append(ProcessSummary(process_id, named(newest.name, newest.name_en), _info(newest, counts, newest.version), len(versions),
                                      running, sorted(callers.get(process_id, ()))))
        return out


def called_by(ctx: EngineContext, actor: Actor, process_id: str) -> list[str]:
    """The processes whose deployed versions call this one."""
    may_read_versions(actor)
    with ctx.unit_of_work() as session:
        rows = session.execute(sa.select(Definition.process_id, Definition.called_processes).distinct())
        return sorted({caller for caller, called in rows if process_id in json.loads(called or "[]")})


def list_versions(ctx: EngineContext, actor: Actor, process_id: str) -> list[VersionInfo]:
    """The versions of a process, newest first, with cases running on and ended on each."""
    may_read_versions(actor)
    with ctx.unit_of_work() as session:
        rows = version_rows(session, process_id)
        counts = _case_counts(session, rows)
        return [_info(r, counts, rows[0].version) for r in rows]


def get_version(ctx: EngineContext, actor: Actor, process_id: str, version: int) -> dict:
    """One version with its BPMN text: process_id, version, bpmn, deployed_at, deployed_by, note."""
    may_read_versions(actor)
    with ctx.unit_of_work() as session:
        row = session.scalars(sa.select(Definition).where(Definition.process_id == process_id,
                                                          Definition.version == version)).first()
        if row is None:
            raise NotFound(f"流程 {process_id} 没有版本 {version}", f"process {process_id} has no version {version}")
        return {"process_id": row.process_id, "version": row.version, "name": row.name, "name_en": row.name_en,
                "bpmn": row.bpmn, "deployed_at": row.deployed_at.isoformat(), "deployed_by": row.deployed_by,
                "note": row.note or "", "sha256": row.sha256}


@dataclass
class VersionDiff:
    """Two versions of one process and what changed between them."""

    process_id: str
    a: VersionInfo
    b: VersionInfo
    diff: DefinitionDiff


def diff_versions(ctx: EngineContext, actor: Actor, process_id: str, a: int, b: int) -> VersionDiff:
    """Compare version ``a`` with version ``b`` of a process (``b`` is the newer one, usually)."""
    may_read_versions(actor)
    with ctx.unit_of_work() as session:
        rows = {r.version: r for r in version_rows(session, process_id)}
        for n in (a, b):
            if n not in rows:
                raise NotFound(f"流程 {process_id} 没有版本 {n}", f"process {process_id} has no version {n}")
        newest = max(rows)
        counts = _case_counts(session, [rows[a], rows[b]])
        diff = diff_definitions(rows[a].bpmn, rows[b].bpmn)
        return VersionDiff(process_id, _info(rows[a], counts, newest), _info(rows[b], counts, newest), diff)
