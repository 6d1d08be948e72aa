"""Form versions (engine.services.forms): seeding from forms/, publishing with every check, the latest version in
use by open tasks, what deployed processes read, diffs, and a new form used by a new step of a process."""

from __future__ import annotations

import json
import shutil

import pytest
import sqlalchemy as sa

from engine.context import ROOT, SYSTEM
from engine.errors import DefinitionInvalid, InvalidInput, NotFound, PermissionDenied
from engine.models import AuditEvent, FormVersion
from engine.services import cases, deployments, forms, tasks
from tests.conftest import ENTERPRISE_A, actor

FORMS = ROOT / "forms"
OWNER = actor("owner")
RECTIFY = "rectify.schema.json"
LEGAL = "legal_review.schema.json"
LEGAL_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "合法性审查",
    "type": "object", "additionalProperties": False, "required": ["lawful", "opinion"],
    "properties": {"lawful": {"type": "boolean", "title": "关停决定是否合法"},
                   "opinion": {"type": "string", "title": "审查意见", "maxLength": 2000}},
}


def text_of(key: str) -> str:
    return (FORMS / key).read_text(encoding="utf-8")


def schema_of(key: str) -> dict:
    return json.loads(text_of(key))


def dumped(schema: dict) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def stored(ctx, key: str) -> list[tuple[int, str, str]]:
    with ctx.unit_of_work() as session:
        return [tuple(r) for r in session.execute(sa.select(FormVersion.version, FormVersion.saved_by, FormVersion.note)
                                                  .where(FormVersion.key == key).order_by(FormVersion.version))]


def refusal(ctx, key: str, text: str, note: str = "修改") -> InvalidInput:
    before = stored(ctx, key)
    with pytest.raises(InvalidInput) as caught:
        forms.publish(ctx, OWNER, key, text, note)
    assert stored(ctx, key) == before  # nothing stored
    return caught.value


def with_rectify_field(schema: dict | None = None) -> dict:
    """rectify with a new required field, the enterprise's contact telephone."""
    schema = schema or schema_of(RECTIFY)
    schema["properties"]["contact_phone"] = {"type": "string", "title": "联系电话", "maxLength": 30}
    schema["required"] = [*schema["required"], "contact_phone"]
    return schema


# --- seeding ---------------------------------------------------------------------------------------------------

def test_init_stores_every_file_once_and_a_changed_file_as_a_new_version(ctx, tmp_path):
    files = sorted(p.name for p in FORMS.glob("*.schema.json"))
    with ctx.unit_of_work() as session:
        assert forms.known_keys(session) == set(files)
        rows = session.execute(sa.select(FormVersion.key, FormVersion.version, FormVersion.saved_by, FormVersion.note,
                                         FormVersion.schema)).all()
    assert sorted(r.key for r in rows) == files and {r.version for r in rows} == {1}
    assert {r.saved_by for r in rows} == {"system"}
    assert all(f"forms/{r.key}" in r.note for r in rows)
    assert next(r.schema for r in rows if r.key == RECTIFY) == text_of(RECTIFY)

    with ctx.unit_of_work() as session:  # init again: nothing new
        assert forms.seed_directory(ctx, session, SYSTEM, FORMS) == []

    folder = tmp_path / "forms"
    shutil.copytree(FORMS, folder)
    changed = schema_of("reinspect.schema.json")
    changed["properties"]["findings"]["maxLength"] = 8000
    (folder / "reinspect.schema.json").write_text(dumped(changed), encoding="utf-8")
    with ctx.unit_of_work() as session:
        new = forms.seed_directory(ctx, session, SYSTEM, folder)
        assert [(r.key, r.version) for r in new] == [("reinspect.schema.json", 2)]
    with ctx.unit_of_work() as session:  # idempotent, and the old file (stored before as v1) is not stored again
        assert forms.seed_directory(ctx, session, SYSTEM, folder) == []
        assert forms.seed_directory(ctx, session, SYSTEM, FORMS) == []
        assert forms.current(session, "reinspect.schema.json").schema["properties"]["findings"]["maxLength"] == 8000


def test_a_broken_file_in_forms_stops_init_and_stores_nothing(ctx, tmp_path):
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "broken.schema.json").write_text('{"type": "object",\n  "title": }', encoding="utf-8")
    with pytest.raises(InvalidInput) as caught, ctx.unit_of_work() as session:
        forms.seed_directory(ctx, session, SYSTEM, folder)
    assert "forms/broken.schema.json" in caught.value.message_zh
    assert caught.value.problems[0].line == 2
    assert stored(ctx, "broken.schema.json") == []


# --- publishing ------------------------------------------------------------------------------------------------

def test_a_new_required_field_is_used_by_an_open_task(ctx, make_case):
    case_id = make_case("energy_use", industry="other", enterprise=ENTERPRISE_A)
    company = actor("enterprise", enterprise=ENTERPRISE_A)
    task_id = next(t["id"] for t in cases.get_case(ctx, company, case_id)["open_tasks"] if t["key"] == "rectify")

    done = forms.publish(ctx, OWNER, RECTIFY, dumped(with_rectify_field()), "增加联系电话，便于复查联系")
    assert done == {"key": RECTIFY, "version": 2, "unchanged": False}
    assert stored(ctx, RECTIFY)[-1] == (2, OWNER.username, "增加联系电话，便于复查联系")
    with ctx.unit_of_work() as session:
        found = forms.current_many(session, [RECTIFY, "reinspect.schema.json", "nosuch.schema.json"])
        assert {k: f.version for k, f in found.items()} == {RECTIFY: 2, "reinspect.schema.json": 1}
        assert found[RECTIFY] is forms.current(session, RECTIFY)  # compiled once per version
    view = tasks.get_task(ctx, company, task_id)  # the task opened before the publish shows the new field
    assert view["form"]["properties"]["contact_phone"]["title"] == "联系电话"

    with pytest.raises(InvalidInput) as caught:
        tasks.complete_task(ctx, company, task_id, {"outcome": "rectified", "report": "已整改"})
    assert [p.field for p in caught.value.problems] == ["contact_phone"]
    assert "联系电话" in caught.value.problems[0].message_zh

    tasks.complete_task(ctx, company, task_id, {"outcome": "rectified", "report": "已整改", "contact_phone": "0537-1"})
    with ctx.unit_of_work() as session:
        detail = json.loads(session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.task_id == task_id,
                                                                             AuditEvent.action == "task_completed")))
        published = session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "form_published")).all()
    assert detail["form_version"] == 2 and detail["data"]["contact_phone"] == "0537-1"
    assert {"key": RECTIFY, "version": 2, "note": "增加联系电话，便于复查联系"} in [json.loads(d) for d in published]


def test_unchanged_content_makes_no_version(ctx):
    schema = schema_of(RECTIFY)
    done = forms.publish(ctx, OWNER, RECTIFY, json.dumps(schema, ensure_ascii=False), "仅调整格式")
    assert done == {"key": RECTIFY, "version": 1, "unchanged": True}
    assert forms.publish(ctx, OWNER, RECTIFY, schema, "对象形式提交")["unchanged"] is True
    assert [v for v, _, _ in stored(ctx, RECTIFY)] == [1]
    schema["properties"]["report"]["maxLength"] = 6000
    assert forms.publish(ctx, OWNER, RECTIFY, schema, "放宽整改情况长度")["version"] == 2


def test_invalid_json_names_line_and_column(ctx):
    text = text_of(RECTIFY).replace('"title": "整改结果",', '"title": "整改结果"', 1)
    problems = refusal(ctx, RECTIFY, text).problems
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"title": "整改结果"' in row) + 1
    assert len(problems) == 1 and problems[0].line == line and problems[0].column == 7
    assert "缺少逗号" in problems[0].message_zh and "Expecting ','" in problems[0].message_en


def test_invalid_schema_names_its_path_and_line(ctx):
    schema = schema_of(RECTIFY)
    schema["properties"]["report"]["type"] = "text"
    schema["properties"]["report"]["maxLength"] = -5
    text = dumped(schema)
    problems = refusal(ctx, RECTIFY, text).problems
    assert {p.field for p in problems} == {"$.properties.report.type", "$.properties.report.maxLength"}
    type_problem = next(p for p in problems if p.field.endswith(".type"))
    assert text.splitlines()[type_problem.line - 1].strip() == '"type": "text",'
    assert "string" in type_problem.message_zh


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda s: s.update(type="array"), "$.type", "object"),
    (lambda s: s.pop("title"), "$.title", "中文标题"),
    (lambda s: s["properties"]["report"].update(title="Report"), "$.properties.report.title", "中文标题"),
    (lambda s: s["properties"].update({"Contact-Phone": {"type": "string", "title": "电话"}}),
     '$.properties["Contact-Phone"]', "字段名"),
    (lambda s: s["required"].append("signature"), "$.required[1]", "signature"),
    (lambda s: s["then"]["required"].append("attachment"), "$.then.required[2]", "attachment"),
    (lambda s: s["properties"]["report"].update({"$ref": "https://example.org/x.json"}), "$.properties.report"
     '["$ref"]', "引用"),
    (lambda s: s.update(properties={}), "$.properties", "至少有一个字段"),
    (lambda s: s["properties"]["report"].update({"x-notAfterToday": True}), '$.properties.report["x-notAfterToday"]',
     "只能用于表单顶层的日期字段"),
    (lambda s: s["properties"].update(reported_on={"type": "string", "format": "date", "title": "报告日期",
                                                   "x-notAfterToday": "yes"}),
     '$.properties.reported_on["x-notAfterToday"]', "应为 true 或 false"),
    (lambda s: s["then"].update(properties={"reason": {"format": "date", "x-notAfterToday": True}}),
     '$.then.properties.reason["x-notAfterToday"]', "只能用于表单顶层的日期字段"),
    (lambda s: s["properties"]["report"].update({"x-en": "Rectification report"}), '$.properties.report["x-en"]',
     "应为对象"),
    (lambda s: s["x-en"].update(title=["Rectification"]), '$["x-en"].title', "应为字符串"),
    (lambda s: s["x-en"].update(summary="Rectification"), '$["x-en"].summary', "只能包含"),
    (lambda s: s["properties"]["outcome"]["x-en"]["labels"].update(withdrawn="Withdrawn"),
     '$.properties.outcome["x-en"].labels.withdrawn', "不是该字段的取值"),
    (lambda s: s["properties"]["outcome"]["x-en"]["labels"].update(rectified=" "),
     '$.properties.outcome["x-en"].labels.rectified', "非空"),
    (lambda s: s["properties"]["outcome"]["x-en"].update(labels=["Rectified"]), '$.properties.outcome["x-en"].labels',
     "应为对象"),
    (lambda s: s["properties"]["report"]["x-en"].update(labels={"done": "Done"}), '$.properties.report["x-en"].labels',
     "只能用于有 enum"),
])
def test_our_rules(ctx, change, path, words):
    schema = schema_of(RECTIFY)
    change(schema)
    problems = refusal(ctx, RECTIFY, dumped(schema)).problems
    found = next(p for p in problems if p.field == path)
    assert words in found.message_zh and found.line and found.column


def test_an_english_overlay_in_the_wrong_shape_is_refused_in_both_languages(ctx):
    schema = schema_of(RECTIFY)
    schema["properties"]["outcome"]["x-en"]["labels"]["withdrawn"] = "Withdrawn"
    problem = refusal(ctx, RECTIFY, dumped(schema)).problems[0]
    assert problem.field == '$.properties.outcome["x-en"].labels.withdrawn'
    assert "'withdrawn' is not a value of the field's enum (rectified, extension_requested)" in problem.message_en
    assert "'withdrawn' 不是该字段的取值" in problem.message_zh


def test_the_english_overlay_does_not_change_what_a_submission_must_hold(ctx):
    import jsonschema

    def errors(schema, data):
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        return sorted((list(e.absolute_path), e.validator, e.message) for e in validator.iter_errors(data))

    schema = schema_of(RECTIFY)
    assert schema["x-en"]["title"] and schema["properties"]["outcome"]["x-en"]["labels"]
    plain = json.loads(text_of(RECTIFY), object_hook=lambda node: {k: v for k, v in node.items() if k != "x-en"})
    for data in ({}, {"outcome": "rectified"}, {"outcome": "withdrawn", "x-en": "x"}, {"outcome": "extension_requested"},
                 {"outcome": "extension_requested", "extension_months": 4, "reason": ""}):
        assert errors(schema, data) == errors(plain, data)
    schema["properties"]["outcome"]["x-en"]["labels"]["rectified"] = "Rectified; please re-inspect"
    schema["x-en"]["description"] = "The enterprise reports on its rectification."
    assert forms.publish(ctx, OWNER, RECTIFY, dumped(schema), "英文说明")["version"] == 2


def test_fields_need_an_input_on_the_task_page(ctx):
    schema = schema_of(RECTIFY)
    schema["properties"]["measures"] = {"type": "array", "title": "整改措施", "items": {"type": "string"}}
    problem = refusal(ctx, RECTIFY, dumped(schema)).problems[0]
    assert problem.field == "$.properties.measures.type" and "办理页面" in problem.message_zh
    schema = schema_of("confirm_closures.schema.json")  # its list of corrections has its own page: it may stay
    schema["description"] = "各部门确认本部门牵头的依法关闭退出案件，如有出入逐条更正。"
    assert forms.publish(ctx, OWNER, "confirm_closures.schema.json", dumped(schema), "说明措辞")["version"] == 2


def test_a_key_and_a_size_limit(ctx):
    assert refusal(ctx, "Legal Review.json", dumped(LEGAL_FORM)).problems[0].field == "key"
    big = dict(LEGAL_FORM, description="说" * 100_000)
    assert "256 KB" in refusal(ctx, LEGAL, dumped(big)).problems[0].message_zh


@pytest.mark.parametrize(("key", "field", "change"), [
    (RECTIFY, "outcome", lambda p: p.pop("outcome")),
    (RECTIFY, "extension_months", lambda p: p["extension_months"].update(type="number")),
    (RECTIFY, "outcome", lambda p: p["outcome"].update(enum=["rectified", "extension_requested", "withdrawn"])),
    ("reinspect.schema.json", "findings", lambda p: p.pop("findings")),
    ("government_approval.schema.json", "approved", lambda p: p["approved"].update(type="string")),
])
def test_contract_fields_stay(ctx, key, field, change):
    schema = schema_of(key)
    change(schema["properties"])
    schema["required"] = [n for n in schema["required"] if n in schema["properties"]]
    schema.pop("if", None), schema.pop("then", None)
    problems = refusal(ctx, key, dumped(schema)).problems
    assert any(p.field.startswith(f"$.properties.{field}") and field in p.message_zh and "contract" in p.message_en
               for p in problems), problems
    assert not any("DESIGN.md" in p.message_zh + p.message_en for p in problems)  # users have no such document


def test_fields_read_by_deployed_processes_keep_name_and_type(ctx):
    key = "assess_dismantling.schema.json"  # technology: dismantlable == True or ditiaogang == True
    schema = schema_of(key)
    schema["properties"].pop("ditiaogang")
    schema["required"] = [n for n in schema["required"] if n != "ditiaogang"]
    problems = refusal(ctx, key, dumped(schema)).problems
    assert len(problems) == 1 and problems[0].field == "$.properties.ditiaogang"
    assert "technology" in problems[0].message_zh and problems[0].element_id
    assert "ditiaogang" in problems[0].message_en

    schema = schema_of(key)
    schema["properties"]["dismantlable"]["type"] = "string"
    assert "改变类型" in refusal(ctx, key, dumped(schema)).problems[0].message_zh

    schema = schema_of("set_treatment_deadline.schema.json")  # environmental: a deadline rule's date field
    schema["properties"]["treatment_deadline"]["type"] = "integer"
    schema["properties"]["treatment_deadline"].pop("format", None)
    problem = refusal(ctx, "set_treatment_deadline.schema.json", dumped(schema)).problems[0]
    assert "environmental" in problem.message_zh and "期限规则" in problem.message_zh

    schema = schema_of("screen_item.schema.json")  # read by closure_measures, which phase_out calls
    schema["properties"].pop("exit_method")
    schema["required"] = [n for n in schema.get("required", []) if n != "exit_method"]
    for rule in ("if", "then", "else", "allOf"):
        schema.pop(rule, None)
    assert "closure_measures" in refusal(ctx, "screen_item.schema.json", dumped(schema)).problems[0].message_zh

    schema = schema_of(key)  # a new title, and an unread field removed: fine
    schema["properties"]["ditiaogang"]["title"] = "是否属于“地条钢”装备"
    schema["properties"].pop("equipment")
    schema["required"] = [n for n in schema["required"] if n != "equipment"]
    assert forms.publish(ctx, OWNER, key, dumped(schema), "拆除装备改在附件中列明")["version"] == 2


def test_only_owners_publish_and_a_note_is_required(ctx):
    text = dumped(with_rectify_field())
    for who in (actor("staff", "industry"), actor("supervisor"), actor("admin"),
                actor("enterprise", enterprise=ENTERPRISE_A)):
        with pytest.raises(PermissionDenied):
            forms.publish(ctx, who, RECTIFY, text, "试图修改")
        with pytest.raises(PermissionDenied):
            forms.preview(ctx, who, RECTIFY, text)
    for note in ("", "   ", None):
        with pytest.raises(InvalidInput) as caught:
            forms.publish(ctx, OWNER, RECTIFY, text, note)
        assert caught.value.problems[0].field == "note"
    with pytest.raises(PermissionDenied):
        forms.versions(ctx, actor("staff", "industry"), RECTIFY)
    assert [v for v, _, _ in stored(ctx, RECTIFY)] == [1]


def test_versions_and_diff(ctx):
    forms.publish(ctx, OWNER, RECTIFY, dumped(with_rectify_field()), "增加联系电话")
    schema = schema_of(RECTIFY)
    schema["properties"]["report"]["title"] = "整改措施及完成情况"
    schema["then"]["required"] = ["extension_months", "reason", "report"]
    forms.publish(ctx, OWNER, RECTIFY, dumped(schema), "申请延期时也须说明整改情况")
    rows = forms.versions(ctx, actor("supervisor"), RECTIFY)
    assert [(r.version, r.latest) for r in rows] == [(3, True), (2, False), (1, False)]
    assert rows[0].note == "申请延期时也须说明整改情况" and rows[-1].saved_by == "system"
    assert forms.version(ctx, actor("admin"), RECTIFY, 1)["text"] == text_of(RECTIFY)
    with pytest.raises(NotFound):
        forms.version(ctx, OWNER, RECTIFY, 9)

    first = forms.diff(ctx, OWNER, RECTIFY, 1, 2).diff
    assert [c.name for c in first.added] == ["contact_phone"] and first.added[0].after["required"] == "true"
    assert not first.removed and not first.changed
    later = forms.diff(ctx, OWNER, RECTIFY, 2, 3).diff
    assert [c.name for c in later.removed] == ["contact_phone"]
    assert [(c.name, c.what) for c in later.changed] == [("report", ("title",))]
    assert later.changed[0].before["title"] == "整改情况" and later.changed[0].after["title"] == "整改措施及完成情况"
    assert [a for a, _, _ in later.form] == ["rules"]
    assert forms.diff(ctx, OWNER, RECTIFY, 3, 3).diff.empty


def test_preview_checks_without_storing(ctx):
    found = forms.preview(ctx, OWNER, RECTIFY, dumped(with_rectify_field()))
    assert found.problems == [] and "contact_phone" in found.schema["properties"]
    broken = forms.preview(ctx, OWNER, RECTIFY, '{"title": ')
    assert broken.schema is None and broken.problems[0].line == 1
    assert forms.check(ctx, RECTIFY, "{}")  # not an object form: problems
    assert [v for v, _, _ in stored(ctx, RECTIFY)] == [1]


# --- a new form for a new step ---------------------------------------------------------------------------------

def with_legal_review(bpmn: str) -> str:
    """environmental.bpmn with a legal review (lead department, form legal_review) before government approval."""
    edits = [
        ('<bpmn:sequenceFlow id="flow_closure_merge_to_government_approval" sourceRef="closure_merge" '
         'targetRef="government_approval"/>',
         '<bpmn:sequenceFlow id="flow_closure_merge_to_government_approval" sourceRef="closure_merge" '
         'targetRef="legal_review"/>\n    <bpmn:sequenceFlow id="flow_legal_review_to_government_approval" '
         'sourceRef="legal_review" targetRef="government_approval"/>'),
        ("<bpmn:incoming>flow_closure_merge_to_government_approval</bpmn:incoming>",
         "<bpmn:incoming>flow_legal_review_to_government_approval</bpmn:incoming>"),
        ('<bpmn:userTask id="government_approval"',
         '<bpmn:userTask id="legal_review" name="合法性审查">\n      <bpmn:extensionElements>\n'
         '        <spiffworkflow:properties>\n          <spiffworkflow:property name="formJsonSchemaFilename" '
         f'value="{LEGAL}"/>\n        </spiffworkflow:properties>\n      </bpmn:extensionElements>\n'
         '      <bpmn:incoming>flow_closure_merge_to_government_approval</bpmn:incoming>\n'
         '      <bpmn:outgoing>flow_legal_review_to_government_approval</bpmn:outgoing>\n    </bpmn:userTask>\n'
         '    <bpmn:userTask id="government_approval"'),
        ("<bpmn:flowNodeRef>set_treatment_deadline</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>set_treatment_deadline</bpmn:flowNodeRef>\n        "
         "<bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>"),
    ]
    for old, new in edits:
        assert bpmn.count(old) == 1, old
        bpmn = bpmn.replace(old, new)
    return bpmn


def test_a_new_form_lets_a_new_step_deploy_and_run(ctx, make_case, work):
    data = with_legal_review((ROOT / "processes" / "environmental.bpmn").read_text(encoding="utf-8")).encode()
    with pytest.raises(DefinitionInvalid) as caught:
        deployments.deploy_upload(ctx, OWNER, data, "审批前增加合法性审查")
    assert [p.element_id for p in caught.value.problems] == ["legal_review"]
    assert LEGAL in caught.value.problems[0].message_zh

    assert forms.publish(ctx, OWNER, LEGAL, dumped(LEGAL_FORM), "新增合法性审查表单", new=True)["version"] == 1
    with pytest.raises(InvalidInput) as again:  # a second "new" form with the same key is refused
        forms.publish(ctx, OWNER, LEGAL, dumped(LEGAL_FORM), "重复新建", new=True)
    assert again.value.problems[0].field == "key"
    from engine.services import drafts

    assert {"file": LEGAL, "title": "合法性审查"} in drafts.modeler_options(ctx)["forms"]
    assert deployments.deploy_upload(ctx, OWNER, data, "审批前增加合法性审查")["version"] == 2

    case_id = make_case("environmental", industry="other")
    work(case_id, "rectify", {"outcome": "rectified", "report": "已整改"})
    case = work(case_id, "reinspect", {"result": "fail", "findings": "仍超标"})
    assert [t["key"] for t in case["open_tasks"]] == ["legal_review"]
    with pytest.raises(InvalidInput) as missing:
        work(case_id, "legal_review", {"lawful": True})
    assert [p.field for p in missing.value.problems] == ["opinion"]
    case = work(case_id, "legal_review", {"lawful": True, "opinion": "程序合法"})
    assert [t["key"] for t in case["open_tasks"]] == ["government_approval"]


@pytest.mark.parametrize(("change", "where"), [
    (lambda p: p.update(maximum=6), "$.properties.extension_months.maximum"),
    (lambda p: p.pop("maximum"), "$.properties.extension_months.maximum"),
    (lambda p: p.update(minimum=0), "$.properties.extension_months.minimum"),
    (lambda p: p.pop("minimum"), "$.properties.extension_months.minimum"),
])
def test_the_statutory_extension_cap_cannot_be_raised(ctx, change, where):
    schema = schema_of(RECTIFY)
    change(schema["properties"]["extension_months"])
    text = dumped(schema)
    (problem,) = refusal(ctx, RECTIFY, text).problems
    assert problem.field == where and problem.line is not None
    assert "extension_months" in problem.message_zh and "依法" in problem.message_zh
    assert "the law" in problem.message_en and "extension_months" in problem.message_en
    line = text.splitlines()[problem.line - 1]  # the bound itself, or the field when it has none
    assert where.rsplit(".", 1)[1] in line or '"extension_months"' in line


def test_the_extension_may_be_narrowed(ctx):
    schema = schema_of(RECTIFY)
    schema["properties"]["extension_months"].update(maximum=2)
    assert forms.publish(ctx, OWNER, RECTIFY, dumped(schema), "收紧延期上限")["version"] == 2


def test_a_schema_error_is_said_in_chinese_once_at_its_place(ctx):
    """Not jsonschema's English ("-5 is less than the minimum of 0") in the Chinese message, nor the path twice:
    the problem's field and line carry where it is."""
    schema = schema_of(RECTIFY)
    name = "report"
    schema["properties"][name]["maxLength"] = -5
    (problem,) = [p for p in refusal(ctx, RECTIFY, dumped(schema)).problems if p.field.endswith("maxLength")]
    assert problem.message_zh == "「maxLength」不符合 JSON Schema 2020-12 规范：不能小于 0（现为 -5）"
    assert problem.field == f"$.properties.{name}.maxLength" and problem.line
    assert "minimum of 0" in problem.message_en
