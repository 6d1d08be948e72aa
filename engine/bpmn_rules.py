"""Deploy-time content rules for BPMN: no code, safe expressions, timers, lanes, forms, calls, ids.

Each rule is a function from the parsed tree to a list of ``Problem``; every problem names
the element (id and name) and its line, in Chinese and English. The structural rules
(start events, reachability, flows, gateways, joins, loops) are in ``engine.bpmn_graph``.
``engine.definitions.lint`` runs both.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.errors import Problem
from engine.expressions import ExpressionError, check_expression

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
LANE_ROLES = {"lead", "enterprise"}
_CODE = ("上传的流程不能执行代码", "uploaded processes cannot run code")
_UNBOUNDED = ("任务数量将不受控制", "they would multiply tasks without bound")
REFUSED_TAGS = {  # tag -> (Chinese, English plural, reason)
    "scriptTask": ("脚本任务", "script tasks", _CODE),
    "serviceTask": ("服务任务", "service tasks", _CODE),
    "businessRuleTask": ("业务规则任务", "business rule tasks", _CODE),
    "multiInstanceLoopCharacteristics": ("多实例活动", "multi-instance activities", _UNBOUNDED),
    "standardLoopCharacteristics": ("循环活动", "loop activities", _UNBOUNDED),
    "complexGateway": ("复杂网关", "complex gateways", ("引擎不支持", "the engine does not support them")),
}
REFUSED_EXTENSIONS = ("preScript", "postScript", "serviceTaskOperator")
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
# Texts the engine evaluates besides timers (conditions, conditional events, message payloads, correlations).
EXPRESSION_TAGS = (*(f"{{{BPMN_NS}}}{t}" for t in ("conditionExpression", "condition", "completionCondition",
                                                   "formalExpression", "messagePath")),
                   f"{{{SPIFF_NS}}}messagePayload", f"{{{SPIFF_NS}}}expression")
DEADLINE_VARIABLE = "deadline_at"
MAX_TIMER_DAYS = 100 * 366  # a timer further away than a century is a typo (and costs a loop per month)
MIN_CYCLE_DAYS = 1 / 24  # a repeating timer fires at most hourly
_ISO_DURATION = re.compile(r"P(?=.)(?:\d+[YMWD])*(?:T(?:\d+[HMS])+)?", re.IGNORECASE)  # as a bare name: P6M
_LOOKS_ISO = re.compile(r"R\d*/.*|P(\d|T\d).*|\d{4}-\d\d-\d\d.*", re.IGNORECASE)


def bpmn(tag: str) -> str:
    """The qualified name of a BPMN element."""
    return f"{{{BPMN_NS}}}{tag}"


def local_name(node: etree._Element) -> str:
    """The BPMN local name of an element ('' for comments and other namespaces)."""
    tag = node.tag
    return tag[len(BPMN_NS) + 2:] if isinstance(tag, str) and tag.startswith(f"{{{BPMN_NS}}}") else ""


def _problem(zh: str, en: str, node: etree._Element | None = None, line: int | None = None) -> Problem:
    element_id = node.get("id") if node is not None else None
    name = node.get("name") if node is not None else None
    if name:
        zh, en = f"{zh}（元素 {element_id}「{name}」）", f"{en} (element {element_id} '{name}')"
    elif element_id:
        zh, en = f"{zh}（元素 {element_id}）", f"{en} (element {element_id})"
    return Problem(zh, en, line=line if line is not None else (node.sourceline if node is not None else None),
                   element_id=element_id)


def properties_of(node: etree._Element) -> dict[str, str]:
    """The ``spiffworkflow:property`` name/value pairs directly under a node's extension elements."""
    return {
        p.get("name"): p.get("value", "")
        for p in node.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS)
    }


def owner_of(node: etree._Element) -> etree._Element:
    """The nearest ancestor (or the node) with an id that is a diagram element: the one a problem should name.

    Event definitions are skipped: bpmn-js gives them ids, but the event is what the user sees and edits.
    """
    current: etree._Element | None = node
    while current is not None and (current.get("id") is None or str(current.tag).endswith("EventDefinition")):
        current = current.getparent()
    return current if current is not None else node


def content_problems(root: etree._Element, forms: Collection[str], departments: Iterable[str]) -> list[Problem]:
    """Every content rule on a document; empty when acceptable."""
    return [*duplicate_id_problems(root), *code_problems(root), *expression_problems(root), *timer_problems(root),
            *lane_problems(root, set(departments) | LANE_ROLES), *form_problems(root, forms),
            *call_problems(root)]


def duplicate_id_problems(root: etree._Element) -> list[Problem]:
    """Ids are unique in a document (flows and lanes refer to them)."""
    counts = Counter(node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id"))
    seen: set[str] = set()
    problems = []
    for node in root.iter():
        element_id = node.get("id") if isinstance(node.tag, str) else None
        if element_id and counts[element_id] > 1:
            if element_id in seen:
                problems.append(_problem(f"元素 id {element_id} 重复", f"duplicate element id {element_id}", node))
            seen.add(element_id)
    return problems


def code_problems(root: etree._Element) -> list[Problem]:
    """No task or extension that runs code, no loops or multi-instance activities, no complex gateways."""
    problems = []
    for tag, (zh, en, (why_zh, why_en)) in REFUSED_TAGS.items():
        for node in root.iter(bpmn(tag)):
            if tag == "multiInstanceLoopCharacteristics" and _over_collection(node):
                continue
            problems.append(_problem(f"不允许{zh}：{why_zh}", f"{en} are not allowed: {why_en}", owner_of(node),
                                     node.sourceline))
    for name in REFUSED_EXTENSIONS:
        for node in root.iter(f"{{{SPIFF_NS}}}{name}"):
            problems.append(_problem(f"不允许脚本扩展 {name}", f"script extension {name} is not allowed",
                                     owner_of(node), node.sourceline))
    return problems


def _over_collection(node: etree._Element) -> bool:
    """A multi-instance activity over a collection in the case data (``loopDataInputRef``, no cardinality): one
    instance per item the app put there (e.g. the annual report's departments), so the data bounds it."""
    return node.find("bpmn:loopDataInputRef", NS) is not None and node.find("bpmn:loopCardinality", NS) is None


def expression_problems(root: etree._Element) -> list[Problem]:
    """Conditions and other evaluated texts stay inside the safe expression language."""
    problems = []
    for node in root.iter(*EXPRESSION_TAGS):
        problem = _unsafe(node)
        if problem:
            problems.append(problem)
    return problems


def _unsafe(node: etree._Element) -> Problem | None:
    text = (node.text or "").strip()
    if not text:
        return _problem("表达式为空", "empty expression", owner_of(node), node.sourceline)
    try:
        check_expression(text)
    except ExpressionError as exc:
        return _problem(f"表达式不安全或无法解析：{exc.message_zh}", f"expression refused: {exc.message_en}",
                        owner_of(node), node.sourceline)
    return None


def timer_problems(root: etree._Element) -> list[Problem]:
    """Each timer has one safe expression (a variable or ISO 8601 text) and a deadline rule that sets it."""
    problems = []
    for definition in root.iter(bpmn("timerEventDefinition")):
        event = owner_of(definition)
        found = [c for c in definition if local_name(c) in TIMER_KINDS]
        if len(found) != 1:
            problems.append(_problem("定时器应有且只有一个 timeDate、timeDuration 或 timeCycle 表达式",
                                     "a timer needs exactly one timeDate, timeDuration or timeCycle expression",
                                     event, definition.sourceline))
            continue
        expression = found[0]
        problem = _unsafe(expression) or _timer_shape_problem(expression, event)
        problems.extend([problem] if problem else _deadline_rule_problems(event, expression))
    return problems


def _timer_shape_problem(node: etree._Element, event: etree._Element) -> Problem | None:
    kind, text = local_name(node), (node.text or "").strip()
    body = ast.parse(text, mode="eval").body
    reason: tuple[str, str] | None = None
    if isinstance(body, ast.Name):
        if _ISO_DURATION.fullmatch(text):
            reason = (f"ISO 8601 文本需要加引号：写作 \"{text}\"，否则会被当作变量名",
                      f"ISO 8601 text needs quotes: write \"{text}\", else it is read as a variable name")
    elif isinstance(body, ast.Constant) and isinstance(body.value, str):
        reason = _iso_problem(kind, body.value.strip())
    else:
        hint = ("（ISO 8601 文本需要加引号）", " (ISO 8601 text needs quotes)") if _LOOKS_ISO.fullmatch(text) else ("", "")
        reason = (f"定时器表达式应为变量名或加引号的 ISO 8601 文本{hint[0]}",
                  f"a timer expression must be a variable name or quoted ISO 8601 text{hint[1]}")
    if reason is None:
        return None
    return _problem(f"定时器表达式 {kind} 无效：{reason[0]}", f"invalid timer {kind}: {reason[1]}", event,
                    node.sourceline)


def _iso_problem(kind: str, value: str) -> tuple[str, str] | None:
    """Why an ISO 8601 literal does not fit its timer kind, or None."""
    if kind == "timeDate":
        return _date_problem(value)
    if kind == "timeDuration":
        return _duration_problem(value)
    match = re.fullmatch(r"R(\d*)/([^/]+)(?:/([^/]+))?", value, re.IGNORECASE)
    if not match:
        return (f"{value!r} 不是 ISO 8601 重复区间（如 R3/P1D 或 R/2026-06-01T00:00:00+08:00/P1M）",
                f"{value!r} is not an ISO 8601 repeating interval (e.g. R3/P1D or R/2026-06-01T00:00:00+08:00/P1M)")
    parts = [p for p in match.groups()[1:] if p]
    periods = [p for p in parts if p.upper().startswith("P")]
    if len(periods) != 1:
        return "重复区间应恰好包含一个时长（P…）", "a repeating interval needs exactly one duration (P...)"
    for part in parts:
        reason = _duration_problem(part, MIN_CYCLE_DAYS) if part in periods else _date_problem(part)
        if reason:
            return reason
    return None


def _date_problem(value: str) -> tuple[str, str] | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return (f"{value!r} 不是 ISO 8601 日期时间（如 2026-06-01T00:00:00+08:00）",
                f"{value!r} is not an ISO 8601 date and time (e.g. 2026-06-01T00:00:00+08:00)")
    if moment.tzinfo is None:
        return (f"{value!r} 缺少时区（如 +08:00），否则按服务器时区计算",
                f"{value!r} has no UTC offset (e.g. +08:00); it would follow the server's time zone")
    return None


def _duration_problem(value: str, shortest: float = 0.0) -> tuple[str, str] | None:
    try:
        if not value.upper().startswith("P"):
            raise ValueError(value)
        parsed = TimerEventDefinition.parse_iso_duration(value)
    except Exception:
        return (f"{value!r} 不是 ISO 8601 时长（如 P6M、P10D、PT12H；不允许 PT1D 或混用周与年月日）",
                f"{value!r} is not an ISO 8601 duration (e.g. P6M, P10D, PT12H; not PT1D, no weeks with other units)")
    days = (parsed.get("years", 0) * 366 + parsed.get("months", 0) * 31 + parsed.get("weeks", 0) * 7
            + parsed.get("days", 0) + parsed.get("hours", 0) / 24 + parsed.get("minutes", 0) / 1440
            + parsed.get("seconds", 0) / 86400)
    if days > MAX_TIMER_DAYS:
        return f"时长 {value} 超过 100 年", f"duration {value} is longer than 100 years"
    if days <= shortest:
        if shortest:
            return f"重复周期 {value} 短于 1 小时", f"repeating period {value} is shorter than one hour"
        return f"时长 {value} 为零", f"duration {value} is zero"
    return None


def _deadline_rule_problems(event: etree._Element, expression: etree._Element) -> list[Problem]:
    props = properties_of(event)
    rule = props.get("deadlineRule")
    if rule not in ("statutory", "field"):
        return [_problem("定时器未指定期限规则（deadlineRule 应为 statutory 或 field）",
                         "timer has no deadline rule (deadlineRule must be statutory or field)", event)]
    if rule == "statutory":
        months = props.get("months", "")
        if not months.isdigit() or not 1 <= int(months) <= 120:
            return [_problem("法定期限的月数应为 1 到 120 的整数", "a statutory period needs months from 1 to 120",
                             event)]
    elif not props.get("field", "").isidentifier():
        return [_problem("期限规则 field 需要指定表单字段名", "deadline rule 'field' needs a form field name", event)]
    if local_name(expression) != "timeDate" or (expression.text or "").strip() != DEADLINE_VARIABLE:
        return [_problem(f"期限由应用按期限规则计算并存入变量 {DEADLINE_VARIABLE}：定时器应写作 "
                         f"<timeDate>{DEADLINE_VARIABLE}</timeDate>，否则触发时间与显示的法定期限不一致",
                         f"the app computes the deadline from the rule into {DEADLINE_VARIABLE}: the timer must be "
                         f"<timeDate>{DEADLINE_VARIABLE}</timeDate>, else it fires at another time than the deadline "
                         "shown", event, expression.sourceline)]
    return []


def lane_problems(root: etree._Element, known: set[str]) -> list[Problem]:
    """Lanes name a known department and existing elements; every human task lies directly in a lane."""
    problems = []
    for process in root.iter(bpmn("process")):
        nodes = {n.get("id"): n for n in process if n.get("id")}
        in_lane: set[str] = set()
        for lane in process.iter(bpmn("lane")):
            department = properties_of(lane).get("department")
            if department not in known:
                problems.append(_problem(f"泳道未指定已知部门（department={department!r}）",
                                         f"lane has no known department (department={department!r})", lane))
            for ref in lane.findall("bpmn:flowNodeRef", NS):
                target = (ref.text or "").strip()
                in_lane.add(target)
                if target not in nodes:
                    problems.append(_problem(f"泳道引用了不存在的元素 {target!r}",
                                             f"lane refers to a missing element {target!r}", lane, ref.sourceline))
        for task in process.iter(bpmn("userTask"), bpmn("manualTask")):
            if task.getparent() is not process:
                problems.append(_problem("人工任务不能放在内嵌子流程中（无法分配部门），请改用调用活动",
                                         "human tasks cannot sit inside an embedded subprocess (no department can "
                                         "be assigned); use a call activity", task))
            elif task.get("id") not in in_lane:
                problems.append(_problem("人工任务不在任何泳道中，无人可以办理", "human task lies in no lane: "
                                         "nobody could work it", task))
    return problems


def form_problems(root: etree._Element, forms: Collection[str]) -> list[Problem]:
    """Every user task names a known form (a key with a stored version, ``engine.services.forms``)."""
    problems = []
    for task in root.iter(bpmn("userTask")):
        form = properties_of(task).get("formJsonSchemaFilename")
        if not form:
            problems.append(_problem("用户任务未指定表单", "user task has no form", task))
        elif form not in forms:
            problems.append(_problem(f"表单 {form} 不存在", f"form {form} does not exist", task))
    return problems


def call_problems(root: etree._Element) -> list[Problem]:
    """Call activities name another process (whether it is deployed is checked at deploy)."""
    problems = []
    for process in root.iter(bpmn("process")):
        for call in process.iter(bpmn("callActivity")):
            called = (call.get("calledElement") or "").strip()
            if not called:
                problems.append(_problem("调用活动未指定被调用的流程（calledElement）",
                                         "call activity names no process (calledElement)", call))
            elif called == process.get("id"):
                problems.append(_problem("流程不能调用自身", "a process cannot call itself", call))
    return problems
