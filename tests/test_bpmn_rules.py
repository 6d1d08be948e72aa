"""Deploy-time validation rules, one test (or table) per rule, with broken and hostile BPMN.

Most tests run ``read_xml`` + ``lint`` on a variant of ``processes/energy_use.bpmn`` or on a
tiny process built from a template; the hostile inputs of issue 4 also go through
``deployments.deploy`` (which runs ``deployments.check``, shared by the API and
``capexit init``) to show that nothing is deployed. API-level tests are in
``test_definitions_upload.py``.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import definitions as defs
from engine.context import Actor
from engine.errors import DefinitionInvalid, Problem
from engine.models import Definition
from engine.parties import PARTY_CODES
from engine.services import deployments

ROOT = Path(__file__).resolve().parent.parent
FORMS = {p.name for p in (ROOT / "forms").glob("*.schema.json")}
ENERGY = (ROOT / "processes" / "energy_use.bpmn").read_text(encoding="utf-8")
CLOSURE = (ROOT / "processes" / "closure_measures.bpmn").read_text(encoding="utf-8")
OWNER = Actor("owner_rules", "owner")
TIMER_DATE = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">deadline_at</bpmn:timeDate>'
CONDITION = 'result == "pass"'
CONDITION_FLOW = "flow_reinspect_result_to_lift_route"


def replaced(old: str, new: str, text: str = ENERGY) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def problems(text: str | bytes) -> list[Problem]:
    """Everything read_xml and lint say about a document (read_xml's refusal as its problems)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        tree = defs.read_xml(data)
    except DefinitionInvalid as exc:
        return exc.problems
    return defs.lint(tree, FORMS, PARTY_CODES)


def about(found: list[Problem], element_id: str) -> list[Problem]:
    hits = [p for p in found if p.element_id == element_id]
    assert hits, [(p.element_id, p.message_en) for p in found]
    return hits


def assert_located(found: list[Problem]) -> None:
    """Every problem has a line, Chinese and English text, and names its element's id and name when it has one."""
    assert found
    for problem in found:
        assert problem.line, problem
        assert re.match(r"[\u4e00-\u9fff]", problem.message_zh) and re.match(r"[a-zA-Z]", problem.message_en), problem
        if problem.element_id:
            assert problem.element_id in problem.message_zh and problem.element_id in problem.message_en


# ---------------------------------------------------------------------------------------------------------------
# a tiny process template: user tasks go into one lane of the lead department


def user(node_id: str, name: str = "") -> str:
    return (f'<bpmn:userTask id="{node_id}" name="{name or node_id}"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formJsonSchemaFilename" value="rectify.schema.json"/>'
            "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>")


def deadline(node_id: str, host: str, expression: str = TIMER_DATE) -> str:
    return (f'<bpmn:boundaryEvent id="{node_id}" name="期限届满" attachedToRef="{host}"><bpmn:extensionElements>'
            '<spiffworkflow:properties><spiffworkflow:property name="deadlineRule" value="statutory"/>'
            '<spiffworkflow:property name="months" value="6"/></spiffworkflow:properties></bpmn:extensionElements>'
            f"<bpmn:timerEventDefinition>{expression}</bpmn:timerEventDefinition></bpmn:boundaryEvent>")


def flow(source: str, target: str, condition: str | None = None) -> str:
    inner = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
    return (f'<bpmn:sequenceFlow id="{source}_to_{target}" sourceRef="{source}" targetRef="{target}"'
            + (f">{inner}</bpmn:sequenceFlow>" if condition else "/>"))


def tiny(*elements: str) -> str:
    body = "\n    ".join(elements)
    tasks = re.findall(r'<bpmn:userTask id="([^"]+)"', body)
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in tasks)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="definitions_tiny" targetNamespace="http://capexit.local/bpmn">
  <bpmn:process id="tiny" name="小流程" isExecutable="true">
    <bpmn:laneSet id="laneset_tiny"><bpmn:lane id="lane_lead" name="牵头部门"><bpmn:extensionElements>
      <spiffworkflow:properties><spiffworkflow:property name="department" value="lead"/></spiffworkflow:properties>
    </bpmn:extensionElements>{refs}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" name="开始"/>
    <bpmn:endEvent id="end" name="结束"/>
    {body}
  </bpmn:process>
</bpmn:definitions>
"""


# ---------------------------------------------------------------------------------------------------------------
# the shipped processes pass; problems are located


@pytest.mark.parametrize("path", sorted((ROOT / "processes").glob("*.bpmn")), ids=lambda p: p.stem)
def test_shipped_processes_have_no_problems(path):
    assert problems(path.read_bytes()) == []


def test_tiny_template_is_acceptable():
    assert problems(tiny(user("work"), flow("start", "work"), flow("work", "end"))) == []


# ---------------------------------------------------------------------------------------------------------------
# structure: start events, reachability, dangling flows


def test_no_start_event():
    text = replaced('<bpmn:startEvent id="notice" name="下达整改通知">', '<bpmn:intermediateThrowEvent id="notice">')
    text = replaced("</bpmn:startEvent>", "</bpmn:intermediateThrowEvent>", text)
    found = problems(text)
    hit = about(found, "energy_use")
    assert "no start event" in hit[0].message_en and "没有开始事件" in hit[0].message_zh
    assert hit[0].line == line_of(text, '<bpmn:process id="energy_use"')
    assert "能耗不达标产能整改退出" in hit[0].message_zh  # the process name
    assert_located(found)


def test_unreachable_island_is_refused_though_spiffworkflow_would_accept_it():
    island = (user("island_task", "孤岛任务") + '<bpmn:exclusiveGateway id="island_gate"/>'
              + flow("island_task", "island_gate") + flow("island_gate", "island_task"))
    text = tiny(user("work"), flow("start", "work"), flow("work", "end"), island)
    found = problems(text)
    assert {p.element_id for p in found} == {"island_task", "island_gate"}
    assert all("cannot be reached" in p.message_en for p in found)
    assert "孤岛任务" in about(found, "island_task")[0].message_zh
    assert_located(found)
    defs.parse_bundle(("tiny.bpmn", defs.read_xml(text.encode())), [], "tiny")  # the library never looks at it


def test_unreachable_subprocess_is_named_not_its_contents():
    sub = ('<bpmn:subProcess id="lost_sub" name="迷失的子流程"><bpmn:startEvent id="s2"/><bpmn:endEvent id="e2"/>'
           + flow("s2", "e2") + "</bpmn:subProcess>" + flow("lost_sub", "end"))
    found = problems(tiny(flow("start", "end"), '<bpmn:exclusiveGateway id="nowhere"/>', flow("nowhere", "lost_sub"),
                          sub))
    assert {p.element_id for p in found} == {"nowhere", "lost_sub"}


def test_reachability_follows_boundary_events_and_subprocess_starts():
    sub = ('<bpmn:subProcess id="sub" name="子流程"><bpmn:startEvent id="s2"/><bpmn:endEvent id="e2"/>'
           + flow("s2", "e2") + "</bpmn:subProcess>")
    text = tiny(user("work"), deadline("late", "work"), flow("start", "work"), flow("work", "sub"), sub,
                flow("sub", "end"), '<bpmn:endEvent id="end_late"/>', flow("late", "end_late"))
    assert problems(text) == []


@pytest.mark.parametrize(("old", "new", "element_id", "words"), [
    ('sourceRef="notice"', 'sourceRef="ghost"', "flow_notice_to_price_route", "source 'ghost' names no element"),
    ('targetRef="lift_route"', 'targetRef="ghost"', CONDITION_FLOW, "target 'ghost' names no element"),
    ('targetRef="lift_route"', 'targetRef="lane_lead"', CONDITION_FLOW, "target 'lane_lead' names no element"),
    ('<bpmn:sequenceFlow id="flow_closure_to_end_exited" sourceRef="closure" targetRef="end_exited"/>', "",
     "closure", "no outgoing sequence flow"),
    ('<bpmn:sequenceFlow id="flow_closure_to_end_exited" sourceRef="closure" targetRef="end_exited"/>', "",
     "end_exited", "no incoming sequence flow"),
    ('attachedToRef="rectify"', 'attachedToRef="ghost"', "rectify_deadline", "attached to 'ghost'"),
    ('attachedToRef="rectify"', 'attachedToRef="rectify_merge"', "rectify_deadline", "not an activity"),
])
def test_dangling_flows_and_references(old, new, element_id, words):
    text = replaced(old, new)
    hit = about(problems(text), element_id)
    assert any(words in p.message_en for p in hit), [p.message_en for p in hit]
    assert_located(hit)


def test_gateway_without_incoming_flow():
    found = problems(tiny(flow("start", "end"), '<bpmn:parallelGateway id="floating"/>', flow("floating", "end")))
    assert [p.message_en for p in found] == ["element has no incoming sequence flow (only start and boundary events "
                                             "may have none) (element floating)"]


# ---------------------------------------------------------------------------------------------------------------
# gateways and conditions


def test_condition_on_a_parallel_fork_is_refused():
    text = replaced('<bpmn:sequenceFlow id="flow_measures_fork_to_resettle_workers" sourceRef="measures_fork" '
                    'targetRef="resettle_workers"/>',
                    '<bpmn:sequenceFlow id="flow_measures_fork_to_resettle_workers" sourceRef="measures_fork" '
                    'targetRef="resettle_workers">\n<bpmn:conditionExpression>overdue == True'
                    "</bpmn:conditionExpression>\n</bpmn:sequenceFlow>", CLOSURE)
    hit = about(problems(text), "flow_measures_fork_to_resettle_workers")
    assert "parallel gateway measures_fork" in hit[0].message_en and "并行网关" in hit[0].message_zh
    assert hit[0].line == line_of(text, "<bpmn:conditionExpression>overdue")


def test_branch_of_an_exclusive_gateway_without_condition_is_refused():
    text = replaced(f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{CONDITION}'
                    "</bpmn:conditionExpression>", "")
    hit = about(problems(text), CONDITION_FLOW)
    assert "non-default flow out of gateway reinspect_result has no condition" in hit[0].message_en


@pytest.mark.parametrize(("old", "new", "element_id", "words"), [
    ('default="flow_reinspect_result_to_closure_merge"', 'default="flow_notice_to_rectify_merge"', "reinspect_result",
     "is not a flow out of this element"),
    ('name="不合格" sourceRef="reinspect_result" targetRef="closure_merge"/>',
     'name="不合格" sourceRef="reinspect_result" targetRef="closure_merge"><bpmn:conditionExpression>result != "pass"'
     "</bpmn:conditionExpression></bpmn:sequenceFlow>", "flow_reinspect_result_to_closure_merge",
     "default flow cannot have a condition"),
    ('<bpmn:sequenceFlow id="flow_rectify_merge_to_rectify" sourceRef="rectify_merge" targetRef="rectify"/>',
     '<bpmn:sequenceFlow id="flow_rectify_merge_to_rectify" sourceRef="rectify_merge" targetRef="rectify">'
     "<bpmn:conditionExpression>1 == 1</bpmn:conditionExpression></bpmn:sequenceFlow>", "rectify_merge",
     "conditions but no default flow"),
    ('default="flow_reinspect_result_to_closure_merge"', "", "reinspect_result", "conditions but no default flow"),
    ('<bpmn:sequenceFlow id="flow_reinspect_to_reinspect_result" sourceRef="reinspect" targetRef="reinspect_result"/>',
     '<bpmn:sequenceFlow id="flow_reinspect_to_reinspect_result" sourceRef="reinspect" targetRef="reinspect_result">'
     "<bpmn:conditionExpression>1 == 1</bpmn:conditionExpression></bpmn:sequenceFlow>",
     "flow_reinspect_to_reinspect_result", "only flows out of exclusive or inclusive gateways"),
])
def test_conditions_where_the_engine_reads_them(old, new, element_id, words):
    found = problems(replaced(old, new))
    assert any(words in p.message_en for p in about(found, element_id)), [p.message_en for p in found]


# ---------------------------------------------------------------------------------------------------------------
# expressions: conditions and timers stay inside the safe language; timers are a variable or ISO text

HOSTILE_EXPRESSIONS = [
    '__import__("os").system("id")', "().__class__", "().__class__.__base__.__subclasses__()",
    "(lambda: deadline_at)()", "[x for x in (1, 2)]", "{k: 1 for k in (1, 2)}", "sum(x for x in (1, 2))",
    'getattr(deadline_at, "upper")()', "(x := 1)", '"x" * 10 ** 9 if False else deadline_at.__len__',
]


@pytest.mark.parametrize("kind", ["timeDate", "timeDuration", "timeCycle"])
@pytest.mark.parametrize("expression", HOSTILE_EXPRESSIONS)
def test_hostile_timer_expressions_of_every_kind(kind, expression):
    xml_expression = expression.replace("<", "&lt;").replace(">", "&gt;")
    text = replaced(TIMER_DATE, f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{xml_expression}</bpmn:{kind}>')
    hit = about(problems(text), "rectify_deadline")
    assert len(hit) == 1 and "expression refused" in hit[0].message_en, hit
    assert hit[0].line == line_of(text, f"<bpmn:{kind}")
    assert "整改期限届满" in hit[0].message_zh


@pytest.mark.parametrize("expression", HOSTILE_EXPRESSIONS + ['__builtins__["eval"]("1")', "result.__dict__"])
def test_hostile_conditions(expression):
    text = replaced(CONDITION, expression.replace("<", "&lt;").replace(">", "&gt;"))
    hit = about(problems(text), CONDITION_FLOW)
    assert "expression refused" in hit[0].message_en
    assert hit[0].line == line_of(ENERGY, CONDITION)


def test_conditional_event_expressions_are_checked_too():
    event = ('<bpmn:intermediateCatchEvent id="wait_until" name="等待条件"><bpmn:conditionalEventDefinition>'
             "<bpmn:condition>().__class__</bpmn:condition></bpmn:conditionalEventDefinition>"
             "</bpmn:intermediateCatchEvent>")
    text = tiny(user("work"), event, flow("start", "work"), flow("work", "wait_until"), flow("wait_until", "end"))
    assert "expression refused" in about(problems(text), "wait_until")[0].message_en


@pytest.mark.parametrize(("kind", "expression", "words"), [
    ("timeDate", "P6M", 'ISO 8601 text needs quotes: write "P6M"'),
    ("timeCycle", "R3/P1M", "must be a variable name or quoted ISO 8601 text (ISO 8601 text needs quotes)"),
    ("timeDate", "deadline_at + 1", "must be a variable name or quoted ISO 8601 text"),
    ("timeDate", "max(deadline_at, 1)", "must be a variable name or quoted ISO 8601 text"),
    ("timeDate", '"2026-13-01T00:00:00+08:00"', "is not an ISO 8601 date and time"),
    ("timeDate", '"P6M"', "is not an ISO 8601 date and time"),
    ("timeDate", '"2026-06-01T00:00:00"', "has no UTC offset"),
    ("timeDuration", '"PT1D"', "is not an ISO 8601 duration"),
    ("timeDuration", '"P1M2W"', "is not an ISO 8601 duration"),
    ("timeDuration", '"6 months"', "is not an ISO 8601 duration"),
    ("timeDuration", '"P"', "is zero"),
    ("timeDuration", '"P99999999Y"', "longer than 100 years"),
    ("timeCycle", '"R/PT1S"', "shorter than one hour"),
    ("timeCycle", '"R5"', "not an ISO 8601 repeating interval"),
    ("timeCycle", '"R/2026-06-01T00:00:00+08:00/2026-07-01T00:00:00+08:00"', "exactly one duration"),
    ("timeCycle", '"R3/2026-06-01/P1M"', "has no UTC offset"),
    ("timeDate", "   ", "empty expression"),
])
def test_timer_expression_is_a_variable_or_iso_text(kind, expression, words):
    text = replaced(TIMER_DATE, f"<bpmn:{kind}>{expression}</bpmn:{kind}>")
    hit = about(problems(text), "rectify_deadline")
    assert len(hit) == 1 and words in hit[0].message_en, hit[0].message_en
    assert hit[0].line == line_of(text, f"<bpmn:{kind}>")


@pytest.mark.parametrize(("kind", "expression"), [
    ("timeDate", '"2026-06-01T00:00:00+08:00"'), ("timeDuration", '"P6M"'), ("timeCycle", '"R3/P1M"'),
    ("timeDuration", "deadline_at"), ("timeDate", "other_deadline"),
])
def test_valid_timer_text_must_still_read_the_deadline_its_rule_sets(kind, expression):
    hit = about(problems(replaced(TIMER_DATE, f"<bpmn:{kind}>{expression}</bpmn:{kind}>")), "rectify_deadline")
    assert len(hit) == 1 and "<timeDate>deadline_at</timeDate>" in hit[0].message_en


@pytest.mark.parametrize("inner", ["", TIMER_DATE + '<bpmn:timeDuration>"P1D"</bpmn:timeDuration>'])
def test_timer_needs_exactly_one_expression(inner):
    hit = about(problems(replaced(TIMER_DATE, inner)), "rectify_deadline")
    assert "exactly one timeDate, timeDuration or timeCycle" in hit[0].message_en


def test_timer_in_an_intermediate_event_needs_a_deadline_rule_too():
    event = ('<bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition>'
             f"{TIMER_DATE}</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")
    found = problems(tiny(event, flow("start", "wait"), flow("wait", "end")))
    assert "no deadline rule" in about(found, "wait")[0].message_en


# ---------------------------------------------------------------------------------------------------------------
# the parallel-join trap and endless loops

JOIN = '<bpmn:parallelGateway id="join" name="汇聚"/>'
FORK = '<bpmn:parallelGateway id="fork"/>'


def trap(*timer_path: str) -> str:
    """fork -> (work with a deadline) and other -> join; the deadline's path given by the caller."""
    return tiny(FORK, JOIN, user("work", "办理"), user("other"), deadline("late", "work"), *timer_path,
                flow("start", "fork"), flow("fork", "work"), flow("fork", "other"), flow("work", "join"),
                flow("other", "join"), flow("join", "end"))


@pytest.mark.parametrize("timer_path", [
    [flow("late", "join")],
    ['<bpmn:task id="noop"/>', flow("late", "noop"), flow("noop", "join")],
    ['<bpmn:parallelGateway id="fork2"/>', '<bpmn:endEvent id="end2"/>', flow("late", "fork2"), flow("fork2", "join"),
     flow("fork2", "end2")],
    [user("notify", "通知"), flow("late", "notify"), flow("notify", "join")],
], ids=["direct", "no-op task", "through a fork", "through a task"])
def test_boundary_and_normal_flow_into_one_parallel_join_is_refused(timer_path):
    found = problems(trap(*timer_path))
    hit = about(found, "join")
    assert len(found) == 1 and "boundary event late" in hit[0].message_en and "task work" in hit[0].message_en
    assert "汇聚" in hit[0].message_zh and "排他网关" in hit[0].message_zh


def test_merging_with_an_exclusive_gateway_first_is_accepted():
    text = tiny(FORK, JOIN, user("work"), user("other"), deadline("late", "work"),
                '<bpmn:exclusiveGateway id="merge"/>',
                flow("start", "fork"), flow("fork", "work"), flow("fork", "other"), flow("work", "merge"),
                flow("late", "merge"), flow("merge", "join"), flow("other", "join"), flow("join", "end"))
    assert problems(text) == []


def test_loop_without_a_human_task_is_refused():
    text = tiny('<bpmn:exclusiveGateway id="again"/>', '<bpmn:task id="spin" name="空转"/>',
                '<bpmn:exclusiveGateway id="check" default="check_to_end"/>', flow("start", "again"),
                flow("again", "spin"), flow("spin", "check"), flow("check", "again", "1 == 1"), flow("check", "end"))
    found = problems(text)
    assert [p.element_id for p in found] == ["again"]
    assert "again, check, spin" in found[0].message_en and "无限循环" in found[0].message_zh


def test_self_loop_is_refused():
    text = tiny('<bpmn:exclusiveGateway id="spin" default="spin_to_end"/>', flow("start", "spin"),
                flow("spin", "spin", "True"), flow("spin", "end"))
    assert "loop without a human task" in about(problems(text), "spin")[0].message_en


# ---------------------------------------------------------------------------------------------------------------
# lanes, forms, calls, ids, code


@pytest.mark.parametrize(("old", "new", "element_id", "words"), [
    ("<bpmn:flowNodeRef>reinspect</bpmn:flowNodeRef>", "", "reinspect", "lies in no lane"),
    ("<bpmn:flowNodeRef>reinspect</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>reinspect</bpmn:flowNodeRef>"
     "<bpmn:flowNodeRef>ghost</bpmn:flowNodeRef>", "lane_lead", "refers to a missing element 'ghost'"),
    ('calledElement="closure_measures"', 'calledElement=""', "closure", "names no process"),
    ('calledElement="closure_measures"', 'calledElement="energy_use"', "closure", "cannot call itself"),
    ('<bpmn:userTask id="close_order"', '<bpmn:userTask id="reinspect"', "reinspect", "duplicate element id"),
    ('<bpmn:exclusiveGateway id="exit_merge">', '<bpmn:complexGateway id="exit_merge">', "exit_merge",
     "complex gateways are not allowed"),
    ("<bpmn:incoming>flow_rectify_merge_to_rectify</bpmn:incoming>",
     '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>1000000</bpmn:loopCardinality>'
     "</bpmn:multiInstanceLoopCharacteristics>", "rectify", "multi-instance activities are not allowed"),
    ("<bpmn:incoming>flow_rectify_merge_to_rectify</bpmn:incoming>",
     "<bpmn:standardLoopCharacteristics/>", "rectify", "loop activities are not allowed"),
    ('<bpmn:userTask id="close_order"', '<bpmn:businessRuleTask id="close_order"', "close_order",
     "business rule tasks are not allowed"),
])
def test_lanes_calls_ids_and_refused_elements(old, new, element_id, words):
    text = replaced(old, new)
    if "businessRuleTask" in new:
        text = replaced("</bpmn:userTask>\n    <bpmn:exclusiveGateway id=\"exit_merge\">",
                        "</bpmn:businessRuleTask>\n    <bpmn:exclusiveGateway id=\"exit_merge\">", text)
    if "complexGateway" in new:
        text = replaced("</bpmn:exclusiveGateway>\n    <bpmn:callActivity",
                        "</bpmn:complexGateway>\n    <bpmn:callActivity", text)
    hit = about(problems(text), element_id)
    assert any(words in p.message_en for p in hit), [p.message_en for p in hit]
    assert_located(hit)


def test_user_task_inside_an_embedded_subprocess_is_refused():
    sub = ('<bpmn:subProcess id="sub" name="子流程"><bpmn:startEvent id="s2"/>' + user("inner", "内部任务")
           + '<bpmn:endEvent id="e2"/>' + flow("s2", "inner") + flow("inner", "e2") + "</bpmn:subProcess>")
    found = problems(tiny(sub, flow("start", "sub"), flow("sub", "end")))
    assert "cannot sit inside an embedded subprocess" in about(found, "inner")[0].message_en


# ---------------------------------------------------------------------------------------------------------------
# size and element counts


def test_fifty_megabytes_are_refused_before_parsing():
    data = ENERGY.encode("utf-8").replace(b"<bpmn:collaboration", b"<!-- " + b"x" * (50 * 1024 * 1024) + b" -->"
                                          b"<bpmn:collaboration", 1)
    started = time.perf_counter()
    with pytest.raises(DefinitionInvalid) as caught:
        defs.read_xml(data)
    assert time.perf_counter() - started < 0.5
    assert "limit is 2097152" in caught.value.problems[0].message_en


@pytest.mark.parametrize(("element", "count", "words"), [
    ('<bpmn:task id="t{}"/>', 1_999, "2001 flow nodes, the limit is 2000"),  # with the start and end events
    ('<bpmn:sequenceFlow id="f{}" sourceRef="start" targetRef="end"/>', 4_000, "4001 sequence flows"),
    ("<bpmn:documentation/>", 50_001, "more than 50000 elements"),
])
def test_too_many_elements_are_refused(element, count, words):
    text = tiny(flow("start", "end"), "".join(element.format(i) for i in range(count)))
    assert len(text.encode()) < defs.MAX_BPMN_BYTES
    found = problems(text)
    assert len(found) == 1 and words in found[0].message_en


def test_a_long_chain_passes_our_rules_quickly_but_the_engine_cannot_parse_it():
    steps = [f'<bpmn:task id="t{i}"/>' for i in range(1_500)]
    flows = [flow("start", "t0")] + [flow(f"t{i}", f"t{i + 1}") for i in range(1_499)] + [flow("t1499", "end")]
    text = tiny(*steps, *flows)
    started = time.perf_counter()
    assert problems(text) == []
    assert time.perf_counter() - started < 2
    with pytest.raises(DefinitionInvalid) as caught:  # SpiffWorkflow's parser recurses once per step
        defs.parse_bundle(("tiny.bpmn", defs.read_xml(text.encode())), [], "tiny")
    assert "too many steps in a row" in caught.value.problems[0].message_en
    assert caught.value.problems[0].element_id == "tiny"


# ---------------------------------------------------------------------------------------------------------------
# encodings: any declared encoding, but the bytes must match it

DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"


def declared(encoding: str, text: str = ENERGY) -> str:
    return replaced(DECLARATION, f"<?xml version='1.0' encoding='{encoding}'?>", text)


@pytest.mark.parametrize(("data", "words"), [
    (ENERGY.encode("gbk"), "do not match the declared encoding UTF-8"),
    (ENERGY.replace(DECLARATION + "\n", "").encode("gbk"), "declares no encoding, so it is read as UTF-8"),
    (declared("GBK").encode("utf-8"), "declares GBK but its content is UTF-8"),
    (declared("ISO-8859-1").encode("utf-8"), "declares ISO-8859-1 but its content is UTF-8"),
    (declared("UTF-16").encode("utf-8"), "says UTF-16 but the file is written in an 8-bit encoding"),
    (b"\xef\xbb\xbf" + declared("GBK").encode("utf-8"), "says GBK but the file is written in UTF-8 (with a byte"),
    (declared("UTF-8").encode("utf-16"), "says UTF-8 but the file is written in UTF-16-LE (with a byte"),
    (declared("UTF-16BE").encode("utf-16-le"), "says UTF-16BE but the file is written in UTF-16-LE"),
    (declared("X-NOPE").encode("utf-8"), "'X-NOPE' in the XML declaration is not supported"),
    (declared("base64").encode("utf-8"), "'base64' in the XML declaration is not supported"),
    (declared("UTF-7").encode("utf-8"), "'UTF-7' in the XML declaration is not supported"),
])
def test_bytes_that_do_not_match_their_encoding_are_refused(data, words):
    found = problems(data)
    assert len(found) == 1 and words in found[0].message_en, found
    assert found[0].line and re.search(r"[\u4e00-\u9fff]", found[0].message_zh)


def test_a_mismatch_names_the_line_of_the_first_bad_byte():
    text = declared("GBK")
    data = text.encode("gbk").replace("能耗不达标产能整改退出（依据C-2.1）".encode("gbk"),
                                      "能耗不达标产能整改退出（依据C-2.1）".encode())
    found = problems(data)
    assert found[0].line == line_of(text, "<bpmn:documentation>能耗不达标产能整改退出（依据C-2.1）")
    assert "do not match the declared encoding GBK" in found[0].message_en


def test_utf7_cannot_smuggle_an_entity():
    smuggled = "+ADw-!DOCTYPE x +AFs-+ADw-!ENTITY e SYSTEM 'file:///etc/passwd'+AD4-+AF0-+AD4-"  # <!DOCTYPE x [<!ENTITY
    text = declared("UTF-7").replace("?>\n", f"?>\n{smuggled}\n", 1)
    assert problems(text)


# ---------------------------------------------------------------------------------------------------------------
# the whole deploy path (API and ``capexit init`` share deployments.check): refusals deploy nothing

BILLION_LAUGHS = "<!DOCTYPE bpmn:definitions [<!ENTITY lol \"lol\">" + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>\n"
HOSTILE = {
    "xxe file": replaced("?>\n", '?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'),
    "xxe network": replaced("?>\n", '?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>\n'),
    "parameter entity": replaced("?>\n", '?>\n<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>\n'),
    "billion laughs": replaced("?>\n", "?>\n" + BILLION_LAUGHS),
    "utf-16 doctype": declared("UTF-16", replaced(
        "?>\n", '?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n')).encode("utf-16"),
    "fifty megabytes": b"<" + b"x" * (50 * 1024 * 1024),
    "script task": replaced("</bpmn:process>", '<bpmn:scriptTask id="evil" name="恶意"><bpmn:script>import os'
                            "</bpmn:script></bpmn:scriptTask></bpmn:process>"),
    "service task": replaced("</bpmn:process>", '<bpmn:serviceTask id="evil" name="外呼"/></bpmn:process>'),
    "__import__ condition": replaced(CONDITION, '__import__("os").system("id") == 0'),
    "class escape timer": replaced("deadline_at</bpmn:timeDate>", "().__class__.__base__</bpmn:timeDate>"),
    "lambda timer": replaced(TIMER_DATE, "<bpmn:timeDuration>(lambda: 'P1D')()</bpmn:timeDuration>"),
    "comprehension condition": replaced(CONDITION, "[c for c in result] == []"),
    "generator timer": replaced(TIMER_DATE, "<bpmn:timeCycle>next(x for x in 'R/P1D')</bpmn:timeCycle>"),
    "gbk bytes declared utf-8": ENERGY.encode("gbk"),
    "unreachable": replaced("</bpmn:process>", '<bpmn:exclusiveGateway id="孤立网关" name="孤立"/>'
                            '<bpmn:sequenceFlow id="孤立流" sourceRef="孤立网关" targetRef="end_exited"/></bpmn:process>'),
    "no start": replaced("<bpmn:startEvent id=\"notice\" name=\"下达整改通知\">", '<bpmn:task id="notice">').replace(
        "</bpmn:startEvent>", "</bpmn:task>"),
    "timer bare iso": replaced("deadline_at</bpmn:timeDate>", "P6M</bpmn:timeDate>"),
    "join trap": trap(flow("late", "join")),
    "endless loop": tiny('<bpmn:exclusiveGateway id="spin" default="spin_to_end"/>', flow("start", "spin"),
                         flow("spin", "spin", "True"), flow("spin", "end")),
}


def definition_rows(ctx) -> list[tuple[str, int]]:
    with ctx.unit_of_work() as session:
        return sorted(tuple(row) for row in session.execute(sa.select(Definition.process_id, Definition.version)))


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_upload_is_refused_and_nothing_deployed(ctx, name):
    data = HOSTILE[name]
    before = definition_rows(ctx)
    with pytest.raises(DefinitionInvalid) as caught, ctx.unit_of_work() as session:
        deployments.deploy(ctx, session, OWNER, data.encode("utf-8") if isinstance(data, str) else data)
    assert caught.value.problems
    assert all(p.line is not None or p.element_id or "the limit is" in p.message_en for p in caught.value.problems)
    assert "root:" not in str([p.message_en for p in caught.value.problems])
    assert definition_rows(ctx) == before


def test_a_hostile_file_stops_capexit_init(ctx, tmp_path):
    for path in (ROOT / "processes").glob("*.bpmn"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "energy_use.bpmn").write_text(HOSTILE["join trap"].replace('id="tiny"', 'id="energy_use"'),
                                              encoding="utf-8")
    before = definition_rows(ctx)
    with pytest.raises(DefinitionInvalid) as caught, ctx.unit_of_work() as session:
        deployments.deploy_directory(ctx, session, OWNER, tmp_path)
    assert "join" in {p.element_id for p in caught.value.problems}
    assert definition_rows(ctx) == before


def test_chinese_ids_and_names_deploy(ctx):
    text = ENERGY.replace("rectify_merge", "整改汇合").replace("能耗不达标产能整改退出", "能耗不达标产能整改退出（修订）")
    with ctx.unit_of_work() as session:
        row = deployments.deploy(ctx, session, OWNER, text.encode("utf-8"))
        assert (row.process_id, row.version) == ("energy_use", 2)
        assert 'id="整改汇合"' in row.bpmn


@pytest.mark.parametrize("encoding", ["GB18030", "GBK", "UTF-16", "UTF-16BE"])
def test_declared_encodings_are_stored_as_utf8(ctx, encoding):
    text = declared(encoding).replace("能耗不达标产能整改退出", "能耗不达标产能整改退出（另存）")
    with ctx.unit_of_work() as session:
        row = deployments.deploy(ctx, session, OWNER, text.encode(encoding))
        assert row.version == 2
        assert "能耗不达标产能整改退出（另存）" in row.bpmn
        assert "encoding='UTF-8'" in row.bpmn
        defs.read_xml(row.bpmn.encode("utf-8"))


def test_utf16_with_a_byte_order_mark_and_no_declaration_is_stored_as_utf8(ctx):
    text = ENERGY.replace(DECLARATION + "\n", "").replace("能耗不达标产能整改退出", "能耗不达标产能整改退出（UTF-16）")
    with ctx.unit_of_work() as session:
        row = deployments.deploy(ctx, session, OWNER, text.encode("utf-16"))
        assert "能耗不达标产能整改退出（UTF-16）" in row.bpmn


def test_a_timer_definition_with_its_own_id_is_read_from_its_event():
    """bpmn-js gives every timerEventDefinition an id; the rule and its problems belong to the event."""
    from pathlib import Path

    from engine import definitions as defs
    from engine.parties import PARTY_CODES

    root = Path(__file__).resolve().parent.parent
    text = (root / "processes" / "environmental.bpmn").read_text(encoding="utf-8")
    text = text.replace("<bpmn:timerEventDefinition>", '<bpmn:timerEventDefinition id="TimerEventDefinition_1">', 1)
    assert 'id="TimerEventDefinition_1"' in text
    tree = defs.read_xml(text.encode("utf-8"))
    assert defs.lint(tree, {p.name for p in (root / "forms").glob("*.schema.json")}, PARTY_CODES) == []
