"""Process definitions: hardened XML reading, deploy-time checks, and parsed specs.

Every BPMN text passes ``check_bpmn`` before it is stored or run: a hardened lxml
parse (no DTD, no entities, no network, size limit), then our rules (no scripts or
service tasks, every expression inside the safe language, every lane a known
department, every user task an existing form, every timer a deadline rule), then
SpiffWorkflow's own XSD and structural checks. Problems name the line and element.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import DefinitionInvalid, Problem
from engine.expressions import ExpressionError, check_expression

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
MAX_BPMN_BYTES = 2 * 1024 * 1024
LANE_ROLES = {"lead", "enterprise"}
REFUSED_TAGS = {
    "scriptTask": ("脚本任务", "script task"),
    "serviceTask": ("服务任务", "service task"),
    "businessRuleTask": ("业务规则任务", "business rule task"),
}
REFUSED_EXTENSIONS = ("preScript", "postScript", "serviceTaskOperator")
_VALIDATOR = BpmnValidator()


def _problem(zh: str, en: str, node: etree._Element | None = None, line: int | None = None) -> Problem:
    element_id = node.get("id") if node is not None else None
    name = node.get("name") if node is not None else None
    if name:
        zh, en = f"{zh}（元素 {element_id}「{name}」）", f"{en} (element {element_id} '{name}')"
    elif element_id:
        zh, en = f"{zh}（元素 {element_id}）", f"{en} (element {element_id})"
    return Problem(zh, en, line=line if line is not None else (node.sourceline if node is not None else None),
                   element_id=element_id)


def read_xml(data: bytes) -> etree._ElementTree:
    """Parse untrusted BPMN bytes with a hardened parser; refuse DTDs, entities and oversized input."""
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionInvalid("BPMN 文件过大", "BPMN file too large", [Problem(
            f"文件大小 {len(data)} 字节，超过上限 {MAX_BPMN_BYTES} 字节",
            f"file has {len(data)} bytes, the limit is {MAX_BPMN_BYTES}")])
    head = data[:4096].replace(b"\x00", b"").upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.replace(b"\x00", b"").upper():
        raise DefinitionInvalid("BPMN 文件含有 DOCTYPE 或实体声明", "BPMN file has a DOCTYPE or entity", [Problem(
            "不允许 DOCTYPE 或实体（ENTITY）声明", "DOCTYPE and ENTITY declarations are not allowed", line=1)])
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
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise DefinitionInvalid("不是 BPMN 2.0 文件", "not a BPMN 2.0 file", [Problem(
            "根元素应为 bpmn:definitions", "the root element must be bpmn:definitions", line=root.sourceline)])
    return tree


def as_utf8_text(data: bytes, tree: etree._ElementTree) -> str:
    """The document as text: the upload itself when it is UTF-8, else re-encoded with a UTF-8 declaration."""
    if (tree.docinfo.encoding or "UTF-8").upper().replace("-", "") == "UTF8":
        return data.decode("utf-8-sig")
    return etree.tostring(tree, encoding="UTF-8", xml_declaration=True).decode("utf-8")


def properties_of(node: etree._Element) -> dict[str, str]:
    """The ``spiffworkflow:property`` name/value pairs directly under a node's extension elements."""
    return {
        p.get("name"): p.get("value", "")
        for p in node.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS)
    }


def lint(tree: etree._ElementTree, forms_dir: Path, departments: Iterable[str]) -> list[Problem]:
    """Our own deploy-time rules; returns every problem found (empty when the file is acceptable)."""
    root = tree.getroot()
    known = set(departments) | LANE_ROLES
    problems: list[Problem] = []
    for tag, (zh, en) in REFUSED_TAGS.items():
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            problems.append(_problem(f"不允许{zh}：上传的流程不能执行代码", f"{en}s are not allowed: "
                                     "uploaded processes cannot run code", node))
    for name in REFUSED_EXTENSIONS:
        for node in root.iter(f"{{{SPIFF_NS}}}{name}"):
            owner = node.getparent().getparent()
            problems.append(_problem(f"不允许脚本扩展 {name}", f"script extension {name} is not allowed", owner,
                                     node.sourceline))
    for expr_tag in ("conditionExpression", "timeDate", "timeDuration", "timeCycle"):
        for node in root.iter(f"{{{BPMN_NS}}}{expr_tag}"):
            owner = node.getparent()
            if expr_tag != "conditionExpression":
                owner = owner.getparent()
            text = (node.text or "").strip()
            if not text:
                problems.append(_problem("表达式为空", "empty expression", owner, node.sourceline))
                continue
            try:
                check_expression(text)
            except ExpressionError as exc:
                problems.append(_problem(f"表达式不安全或无法解析：{exc.message_zh}",
                                         f"expression refused: {exc.message_en}", owner, node.sourceline))
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        department = properties_of(lane).get("department")
        if department not in known:
            problems.append(_problem(f"泳道未指定已知部门（department={department!r}）",
                                     f"lane has no known department (department={department!r})", lane))
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        form = properties_of(task).get("formJsonSchemaFilename")
        if not form:
            problems.append(_problem("用户任务未指定表单", "user task has no form", task))
        elif "/" in form or "\\" in form or form.startswith(".") or not (forms_dir / form).is_file():
            problems.append(_problem(f"表单 {form} 不存在", f"form {form} does not exist", task))
    for event in root.iter(f"{{{BPMN_NS}}}boundaryEvent", f"{{{BPMN_NS}}}intermediateCatchEvent"):
        if event.find("bpmn:timerEventDefinition", NS) is None:
            continue
        problems.extend(_timer_rule_problems(event))
    return problems


def _timer_rule_problems(event: etree._Element) -> list[Problem]:
    props = properties_of(event)
    rule = props.get("deadlineRule")
    if rule == "statutory":
        months = props.get("months", "")
        if not months.isdigit() or not 1 <= int(months) <= 120:
            return [_problem("法定期限的月数应为 1 到 120 的整数", "a statutory period needs months from 1 to 120",
                             event)]
        return []
    if rule == "field":
        if not props.get("field", "").isidentifier():
            return [_problem("期限规则 field 需要指定表单字段名", "deadline rule 'field' needs a form field name",
                             event)]
        return []
    return [_problem("定时器未指定期限规则（deadlineRule 应为 statutory 或 field）",
                     "timer has no deadline rule (deadlineRule must be statutory or field)", event)]


def lane_departments(tree: etree._ElementTree) -> dict[tuple[str, str], str]:
    """Map (process id, flow node id) to the department code of the lane holding it."""
    out: dict[tuple[str, str], str] = {}
    for process in tree.getroot().iter(f"{{{BPMN_NS}}}process"):
        for lane in process.iter(f"{{{BPMN_NS}}}lane"):
            department = properties_of(lane).get("department", "")
            for ref in lane.findall("bpmn:flowNodeRef", NS):
                out[(process.get("id"), (ref.text or "").strip())] = department
    return out


def process_ids(tree: etree._ElementTree) -> list[str]:
    """Ids of the executable processes a file defines."""
    return [p.get("id") for p in tree.getroot().iter(f"{{{BPMN_NS}}}process")]


def called_elements(tree: etree._ElementTree) -> list[str]:
    """Process ids named by the file's call activities."""
    return sorted({c.get("calledElement") for c in tree.getroot().iter(f"{{{BPMN_NS}}}callActivity")})


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
    message = getattr(exc, "message", None) or str(exc)
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
    except ValidationException as exc:
        raise DefinitionInvalid("BPMN 校验失败", "BPMN validation failed", _spiff_problems(exc, trees)) from None
    except Exception as exc:  # the parser raises a few bare exception types on broken structure
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
