"""Real names: records show the official as 王明（industry_staff） on the case, task, inbox and board pages, in the
board's export and next to usernames in the API, read once per request."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from engine.context import Actor
from engine.services import cases, tasks, users
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, PASSWORD, actor

EXTENSION = {"outcome": "extension_requested", "extension_months": 2, "reason": "设备供货周期长"}
WANG = "王明（industry_staff）"
INDUSTRY_STAFF = Actor("industry_staff", "staff", "industry")


@pytest.fixture
def claimed_case(ctx, make_case, work):
    """An energy-use case whose extension review 王明 (industry_staff, a named account) has claimed."""
    users.add_user(ctx, "industry_staff", "staff", PASSWORD, department="industry", display_name="王明")
    case_id = make_case("energy_use", industry="flat_glass")
    work(case_id, "rectify", EXTENSION)
    review = [t for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]
              if t["key"] == "review_extension"][0]
    tasks.claim_task(ctx, INDUSTRY_STAFF, review["id"])
    return case_id


def _history_row(html: str, action: str) -> str:
    row = html[html.index(f'data-action="{action}"'):]
    return row[:row.index("</tr>")]


def test_the_case_page_names_the_official_in_the_history_and_on_open_tasks(claimed_case, login_as, client):
    login_as("supervisor")
    html = client.get(f"/cases/{claimed_case}").get_data(as_text=True)
    assert WANG in _history_row(html, "task_claimed")
    open_row = html[html.index('data-key="review_extension"'):]
    assert WANG in open_row[:open_row.index("</tr>")]
    # an account without a name shows its username alone, the engine's own steps as 系统
    assert "（staff_industry）" not in html and "staff_industry" in _history_row(html, "case_opened")


def test_the_task_page_names_who_holds_it_and_who_acted(claimed_case, ctx, login_as, client):
    task_id = [t for t in cases.get_case(ctx, actor("supervisor"), claimed_case)["open_tasks"]
               if t["key"] == "review_extension"][0]["id"]
    login_as("staff", department="industry")
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f"该任务已由 {WANG} 认领办理" in html
    assert WANG in html[html.index('id="h-history"'):]


def test_the_inbox_names_who_claimed_a_task(claimed_case, login_as, client):
    login_as("staff", department="industry")
    html = client.get("/inbox").get_data(as_text=True)
    assert WANG in html


def test_the_board_and_its_export_name_who_holds_a_clock(claimed_case, login_as, client):
    login_as("supervisor")
    html = client.get("/board").get_data(as_text=True)
    row = [r for r in re.findall(r"<tr>(.*?)</tr>", html, re.S) if f'/cases/{claimed_case}"' in r]
    assert row and WANG in row[0]
    sheet = load_workbook(io.BytesIO(client.get("/board/export.xlsx").data)).active
    assert [r for r in sheet.iter_rows(values_only=True) if r[3] == claimed_case][0][7] == WANG


def test_the_api_adds_real_names_next_to_usernames(claimed_case, api_token, client):
    case = client.get(f"/api/v1/cases/{claimed_case}", headers=api_token("supervisor")).get_json()
    claimed = [e for e in case["history"] if e["action"] == "task_claimed"][0]
    assert (claimed["actor"], claimed["actor_name"]) == ("industry_staff", "王明")
    assert [e["actor_name"] for e in case["history"] if e["action"] == "case_opened"] == [None]
    review = [t for t in case["open_tasks"] if t["key"] == "review_extension"][0]
    assert (review["claimed_by"], review["claimed_by_name"]) == ("industry_staff", "王明")


def _statements_while(app, fetch) -> list[str]:
    from webapp.extensions import db

    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        fetch()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return seen


def test_names_are_read_once_per_page_however_many_rows_name_someone(app, ctx, make_case, login_as, client):
    few, many = make_case("energy_use", enterprise=ENTERPRISE_B), make_case("energy_use")
    rectify = [t for t in cases.get_case(ctx, actor("supervisor"), many)["open_tasks"] if t["key"] == "rectify"][0]
    for i in range(10):  # 20 more history rows on one case, by 10 named people
        username = f"qiye_{i}"
        users.add_user(ctx, username, "enterprise", PASSWORD, enterprise=ENTERPRISE_A, display_name=f"企业联络员{i}")
        who = Actor(username, "enterprise", enterprise_code=ENTERPRISE_A)
        tasks.claim_task(ctx, who, rectify["id"])
        tasks.release_task(ctx, who, rectify["id"])
    login_as("supervisor")
    counts = {}
    for case_id in (few, many):
        seen = _statements_while(app, lambda c=case_id: client.get(f"/cases/{c}"))
        names_reads = [s for s in seen if "display_name IS NOT NULL" in s]
        counts[case_id] = (len(names_reads), len([s for s in seen if re.search(r"\bFROM users\b", s)]))
    html = client.get(f"/cases/{many}").get_data(as_text=True)
    assert all(f"企业联络员{i}（qiye_{i}）" in html for i in range(10))
    assert counts[few][0] == counts[many][0] == 1
    assert counts[few] == counts[many]  # the users table is read as often with 1 row as with 21
