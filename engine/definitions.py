"""Process definitions: hardened XML reading, deploy-time checks, and parsed specs.

Every BPMN text passes ``read_xml`` and ``lint`` before it is stored or run: size, DOCTYPE
and encoding checks on the bytes, a hardened lxml parse (no DTD, no entities, no network),
element counts, then our rules (``engine.bpmn_rules``: no code, safe expressions, timers,
lanes, forms, calls; ``engine.bpmn_graph``: start events, flows, reachability, gateways,
parallel-join traps, endless loops), then SpiffWorkflow's own XSD and structural checks.
Problems name the line and element.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnValidator
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.bpmn_encoding import decode_upload
from engine.bpmn_graph import FLOW_NODES, structure_problems
from engine.bpmn_rules import (
    BPMN_NS,
    LANE_ROLES,
    NS,
    SPIFF_NS,
    _problem,
    bpmn,
    content_problems,
    local_name,
    properties_of,
)
from engine.errors import DefinitionInvalid, Problem

__all__ = ["BPMN_NS", "LANE_ROLES", "NS", "SPIFF_NS", "SpecBundle", "SpecCache", "_problem", "as_utf8_text",
           "called_elements", "decode_upload", "lane_departments", "lint", "parse_bundle", "process_ids",
           "properties_of", "read_xml"]

MAX_BPMN_BYTES = 2 * 1024 * 1024
MAX_ELEMENTS = 50_000  # diagrams included: a 2,000-step process has about 30,000
MAX_FLOW_NODES = 2_000
MAX_SEQUENCE_FLOWS = 4_000
_VALIDATOR = BpmnValidator()
_TOO_LARGE = ("BPMN 文件过大", "BPMN file too large")


def _refuse_markup_declarations(text: str) -> None:
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise DefinitionInvalid("BPMN 文件含有 DOCTYPE 或实体声明", "BPMN file has a DOCTYPE or entity", [Problem(
            "不允许 DOCTYPE 或实体（ENTITY）声明", "DOCTYPE and ENTITY declarations are not allowed", line=1)])


def read_xml(data: bytes) -> etree._ElementTree:
    """Parse untrusted BPMN bytes with a hardened parser; refuse DTDs, entities, bad encodings and oversized input."""
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionInvalid(*_TOO_LARGE, [Problem(
            f"文件大小 {len(data)} 字节，超过上限 {MAX_BPMN_BYTES} 字节",
            f"file has {len(data)} bytes, the limit is {MAX_BPMN_BYTES}")])
    _refuse_markup_declarations(data.replace(b"\x00", b"").decode("latin-1"))  # before decoding: UTF-16 too
    _refuse_markup_declarations(decode_upload(data)[0])  # after: any other encoding
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionInvalid("BPMN 文件不是格式正确的 XML", "BPMN file is not well-formed XML", [Problem(
            f"XML 语法错误：{exc.msg}", f"XML syntax error: {exc.msg}", line=exc.lineno)]) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DefinitionInvalid("BPMN 文件含有 DOCTYPE", "BPMN file has a DOCTYPE",
                                [Problem("不允许 DOCTYPE 声明", "DOCTYPE declarations are not allowed", line=1)])
    if root.tag != bpmn("definitions"):
        raise DefinitionInvalid("不是 BPMN 2.0 文件", "not a BPMN 2.0 file", [Problem(
            "根元素应为 bpmn:definitions", "the root element must be bpmn:definitions", line=root.sourceline)])
    _refuse_too_many_elements(root)
    return tree


def _refuse_too_many_elements(root: etree._Element) -> None:
    total = flow_nodes = flows = 0
    for node in root.iter():
        total += 1
        if total > MAX_ELEMENTS:
            raise DefinitionInvalid(*_TOO_LARGE, [Problem(
                f"元素超过 {MAX_ELEMENTS} 个", f"more than {MAX_ELEMENTS} elements", line=node.sourceline)])
        name = local_name(node)
        flow_nodes += name in FLOW_NODES
        flows += name == "sequenceFlow"
    for count, limit, zh, en in ((flow_nodes, MAX_FLOW_NODES, "流程节点", "flow nodes"),
                                 (flows, MAX_SEQUENCE_FLOWS, "顺序流", "sequence flows")):
        if count > limit:
            raise DefinitionInvalid(*_TOO_LARGE, [Problem(f"{zh}共 {count} 个，超过上限 {limit} 个",
                                                          f"{count} {en}, the limit is {limit}", line=1)])


def as_utf8_text(data: bytes, tree: etree._ElementTree) -> str:
    """The document as text: the upload itself when it is UTF-8, else re-encoded with a UTF-8 declaration."""
    text, codec = decode_upload(data)
    if codec == "utf-8":
        return text
    return etree.tostring(tree, encoding="UTF-8", xml_declaration=True).decode("utf-8")


def lint(tree: etree._ElementTree, forms: Collection[str], departments: Iterable[str]) -> list[Problem]:
    """Our own deploy-time rules; returns every problem found (empty when the file is acceptable).

    ``forms``: the form keys user tasks may name; ``departments``: the lane department codes.
    """
    root = tree.getroot()
    problems = content_problems(root, forms, departments) + structure_problems(root)
    return sorted(problems, key=lambda p: p.line or 0)


def lane_departments(tree: etree._ElementTree) -> dict[tuple[str, str], str]:
    """Map (process id, flow node id) to the department code of the lane holding it."""
    out: dict[tuple[str, str], str] = {}
    for process in tree.getroot().iter(bpmn("process")):
        for lane in process.iter(bpmn("lane")):
            department = properties_of(lane).get("department", "")
            for ref in lane.findall("bpmn:flowNodeRef", NS):
                out[(process.get("id"), (ref.text or "").strip())] = department
    return out


def process_ids(tree: etree._ElementTree) -> list[str]:
    """Ids of the executable processes a file defines."""
    return [p.get("id") for p in tree.getroot().iter(bpmn("process"))]


def called_elements(tree: etree._ElementTree) -> list[str]:
    """Process ids named by the file's call activities."""
    calls = tree.getroot().iter(bpmn("callActivity"))
    return sorted({c.get("calledElement") for c in calls if c.get("calledElement")})


@dataclass
class SpecBundle:
    """A parsed process with the processes it calls, plus what the app reads from the XML itself."""

    process_id: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    lanes: dict[tuple[str, str], str] = field(default_factory=dict)

    def statutory_timers(self) -> list[dict[str, str]]:
        """Properties of every timer whose deadline is a statutory period from the notice."""
        found = []
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                props = getattr(task_spec, "extensions", {}).get("properties", {})
                if props.get("deadlineRule") == "statutory":
                    found.append(props)
        return found

    def field_timers(self) -> dict[str, dict[str, str]]:
        """Timers whose deadline is a date entered in a form, by field name."""
        found = {}
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                props = getattr(task_spec, "extensions", {}).get("properties", {})
                if props.get("deadlineRule") == "field":
                    found[props["field"]] = props
        return found


def _spiff_problems(exc: Exception, trees: list[etree._ElementTree]) -> list[Problem]:
    element_id = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None) or None
    node = None
    if element_id and not line:
        for tree in trees:
            hits = tree.getroot().xpath("//*[@id=$i]", i=element_id)
            if hits:
                node = hits[0]
                break
    message = " ".join(str(getattr(exc, "message", None) or exc).split())
    while message.endswith(".."):  # the schema validator's own full stop after libxml2's
        message = message[:-1]
    problem = _problem(f"BPMN 校验失败：{message}", f"BPMN validation failed: {message}", node, line)
    if element_id and node is None:
        problem.element_id = element_id
    return [problem]


def parse_bundle(main: tuple[str, etree._ElementTree], called: list[tuple[str, etree._ElementTree]],
                 process_id: str) -> SpecBundle:
    """Parse a main file and the files it calls with SpiffWorkflow's validating parser."""
    parser = SpiffBpmnParser(validator=_VALIDATOR)
    trees = [main[1]] + [t for _, t in called]
    try:
        for filename, tree in [main, *called]:
            parser.add_bpmn_xml(tree, filename=filename)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except Exception as exc:  # ValidationException, and a few bare exception types on broken structure
        if isinstance(exc, RecursionError) or isinstance(exc.__context__, RecursionError):
            process = main[1].getroot().find(f"bpmn:process[@id='{process_id}']", NS)
            raise DefinitionInvalid("BPMN 校验失败", "BPMN validation failed", [_problem(
                "连续的步骤过多（约 450 个以上），引擎无法解析：请拆分为被调用的流程",
                "too many steps in a row (more than about 450) for the engine to parse: split the process into "
                "called processes", process, 1 if process is None else None)]) from None
        raise DefinitionInvalid("BPMN 校验失败", "BPMN validation failed", _spiff_problems(exc, trees)) from None
    lanes: dict[tuple[str, str], str] = {}
    for tree in trees:
        lanes.update(lane_departments(tree))
    return SpecBundle(process_id, spec, subprocess_specs, lanes)


class SpecCache:
    """Parsed spec bundles by the tuple of definition ids they were built from (thread-safe)."""

    def __init__(self) -> None:
        self._bundles: dict[tuple[int, ...], SpecBundle] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[int, ...]) -> SpecBundle | None:
        """The cached bundle, if any."""
        return self._bundles.get(key)

    def put(self, key: tuple[int, ...], bundle: SpecBundle) -> SpecBundle:
        """Remember a bundle; the first one stored for a key wins."""
        with self._lock:
            return self._bundles.setdefault(key, bundle)
