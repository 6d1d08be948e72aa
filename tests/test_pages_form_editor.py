"""The form pages (Flask test client): list, editor with server-rendered preview, publishing, versions and diffs."""

from __future__ import annotations

import json
import re

import pytest

from engine.services import drafts, forms
from tests.conftest import csrf_from
from tests.test_english import _assert_english, compiled  # noqa: F401 (a fixture)
from tests.test_form_versions import (
    LEGAL,
    LEGAL_FORM,
    OWNER,
    RECTIFY,
    dumped,
    stored,
    text_of,
    with_rectify_field,
)


def _owner(login_as):
    client = login_as("owner")
    page = client.get(f"/forms/{RECTIFY}").get_data(as_text=True)
    return client, csrf_from(page)


def test_who_sees_the_list_and_the_editor(login_as, client):
    owner, token = _owner(login_as)
    listing = owner.get("/forms").get_data(as_text=True)
    assert 'data-key="rectify.schema.json"' in listing and "企业整改" in listing and 'id="new-form"' in listing
    assert f'href="/forms/{RECTIFY}"' in listing and f'href="/forms/{RECTIFY}/versions"' in listing
    row = re.search(r'data-key="rectify.schema.json".*?</tr>', listing, re.S).group(0)
    assert "环保不达标产能整改退出" in row and "environmental" not in row  # names, not ids
    assert 'href="/forms"' in owner.get("/processes").get_data(as_text=True)  # the nav and the processes page
    assert 'id="forms-link"' in owner.get("/modeler/").get_data(as_text=True)
    owner.post("/logout", data={"csrf_token": token})

    supervisor = login_as("supervisor")
    listing = supervisor.get("/forms").get_data(as_text=True)
    assert 'data-key="rectify.schema.json"' in listing and 'id="new-form"' not in listing
    assert f'href="/forms/{RECTIFY}"' not in listing
    assert supervisor.get(f"/forms/{RECTIFY}/versions").status_code == 200
    assert supervisor.get(f"/forms/{RECTIFY}").status_code == 403
    supervisor.post("/logout", data={"csrf_token": csrf_from(listing)})

    staff = login_as("staff", department="industry")
    assert staff.get("/forms").status_code == 403
    assert staff.get(f"/forms/{RECTIFY}/versions").status_code == 403


def test_the_editor_shows_the_text_and_the_form_as_staff_see_it(login_as):
    owner, _ = _owner(login_as)
    page = owner.get(f"/forms/{RECTIFY}").get_data(as_text=True)
    assert '<textarea id="form-text" name="text"' in page and "&#34;extension_requested&#34;" in page
    assert 'name="csrf_token"' in page and "js/form-editor.js" in page and "<script>" not in page
    preview = page[page.index('id="form-preview"'):]
    assert 'type="radio" name="outcome" value="rectified"' in preview and 'name="report"' in preview
    assert "已完成整改，申请复查" in preview  # the enum label from the description, as on the task page
    assert owner.get("/forms/nosuch.schema.json").status_code == 404


def test_preview_renders_the_edit_and_lists_problems(login_as):
    owner, token = _owner(login_as)
    headers = {"X-CSRFToken": token}
    answer = owner.post("/forms/preview", json={"key": RECTIFY, "text": dumped(with_rectify_field())}, headers=headers)
    body = answer.get_json()
    assert answer.status_code == 200 and body["valid"] is True and body["errors"] == []
    assert 'id="in-contact_phone" name="contact_phone"' in body["html"] and "联系电话" in body["html"]

    broken = text_of(RECTIFY).replace('"enum": [', '"enum" [', 1)
    body = owner.post("/forms/preview", json={"key": RECTIFY, "text": broken}, headers=headers).get_json()
    assert body["valid"] is False and body["html"] is None
    line, row = next((n, r) for n, r in enumerate(broken.splitlines(), 1) if '"enum" [' in r)
    assert (body["errors"][0]["line"], body["errors"][0]["column"]) == (line, row.index("[") + 1)

    body = owner.post("/forms/preview", json={"key": RECTIFY, "text": '{"type": "object", "title": "整改", '
                                              '"properties": {"a": {"type": "strin", "title": "甲"}}}'},
                      headers=headers).get_json()
    assert body["errors"][0]["field"] == "$.properties.a.type"
    assert owner.post("/forms/preview", data="x", headers=headers).status_code == 400
    assert owner.post("/forms/preview", json={"key": RECTIFY, "text": "{}"}).status_code == 400  # no CSRF token
    assert [v for v, _, _ in stored(owner.application.extensions["capexit"], RECTIFY)] == [1]


@pytest.mark.usefixtures("compiled")
def test_preview_in_english_reads_the_english_overlay(login_as):
    owner, token = _owner(login_as)
    owner.get("/lang/en")
    schema = with_rectify_field()
    schema["properties"]["contact_phone"]["x-en"] = {"title": "Contact telephone"}
    body = owner.post("/forms/preview", json={"key": RECTIFY, "text": dumped(schema)},
                      headers={"X-CSRFToken": token}).get_json()
    assert body["valid"] is True
    assert '<h2 id="h-preview-form">Rectification by the enterprise</h2>' in body["html"]
    assert "Outcome of rectification" in body["html"] and "Rectification completed; re-inspection requested" in body["html"]
    assert "Contact telephone" in body["html"] and "整改" not in body["html"]
    schema["properties"]["contact_phone"].pop("x-en")  # no English yet: the Chinese title stands in
    body = owner.post("/forms/preview", json={"key": RECTIFY, "text": dumped(schema)},
                      headers={"X-CSRFToken": token}).get_json()
    assert "联系电话" in body["html"]


def test_preview_caps_a_date_of_what_has_happened_at_today(login_as):
    owner, token = _owner(login_as)
    key = "close_order.schema.json"
    body = owner.post("/forms/preview", json={"key": key, "text": text_of(key)}, headers={"X-CSRFToken": token}
                      ).get_json()
    assert body["valid"] is True  # x-notAfterToday on order_date: today of the simulated clock is its max
    assert re.search(r'name="order_date" type="date"[^>]*max="2026-03-02"', body["html"])


def test_publish_with_a_note_then_see_the_version_and_diff(login_as, ctx):
    owner, token = _owner(login_as)
    text = dumped(with_rectify_field())
    refused = owner.post(f"/forms/{RECTIFY}", data={"csrf_token": token, "text": text, "note": "", "action": "publish"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "请填写发布说明" in page and "contact_phone" in page  # the text is kept
    checked = owner.post(f"/forms/{RECTIFY}", data={"csrf_token": token, "text": text, "action": "check"})
    assert checked.status_code == 200 and 'name="contact_phone"' in checked.get_data(as_text=True)
    assert [v for v, _, _ in stored(ctx, RECTIFY)] == [1]

    done = owner.post(f"/forms/{RECTIFY}", data={"csrf_token": token, "text": text, "note": "增加联系电话",
                                                 "action": "publish"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/forms/{RECTIFY}/versions")
    page = owner.get(done.headers["Location"]).get_data(as_text=True)
    assert "已发布为第 2 版" in page and 'data-version="2"' in page and "增加联系电话" in page
    row = re.search(r'<tr data-change="added" data-field="contact_phone">.*?</tr>', page, re.S).group(0)
    assert "联系电话" in row and "是" in row  # required
    old = owner.get(f"/forms/{RECTIFY}/v1").get_data(as_text=True)
    assert "&#34;outcome&#34;" in old and 'id="restore"' in old and 'name="contact_phone"' not in old
    assert "contact_phone" not in owner.get(f"/forms/{RECTIFY}?from=1").get_data(as_text=True)

    again = owner.post(f"/forms/{RECTIFY}", data={"csrf_token": token, "text": text, "note": "再次发布"})
    assert again.status_code == 303
    assert "未生成新版本" in owner.get(again.headers["Location"]).get_data(as_text=True)


def test_a_refused_publish_shows_its_problems_and_stores_nothing(login_as, ctx):
    owner, token = _owner(login_as)
    text = text_of(RECTIFY).replace('"outcome": {', '"result": {', 1)
    answer = owner.post(f"/forms/{RECTIFY}", data={"csrf_token": token, "text": text, "note": "改名"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'id="publish-error"' in page
    line = text.splitlines().index('  "properties": {') + 1
    assert "对外约定" in page and f"第 {line} 行" in page  # the removed contract field, at its properties
    assert [v for v, _, _ in stored(ctx, RECTIFY)] == [1]


def test_a_new_form_is_created_and_offered_to_the_modeler(login_as, ctx):
    owner, token = _owner(login_as)
    page = owner.get("/forms/new").get_data(as_text=True)
    assert 'id="form-key" name="key"' in page and "&#34;title&#34;: &#34;新表单&#34;" in page
    assert 'name="opinion"' in page  # the starting text is previewed too
    bad = owner.post("/forms/new", data={"csrf_token": token, "key": "Legal", "text": dumped(LEGAL_FORM), "note": "新增"})
    assert bad.status_code == 400 and "表单标识" in bad.get_data(as_text=True)
    done = owner.post("/forms/new", data={"csrf_token": token, "key": LEGAL, "text": dumped(LEGAL_FORM),
                                          "note": "新增合法性审查"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/forms/{LEGAL}/versions")
    assert {"file": LEGAL, "title": "合法性审查"} in drafts.modeler_options(ctx)["forms"]
    assert LEGAL in owner.get("/modeler/options.json").get_data(as_text=True)
    taken = owner.post("/forms/new", data={"csrf_token": token, "key": RECTIFY, "text": dumped(LEGAL_FORM),
                                           "note": "x"})
    assert taken.status_code == 400 and "已存在" in taken.get_data(as_text=True)


@pytest.mark.usefixtures("compiled")
def test_form_pages_in_english(client, login_as):
    login_as("owner")
    client.get("/lang/en")
    for url in ("/forms", f"/forms/{RECTIFY}", f"/forms/{RECTIFY}/versions", f"/forms/{RECTIFY}/v1", "/forms/new"):
        page = client.get(url).get_data(as_text=True)
        _assert_english(page, data=("企业整改", "新表单"))
    page = client.get(f"/forms/{RECTIFY}").get_data(as_text=True)
    assert "Publish new version" in page and "Preview (as the task page shows it)" in page
    answer = client.post("/forms/preview", json={"key": RECTIFY, "text": "{"},
                         headers={"X-CSRFToken": csrf_from(page)}).get_json()
    assert answer["errors"][0]["message"].startswith("JSON syntax error") and answer["errors"][0]["line"] == 1


REVIEW = "review_extension.schema.json"


@pytest.mark.usefixtures("compiled")
def test_form_titles_field_titles_and_process_names_in_english(client, login_as, ctx):
    """The list and the versions read each form's and field's English title (its ``x-en``) and the processes' English
    names; the Chinese pages keep the Chinese ones."""
    schema = json.loads(text_of(REVIEW))
    schema["properties"]["opinion"]["maxLength"] = 1000
    forms.publish(ctx, OWNER, REVIEW, dumped(schema), "审核意见限1000字")
    login_as("supervisor")
    client.get("/lang/en")
    listing = client.get("/forms").get_data(as_text=True)
    row = re.search(rf'<tr data-key="{REVIEW}">.*?</tr>', listing, re.S).group(0)
    assert "<td>Review the extension request</td>" in row and "审核延期申请" not in row
    assert ("Rectification or exit of capacity failing energy-use standards, "
            "Rectification or exit of capacity failing environmental standards") in row and "energy_use" not in row
    versions = client.get(f"/forms/{REVIEW}/versions").get_data(as_text=True)
    assert '<p class="help">Review the extension request</p>' in versions
    changed = re.search(r'<tr data-change="changed" data-field="opinion">.*?</tr>', versions, re.S).group(0)
    assert "<td>Review opinion</td>" in changed and "审核意见" not in changed

    client.get("/lang/zh")
    row = re.search(rf'<tr data-key="{REVIEW}">.*?</tr>', client.get("/forms").get_data(as_text=True), re.S).group(0)
    assert "<td>审核延期申请</td>" in row and "能耗不达标产能整改退出、环保不达标产能整改退出" in row
    changed = re.search(r'<tr data-change="changed" data-field="opinion">.*?</tr>',
                        client.get(f"/forms/{REVIEW}/versions").get_data(as_text=True), re.S).group(0)
    assert "<td>审核意见</td>" in changed


def test_preview_of_text_that_cannot_be_stored_is_400(login_as, client):
    login_as("owner")
    token = csrf_from(client.get("/forms/rectify").get_data(as_text=True))
    answer = client.post("/forms/preview", json={"key": "rectify", "text": '{"type": "object", "title": "\ud800"}'},
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 400
    assert [e["field"] for e in answer.get_json()["errors"]] == ["text"]
