"""English names of procedure steps: the ``nameEn`` property in the BPMN, the open-task index, the audit event,
the pages in English (Chinese unchanged), the schema migration, and running cases taking the names later."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from conftest import (
    reinitialise_postgres_after_migrating,  # the module pytest loaded, whose state the fixtures keep
)
from lxml import etree

from engine.context import ROOT, Actor
from engine.models import AuditEvent, OpenTask
from engine.services import cases, deployments, migration, timers
from tests.conftest import ENTERPRISE_A, PG_URL, actor
from tests.test_english import compiled, english  # noqa: F401 (fixtures)

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
LISTED = ("userTask", "callActivity", "boundaryEvent", "startEvent", "endEvent")  # what step lists and histories show
UNPRICED = "flat_glass"  # energy_use without the price branch: the case's one open task is ``rectify``
RECTIFY_EN, REINSPECT_EN = "Rectification by the enterprise", "Re-inspection"
OWNER = Actor("owner_li", "owner")


def _name_en(element) -> str:
    return element.xpath("string(bpmn:extensionElements/spiffworkflow:properties/"
                         "spiffworkflow:property[@name='nameEn']/@value)", namespaces=NS)


@pytest.mark.parametrize("path", sorted((ROOT / "processes").glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_listed_step_has_an_english_name(path):
    tree = etree.parse(str(path))
    elements = [e for kind in LISTED for e in tree.iterfind(f".//bpmn:{kind}", NS)]
    assert [e for e in elements if e.tag.endswith("userTask")]
    missing = [e.get("id") for e in elements if not _name_en(e).strip()]
    assert not missing, f"{path.name}: no nameEn on {missing}"
    assert not [e.get("id") for e in elements if re.search(r"[\u4e00-\u9fff]", _name_en(e))]


@pytest.mark.parametrize("path", sorted((ROOT / "processes").glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_process_has_an_english_name(path):
    process = etree.parse(str(path)).find("bpmn:process", NS)
    assert _name_en(process).strip() and not re.search(r"[\u4e00-\u9fff]", _name_en(process))


ENVIRONMENTAL_ZH = "环保不达标产能整改退出"
ENVIRONMENTAL_EN = "Rectification or exit of capacity failing environmental standards"


def _process_pages(client, case_id: int) -> dict[str, str]:
    return {url: client.get(url).get_data(as_text=True)
            for url in ("/processes", "/processes/environmental", "/modeler/", "/modeler/environmental",
                        f"/cases/{case_id}")}


def _diagram_heading(page: str) -> str:
    return re.search(r'<h2 id="h-diagram">(.*?)</h2>', page, re.S).group(1)


def test_process_names_in_english_and_in_chinese(english, login_as, make_case, ctx):  # noqa: F811
    with ctx.unit_of_work() as session:
        assert deployments.get_latest(session, "environmental").name_en == ENVIRONMENTAL_EN
    case_id = make_case("environmental", industry="cement", enterprise=ENTERPRISE_A)
    login_as("owner")
    english.get("/lang/en")
    pages = _process_pages(english, case_id)
    for url, page in pages.items():
        assert ENVIRONMENTAL_EN in page and ENVIRONMENTAL_ZH not in page, url
    assert ENVIRONMENTAL_EN in _diagram_heading(pages[f"/cases/{case_id}"])
    assert re.search(r"<h1>\s*" + ENVIRONMENTAL_EN, pages["/modeler/environmental"])
    english.get("/lang/zh")
    for url, page in _process_pages(english, case_id).items():
        assert ENVIRONMENTAL_ZH in page and ENVIRONMENTAL_EN not in page, url


def test_a_process_deployed_without_an_english_name_keeps_its_chinese_one(english, login_as, make_case,  # noqa: F811
                                                                          ctx):
    named = (ROOT / "processes" / "environmental.bpmn").read_text(encoding="utf-8")
    deployments.deploy_upload(ctx, OWNER, _without_english_names(named).encode("utf-8"), note="ohne")
    case_id = make_case("environmental", industry="cement", enterprise=ENTERPRISE_A)
    login_as("owner")
    english.get("/lang/en")
    pages = _process_pages(english, case_id)
    assert ENVIRONMENTAL_ZH in _diagram_heading(pages[f"/cases/{case_id}"])
    assert ENVIRONMENTAL_ZH in pages["/modeler/environmental"] and ENVIRONMENTAL_ZH in pages["/processes"]


def test_the_index_the_task_view_and_the_audit_event_carry_the_english_name(ctx, make_case, work):
    case_id = make_case("energy_use", industry=UNPRICED)
    view = cases.get_case(ctx, actor("supervisor"), case_id)
    assert [(t["key"], t["name"], t["name_en"]) for t in view["open_tasks"]] == [("rectify", "企业整改", RECTIFY_EN)]
    view = work(case_id, "rectify", {"outcome": "rectified", "reason": "已整改"})
    assert [(t["key"], t["name_en"]) for t in view["open_tasks"]] == [("reinspect", REINSPECT_EN)]
    done = [e["detail"] for e in view["history"] if e["action"] == "task_completed"]
    assert (done[0]["name"], done[0]["name_en"]) == ("企业整改", RECTIFY_EN)
    with ctx.unit_of_work() as session:
        assert session.scalars(sa.select(OpenTask.name_en).where(OpenTask.case_id == case_id)).all() == [REINSPECT_EN]


def _pages(client, case_id: int, task_id: str) -> dict[str, str]:
    return {url: client.get(url).get_data(as_text=True)
            for url in ("/inbox", "/board", "/board/digest", f"/cases/{case_id}", f"/tasks/{task_id}")}


def _h1(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)


def test_pages_in_english_name_the_steps_in_english(english, login_as, make_case, work, ctx):  # noqa: F811
    done = make_case("energy_use", industry=UNPRICED, enterprise=ENTERPRISE_A)
    work(done, "rectify", {"outcome": "rectified", "reason": "已整改"})
    case_id = make_case("energy_use", industry=UNPRICED, enterprise=ENTERPRISE_A)
    task_id = cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"][0]["id"]
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-28T09:00:00+08:00")  # due within 7 days: in the digest
    login_as("supervisor")
    english.get("/lang/en")
    pages = _pages(english, case_id, task_id)
    for url, page in pages.items():
        assert RECTIFY_EN in page, url
    assert RECTIFY_EN in _h1(pages[f"/tasks/{task_id}"]) and "企业整改" not in _h1(pages[f"/tasks/{task_id}"])
    assert "企业整改" not in pages["/inbox"] and "企业整改" not in pages["/board"]
    case_page = pages[f"/cases/{case_id}"]
    assert re.search(r'<tr class="open-task" data-key="rectify">\s*<td>' + RECTIFY_EN, case_page)
    assert "Rectification notice issued" in case_page and "Rectification period expired" in case_page
    history = english.get(f"/cases/{done}").get_data(as_text=True)
    table = history[history.index('id="history"'):]
    assert re.search(r'<tr data-action="task_completed">\s*<td[^>]*>[^<]*</td>\s*<td>[^<]*</td>\s*<td>[^<]*'
                     + RECTIFY_EN, table), "the history names the completed step in English"
    assert REINSPECT_EN in history


def test_pages_in_chinese_keep_the_chinese_names(client, compiled, login_as, make_case, work, ctx):  # noqa: F811
    done = make_case("energy_use", industry=UNPRICED, enterprise=ENTERPRISE_A)
    work(done, "rectify", {"outcome": "rectified", "reason": "已整改"})
    case_id = make_case("energy_use", industry=UNPRICED, enterprise=ENTERPRISE_A)
    task_id = cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"][0]["id"]
    timers.advance_clock(ctx, actor("supervisor"), to="2026-08-28T09:00:00+08:00")  # due within 7 days: in the digest
    login_as("supervisor")
    pages = _pages(client, case_id, task_id)
    for url, page in pages.items():
        assert "企业整改" in page and RECTIFY_EN not in page, url
    history = client.get(f"/cases/{done}").get_data(as_text=True)
    assert "办理：企业整改" in re.sub(r"<[^>]+>|\s", "", history) and "复查验收" in history
    assert RECTIFY_EN not in history and REINSPECT_EN not in history


def _without_english_names(text: str) -> str:
    return re.sub(r'\s*<spiffworkflow:property name="nameEn" value="[^"]*"/>', "", text)


def test_a_case_on_a_version_without_english_names_takes_them_when_moved_to_one(ctx, make_case):
    """Cases started before the names existed run on versions without them: their task rows have none (pages
    show Chinese) until the case moves to a version that has them, which a change of names alone never refuses."""
    named = (ROOT / "processes" / "energy_use.bpmn").read_text(encoding="utf-8")
    deployments.deploy_upload(ctx, OWNER, _without_english_names(named).encode("utf-8"), note="ohne")
    case_id = make_case("energy_use", industry=UNPRICED)
    with ctx.unit_of_work() as session:
        assert session.scalars(sa.select(OpenTask.name_en).where(OpenTask.case_id == case_id)).all() == [None]
    deployments.deploy_upload(ctx, OWNER, named.replace("Re-inspection", "Re-inspection of the capacity")
                              .encode("utf-8"), note="names")
    with ctx.unit_of_work() as session:
        target = deployments.get_latest(session, "energy_use").id
    ok, reasons = migration.can_migrate(ctx, case_id, target)
    assert ok, [r.message_en for r in reasons]
    migration.migrate_case(ctx, OWNER, case_id, target, note="English names")
    with ctx.unit_of_work() as session:
        assert session.scalars(sa.select(OpenTask.name_en).where(OpenTask.case_id == case_id)).all() == [RECTIFY_EN]
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                              .where(AuditEvent.case_id == case_id, AuditEvent.action == "case_migrated")) == 1


def test_a_changed_chinese_name_still_refuses_a_migration(ctx, make_case):
    named = (ROOT / "processes" / "energy_use.bpmn").read_text(encoding="utf-8")
    case_id = make_case("energy_use", industry=UNPRICED)
    deployments.deploy_upload(ctx, OWNER, named.replace('name="企业整改"', 'name="企业限期整改"').encode("utf-8"),
                              note="renamed")
    with ctx.unit_of_work() as session:
        target = deployments.get_latest(session, "energy_use").id
    ok, reasons = migration.can_migrate(ctx, case_id, target)
    assert not ok and reasons[0].element_id == "rectify"


def _columns(db_engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db_engine).get_columns(table)}


def test_the_migration_adds_and_removes_the_column(tmp_path):
    from alembic import command
    from alembic.config import Config

    from engine.db import MIGRATIONS, make_engine, upgrade_schema

    db_engine = make_engine(PG_URL or f"sqlite:///{tmp_path / 'steps.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        upgrade_schema(db_engine)
        assert "name_en" in _columns(db_engine, "open_tasks")
        with db_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0009")
        assert "name_en" not in _columns(db_engine, "open_tasks")
        with db_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0010")
        assert "name_en" in _columns(db_engine, "open_tasks")
    finally:
        upgrade_schema(db_engine)  # a shared PostgreSQL database is left at the newest revision
        db_engine.dispose()
        reinitialise_postgres_after_migrating()


def test_a_step_name_is_built_once_and_shared():
    """Boards list the same steps thousands of times: each (name, English name) is one shared object."""
    from engine.step_names import named

    first = named("企业整改", "Rectification by the enterprise")
    assert first is named("企业整改", "Rectification by the enterprise") and first == "企业整改"
    assert first.name_en == "Rectification by the enterprise" and named("企业整改").name_en is None
