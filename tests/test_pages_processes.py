"""The process-version pages and API: list, versions, diff (table and viewers), migrating cases; who may see them."""

from __future__ import annotations

import json
import re

import pytest

from engine.services import timers
from tests.conftest import actor, csrf_from, screenshot
from tests.test_english import _assert_english, compiled, english  # noqa: F401  (fixtures)
from tests.test_versions import deploy, with_legal_review

API = "/api/v1"


@pytest.fixture
def two_versions(ctx, make_case, work):
    """A case at ``close_order`` and one at ``rectify`` on v1, then v2 with a legal review; a new case on v2."""
    at_close = make_case("energy_use")
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")
    work(at_close, "government_approval", {"approved": True, "opinion": "同意关停"})
    at_rectify = make_case("energy_use")
    deploy(ctx, with_legal_review(), note="增加法制审核")
    on_v2 = make_case("energy_use")
    return {"at_close": at_close, "at_rectify": at_rectify, "on_v2": on_v2}


def _row(html: str, attr: str, value: object) -> str:
    match = re.search(rf'<tr data-{attr}="{value}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row data-{attr}={value}"
    return match.group(0)


def test_list_shows_each_process_with_its_latest_version_and_running_cases(two_versions, login_as, client):
    login_as("supervisor")
    answer = client.get("/processes")
    assert answer.status_code == 200
    row = _row(answer.get_data(as_text=True), "process", "energy_use")
    assert "v2" in row and "owner_li" in row and "能耗不达标产能整改退出" in row
    assert 'data-version="1">v1：2</span>' in row and 'data-version="2">v2：1</span>' in row
    assert 'href="/modeler/energy_use"' in row and 'href="/processes/energy_use/diff"' in row
    assert "called-note" not in row
    called = _row(answer.get_data(as_text=True), "process", "closure_measures")
    assert "调用该版本的案件，不论是否已进入此流程" in called  # its count is of the cases calling it


def test_staff_and_enterprises_get_403(login_as, client, two_versions):
    login_as("staff", department="industry")
    for url in ("/processes", "/processes/energy_use", "/processes/energy_use/diff?a=1&b=2",
                "/processes/energy_use/v1.bpmn"):
        assert client.get(url).status_code == 403, url
    page = client.get("/inbox").get_data(as_text=True)
    answer = client.post(f"/processes/energy_use/cases/{two_versions['at_rectify']}/migrate",
                         data={"csrf_token": csrf_from(page), "version": 2})
    assert answer.status_code == 403


def test_versions_page_lists_who_when_note_hash_and_cases(two_versions, login_as, client, ctx):
    login_as("owner")
    html = client.get("/processes/energy_use").get_data(as_text=True)
    v2, v1 = _row(html, "version", 2), _row(html, "version", 1)
    assert "owner_li" in v2 and "增加法制审核" in v2 and "最新" in v2 and "2026-" in v2
    assert re.search(r'<td class="running">1</td>\s*<td class="ended">0</td>', v2)
    assert re.search(r'<td class="running">2</td>\s*<td class="ended">0</td>', v1) and "系统" in v1
    assert re.search(r'<td class="mono" title="[0-9a-f]{64}">[0-9a-f]{12}</td>', v2)
    assert 'href="/processes/energy_use/v2.bpmn?download=1"' in v2
    assert 'href="/processes/energy_use/diff?a=1&amp;b=2"' in v2
    assert 'href="/modeler/energy_use"' in html
    download = client.get("/processes/energy_use/v2.bpmn?download=1")
    assert download.status_code == 200 and download.mimetype == "application/xml"
    assert 'filename="energy_use-v2.bpmn"' in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True) == with_legal_review()


def test_diff_page_has_the_table_and_the_viewer_data(two_versions, login_as, client):
    login_as("supervisor")
    answer = client.get("/processes/energy_use/diff?a=1&b=2")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    rows = {(m.group(1), m.group(2)) for m in re.finditer(r'<tr data-change="(\w+)" data-element="(\w+)"', html)}
    assert rows == {("added", "legal_review"), ("added", "flow_legal_review_to_close_order"),
                    ("changed", "approval_result"), ("changed", "close_order"),
                    ("changed", "flow_approval_result_to_close_order")}
    assert "法制审核" in _row(html, "change", "added")
    close = re.search(r'<tr data-change="changed" data-element="close_order">(.*?)</tr>', html, re.S).group(1)
    assert "流入连线" in close and "<del>flow_approval_result_to_close_order ← approval_result</del>" in close
    assert "<ins>flow_legal_review_to_close_order ← legal_review</ins>" in close
    right = re.search(r'<div class="diagram diff-diagram" id="diagram-b"(.*?)>', html, re.S).group(1)
    assert 'data-xml-url="/processes/energy_use/v2.bpmn"' in right
    assert json.loads(re.search(r"data-added='([^']*)'", right).group(1)) == [
        "legal_review", "flow_legal_review_to_close_order"]
    left = re.search(r'<div class="diagram diff-diagram" id="diagram-a"(.*?)>', html, re.S).group(1)
    assert json.loads(re.search(r"data-removed='([^']*)'", left).group(1)) == []
    assert "流程图需要启用 JavaScript" in html and "js/processes-diff.js" in html and "build/bpmn-viewer.js" in html
    same = client.get("/processes/energy_use/diff?a=2&b=2").get_data(as_text=True)
    assert 'id="no-changes"' in same
    assert client.get("/processes/energy_use/diff?a=1&b=9").status_code == 404


def test_owner_migrates_a_case_and_sees_why_another_cannot(two_versions, login_as, client, ctx):
    login_as("owner")
    html = client.get("/processes/energy_use").get_data(as_text=True)
    ok_row = _row(html, "case", two_versions["at_rectify"])
    refused = _row(html, "case", two_versions["at_close"])
    assert 'data-migratable="yes"' in ok_row and 'class="migrate"' in ok_row and 'name="csrf_token"' in ok_row
    assert 'data-migratable="no"' in refused and 'data-element="close_order"' in refused
    assert "close_order" in refused and "流入连线" in refused
    assert f'data-case="{two_versions["on_v2"]}"' not in html
    answer = client.post(f"/processes/energy_use/cases/{two_versions['at_rectify']}/migrate", data={
        "csrf_token": csrf_from(html), "version": 2, "note": "规则修订", "case_version": re.search(
            r'name="case_version" value="(\d+)"', ok_row).group(1)})
    assert answer.status_code == 303
    after = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "已从 v1 迁移到 v2" in after and f'data-case="{two_versions["at_rectify"]}"' not in after
    case_page = client.get(f"/cases/{two_versions['at_rectify']}").get_data(as_text=True)
    assert "迁移流程版本" in case_page and 'data-action="case_migrated"' in case_page
    migrated = re.search(r'<tr data-action="case_migrated">(.*?)</tr>', case_page, re.S).group(1)
    assert "流程版本：v1 → v2" in migrated and "迁移说明：规则修订" in migrated  # what moved, and why
    assert "新版本说明：增加法制审核" in migrated and "被调用流程" not in migrated  # no called process moved
    again = client.post(f"/processes/energy_use/cases/{two_versions['at_close']}/migrate",
                        data={"csrf_token": csrf_from(after), "version": 2})
    assert again.status_code == 400
    assert 'id="migration-error"' in again.get_data(as_text=True)
    assert 'data-element="close_order"' in again.get_data(as_text=True)
    stale = client.post(f"/processes/energy_use/cases/{two_versions['at_rectify']}/migrate",
                        data={"csrf_token": csrf_from(after), "version": 2})
    assert stale.status_code == 409


def test_supervisor_sees_migratable_cases_without_a_button(two_versions, login_as, client):
    login_as("supervisor")
    html = client.get("/processes/energy_use").get_data(as_text=True)
    row = _row(html, "case", two_versions["at_rectify"])
    assert "可以迁移" in row and 'class="migrate"' not in row
    answer = client.post(f"/processes/energy_use/cases/{two_versions['at_rectify']}/migrate",
                         data={"csrf_token": csrf_from(html), "version": 2})
    assert answer.status_code == 403


def test_called_process_page_points_to_its_callers(login_as, client):
    login_as("admin")
    html = client.get("/processes/closure_measures").get_data(as_text=True)
    assert "energy_use" in html and "调用它的流程页面迁移案件" in html
    assert client.get("/processes/nothing_here").status_code == 404


def test_api_versions_and_migration(two_versions, client, api_token):
    owner = api_token("owner")
    listed = client.get(f"{API}/definitions/energy_use/versions", headers=owner)
    assert listed.status_code == 200
    body = listed.get_json()
    assert [(v["version"], v["running_cases"], v["note"]) for v in body] == [(2, 1, "增加法制审核"), (1, 2, "")]
    one = client.get(f"{API}/definitions/energy_use/versions/1", headers=owner).get_json()
    assert set(one) >= {"process_id", "version", "bpmn", "deployed_at", "deployed_by", "note"}
    assert one["version"] == 1 and one["bpmn"].startswith("<?xml") and one["deployed_by"] == "system"
    assert client.get(f"{API}/definitions/energy_use/versions/9", headers=owner).status_code == 404
    refused = client.post(f"{API}/cases/{two_versions['at_close']}/migrate", headers=owner, json={"version": 2})
    assert refused.status_code == 400
    assert "close_order" in [e.get("element_id") for e in refused.get_json()["errors"]]
    staff = api_token("staff", department="industry")
    assert client.post(f"{API}/cases/{two_versions['at_rectify']}/migrate", headers=staff,
                       json={"version": 2}).status_code == 403
    assert client.get(f"{API}/definitions/energy_use/versions", headers=staff).status_code == 403
    done = client.post(f"{API}/cases/{two_versions['at_rectify']}/migrate", headers=owner,
                       json={"version": 2, "note": "接口迁移"})
    assert done.status_code == 200 and (done.get_json()["from_version"], done.get_json()["to_version"]) == (1, 2)
    assert client.post(f"{API}/cases/{two_versions['at_rectify']}/migrate", headers=owner,
                       json={"version": 2}).status_code == 409
    history = client.get(f"{API}/cases/{two_versions['at_rectify']}", headers=owner).get_json()["history"]
    assert history[-1]["action"] == "case_migrated" and history[-1]["actor"].startswith("owner")
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "get" in paths["/definitions/{process_id}/versions"]
    assert "get" in paths["/definitions/{process_id}/versions/{version}"]
    assert "post" in paths["/cases/{case_id}/migrate"]


def test_pages_in_english(english, login_as, two_versions):  # noqa: F811
    login_as("owner")
    english.get("/lang/en")
    for url in ("/processes", "/processes/energy_use", "/processes/energy_use/diff?a=1&b=2"):
        page = english.get(url).get_data(as_text=True)
        _assert_english(page)
    listing = english.get("/processes").get_data(as_text=True)
    assert "<h1>Process versions</h1>" in listing
    assert "(2 versions)" in _row(listing, "process", "energy_use")
    assert "(1 version)" in _row(listing, "process", "closure_measures") and "(1 versions)" not in listing
    assert "<h1>Process versions: " in english.get("/processes/energy_use").get_data(as_text=True)
    assert "<h1>Process version: " in english.get("/processes/closure_measures").get_data(as_text=True)


def test_visual_diff_marks_added_and_changed_elements(live_server, page, browser_login, ctx, make_case):
    make_case("energy_use")
    deploy(ctx, with_legal_review())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "owner")
    page.goto(f"{live_server}/processes/energy_use/diff?a=1&b=2")
    page.wait_for_selector("#diagram-a[data-state=ready]")
    page.wait_for_selector("#diagram-b[data-state=ready]")
    right = page.locator("#diagram-b")
    added = right.locator('.djs-element[data-element-id="legal_review"]')
    assert "diff-added" in (added.get_attribute("class") or "")
    changed = right.locator('.djs-element[data-element-id="close_order"]')
    assert "diff-changed" in (changed.get_attribute("class") or "")
    left_changed = page.locator('#diagram-a .djs-element[data-element-id="approval_result"]')
    assert "diff-changed" in (left_changed.get_attribute("class") or "")
    assert not errors, errors
    screenshot(page, "process-diff")

