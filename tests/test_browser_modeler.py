"""The modeler in Chromium: edit a timer's rule and a lane's department in the properties panel, deploy,
and see new cases follow the new version while a running case keeps its own."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from engine.context import ROOT
from engine.deadlines import deadline_for
from engine.models import Case, Definition
from engine.services import cases, deployments
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, actor, screenshot

ENV = "environmental"
PROCESSES = ROOT / "processes"
LANE_DEPARTMENT = """() => {
    const lane = window.capexitModeler.get('elementRegistry').get('lane_lead').businessObject;
    return lane.extensionElements.values[0].properties.find(p => p.name === 'department').value;
}"""


def _version(ctx, case_id: int) -> int:
    with ctx.unit_of_work() as session:
        return session.get(Definition, session.get(Case, case_id).definition_id).version


def _expected(ctx, months: int) -> str:
    with ctx.unit_of_work() as session:
        return deadline_for(date(2026, 3, 2), months, ctx.calendar(session)).last_day.isoformat()


def _open_keys(ctx, case_id: int) -> dict[str, str]:
    return {t["key"]: t["department"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]}


def test_owner_changes_a_deadline_and_a_lane_then_deploys(live_server, page, browser_login, make_case, work, ctx):
    old_case = make_case(ENV, enterprise=ENTERPRISE_A)
    old_deadline = cases.get_case(ctx, actor("supervisor"), old_case)["deadline"]
    assert old_deadline == _expected(ctx, 6)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "owner")
    page.goto(f"{live_server}/modeler/{ENV}")
    page.wait_for_selector("#modeler-app[data-state=ready]")
    page.wait_for_selector("#modeler-problems[data-state=ok]")

    # the boundary timer: its deadline rule shows in the capexit group; 6 months become 4
    page.click('[data-element-id="rectify_deadline"]')
    months = page.locator("#bio-properties-panel-capexit-months")
    assert months.input_value() == "6"
    assert page.locator("#bio-properties-panel-capexit-deadline-rule").input_value() == "statutory"
    months.fill("4")
    months.press("Tab")

    # the lead department's lane is given to a fixed department (a valid choice, so it still deploys)
    lane = page.locator('[data-element-id="lane_lead"]')
    lane.click(position={"x": lane.bounding_box()["width"] - 12, "y": 12})  # an empty corner of the lane
    department = page.locator("#bio-properties-panel-capexit-department")
    assert department.input_value() == "lead"
    department.select_option("industry")
    assert page.evaluate(LANE_DEPARTMENT) == "industry"

    # one edit is one command: undo and redo the lane change
    page.evaluate("() => window.capexitModeler.get('commandStack').undo()")
    assert page.evaluate(LANE_DEPARTMENT) == "lead"
    expect(department).to_have_value("lead")
    page.evaluate("() => window.capexitModeler.get('commandStack').redo()")
    expect(department).to_have_value("industry")

    page.fill("#modeler-note", "整改期限改为4个月；复查由工信局办理")
    page.dialogs.accept = False  # the owner thinks again: nothing is deployed
    page.click("#modeler-deploy")
    assert page.dialogs.messages == ["部署后，新立案的案件按新版本办理；在办案件仍按原版本，可在版本页迁移。确定部署吗？"]
    assert page.inner_text("#modeler-version") == "1" and page.input_value("#modeler-note")
    with ctx.unit_of_work() as session:
        assert deployments.get_latest(session, ENV).version == 1
    page.dialogs.accept = True
    page.click("#modeler-deploy")
    page.wait_for_selector("#modeler-status.ok")
    assert "第 2 版" in page.inner_text("#modeler-status")
    assert page.inner_text("#modeler-version") == "2"
    page.click('[data-element-id="rectify_deadline"]')
    screenshot(page, "modeler")
    assert not errors, errors

    # new cases run on version 2 with the 4-month period and the lane's new department
    new_case = make_case(ENV, enterprise=ENTERPRISE_B)
    assert _version(ctx, new_case) == 2
    assert cases.get_case(ctx, actor("supervisor"), new_case)["deadline"] == _expected(ctx, 4)
    work(new_case, "rectify", {"outcome": "rectified", "report": "已完成治理设施改造"})
    assert _open_keys(ctx, new_case) == {"reinspect": "industry"}

    # the case opened before stays on version 1 with its 6-month period and the lead department
    assert _version(ctx, old_case) == 1
    assert cases.get_case(ctx, actor("supervisor"), old_case)["deadline"] == old_deadline
    work(old_case, "rectify", {"outcome": "rectified", "report": "已完成治理设施改造"})
    assert _open_keys(ctx, old_case) == {"reinspect": "environment"}


def test_problems_are_listed_and_select_their_element(live_server, page, browser_login):
    browser_login(page, live_server, "owner")
    page.goto(f"{live_server}/modeler/{ENV}")
    page.wait_for_selector("#modeler-app[data-state=ready]")
    page.click('[data-element-id="rectify"]')
    page.select_option("#bio-properties-panel-capexit-form", "")
    page.click("#modeler-check")
    link = page.locator('#modeler-problem-list .problem-link[data-element-id="rectify"]')
    link.wait_for()
    assert "表单" in link.inner_text()
    page.click('[data-element-id="notice"]')
    link.click()
    assert page.evaluate("() => window.capexitModeler.get('selection').get().map(e => e.id)") == ["rectify"]
    page.wait_for_selector(".bjsl-button.bjsl-button-error")  # bpmnlint with capexit's rules, live on the canvas
    assert "1 个错误" in page.inner_text(".bjsl-button")
    page.fill("#modeler-note", "没有表单")
    page.click("#modeler-deploy")
    expect(page.locator("#modeler-status.error")).to_contain_text("未部署")
    assert page.locator('#modeler-problem-list [data-element-id="rectify"]').count() == 1
    screenshot(page, "modeler-problems")

    # the unfinished edit is kept as a draft, opened again with a notice, and can be discarded
    page.click("#modeler-save")
    expect(page.locator("#modeler-status")).to_contain_text("草稿已保存")
    page.reload()
    page.wait_for_selector("#modeler-app[data-state=ready]")
    assert "正在编辑您于" in page.inner_text("#draft-notice")
    page.click('[data-element-id="rectify"]')
    assert page.locator("#bio-properties-panel-capexit-form").input_value() == ""
    with page.expect_navigation():
        page.click("#discard-draft")
    page.wait_for_selector("#modeler-app[data-state=ready]")
    assert page.locator("#draft-notice").count() == 0
    page.click('[data-element-id="rectify"]')
    assert page.locator("#bio-properties-panel-capexit-form").input_value() == "rectify.schema.json"


def test_the_english_lint_button_counts_in_the_singular_and_plural(live_server, page, browser_login):
    browser_login(page, live_server, "owner")
    page.goto(f"{live_server}/lang/en")
    page.goto(f"{live_server}/modeler/{ENV}")
    page.wait_for_selector("#modeler-app[data-state=ready]")
    page.click('[data-element-id="rectify"]')
    page.select_option("#bio-properties-panel-capexit-form", "")
    page.wait_for_selector(".bjsl-button.bjsl-button-error")
    expect(page.locator(".bjsl-button")).to_have_text("1 error, 0 warnings")
    page.click('[data-element-id="review_extension"]')
    page.select_option("#bio-properties-panel-capexit-form", "")
    expect(page.locator(".bjsl-button")).to_have_text("2 errors, 0 warnings")


def test_every_deployed_process_opens_without_problems(live_server, page, browser_login):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "owner")
    for path in sorted(PROCESSES.glob("*.bpmn")):
        page.goto(f"{live_server}/modeler/{path.stem}")
        page.wait_for_selector("#modeler-problems[data-state=ok]")
        page.wait_for_selector(".bjsl-button-success")  # capexit's lint rules agree with the server's checks
    assert not errors, errors


def test_an_edited_and_deployed_diagram_keeps_every_english_name(live_server, page, browser_login, ctx):
    """The modeler writes back the ``nameEn`` properties it does not edit, on the edited element too."""
    from lxml import etree

    from engine.definitions import NS
    from engine.services import deployments

    def english_names(text: str) -> list[tuple[str, str]]:
        root = etree.fromstring(text.encode("utf-8"))
        return [(p.getparent().getparent().getparent().get("id"), p.get("value"))
                for p in root.iterfind(".//spiffworkflow:property[@name='nameEn']", NS)]

    shipped = english_names((PROCESSES / "quality.bpmn").read_text(encoding="utf-8"))
    assert ("rectify", "Rectification by the enterprise") in shipped
    browser_login(page, live_server, "owner")
    page.goto(f"{live_server}/modeler/quality")
    page.wait_for_selector("#modeler-app[data-state=ready]")
    page.wait_for_selector("#modeler-problems[data-state=ok]")
    page.click('[data-element-id="rectify_deadline"]')
    months = page.locator("#bio-properties-panel-capexit-months")
    months.fill("5")
    months.press("Tab")
    page.fill("#modeler-note", "整改期限改为5个月")
    page.click("#modeler-deploy")
    page.wait_for_selector("#modeler-status.ok")
    with ctx.unit_of_work() as session:
        deployed = deployments.get_latest(session, "quality")
        assert deployed.version == 2 and 'name="months" value="5"' in deployed.bpmn
        assert sorted(english_names(deployed.bpmn)) == sorted(shipped)
