"""Issue 4's "done when" in Chromium: a process owner, in the browser only, creates a legal review form, inserts a
法制审核 step before the government's approval of a closure in the environmental procedure, and deploys it; new
cases take the new step with its form, a case opened before keeps going without it."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from lxml import etree
from playwright.sync_api import expect

from engine.definitions import lane_departments
from engine.models import Case, Definition
from engine.services import cases
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, actor, screenshot

ENV = "environmental"
FORM = "legal_review.schema.json"
TASK = "legal_review"
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "法制审核",
    "description": "报请人民政府批准关停前，对关停的事实依据、法律依据和程序进行合法性审核。",
    "type": "object",
    "properties": {
        "opinion": {"type": "string", "title": "审核意见", "maxLength": 2000},
        "lawful": {"type": "boolean", "title": "关停依据和程序是否合法"},
    },
    "required": ["opinion"],
    "additionalProperties": False,
}
INTO_APPROVAL = '.djs-connection[data-element-id="flow_closure_merge_to_government_approval"]'
SCALE = "() => window.capexitModeler.get('canvas').viewbox().scale"
RECTIFIED = {"outcome": "rectified", "report": "已完成治理设施改造"}
FAILED = {"result": "fail", "findings": "复查时排放仍超标"}


def _centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _publish_form(page, base_url: str) -> None:
    """/forms/new: key, schema text, live preview, note, publish."""
    page.goto(f"{base_url}/forms/new")
    page.fill("#form-key", FORM)
    page.fill("#form-text", json.dumps(SCHEMA, ensure_ascii=False, indent=2))
    preview = page.locator("#form-preview")
    expect(preview.locator('[name="opinion"]')).to_be_visible()
    expect(preview.locator('[name="lawful"]').first).to_be_visible()
    expect(preview).to_contain_text("关停依据和程序是否合法")
    expect(page.locator("#form-editor")).to_have_attribute("data-state", "ok")
    page.fill("#form-note", "报请政府批准关停前增加法制审核")
    page.click("#form-publish")
    page.wait_for_url(re.compile(r"/forms/legal_review\.schema\.json/versions"))
    expect(page.locator('#versions tr[data-version="1"]')).to_contain_text("报请政府批准关停前增加法制审核")


def _zoom_to(page, selector: str, scale: float) -> None:
    """Ctrl + mouse wheel over an element until the canvas reaches ``scale``."""
    page.mouse.move(*_centre(page.locator(selector).bounding_box()))
    page.keyboard.down("Control")
    for _ in range(20):
        if page.evaluate(SCALE) >= scale:
            break
        page.mouse.wheel(0, -120)
    page.keyboard.up("Control")
    assert page.evaluate(SCALE) >= scale


def _scroll_to_middle(page, selector: str) -> None:
    """Mouse wheel over the canvas until the element is near the middle of the canvas's height."""
    canvas = page.locator("#modeler-canvas").bounding_box()
    middle = canvas["y"] + canvas["height"] / 2
    page.mouse.move(*_centre(canvas))
    for _ in range(20):
        offset = _centre(page.locator(selector).bounding_box())[1] - middle
        if abs(offset) < 60:
            return
        page.mouse.wheel(0, 50 if offset > 0 else -50)
    raise AssertionError(f"{selector} did not scroll into the middle of the canvas")


def _make_room(page, selector: str, pixels: int) -> None:
    """The palette's space tool: drag rightwards from the middle of a flow, pushing what lies right of it."""
    x, y = _centre(page.locator(selector).bounding_box())
    page.click('.djs-palette [data-action="space-tool"]')
    page.mouse.move(x, y + 30)
    page.mouse.down()
    page.mouse.move(x + 20, y + 30, steps=4)
    page.mouse.move(x + pixels, y + 30, steps=10)
    page.mouse.up()


def _drop_task_on(page, selector: str) -> None:
    """Drag a task from the palette onto a sequence flow: bpmn-js splits the flow around it."""
    x, y = _centre(page.locator(selector).bounding_box())
    page.locator('.djs-palette [data-action="create.task"]').hover()
    page.mouse.down()
    page.mouse.move(x - 60, y, steps=10)
    page.mouse.move(x, y, steps=10)
    page.mouse.up()


def _click_lane_corner(page, lane_id: str) -> None:
    """Select a lane by clicking the top right corner of its visible part (no element lies there)."""
    lane = page.locator(f'.djs-shape[data-element-id="{lane_id}"]').bounding_box()
    canvas = page.locator("#modeler-canvas").bounding_box()
    right = min(lane["x"] + lane["width"], canvas["x"] + canvas["width"])
    top = max(lane["y"], canvas["y"])
    page.mouse.click(right - 24, top + 24)


def _deployed(ctx) -> etree._ElementTree:
    with ctx.unit_of_work() as session:
        latest = session.scalars(sa.select(Definition).where(Definition.process_id == ENV)
                                 .order_by(Definition.version.desc()).limit(1)).one()
        assert latest.version == 2
        return etree.ElementTree(etree.fromstring(latest.bpmn.encode("utf-8")))


def _version(ctx, case_id: int) -> int:
    with ctx.unit_of_work() as session:
        return session.get(Definition, session.get(Case, case_id).definition_id).version


def _open(ctx, case_id: int) -> dict[str, str]:
    return {t["key"]: t["department"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]}


def _open_id(ctx, case_id: int, key: str) -> str:
    return next(t["id"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"] if t["key"] == key)


def test_owner_adds_legal_review_before_government_approval(live_server, page, browser_login, make_case, work, ctx,
                                                           client, api_token):
    old_case = make_case(ENV, enterprise=ENTERPRISE_A)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error"
            and "favicon" not in (message.location.get("url") or "") else None)
    browser_login(page, live_server, "owner")

    # 1. the form, created and published in the form editor
    _publish_form(page, live_server)

    # 2. the environmental procedure in the modeler
    page.goto(f"{live_server}/modeler/{ENV}")
    page.wait_for_selector("#modeler-app[data-state=ready]")
    page.wait_for_selector("#modeler-problems[data-state=ok]")
    expect(page.locator(".bio-properties-panel-header-type")).to_have_text("协作")  # the pool of parties, in Chinese
    _zoom_to(page, INTO_APPROVAL, 0.8)
    _scroll_to_middle(page, INTO_APPROVAL)
    _make_room(page, INTO_APPROVAL, 140)
    _drop_task_on(page, INTO_APPROVAL)
    page.wait_for_selector(".djs-direct-editing-parent", state="visible")  # the new task's name, typed in place
    page.keyboard.type("法制审核")
    page.keyboard.press("Enter")
    page.wait_for_selector(".djs-direct-editing-parent", state="hidden")

    page.click('.djs-context-pad [data-action="replace"]')  # the wrench: a user task
    page.click('.djs-popup [data-id="replace-with-user-task"]')
    expect(page.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    expect(page.locator("#bio-properties-panel-name")).to_have_value("法制审核")
    element_id = page.locator("#bio-properties-panel-id")
    element_id.fill(TASK)
    element_id.press("Tab")
    expect(page.locator(f'.djs-shape[data-element-id="{TASK}"]')).to_be_visible()

    # without a form the live lint and the server's check both name the new task
    expect(page.locator(".bjsl-button-error")).to_contain_text("1 个错误")
    expect(page.locator(f'#modeler-problem-list .problem-link[data-element-id="{TASK}"]')).to_contain_text("表单")
    form = page.locator("#bio-properties-panel-capexit-form")
    expect(form.locator(f'option[value="{FORM}"]')).to_have_text(f"法制审核 ({FORM})")
    form.select_option(FORM)
    expect(page.locator(".bjsl-button-success")).to_be_visible()
    expect(page.locator("#modeler-problems")).to_have_attribute("data-state", "ok")
    expect(page.locator("#modeler-problems-headline")).to_have_text("检查通过，可以部署")

    # it sits in the lane of the government with approval authority (the department chosen for that lane)
    _click_lane_corner(page, "lane_government")
    expect(page.locator(".bio-properties-panel-header-type")).to_have_text("泳道")
    expect(page.locator("#bio-properties-panel-capexit-department")).to_have_value("government")

    page.fill("#modeler-note", "报请政府批准关停前增加法制审核（C-2.2）")
    page.click("#modeler-deploy")
    expect(page.locator("#modeler-status.ok")).to_contain_text("第 2 版")
    expect(page.locator("#modeler-version")).to_have_text("2")
    page.click(f'.djs-shape[data-element-id="{TASK}"]')
    expect(form).to_have_value(FORM)
    screenshot(page, "modeler-legal-review")
    assert not errors, errors

    # the deployed version: closure_merge -> legal_review -> government_approval, in the government's lane
    tree = _deployed(ctx)
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    task = tree.find(f'.//bpmn:userTask[@id="{TASK}"]', ns)
    assert task.get("name") == "法制审核"
    flows = {(f.get("sourceRef"), f.get("targetRef")) for f in tree.iterfind(".//bpmn:sequenceFlow", ns)}
    assert {("closure_merge", TASK), (TASK, "government_approval")} <= flows
    assert ("closure_merge", "government_approval") not in flows
    assert lane_departments(tree)[(ENV, TASK)] == "government"
    assert tree.find(f'.//bpmndi:BPMNShape[@bpmnElement="{TASK}"]',
                     {"bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}) is not None

    # the case opened before stays on version 1: a failed re-inspection goes straight to the government
    assert _version(ctx, old_case) == 1
    work(old_case, "rectify", RECTIFIED)
    work(old_case, "reinspect", FAILED)
    assert _open(ctx, old_case) == {"government_approval": "government"}

    # a new case runs version 2: the legal review comes first, with the new form
    new_case = make_case(ENV, enterprise=ENTERPRISE_B)
    assert _version(ctx, new_case) == 2
    work(new_case, "rectify", RECTIFIED)
    work(new_case, "reinspect", FAILED)
    assert _open(ctx, new_case) == {TASK: "government"}
    government = api_token("staff", department="government")
    task_id = _open_id(ctx, new_case, TASK)
    shown = client.get(f"/api/v1/tasks/{task_id}", headers=government)
    assert shown.status_code == 200, shown.get_json()
    assert shown.get_json()["form"]["title"] == "法制审核"
    assert set(shown.get_json()["form"]["properties"]) == {"opinion", "lawful"}

    refused = client.post(f"/api/v1/tasks/{task_id}/complete", json={"lawful": True}, headers=government)
    assert refused.status_code == 400, refused.get_json()
    assert [e["field"] for e in refused.get_json()["errors"]] == ["opinion"]
    assert _open(ctx, new_case) == {TASK: "government"}

    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=government,
                       json={"opinion": "关停事实清楚、依据充分、程序合法", "lawful": True})
    assert done.status_code == 200, done.get_json()
    assert [t["key"] for t in done.get_json()["open_tasks"]] == ["government_approval"]
