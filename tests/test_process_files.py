"""Checks on the generated BPMN files in processes/ and the forms in forms/."""
import ast
import itertools
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnValidator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.parties import PARTY_CODES

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
DIMENSIONS = ["energy_use", "environmental", "quality", "safety", "technology", "phase_out"]
FLOW_NODES = ["startEvent", "endEvent", "userTask", "exclusiveGateway", "parallelGateway",
              "boundaryEvent", "callActivity"]
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))
SIDE_BRANCH_ENDS = {"price_set"}  # energy_use: the differential price branch (C-3.3) ends on its own


def tree(path):
    return etree.parse(str(path))


def props(el):
    return {p.get("name"): p.get("value")
            for p in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/"
                                 "spiffworkflow:property", NS)}


def bounds(shape):
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def parser_with_all():
    parser = SpiffBpmnParser(validator=BpmnValidator())
    for path in BPMN_FILES:
        parser.add_bpmn_str(path.read_bytes(), filename=path.name)
    return parser


def test_expected_files():
    assert [p.stem for p in BPMN_FILES] == sorted(DIMENSIONS + ["closure_measures", "annual_report"])


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_parses_alone(path):
    parser = SpiffBpmnParser(validator=BpmnValidator())
    parser.add_bpmn_str(path.read_bytes(), filename=path.name)
    assert path.stem in parser.get_process_ids()


@pytest.mark.parametrize("pid", DIMENSIONS + ["closure_measures"])
def test_loads_with_called_processes(pid):
    parser = parser_with_all()
    spec = parser.get_spec(pid)
    subprocesses = parser.get_subprocess_specs(pid)
    assert spec.name == pid
    if pid != "closure_measures":
        assert "closure_measures" in subprocesses


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_semantics(path):
    root = tree(path).getroot()
    process = root.find("bpmn:process", NS)
    assert process.get("id") == path.stem and process.get("isExecutable") == "true"
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [path.stem]
    nodes = [el for tag in FLOW_NODES for el in process.iterfind(f"bpmn:{tag}", NS)]
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    refs = [r.text for lane in lanes for r in lane.iterfind("bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(n.get("id") for n in nodes)      # each node in one lane
    for lane in lanes:
        assert props(lane)["department"] in PARTY_CODES | {"lead"}
    for task in process.iterfind("bpmn:userTask", NS):
        form = props(task)["formJsonSchemaFilename"]
        assert form in (f"{task.get('id')}.schema.json", f"annual_{task.get('id')}.schema.json")
        assert (FORMS / form).is_file()
        assert task.findtext("bpmn:documentation", namespaces=NS).startswith("依据C-")
    for timer in process.iterfind("bpmn:boundaryEvent", NS):
        rule = props(timer)
        assert rule["deadlineRule"] in {"statutory", "field"} and rule["clause"].startswith("C-")
        assert rule.get("months" if rule["deadlineRule"] == "statutory" else "field")
        assert timer.get("cancelActivity") == "true"
        assert timer.findtext("bpmn:timerEventDefinition/bpmn:timeDate", namespaces=NS) == "deadline_at"
    for end in process.iterfind("bpmn:endEvent", NS):
        if path.stem == "annual_report":
            assert {k: v for k, v in props(end).items() if k != "nameEn"} == {"reportStatus": "published"}
        elif path.stem != "closure_measures" and end.get("id") not in SIDE_BRANCH_ENDS:
            assert props(end)["caseStatus"] in {"compliant", "exited"}
        else:                                 # ends a branch; the case's status comes from its main path
            assert "caseStatus" not in props(end)
    flows = {f.get("id"): f for f in process.iterfind("bpmn:sequenceFlow", NS)}
    for gateway in process.iterfind("bpmn:exclusiveGateway", NS):
        outgoing = [f for f in flows.values() if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) > 1:
            default = gateway.get("default")
            assert default in flows and flows[default].get("sourceRef") == gateway.get("id")
            for f in outgoing:
                has_condition = f.find("bpmn:conditionExpression", NS) is not None
                assert has_condition == (f.get("id") != default)


ALLOWED_EXPRESSION_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.Compare, ast.Eq,
                            ast.In, ast.Name, ast.Load, ast.Tuple, ast.Constant)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_conditions_use_the_small_expression_language(path):
    for el in tree(path).iterfind(".//bpmn:conditionExpression", NS):
        for node in ast.walk(ast.parse(el.text, mode="eval")):
            assert isinstance(node, ALLOWED_EXPRESSION_NODES), (el.text, node)
            if isinstance(node, ast.Constant):
                assert node.value is True or node.value is False or isinstance(node.value, str)


def test_forms_are_valid_and_used():
    used = set()
    for path in BPMN_FILES:
        for task in tree(path).iterfind(".//bpmn:userTask", NS):
            used.add(props(task)["formJsonSchemaFilename"])
    files = {p.name for p in FORMS.glob("*.schema.json")}
    assert files == used
    for name in files:
        schema = json.loads((FORMS / name).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False and schema["title"]
        assert set(schema["required"]) <= set(schema["properties"])
        for field in schema["properties"].values():
            assert field["title"] and field["description"]


def test_rectify_form_requires_reason_for_extension():
    schema = json.loads((FORMS / "rectify.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"outcome": "rectified"})
    assert not validator.is_valid({"outcome": "extension_requested"})
    assert validator.is_valid({"outcome": "extension_requested", "extension_months": 3, "reason": "x"})
    assert not validator.is_valid({"outcome": "extension_requested", "extension_months": 4, "reason": "x"})


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_diagram(path):
    root = tree(path).getroot()
    process = root.find("bpmn:process", NS)
    shapes = {s.get("bpmnElement"): bounds(s) for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y")))
                                    for w in e.iterfind("di:waypoint", NS)]
             for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    nodes = {el.get("id"): el for tag in FLOW_NODES for el in process.iterfind(f"bpmn:{tag}", NS)}
    flows = process.findall("bpmn:sequenceFlow", NS)
    assert set(nodes) <= set(shapes)
    assert {f.get("id") for f in flows} == set(edges)
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    for a, b in itertools.combinations([shapes[lane.get("id")] for lane in lanes], 2):
        assert not overlap(a, b)
    for lane in lanes:
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[lane.get("id")]
            sx, sy, sw, sh = shapes[ref.text]
            assert x <= sx and sx + sw <= x + w and y <= sy + sh / 2 <= y + h
    host = {n: el.get("attachedToRef") for n, el in nodes.items()}
    for a, b in itertools.combinations(nodes, 2):
        if host[a] != b and host[b] != a:
            assert not overlap(shapes[a], shapes[b]), (a, b)
    for f in flows:                       # orthogonal, and through no other node
        points = edges[f.get("id")]
        ends = {f.get("sourceRef"), f.get("targetRef")}
        for p, q in itertools.pairwise(points):
            assert p[0] == q[0] or p[1] == q[1]
            box = (min(p[0], q[0]), min(p[1], q[1]), abs(p[0] - q[0]), abs(p[1] - q[1]))
            for n in set(nodes) - ends:
                assert not overlap(box, shapes[n]) or box[2] == box[3] == 0, (f.get("id"), n)


def test_generator_output_matches_files(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_processes.py"), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    generated = sorted(p.name for p in tmp_path.glob("*.bpmn"))
    assert generated == [p.name for p in BPMN_FILES]
    for name in generated:
        assert (tmp_path / name).read_bytes() == (PROCESSES / name).read_bytes(), name


def run_energy_use(answers):
    parser = parser_with_all()
    wf = BpmnWorkflow(parser.get_spec("energy_use"), parser.get_subprocess_specs("energy_use"))
    start = wf.get_tasks(state=TaskState.READY)[0]
    start.set_data(dimension="energy_use", lead_department="industry", industry="flat_glass",  # no C-3.3 prices
                   overdue=False, solid_waste=False, deadline_at="2099-01-01T00:00:00+08:00")
    wf.do_engine_steps()
    done = []
    for key, data in answers:
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        assert [t.task_spec.bpmn_id for t in ready] == [key]
        ready[0].set_data(**data)
        ready[0].run()
        wf.do_engine_steps()
        done.append((key, ready[0].task_spec.lane))
    return wf, done


def test_energy_use_smoke_compliant():
    wf, done = run_energy_use([("rectify", {"outcome": "rectified"}),
                               ("reinspect", {"result": "pass", "findings": "达标"})])
    assert wf.is_completed()
    assert done == [("rectify", "企业"), ("reinspect", "牵头部门")]
    end = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "end_compliant"]
    assert end and end[0].task_spec.extensions["properties"]["caseStatus"] == "compliant"


def test_energy_use_smoke_extension_then_closure():
    wf, _ = run_energy_use([
        ("rectify", {"outcome": "extension_requested", "extension_months": 3, "reason": "x"}),
        ("review_extension", {"approved": True, "opinion": "同意"}),
        ("rectify", {"outcome": "rectified"}),
        ("reinspect", {"result": "fail", "findings": "仍未达标"}),
        ("government_approval", {"approved": True, "opinion": "批准"}),
        ("close_order", {"order_no": "1", "order_date": "2025-01-01", "grounds": "x"}),
        ("record_exit", {"equipment": "高炉", "capacity_tpy": 1000, "exit_date": "2025-02-01"}),
    ])
    ready = {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    assert ready == {"resettle_workers", "cancel_licence"}    # overdue False: no credit listing


def test_energy_use_deadline_timer_leads_to_approval():
    parser = parser_with_all()
    wf = BpmnWorkflow(parser.get_spec("energy_use"), parser.get_subprocess_specs("energy_use"))
    wf.get_tasks(state=TaskState.READY)[0].set_data(
        dimension="energy_use", lead_department="industry", industry="flat_glass", overdue=False,
        solid_waste=False, deadline_at="2000-01-01T00:00:00+08:00")
    wf.do_engine_steps()
    wf.refresh_timers()
    wf.do_engine_steps()
    ready = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)]
    assert ready == ["government_approval"]
    timer = next(t for t in wf.get_tasks() if t.task_spec.bpmn_id == "rectify_deadline")
    assert timer.task_spec.extensions["properties"] == {
        "deadlineRule": "statutory", "months": "6", "clause": "C-2.1", "nameEn": "Rectification period expired"}
