"""What a completion over the API reads: each table once, and an answer equal to a later read of the case.

A completion answers with the case view from inside its own transaction. The clock row comes with the
task's query, the history comes with the audit chain's end, and the open tasks come from the index sync,
so none of them is read a second time.
"""

from __future__ import annotations

import sqlalchemy as sa
from conftest import ENTERPRISE_A

from engine.context import Actor
from engine.services import audit, tasks

RECTIFY_EXTENSION = {"outcome": "extension_requested", "extension_months": 2, "reason": "设备改造周期较长"}
PRICE = {"electricity_price": "differential", "water_price_progressive": True, "surcharge": "每千瓦时加价0.3元",
         "effective_from": "2026-03-05"}


def _statements(ctx) -> tuple[list[str], object]:
    seen: list[str] = []

    def before(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    db_engine = ctx.session_factory.kw["bind"]
    sa.event.listen(db_engine, "before_cursor_execute", before)
    return seen, lambda: sa.event.remove(db_engine, "before_cursor_execute", before)


def _set_clock(ctx) -> None:
    with ctx.unit_of_work() as session:  # the simulated clock's row exists once the clock was moved
        ctx.clock.set(session, ctx.now(session))


def _open(client, headers, case_id: int, key: str) -> dict:
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    return next(t for t in case["open_tasks"] if t["key"] == key)


def test_the_answer_is_the_case_as_a_later_read_shows_it(ctx, client, make_case, api_token):
    case_id = make_case("energy_use")
    staff = api_token("staff", department="development")  # user staff0
    enterprise = api_token("enterprise", enterprise=ENTERPRISE_A)
    supervisor = api_token("supervisor")
    _set_clock(ctx)
    price = _open(client, supervisor, case_id, "set_differential_price")
    tasks.claim_task(ctx, Actor("staff0", "staff", "development", None), price["id"])
    rectify = _open(client, supervisor, case_id, "rectify")

    answer = client.post(f"/api/v1/tasks/{rectify['id']}/complete", json=RECTIFY_EXTENSION, headers=enterprise)

    assert answer.status_code == 200, answer.get_json()
    later = client.get(f"/api/v1/cases/{case_id}", headers=supervisor).get_json()
    assert answer.get_json() == later
    kept = next(t for t in later["open_tasks"] if t["key"] == "set_differential_price")
    assert kept["claimed_by"] == "staff0"  # a task that stays open keeps its holder in the answer
    assert "review_extension" in {t["key"] for t in later["open_tasks"]}
    assert later["history"][-1]["action"] == "task_completed"

    answer = client.post(f"/api/v1/tasks/{price['id']}/complete", json=PRICE, headers=staff)

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == client.get(f"/api/v1/cases/{case_id}", headers=supervisor).get_json()
    assert audit.verify(ctx)[1] == []


def test_a_completion_reads_the_clock_history_and_open_tasks_once(ctx, client, make_case, api_token):
    case_id = make_case("energy_use")
    enterprise = api_token("enterprise", enterprise=ENTERPRISE_A)
    _set_clock(ctx)
    rectify = _open(client, api_token("supervisor"), case_id, "rectify")
    seen, stop = _statements(ctx)
    try:
        answer = client.post(f"/api/v1/tasks/{rectify['id']}/complete", json=RECTIFY_EXTENSION, headers=enterprise)
    finally:
        stop()

    assert answer.status_code == 200, answer.get_json()
    assert [s for s in seen if s.startswith("SELECT clock_state")] == []
    assert len([s for s in seen if s.startswith("SELECT audit_events")]) == 1  # history and chain end together
    case_task_reads = [s for s in seen if s.startswith("SELECT") and "open_tasks.case_id =" in s.split("WHERE", 1)[-1]]
    assert len(case_task_reads) == 1  # the index sync's read; the answer's tasks come from it
    assert audit.verify(ctx)[1] == []


def test_a_refused_submission_leaves_the_case_in_the_workflow_cache(ctx, make_case):
    """The form's checks only read the workflow: a refused submission puts it back, so the corrected one that
    follows does not deserialize the case again."""
    from engine.errors import InvalidInput
    from engine.models import Case, OpenTask

    case_id = make_case("energy_use")
    with ctx.unit_of_work() as session:
        task_id = session.scalar(sa.select(OpenTask.id).where(OpenTask.case_id == case_id,
                                                              OpenTask.key == "rectify"))
        version = session.get(Case, case_id).version
    enterprise = Actor("firm", "enterprise", None, ENTERPRISE_A)
    try:
        tasks.complete_task(ctx, enterprise, task_id, {"outcome": "extension_requested", "extension_months": 4})
    except InvalidInput as refused:
        assert {p.field for p in refused.problems} >= {"extension_months"}
    else:
        raise AssertionError("an extension of four months was accepted")
    cached = ctx.workflows.take(case_id, version)
    assert cached is not None
    ctx.workflows.put(case_id, version, cached)
    answer = tasks.complete_task(ctx, enterprise, task_id, RECTIFY_EXTENSION)
    assert "review_extension" in {t["key"] for t in answer["open_tasks"]}
