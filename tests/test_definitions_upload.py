"""Deploying BPMN through ``POST /api/v1/definitions``: hostile and broken uploads are refused, good ones versioned.

Each hostile variant is built by editing the text of ``processes/energy_use.bpmn``.
Every refusal is a 400 whose ``errors`` name a line and/or an element, and the
latest version of ``energy_use`` stays 1 afterwards: nothing is deployed on error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ENTERPRISE_A, ENTERPRISE_B

API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent
ENERGY = (ROOT / "processes" / "energy_use.bpmn").read_text(encoding="utf-8")
LINES = ENERGY.splitlines()
CJK = re.compile(r"[\u4e00-\u9fff]")


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line of ``text`` containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the file")


def before_process_end(extra: str) -> str:
    """The energy_use text with ``extra`` inserted just before ``</bpmn:process>``."""
    assert ENERGY.count("</bpmn:process>") == 1
    return ENERGY.replace("</bpmn:process>", extra + "\n  </bpmn:process>")


def replaced(old: str, new: str, text: str = ENERGY) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.fixture
def owner(api_token):
    return api_token("owner")


def upload(client, headers, data: str | bytes, **extra_headers):
    body = data.encode("utf-8") if isinstance(data, str) else data
    return client.post(f"{API}/definitions", data=body, content_type="application/xml",
                       headers={**headers, **extra_headers})


def latest_version(client, headers, process_id: str = "energy_use") -> int:
    answer = client.get(f"{API}/definitions/{process_id}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["version"]


def refused(client, headers, data: str | bytes, **extra_headers) -> list[dict]:
    """Upload, expect 400 with located errors and no new version; return the errors."""
    answer = upload(client, headers, data, **extra_headers)
    assert answer.status_code == 400, (answer.status_code, answer.get_json())
    body = answer.get_json()
    assert body["message"] and body["errors"], body
    assert all(e.get("line") is not None or e.get("element_id") for e in body["errors"]), body
    assert latest_version(client, headers) == 1
    return body["errors"]


# ---------------------------------------------------------------------------------------------------------------
# XML-level attacks and breakage


def test_the_unchanged_file_is_accepted_and_not_a_new_version(client, owner):
    answer = upload(client, owner, ENERGY)
    assert answer.status_code == 201
    assert answer.get_json() == {"process_id": "energy_use", "version": 1}


def test_malformed_xml_names_the_line(client, owner):
    number = line_of(ENERGY, '<bpmn:userTask id="reinspect"')
    lines = list(LINES)
    lines[number - 1] = '    <bpmn:userTask id="reinspect" name="复查验收" <<oops>'
    errors = refused(client, owner, "\n".join(lines))
    assert errors[0]["line"] == number


def test_unclosed_element_names_a_line(client, owner):
    errors = refused(client, owner, ENERGY.replace("</bpmn:definitions>", ""))
    assert errors[0]["line"] >= len(LINES) - 1


def test_external_entity_is_refused(client, owner):
    text = replaced("?>\n", '?>\n<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n')
    text = replaced('name="能耗不达标产能整改退出" isExecutable', 'name="&x;" isExecutable', text)
    errors = refused(client, owner, text)
    assert errors[0]["line"] in (1, 2)
    assert "root:" not in str(errors)


def test_lowercase_doctype_is_refused(client, owner):
    text = replaced("?>\n", '?>\n<!doctype bpmn:definitions [<!entity x SYSTEM "file:///etc/passwd">]>\n')
    refused(client, owner, text)


def test_external_dtd_past_the_first_kilobytes_is_refused(client, owner):
    padding = "<!-- " + "x" * 5000 + " -->\n"
    text = replaced("?>\n", "?>\n" + padding + '<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/evil.dtd">\n')
    refused(client, owner, text)


def test_billion_laughs_is_refused(client, owner):
    entities = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                                          for i in range(1, 10)]
    doctype = "<!DOCTYPE bpmn:definitions [\n" + "\n".join(entities) + "\n]>\n"
    text = replaced("?>\n", "?>\n" + doctype)
    text = replaced("<bpmn:documentation>能耗不达标产能整改退出（依据C-2.1）。",
                    "<bpmn:documentation>&lol9;", text)
    refused(client, owner, text)


def test_entity_declared_past_the_first_kilobytes_is_refused(client, owner):
    padding = "<!-- " + "x" * 5000 + " -->\n"
    text = replaced("?>\n", "?>\n" + padding + '<!DOCTYPE bpmn:definitions [<!ENTITY x "boom">]>\n')
    refused(client, owner, text)


def test_oversized_file_is_refused(client, owner):
    padding = "<!-- " + "填充" * (1024 * 1024) + " -->\n"  # about 6 MB of UTF-8, under the request limit
    text = replaced("<bpmn:collaboration", padding + "  <bpmn:collaboration")
    answer = upload(client, owner, text)
    assert answer.status_code == 400, answer.status_code
    assert answer.get_json()["errors"]
    assert latest_version(client, owner) == 1


def test_over_the_request_limit_is_refused(client, owner):
    answer = upload(client, owner, b"<" + b"x" * (9 * 1024 * 1024))
    assert answer.status_code in (400, 413)
    assert answer.get_json()["errors"]
    assert latest_version(client, owner) == 1


@pytest.mark.parametrize(("data", "why"), [(b"", "empty"), (b"not xml at all", "text"), (b"<a/>", "not BPMN"),
                                           (b"<bpmn:definitions/>", "unbound prefix")])
def test_not_bpmn_is_refused(client, owner, data, why):
    refused(client, owner, data)


# ---------------------------------------------------------------------------------------------------------------
# our rules: no code, safe expressions, known departments, existing forms, deadline rules


def test_script_task_is_refused_naming_it(client, owner):
    text = before_process_end('    <bpmn:scriptTask id="evil_script" name="恶意脚本">\n'
                              '      <bpmn:script>import os; os.system("id")</bpmn:script>\n'
                              '    </bpmn:scriptTask>')
    errors = refused(client, owner, text)
    hit = [e for e in errors if e.get("element_id") == "evil_script"]
    assert hit, errors
    assert hit[0]["line"] == line_of(text, 'id="evil_script"')
    assert CJK.search(hit[0]["message"])
    en = upload(client, owner, text, **{"Accept-Language": "en"}).get_json()
    assert "script task" in next(e["message"] for e in en["errors"] if e.get("element_id") == "evil_script")


def test_service_task_is_refused_naming_it(client, owner):
    text = before_process_end('    <bpmn:serviceTask id="call_out" name="外部调用" />')
    errors = refused(client, owner, text)
    assert "call_out" in {e.get("element_id") for e in errors}


def test_script_extension_on_a_user_task_is_refused(client, owner):
    closing = "</spiffworkflow:properties>"  # of reinspect's properties, whichever comes last among them
    end = ENERGY.index(closing, ENERGY.index('value="reinspect.schema.json"/>')) + len(closing)
    text = (ENERGY[:end] + '\n        <spiffworkflow:preScript>__import__("os").system("id")</spiffworkflow:preScript>'
            + ENERGY[end:])
    errors = refused(client, owner, text)
    assert "reinspect" in {e.get("element_id") for e in errors}


CONDITION = 'result == "pass"'
CONDITION_FLOW = "flow_reinspect_result_to_lift_route"


@pytest.mark.parametrize("expression", [
    '__import__("os").system("id")',
    "().__class__.__base__",
    "().__class__.__base__.__subclasses__()",
    'result.__class__ == "pass"',
    'getattr(result, "upper")() == "PASS"',
    'open("/etc/passwd").read() == ""',
    "[x for x in ().__class__.__mro__]",
    "(lambda: True)()",
    'eval("1") == 1',
])
def test_unsafe_condition_is_refused_naming_the_flow(client, owner, expression):
    xml_expression = expression.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = replaced(CONDITION, xml_expression)
    errors = refused(client, owner, text)
    hit = [e for e in errors if e.get("element_id") == CONDITION_FLOW]
    assert hit, errors
    assert hit[0]["line"] == line_of(ENERGY, CONDITION)


def test_condition_that_does_not_parse_is_refused(client, owner):
    errors = refused(client, owner, replaced(CONDITION, 'result == "pass" and'))
    assert CONDITION_FLOW in {e.get("element_id") for e in errors}


def test_empty_condition_is_refused(client, owner):
    errors = refused(client, owner, replaced(CONDITION, "  "))
    assert CONDITION_FLOW in {e.get("element_id") for e in errors}


@pytest.mark.parametrize("expression", ["(lambda: deadline_at)()", '__import__("time").sleep(100)',
                                        "deadline_at.__class__"])
def test_unsafe_timer_expression_is_refused(client, owner, expression):
    text = replaced('<bpmn:timeDate xsi:type="bpmn:tFormalExpression">deadline_at</bpmn:timeDate>',
                    f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDate>')
    errors = refused(client, owner, text)
    hit = [e for e in errors if e.get("element_id") == "rectify_deadline"]
    assert hit, errors
    assert hit[0]["line"] == line_of(ENERGY, "<bpmn:timeDate")


@pytest.mark.parametrize("value", ["mafia", "", "Government"])
def test_lane_without_a_known_department_is_refused(client, owner, value):
    text = replaced('<spiffworkflow:property name="department" value="government"/>',
                    f'<spiffworkflow:property name="department" value="{value}"/>')
    errors = refused(client, owner, text)
    assert "lane_government" in {e.get("element_id") for e in errors}


def test_lane_without_department_property_is_refused(client, owner):
    text = replaced('<spiffworkflow:property name="department" value="government"/>', "")
    errors = refused(client, owner, text)
    assert "lane_government" in {e.get("element_id") for e in errors}


@pytest.mark.parametrize("form", ["nosuch.schema.json", "../pyproject.toml", "/etc/passwd", "..\\x.json", ""])
def test_user_task_with_missing_form_is_refused(client, owner, form):
    text = replaced('value="review_extension.schema.json"', f'value="{form}"')
    errors = refused(client, owner, text)
    hit = [e for e in errors if e.get("element_id") == "review_extension"]
    assert hit, errors
    assert hit[0]["line"] == line_of(ENERGY, '<bpmn:userTask id="review_extension"')


def test_boundary_timer_without_deadline_rule_is_refused(client, owner):
    text = replaced('<spiffworkflow:property name="deadlineRule" value="statutory"/>', "")
    errors = refused(client, owner, text)
    hit = [e for e in errors if e.get("element_id") == "rectify_deadline"]
    assert hit, errors
    assert hit[0]["line"] == line_of(ENERGY, '<bpmn:boundaryEvent id="rectify_deadline"')


@pytest.mark.parametrize(("old", "new"), [
    ('<spiffworkflow:property name="deadlineRule" value="statutory"/>',
     '<spiffworkflow:property name="deadlineRule" value="whenever"/>'),
    ('<spiffworkflow:property name="months" value="6"/>', '<spiffworkflow:property name="months" value="six"/>'),
    ('<spiffworkflow:property name="months" value="6"/>', '<spiffworkflow:property name="months" value="0"/>'),
])
def test_bad_deadline_rule_is_refused(client, owner, old, new):
    errors = refused(client, owner, replaced(old, new))
    assert "rectify_deadline" in {e.get("element_id") for e in errors}


def test_every_problem_is_reported_at_once(client, owner):
    text = replaced(CONDITION, "().__class__")
    text = replaced('value="review_extension.schema.json"', 'value="nosuch.schema.json"', text)
    text = replaced('<spiffworkflow:property name="department" value="government"/>',
                    '<spiffworkflow:property name="department" value="mafia"/>', text)
    errors = refused(client, owner, text)
    assert {CONDITION_FLOW, "review_extension", "lane_government"} <= {e.get("element_id") for e in errors}


def test_structural_error_is_refused(client, owner):
    # a sequence flow to an element that does not exist: SpiffWorkflow's own checks
    text = replaced('targetRef="end_compliant"', 'targetRef="nowhere"')
    refused(client, owner, text)


def test_call_to_an_undeployed_process_is_refused(client, owner):
    text = replaced('calledElement="closure_measures"', 'calledElement="not_deployed"')
    errors = refused(client, owner, text)
    assert "closure" in {e.get("element_id") for e in errors}


def test_staff_and_supervisors_cannot_deploy(client, api_token):
    for headers in (api_token("staff", department="industry"), api_token("supervisor"), api_token("admin"),
                    api_token("enterprise", enterprise=ENTERPRISE_A)):
        answer = upload(client, headers, replaced("能耗不达标产能整改退出", "改名"))
        assert answer.status_code == 403
    assert latest_version(client, api_token("owner")) == 1


# ---------------------------------------------------------------------------------------------------------------
# encodings and Chinese names


def test_chinese_names_survive_a_deploy(client, owner):
    text = ENERGY.replace("能耗不达标产能整改退出", "能耗不达标产能整改退出（2026年修订）")
    answer = upload(client, owner, text)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"process_id": "energy_use", "version": 2}
    shown = client.get(f"{API}/definitions/energy_use", headers=owner).get_json()
    assert shown["version"] == 2
    assert "能耗不达标产能整改退出（2026年修订）" in shown["bpmn"]
    assert shown["bpmn"] == text


def test_gbk_without_declaration_is_refused(client, owner):
    data = ENERGY.replace("<?xml version='1.0' encoding='UTF-8'?>\n", "").encode("gbk")
    errors = refused(client, owner, data)
    assert errors[0]["line"] >= 1


@pytest.mark.parametrize("encoding", ["GBK", "UTF-16"])
def test_declared_non_utf8_encoding_has_a_clear_outcome(client, owner, encoding):
    text = ENERGY.replace("encoding='UTF-8'", f"encoding='{encoding}'").replace(
        "能耗不达标产能整改退出", "能耗不达标产能整改退出（国标编码）")
    answer = upload(client, owner, text.encode(encoding.lower()))
    if answer.status_code == 201:
        shown = client.get(f"{API}/definitions/energy_use", headers=owner).get_json()
        assert shown["version"] == 2
        assert "能耗不达标产能整改退出（国标编码）" in shown["bpmn"]
    else:
        assert answer.status_code == 400
        assert answer.get_json()["errors"][0].get("line") is not None
        assert latest_version(client, owner) == 1


# ---------------------------------------------------------------------------------------------------------------
# versions: new cases take the newest, running cases keep theirs


def test_new_version_for_new_cases_old_cases_keep_theirs(client, api_token, owner):
    industry = api_token("staff", department="industry")
    firm_a = api_token("enterprise", enterprise=ENTERPRISE_A)

    def open_case(code: str) -> dict:
        answer = client.post(f"{API}/cases", headers=industry, json={
            "dimension": "energy_use", "finding": {},
            "enterprise": {"name": f"企业{code[-4:]}", "credit_code": code, "county": "任城区", "industry": "flat_glass"}})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    old = open_case(ENTERPRISE_A)
    assert [t["name"] for t in old["open_tasks"]] == ["企业整改"]

    text = ENERGY.replace('name="企业整改"', 'name="企业限期整改"').replace('name="复查验收"', 'name="复查验收（新版）"')
    answer = upload(client, owner, text)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["version"] == 2
    assert upload(client, owner, text).get_json()["version"] == 2  # the same text again: no new version

    new = open_case(ENTERPRISE_B)
    assert [t["name"] for t in new["open_tasks"]] == ["企业限期整改"]
    opened = [e for e in new["history"] if e["action"] == "case_opened"]
    if "detail" in opened[0]:
        assert opened[0]["detail"].get("definition_version") == 2

    # the old case runs on version 1: complete its next task, then the one after
    task = old["open_tasks"][0]
    answer = client.post(f"{API}/tasks/{task['id']}/complete", headers=firm_a,
                         json={"outcome": "rectified", "report": "已整改"})
    assert answer.status_code == 200, answer.get_json()
    after = answer.get_json()
    assert [(t["key"], t["name"]) for t in after["open_tasks"]] == [("reinspect", "复查验收")]
    answer = client.post(f"{API}/tasks/{after['open_tasks'][0]['id']}/complete", headers=industry,
                         json={"result": "pass", "findings": "达标"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "compliant"
