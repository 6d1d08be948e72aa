"""The forms API: list, latest, versions, publishing (owners), with problems naming line, column and path."""

from __future__ import annotations

import json

from tests.test_form_versions import LEGAL, LEGAL_FORM, RECTIFY, schema_of, text_of, with_rectify_field

API = "/api/v1"


def test_list_and_latest_for_any_signed_in_caller(client, api_token):
    staff = api_token("staff", department="industry")
    listing = client.get(f"{API}/forms", headers=staff).get_json()
    row = next(f for f in listing if f["key"] == RECTIFY)
    assert row["version"] == 1 and row["title"] == "企业整改" and row["saved_by"] == "system"
    assert {"energy_use", "environmental"} <= set(row["used_by"])
    latest = client.get(f"{API}/forms/{RECTIFY}", headers=staff).get_json()
    assert latest["version"] == 1 and latest["schema"] == schema_of(RECTIFY) and "text" not in latest
    assert client.get(f"{API}/forms/nosuch.schema.json", headers=staff).status_code == 404
    assert client.get(f"{API}/forms").status_code == 401
    assert client.get(f"{API}/forms/{RECTIFY}/versions", headers=staff).status_code == 403


def test_owner_publishes_and_the_task_api_shows_the_new_version(client, api_token, make_case):
    owner = api_token("owner")
    answer = client.post(f"{API}/forms/{RECTIFY}/versions", headers=owner,
                         json={"schema": with_rectify_field(), "note": "增加联系电话"})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["version"] == 2 and body["unchanged"] is False and body["note"] == "增加联系电话"
    assert "contact_phone" in body["schema"]["properties"] and json.loads(body["text"]) == body["schema"]

    again = client.post(f"{API}/forms/{RECTIFY}/versions", headers=owner,
                        json={"schema": json.loads(body["text"]), "note": "再次提交"})
    assert again.status_code == 200 and again.get_json()["unchanged"] is True and again.get_json()["version"] == 2

    versions = client.get(f"{API}/forms/{RECTIFY}/versions", headers=owner).get_json()
    assert [(v["version"], v["latest"]) for v in versions] == [(2, True), (1, False)]
    first = client.get(f"{API}/forms/{RECTIFY}/versions/1", headers=api_token("supervisor")).get_json()
    assert first["text"] == text_of(RECTIFY) and first["latest"] is False

    case_id = make_case("energy_use", industry="other")
    company = api_token("enterprise", enterprise=client.get(f"{API}/cases/{case_id}", headers=owner)
                        .get_json()["enterprise"]["credit_code"])
    task = client.get(f"{API}/tasks", headers=company).get_json()[0]
    shown = client.get(f"{API}/tasks/{task['id']}", headers=company).get_json()
    assert "contact_phone" in shown["form"]["required"]
    refused = client.post(f"{API}/tasks/{task['id']}/complete", headers=company,
                          json={"outcome": "rectified", "report": "已整改"})
    assert refused.status_code == 400 and refused.get_json()["errors"][0]["field"] == "contact_phone"


def test_refusals_name_line_column_and_path(client, api_token):
    owner = api_token("owner")
    broken = text_of(RECTIFY).replace('"type": "object",', '"type": "object"', 1)
    answer = client.post(f"{API}/forms/{RECTIFY}/versions", headers=owner, json={"text": broken, "note": "x"})
    assert answer.status_code == 400
    error = answer.get_json()["errors"][0]
    line = broken.splitlines().index('  "type": "object"') + 2  # the next key, where the comma is missed
    assert error["line"] == line and error["column"] == 3 and "缺少逗号" in error["message"]

    schema = schema_of(RECTIFY)
    schema["properties"].pop("outcome")
    schema["required"], schema["if"], schema["then"] = [], {"required": []}, {"required": []}
    answer = client.post(f"{API}/forms/{RECTIFY}/versions?lang=en", headers=owner, json={"schema": schema, "note": "x"})
    assert answer.status_code == 400
    errors = answer.get_json()["errors"]
    assert any(e["field"] == "$.properties.outcome" and "contract" in e["message"] for e in errors), errors

    assert client.post(f"{API}/forms/{RECTIFY}/versions", headers=owner,
                       json={"schema": with_rectify_field()}).get_json()["errors"][0]["field"] == "note"
    staff = api_token("staff", department="industry")
    assert client.post(f"{API}/forms/{RECTIFY}/versions", headers=staff,
                       json={"schema": with_rectify_field(), "note": "x"}).status_code == 403
    assert client.get(f"{API}/forms/{RECTIFY}", headers=owner).get_json()["version"] == 1


def test_a_new_form_through_the_api(client, api_token):
    owner = api_token("owner")
    answer = client.post(f"{API}/forms/{LEGAL}/versions", headers=owner, json={"schema": LEGAL_FORM, "note": "新增"})
    assert answer.status_code == 201 and answer.get_json()["version"] == 1
    assert LEGAL in [f["key"] for f in client.get(f"{API}/forms", headers=owner).get_json()]
    bad = client.post(f"{API}/forms/Legal.json/versions", headers=owner, json={"schema": LEGAL_FORM, "note": "新增"})
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "key"


def test_the_openapi_document_describes_the_forms_api(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert {"/forms", "/forms/{key}", "/forms/{key}/versions", "/forms/{key}/versions/{version}"} <= set(paths)
    assert set(paths["/forms/{key}/versions"]) == {"get", "post"}
