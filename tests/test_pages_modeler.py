"""The modeler pages: who may open them, the options, drafts, checks and deploys (Flask test client)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from engine.models import Definition, DefinitionDraft
from engine.services import deployments
from tests.conftest import csrf_from
from tests.test_english import CHINESE, _assert_english, compiled  # noqa: F401 (a fixture)

ENV = "environmental"


def _owner(login_as):
    client = login_as("owner")
    page = client.get(f"/modeler/{ENV}")
    assert page.status_code == 200
    return client, {"X-CSRFToken": csrf_from(page.get_data(as_text=True))}


def _bpmn(ctx) -> str:
    with ctx.unit_of_work() as session:
        return deployments.get_latest(session, ENV).bpmn


def _versions(ctx) -> list[int]:
    with ctx.unit_of_work() as session:
        return list(session.scalars(sa.select(Definition.version).where(Definition.process_id == ENV)
                                    .order_by(Definition.version)))


def test_owner_gets_the_modeler_and_others_are_refused(login_as, client):
    owner, _ = _owner(login_as)
    html = owner.get(f"/modeler/{ENV}").get_data(as_text=True)
    assert 'id="modeler-app"' in html and "build/modeler.js" in html and "<script>" not in html
    assert 'data-deploy-url="/modeler/environmental/deploy"' in html
    listing = owner.get("/modeler/").get_data(as_text=True)
    assert "/modeler/environmental" in listing and "closure_measures" in listing
    deployers = re.findall(r"<tr[^>]*>.*?</tr>", listing, re.S)
    assert deployers and all(">system<" not in row for row in deployers) and "<td>系统</td>" in listing
    assert owner.get("/modeler/no_such_process").status_code == 404
    owner.post("/logout", data={"csrf_token": csrf_from(html)})
    staff = login_as("staff", department="environment")
    for url in (f"/modeler/{ENV}", "/modeler/", "/modeler/options.json", f"/modeler/{ENV}/source.bpmn"):
        assert staff.get(url).status_code == 403, url
    page = staff.get("/inbox").get_data(as_text=True)
    answer = staff.post(f"/modeler/{ENV}/check", data=b"<x/>", headers={"X-CSRFToken": csrf_from(page)})
    assert answer.status_code == 403


def test_options_list_departments_and_forms(login_as):
    owner, _ = _owner(login_as)
    options = owner.get("/modeler/options.json").get_json()
    codes = [d["code"] for d in options["departments"]]
    assert codes[0] == "lead" and options["departments"][0]["name"] == "案件牵头部门"
    assert {"industry", "environment", "government", "enterprise"} <= set(codes)
    files = {f["file"] for f in options["forms"]}
    assert {"rectify.schema.json", "reinspect.schema.json"} <= files
    assert options["labels"]["group"] and options["labels"]["lint"]["noCode"]


def test_draft_save_load_discard(ctx, login_as):
    owner, headers = _owner(login_as)
    edited = _bpmn(ctx).replace('name="months" value="6"', 'name="months" value="5"')
    saved = owner.post(f"/modeler/{ENV}/draft", json={"bpmn": edited, "base_version": 1}, headers=headers)
    assert saved.status_code == 200, saved.get_json()
    assert owner.get(f"/modeler/{ENV}/source.bpmn").get_data(as_text=True) == edited
    assert 'value="6"' in owner.get(f"/modeler/{ENV}/source.bpmn?deployed=1").get_data(as_text=True)
    html = owner.get(f"/modeler/{ENV}").get_data(as_text=True)
    assert 'id="draft-notice"' in html and "基于第 1 版" in html
    again = owner.post(f"/modeler/{ENV}/draft", json={"bpmn": edited.replace('value="5"', 'value="4"'),
                                                       "base_version": 1}, headers=headers)
    assert again.status_code == 200
    with ctx.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DefinitionDraft)) == 1
    assert owner.post(f"/modeler/{ENV}/draft", json={"bpmn": ""}, headers=headers).status_code == 400
    assert owner.post(f"/modeler/{ENV}/draft", json={"bpmn": "x" * (3 * 1024 * 1024)},
                      headers=headers).status_code == 400
    assert owner.post(f"/modeler/{ENV}/draft", json={"bpmn": edited}).status_code == 400  # no CSRF token
    for broken, said in (("hello not xml", "BPMN 文件不是格式正确的 XML"), ("<x/>", "不是 BPMN 2.0 文件"),
                         ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "DOCTYPE")):
        refused = owner.post(f"/modeler/{ENV}/draft", json={"bpmn": broken}, headers=headers)
        assert refused.status_code == 400 and said in refused.get_json()["message"], refused.get_json()
        assert refused.get_json()["errors"][0]["line"] == 1
    assert 'value="4"' in owner.get(f"/modeler/{ENV}/source.bpmn").get_data(as_text=True)  # the draft is kept
    gone = owner.post(f"/modeler/{ENV}/draft/discard", data={"csrf_token": headers["X-CSRFToken"]})
    assert gone.status_code == 302
    assert 'value="6"' in owner.get(f"/modeler/{ENV}/source.bpmn").get_data(as_text=True)
    assert 'id="draft-notice"' not in owner.get(f"/modeler/{ENV}").get_data(as_text=True)


def _with_script_task(ctx) -> str:
    """The process with its rectification turned into a script task."""
    hostile = _bpmn(ctx).replace('<bpmn:userTask id="rectify" name="企业整改">',
                                 '<bpmn:scriptTask id="rectify" name="企业整改"><bpmn:script>'
                                 "__import__('os').system('id')</bpmn:script>", 1)
    return hostile.replace("</bpmn:userTask>\n    <bpmn:boundaryEvent id=\"rectify_deadline\"",
                           "</bpmn:scriptTask>\n    <bpmn:boundaryEvent id=\"rectify_deadline\"", 1)


def test_check_names_the_hostile_element(ctx, login_as):
    owner, headers = _owner(login_as)
    good = owner.post(f"/modeler/{ENV}/check", data=_bpmn(ctx).encode(), headers=headers,
                      content_type="application/xml").get_json()
    assert good["valid"] is True and good["errors"] == []
    hostile = _with_script_task(ctx)
    answer = owner.post(f"/modeler/{ENV}/check", data=hostile.encode(), headers=headers,
                        content_type="application/xml").get_json()
    assert answer["valid"] is False
    script = [e for e in answer["errors"] if e.get("element_id") == "rectify"]
    assert script and "脚本任务" in script[0]["message"] and script[0]["line"] > 1
    entity = owner.post(f"/modeler/{ENV}/check", headers=headers, content_type="application/xml",
                        data=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    assert entity.get_json()["valid"] is False
    other = _bpmn(ctx).replace('<bpmn:process id="environmental"', '<bpmn:process id="environmental_copy"')
    other = other.replace('processRef="environmental"', 'processRef="environmental_copy"')
    renamed = owner.post(f"/modeler/{ENV}/check", data=other.encode(), headers=headers,
                         content_type="application/xml").get_json()
    assert renamed["valid"] is False and renamed["errors"][0]["element_id"] == "environmental_copy"
    assert _versions(ctx) == [1]


@pytest.mark.usefixtures("compiled")
def test_a_check_while_editing_does_not_speak_of_deploying(ctx, login_as):
    """Only a deploy says "nothing was deployed"; in English each problem reads as a sentence of its own."""
    owner, headers = _owner(login_as)
    hostile = _with_script_task(ctx)
    checked = owner.post(f"/modeler/{ENV}/check", data=hostile.encode(), headers=headers,
                         content_type="application/xml").get_json()
    assert checked["valid"] is False and checked["message"] == "BPMN 校验未通过"
    deployed = owner.post(f"/modeler/{ENV}/deploy", json={"bpmn": hostile, "note": "脚本"}, headers=headers)
    assert deployed.status_code == 400 and deployed.get_json()["message"] == "BPMN 校验未通过，未部署"
    owner.get("/lang/en")
    checked = owner.post(f"/modeler/{ENV}/check", data=hostile.encode(), headers=headers,
                         content_type="application/xml").get_json()
    assert checked["message"] == "BPMN validation failed"
    script = [e["message"] for e in checked["errors"] if e.get("element_id") == "rectify"]
    assert script and script[0].startswith("Script tasks are not allowed: uploaded processes cannot run code")
    assert [e["message"] for e in checked["errors"] if not e["message"][:1].isupper()] == []
    deployed = owner.post(f"/modeler/{ENV}/deploy", json={"bpmn": hostile, "note": "script"}, headers=headers)
    assert deployed.get_json()["message"] == "BPMN validation failed; nothing was deployed"
    assert _versions(ctx) == [1]


def test_deploy_makes_a_version_and_drops_the_draft(ctx, login_as):
    owner, headers = _owner(login_as)
    edited = _bpmn(ctx).replace('name="months" value="6"', 'name="months" value="4"')
    owner.post(f"/modeler/{ENV}/draft", json={"bpmn": edited, "base_version": 1}, headers=headers)
    no_note = owner.post(f"/modeler/{ENV}/deploy", json={"bpmn": edited, "note": " "}, headers=headers)
    assert no_note.status_code == 400 and no_note.get_json()["errors"][0]["field"] == "note"
    answer = owner.post(f"/modeler/{ENV}/deploy", json={"bpmn": edited, "note": "整改期限改为4个月"}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"process_id": ENV, "version": 2, "unchanged": False}
    assert _versions(ctx) == [1, 2]
    with ctx.unit_of_work() as session:
        row = deployments.get_latest(session, ENV)
        assert row.note == "整改期限改为4个月" and row.deployed_by.startswith("web_owner")
        assert session.scalar(sa.select(sa.func.count()).select_from(DefinitionDraft)) == 0
    same = owner.post(f"/modeler/{ENV}/deploy", json={"bpmn": edited, "note": "again"}, headers=headers)
    assert same.status_code == 200 and same.get_json()["unchanged"] is True
    assert _versions(ctx) == [1, 2]


def test_a_bad_deploy_creates_nothing(ctx, login_as):
    owner, headers = _owner(login_as)
    draft = _bpmn(ctx)
    owner.post(f"/modeler/{ENV}/draft", json={"bpmn": draft}, headers=headers)
    bad = draft.replace('<spiffworkflow:property name="department" value="government"/>',
                        '<spiffworkflow:property name="department" value="nobody"/>')
    answer = owner.post(f"/modeler/{ENV}/deploy", json={"bpmn": bad, "note": "坏的"}, headers=headers)
    assert answer.status_code == 400
    errors = answer.get_json()["errors"]
    assert [e["element_id"] for e in errors] == ["lane_government"] and errors[0]["line"] > 1
    broken = owner.post(f"/modeler/{ENV}/deploy", json={"bpmn": draft[:500], "note": "截断"}, headers=headers)
    assert broken.status_code == 400 and broken.get_json()["errors"][0]["line"]
    assert _versions(ctx) == [1]
    with ctx.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DefinitionDraft)) == 1


@pytest.mark.usefixtures("compiled")
def test_modeler_in_english(client, login_as):
    login_as("owner")
    client.get("/lang/en")
    page = client.get(f"/modeler/{ENV}").get_data(as_text=True)
    _assert_english(page, data=("环保不达标产能整改退出",))
    assert "Save draft" in page and "Deploy new version" in page
    _assert_english(client.get("/modeler/").get_data(as_text=True))
    options = client.get("/modeler/options.json").get_json()
    assert options["departments"][0]["name"] == "Lead department of the case"
    assert "Industry and Information Technology Bureau" in {d["name"] for d in options["departments"]}
    assert options["labels"]["group"] == "Handling rules"
    assert not any(CHINESE.search(v) for v in options["labels"]["lint"].values())


def test_an_element_the_schema_does_not_allow_is_named_once_with_one_full_stop(ctx, login_as):
    owner, headers = _owner(login_as)
    stray = _bpmn(ctx).replace("</bpmn:definitions>",
                               '<script xmlns="http://www.w3.org/1999/xhtml">alert(1)</script></bpmn:definitions>')
    answer = owner.post(f"/modeler/{ENV}/check", data=stray.encode(), headers=headers,
                        content_type="application/xml").get_json()
    assert answer["valid"] is False
    message = answer["errors"][0]["message"]
    assert "script" in message and "This element is not expected" in message
    assert ".." not in message and "  " not in message and message.endswith(".")


def test_text_that_cannot_be_stored_is_refused_by_name(ctx, login_as):
    """Half a surrogate pair in the model or the note: 400 naming the field, no draft and no version."""
    owner, headers = _owner(login_as)
    edited = _bpmn(ctx).replace('name="months" value="6"', 'name="months" value="4"')
    for path, body, field in ((f"/modeler/{ENV}/deploy", {"bpmn": edited, "note": "改为4个月\ud800"}, "note"),
                              (f"/modeler/{ENV}/deploy", {"bpmn": edited + "\udc00", "note": "x"}, "bpmn"),
                              (f"/modeler/{ENV}/draft", {"bpmn": "\ud800" + edited}, "bpmn")):
        answer = owner.post(path, json=body, headers=headers)
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert [e.get("field") for e in answer.get_json()["errors"]] == [field]
    assert _versions(ctx) == [1]
    with ctx.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DefinitionDraft)) == 0
