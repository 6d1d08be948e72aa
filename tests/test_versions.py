"""Definition versions: new cases on the newest, old ones stay; the diff; migrating running cases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.context import Actor
from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.models import AuditEvent, Case, Definition, OpenTask, WaitingTimer
from engine.services import cases, deployments, migration, timers, versions
from tests.conftest import actor

ROOT = Path(__file__).resolve().parent.parent
ENERGY = (ROOT / "processes" / "energy_use.bpmn").read_text(encoding="utf-8")
CLOSURE = (ROOT / "processes" / "closure_measures.bpmn").read_text(encoding="utf-8")
OWNER = Actor("owner_li", "owner")
UNPRICED = "flat_glass"  # energy_use without the C-3.3 price branch (tests/test_measures.py)

LEGAL_REVIEW = """<bpmn:userTask id="legal_review" name="法制审核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="government_approval.schema.json"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_approval_result_to_close_order</bpmn:incoming>
      <bpmn:outgoing>flow_legal_review_to_close_order</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_legal_review_to_close_order" sourceRef="legal_review" targetRef="close_order"/>
    """


def _replace(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) == count, (old, text.count(old))
    return text.replace(old, new)


def with_legal_review(text: str = ENERGY) -> str:
    """energy_use with a legal review step after government approval, before the closing order."""
    text = _replace(text, 'sourceRef="approval_result" targetRef="close_order"',
                    'sourceRef="approval_result" targetRef="legal_review"')
    text = _replace(text, "<bpmn:incoming>flow_approval_result_to_close_order</bpmn:incoming>",
                    "<bpmn:incoming>flow_legal_review_to_close_order</bpmn:incoming>")
    text = _replace(text, '<bpmn:exclusiveGateway id="exit_merge">', LEGAL_REVIEW + '<bpmn:exclusiveGateway id="exit_merge">')
    text = _replace(text, "<bpmn:flowNodeRef>approval_result</bpmn:flowNodeRef>",
                    "<bpmn:flowNodeRef>approval_result</bpmn:flowNodeRef>\n        "
                    "<bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>")
    return _replace(text, '<bpmndi:BPMNShape id="close_order_di"',
                    '<bpmndi:BPMNShape id="legal_review_di" bpmnElement="legal_review">\n        '
                    '<dc:Bounds x="1615" y="660" width="100" height="80"/>\n      </bpmndi:BPMNShape>\n      '
                    '<bpmndi:BPMNShape id="close_order_di"')


def with_renamed_reinspect(text: str = ENERGY) -> str:
    """energy_use where the re-inspection step has a new name."""
    return _replace(text, '<bpmn:userTask id="reinspect" name="复查验收">',
                    '<bpmn:userTask id="reinspect" name="现场复查验收">')


def with_site_reinspection(text: str = ENERGY) -> str:
    """energy_use where the element ``reinspect`` is replaced by a new element ``site_reinspect``."""
    for old, new in (('<bpmn:userTask id="reinspect" ', '<bpmn:userTask id="site_reinspect" '),
                     ("<bpmn:flowNodeRef>reinspect</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>site_reinspect</bpmn:flowNodeRef>"),
                     ('targetRef="reinspect"', 'targetRef="site_reinspect"'),
                     ('sourceRef="reinspect"', 'sourceRef="site_reinspect"'),
                     ('bpmnElement="reinspect"', 'bpmnElement="site_reinspect"')):
        text = _replace(text, old, new)
    return text


def deploy(ctx, text: str, note: str = "") -> dict:
    return deployments.deploy_upload(ctx, OWNER, text.encode("utf-8"), note=note)


def definition_id(ctx, process_id: str, version: int | None = None) -> int:
    with ctx.unit_of_work() as session:
        query = sa.select(Definition.id).where(Definition.process_id == process_id)
        if version is not None:
            return session.scalar(query.where(Definition.version == version))
        return session.scalar(query.order_by(Definition.version.desc()).limit(1))


def case_version(ctx, case_id: int) -> int:
    with ctx.unit_of_work() as session:
        case = session.get(Case, case_id)
        return session.get(Definition, case.definition_id).version


def open_keys(ctx, case_id: int) -> list[str]:
    return [t["key"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]]


def events(ctx, case_id: int, action: str) -> list[dict]:
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action == action))
        return [{"actor": e.actor, **json.loads(e.detail)} for e in rows]


def fail_reinspection(work, case_id: int) -> None:
    work(case_id, "rectify", {"outcome": "rectified", "reason": "已更换设备"})
    work(case_id, "reinspect", {"result": "fail", "findings": "仍未达标"})


# --- the diff ---------------------------------------------------------------------------------------------------

def test_diff_lists_exactly_the_added_and_changed_elements():
    diff = versions.diff_definitions(ENERGY, with_legal_review())
    assert {c.id for c in diff.added} == {"legal_review", "flow_legal_review_to_close_order"}
    assert diff.removed == []
    changed = {c.id: c.what for c in diff.changed}
    assert changed == {"approval_result": ("outgoing",), "close_order": ("incoming",),
                       "flow_approval_result_to_close_order": ("target",)}
    added = next(c for c in diff.added if c.id == "legal_review")
    assert added.name == "法制审核" and added.tag == "userTask" and added.after["lane"] == "government"
    assert added.after["form"] == "government_approval.schema.json"
    assert diff.status("reinspect") == "unchanged" and diff.status("legal_review") == "added"


def test_diff_of_a_rename_a_replacement_and_a_moved_shape():
    renamed = versions.diff_definitions(ENERGY, with_renamed_reinspect())
    assert [(c.id, c.what, c.before["name"], c.after["name"]) for c in renamed.changed] == [
        ("reinspect", ("name",), "复查验收", "现场复查验收")]
    assert not renamed.added and not renamed.removed
    replaced = versions.diff_definitions(ENERGY, with_site_reinspection())
    assert [c.id for c in replaced.added] == ["site_reinspect"] and [c.id for c in replaced.removed] == ["reinspect"]
    assert {c.id for c in replaced.changed} == {"reinspect_merge", "reinspect_result", "flow_reinspect_merge_to_reinspect",
                                                "flow_reinspect_to_reinspect_result"}
    moved = re.sub(r'(bpmnElement="government_approval">\s*<dc:Bounds) x="\d+" y="\d+"', r'\1 x="15" y="25"', ENERGY)
    assert moved != ENERGY and versions.diff_definitions(ENERGY, moved).empty


def test_a_default_attribute_written_or_left_out_is_no_change():
    """bpmn-js leaves out what BPMN defaults (cancelActivity="true"); a file that wrote it means the same."""
    assert 'cancelActivity="true"' in ENERGY
    left_out = ENERGY.replace(' cancelActivity="true"', "")
    assert versions.diff_definitions(ENERGY, left_out).empty
    made_non_interrupting = ENERGY.replace('cancelActivity="true"', 'cancelActivity="false"', 1)
    (change,) = versions.diff_definitions(ENERGY, made_non_interrupting).changed
    assert change.what == ("attributes",) and change.after["attributes"] == "attachedToRef=rectify; cancelActivity=false"


def test_diff_sees_conditions_timers_properties_lanes_and_documentation():
    text = ENERGY.replace('result == "pass"', 'result == "pass" and findings != ""')
    text = text.replace('<spiffworkflow:property name="months" value="6"/>', '<spiffworkflow:property name="months" value="4"/>')
    text = text.replace("<bpmn:flowNodeRef>reinspect</bpmn:flowNodeRef>", "")
    text = text.replace("<bpmn:flowNodeRef>approval_result</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>approval_result</bpmn:flowNodeRef><bpmn:flowNodeRef>reinspect</bpmn:flowNodeRef>")
    text = text.replace("<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">deadline_at</bpmn:timeDate>",
                        "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">deadline_last</bpmn:timeDate>")
    text = text.replace("依据C-2.1：“逾期未整改或经整改仍未达标的，依法关停退出”。</bpmn:documentation>\n      "
                        "<bpmn:extensionElements>\n        <spiffworkflow:properties>\n          "
                        '<spiffworkflow:property name="formJsonSchemaFilename" value="close_order',
                        "依据C-2.1。</bpmn:documentation>\n      <bpmn:extensionElements>\n        "
                        "<spiffworkflow:properties>\n          "
                        '<spiffworkflow:property name="formJsonSchemaFilename" value="close_order')
    changed = {c.id: c.what for c in versions.diff_definitions(ENERGY, text).changed}
    assert changed == {"flow_reinspect_result_to_lift_route": ("condition",),
                       "rectify_deadline": ("properties", "timer"), "reinspect": ("lane",),
                       "close_order": ("documentation",)}


# --- new cases on the newest version, running ones stay --------------------------------------------------------

def test_new_cases_run_v2_while_old_cases_stay_and_complete_on_v1(ctx, make_case, work):
    old_pass, old_fail = make_case("energy_use", industry=UNPRICED), make_case("energy_use", industry=UNPRICED)
    assert deploy(ctx, with_legal_review(), note="增加法制审核") == {"process_id": "energy_use", "version": 2}
    new = make_case("energy_use", industry=UNPRICED)
    assert [case_version(ctx, c) for c in (old_pass, old_fail, new)] == [1, 1, 2]
    work(old_pass, "rectify", {"outcome": "rectified", "reason": "已整改"})
    assert work(old_pass, "reinspect", {"result": "pass", "findings": "达标"})["status"] == "compliant"
    for case_id in (old_fail, new):
        fail_reinspection(work, case_id)
        work(case_id, "government_approval", {"approved": True, "opinion": "同意关停"})
    assert open_keys(ctx, old_fail) == ["close_order"]          # v1: straight to the order
    assert open_keys(ctx, new) == ["legal_review"]             # v2: the new step first
    work(new, "legal_review", {"approved": True, "opinion": "合法"})
    assert open_keys(ctx, new) == ["close_order"]
    assert [case_version(ctx, c) for c in (old_pass, old_fail, new)] == [1, 1, 2]
    listed = {v.version: v for v in versions.list_versions(ctx, actor("supervisor"), "energy_use")}
    assert (listed[1].running, listed[1].ended, listed[2].running, listed[2].ended) == (1, 1, 1, 0)
    assert listed[2].latest and listed[2].note == "增加法制审核" and listed[2].deployed_by == "owner_li"
    summary = {p.process_id: p for p in versions.list_processes(ctx, actor("owner"))}
    assert summary["energy_use"].latest.version == 2 and summary["energy_use"].running_by_version == {1: 1, 2: 1}
    assert {"energy_use", "environmental", "safety"} <= set(summary["closure_measures"].called_by)


def test_reading_versions_is_for_owners_supervisors_and_admins(ctx):
    for role in ("owner", "supervisor", "admin"):
        assert versions.list_versions(ctx, actor(role), "energy_use")[0].version == 1
    with pytest.raises(PermissionDenied):
        versions.list_processes(ctx, actor("staff", "industry"))
    with pytest.raises(PermissionDenied):
        versions.get_version(ctx, actor("enterprise", enterprise="x"), "energy_use", 1)


# --- migration -------------------------------------------------------------------------------------------------

def test_case_waiting_on_rectify_migrates_and_then_follows_the_new_step(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    with ctx.unit_of_work() as session:
        before_task = session.scalar(sa.select(OpenTask.id).where(OpenTask.case_id == case_id))
        before_timer = session.execute(sa.select(WaitingTimer.id, WaitingTimer.due_at)
                                       .where(WaitingTimer.case_id == case_id)).one()
    deploy(ctx, with_legal_review())
    target = definition_id(ctx, "energy_use", 2)
    assert migration.can_migrate(ctx, case_id, target) == (True, [])
    done = migration.migrate_case(ctx, OWNER, case_id, target, "规则修订后迁移")
    assert (done["from_version"], done["to_version"]) == (1, 2)
    assert case_version(ctx, case_id) == 2
    [event] = events(ctx, case_id, "case_migrated")
    assert event["actor"] == "owner_li" and event["by"] == "owner_li"
    assert (event["from_version"], event["to_version"], event["note"]) == (1, 2, "规则修订后迁移")
    with ctx.unit_of_work() as session:   # the same task and the same running deadline
        assert session.scalar(sa.select(OpenTask.id).where(OpenTask.case_id == case_id)) == before_task
        assert session.execute(sa.select(WaitingTimer.id, WaitingTimer.due_at)
                               .where(WaitingTimer.case_id == case_id)).one() == before_timer
    fail_reinspection(work, case_id)
    work(case_id, "government_approval", {"approved": True, "opinion": "同意关停"})
    assert open_keys(ctx, case_id) == ["legal_review"]
    with pytest.raises(Conflict):          # already there
        migration.migrate_case(ctx, OWNER, case_id, target)


def test_deadline_still_fires_after_migration(ctx, make_case):
    case_id = make_case("energy_use", industry=UNPRICED)
    deploy(ctx, with_legal_review())
    migration.migrate_case_to_version(ctx, actor("admin"), case_id, 2, "")
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")
    assert open_keys(ctx, case_id) == ["government_approval"]
    assert events(ctx, case_id, "timer_fired")


def test_case_back_on_rectify_after_an_extension_migrates(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备采购"})
    work(case_id, "review_extension", {"approved": True, "opinion": "同意"})
    deploy(ctx, with_legal_review())
    migration.migrate_case_to_version(ctx, OWNER, case_id, 2, "延期后迁移")
    case = cases.get_case(ctx, actor("supervisor"), case_id)
    assert case["deadline"] == "2026-11-02" and [t["key"] for t in case["open_tasks"]] == ["rectify"]
    timers.advance_clock(ctx, actor("supervisor"), by="P9M")
    assert open_keys(ctx, case_id) == ["government_approval"]


def test_case_on_a_changed_step_is_refused_naming_it(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    work(case_id, "rectify", {"outcome": "rectified", "reason": "已整改"})
    waiting_on_rectify = make_case("energy_use", industry=UNPRICED)
    deploy(ctx, with_renamed_reinspect())
    target = definition_id(ctx, "energy_use", 2)
    ok, reasons = migration.can_migrate(ctx, case_id, target)
    assert not ok and [r.element_id for r in reasons] == ["reinspect"]
    assert "reinspect" in reasons[0].message_zh and "名称" in reasons[0].message_zh
    with pytest.raises(InvalidInput) as refused:
        migration.migrate_case(ctx, OWNER, case_id, target, "试迁移")
    assert [p.element_id for p in refused.value.problems] == ["reinspect"]
    assert case_version(ctx, case_id) == 1 and not events(ctx, case_id, "case_migrated")
    assert migration.can_migrate(ctx, waiting_on_rectify, target) == (True, [])   # reinspect only predicted


def test_case_on_a_removed_step_is_refused_and_one_before_it_moves_on(ctx, make_case, work):
    at_reinspect = make_case("energy_use", industry=UNPRICED)
    work(at_reinspect, "rectify", {"outcome": "rectified", "reason": "已整改"})
    at_rectify = make_case("energy_use", industry=UNPRICED)
    deploy(ctx, with_site_reinspection())
    target = definition_id(ctx, "energy_use", 2)
    ok, reasons = migration.can_migrate(ctx, at_reinspect, target)
    assert not ok and "reinspect" in [r.element_id for r in reasons]
    assert any("已删除" in r.message_zh or "不存在" in r.message_zh for r in reasons if r.element_id == "reinspect")
    migration.migrate_case(ctx, OWNER, at_rectify, target)     # predicted `reinspect` is dropped and re-predicted
    work(at_rectify, "rectify", {"outcome": "rectified", "reason": "已整改"})
    assert open_keys(ctx, at_rectify) == ["site_reinspect"]


def test_migration_inside_the_called_closure_process(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")
    work(case_id, "government_approval", {"approved": True, "opinion": "同意关停"})
    work(case_id, "close_order", {"order_no": "济工信〔2026〕1号", "order_date": "2026-10-02", "grounds": "逾期"})
    assert open_keys(ctx, case_id) == ["record_exit"]
    deploy(ctx, _replace(CLOSURE, 'id="resettle_workers" name="职工安置方案"', 'id="resettle_workers" name="职工安置"'))
    energy = definition_id(ctx, "energy_use", 1)
    assert migration.can_migrate(ctx, case_id, energy) == (True, [])   # same main version, newer closure
    deploy(ctx, _replace(CLOSURE, 'id="record_exit" name="登记退出产能"', 'id="record_exit" name="登记退出"'))
    ok, reasons = migration.can_migrate(ctx, case_id, energy)
    assert not ok and [r.element_id for r in reasons] == ["record_exit"]


def test_who_may_migrate_and_version_conflicts(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    deploy(ctx, with_legal_review())
    for who in (actor("staff", "industry"), actor("supervisor")):
        with pytest.raises(PermissionDenied):
            migration.migrate_case_to_version(ctx, who, case_id, 2)
    with pytest.raises(Conflict):
        migration.migrate_case_to_version(ctx, OWNER, case_id, 2, expected_version=99)
    with pytest.raises(InvalidInput):
        migration.migrate_case_to_version(ctx, OWNER, case_id, 7)
    with pytest.raises(InvalidInput):
        migration.migrate_case_to_version(ctx, OWNER, case_id, "2")
    ended = make_case("energy_use", industry=UNPRICED)
    work(ended, "rectify", {"outcome": "rectified", "reason": "已整改"})
    work(ended, "reinspect", {"result": "pass", "findings": "达标"})
    ok, reasons = migration.can_migrate(ctx, ended, definition_id(ctx, "energy_use", 2))
    assert not ok and "已结束" in reasons[0].message_zh


def test_candidates_list_the_cases_on_older_versions(ctx, make_case, work):
    at_rectify = make_case("energy_use", industry=UNPRICED)
    at_reinspect = make_case("energy_use", industry=UNPRICED)
    work(at_reinspect, "rectify", {"outcome": "rectified", "reason": "已整改"})
    deploy(ctx, with_renamed_reinspect())
    make_case("energy_use", industry=UNPRICED)                                     # on v2 already: not listed
    found = migration.migration_candidates(ctx, actor("supervisor"), "energy_use")
    assert (found.target_version, found.total) == (2, 2)
    rows = {c.case_id: c for c in found.cases}
    assert rows[at_rectify].ok and rows[at_rectify].steps == ["企业整改"]
    assert not rows[at_reinspect].ok and rows[at_reinspect].reasons[0].element_id == "reinspect"
