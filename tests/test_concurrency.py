"""Concurrent writers: real threads, each with its own app (own connection pool and workflow cache),
as two worker processes would be. Run on PostgreSQL with CAPEXIT_TEST_DATABASE_URL (CI does), and on SQLite.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from engine.clock import parse_instant
from engine.errors import Conflict
from engine.models import AuditEvent, OpenTask
from engine.services import cases, tasks, timers
from tests.conftest import CLOCK_START, ENTERPRISE_A, actor
from webapp import create_app
from webapp.extensions import db

ROUNDS = 8
LATE_REPORT = {"outcome": "rectified", "report": "迟交"}


@pytest.fixture
def second_ctx(app):
    """Another app on the same database: a second worker process."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
                        "SECRET_KEY": "test-secret", "CAPEXIT_CLOCK": "simulated",
                        "CAPEXIT_CLOCK_START": CLOCK_START})
    yield other.extensions["capexit"]
    with other.app_context():
        db.engine.dispose()


def race(*calls):
    """Run the calls at the same moment in threads; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the race's loser is what we examine
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def audit_actions(ctx, case_id: int) -> Counter:
    with ctx.unit_of_work() as session:
        return Counter(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.case_id == case_id)))


def test_the_same_task_completed_twice_at_once_succeeds_once(ctx, second_ctx, make_case):
    firm = actor("enterprise", enterprise=ENTERPRISE_A)
    data = {"outcome": "rectified", "report": "已整改"}
    for _ in range(ROUNDS):
        case_id = make_case("energy_use", industry="flat_glass")
        task_id = next(t["id"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"])
        results = race(lambda t=task_id: tasks.complete_task(ctx, firm, t, data),
                       lambda t=task_id: tasks.complete_task(second_ctx, firm, t, data))
        wins = [r for r in results if isinstance(r, dict)]
        losses = [r for r in results if isinstance(r, Exception)]
        assert len(wins) == 1, results
        assert len(losses) == 1 and isinstance(losses[0], Conflict), results
        assert audit_actions(ctx, case_id)["task_completed"] == 1
        case = cases.get_case(second_ctx, actor("supervisor"), case_id)
        assert [t["key"] for t in case["open_tasks"]] == ["reinspect"]


def test_sweepers_running_together_fire_each_timer_once(ctx, second_ctx, make_case):
    case_ids = [make_case("energy_use", industry="flat_glass") for _ in range(60)]
    third_app_ctx = second_ctx  # a third sweeper shares the second app, on another thread
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-03T00:00:01+08:00"))
    results = race(lambda: timers.sweep(ctx), lambda: timers.sweep(second_ctx), lambda: timers.sweep(third_app_ctx))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.fired for r in results) == len(case_ids)
    for case_id in case_ids:
        assert audit_actions(ctx, case_id)["timer_fired"] == 1
    with ctx.unit_of_work() as session:
        keys = Counter(session.scalars(sa.select(OpenTask.key).where(OpenTask.case_id.in_(case_ids))))
    assert keys == {"government_approval": len(case_ids)}
    assert timers.sweep(ctx).fired == 0 and timers.sweep(second_ctx).fired == 0


def test_a_sweep_works_its_batch_in_random_order(ctx, make_case):
    """Two sweepers over the same due cases would otherwise work them in lock-step, each case twice."""
    case_ids = [make_case("energy_use", industry="flat_glass") for _ in range(12)]
    now = parse_instant("2026-09-03T00:00:01+08:00")
    timers.set_clock(ctx, actor("admin"), now)
    query_order = timers.due_case_ids(ctx, now, 500)
    assert sorted(query_order) == sorted(case_ids)
    assert timers.sweep(ctx).fired == len(case_ids)
    with ctx.unit_of_work() as session:
        fired_order = list(session.scalars(sa.select(AuditEvent.case_id).where(
            AuditEvent.action == "timer_fired").order_by(AuditEvent.id)))
    assert sorted(fired_order) == sorted(case_ids)
    assert fired_order != query_order  # equal by chance once in 12! (about 2e-9)


def test_a_sweep_skips_a_case_another_transaction_holds(ctx, make_case):
    """PostgreSQL: the sweep does not wait for a locked case (another sweeper works it); the next sweep fires it."""
    if ctx.session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    case_id = make_case("energy_use", industry="flat_glass")
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-03T00:00:01+08:00"))
    from engine.models import Case

    with ctx.unit_of_work() as holder:
        holder.execute(sa.select(Case.id).where(Case.id == case_id).with_for_update())
        done = []
        sweeper = threading.Thread(target=lambda: done.append(timers.sweep(ctx)))
        sweeper.start()
        sweeper.join(timeout=20)
        assert done, "the sweep waited for the lock instead of skipping the case"
        assert (done[0].fired, done[0].skipped) == (0, 1)
    assert timers.sweep(ctx).fired == 1
    assert audit_actions(ctx, case_id)["timer_fired"] == 1


def test_a_completion_racing_its_deadline_ends_in_one_legal_state(ctx, second_ctx, make_case):
    """At the deadline, the enterprise's late report and the sweep race: the deadline wins either way."""
    firm = actor("enterprise", enterprise=ENTERPRISE_A)
    for _ in range(ROUNDS):
        timers.set_clock(ctx, actor("admin"), parse_instant(CLOCK_START))
        case_id = make_case("energy_use", industry="flat_glass")
        task_id = next(t["id"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"])
        timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-03T00:00:01+08:00"))
        results = race(lambda t=task_id: tasks.complete_task(ctx, firm, t, LATE_REPORT),
                       lambda: timers.sweep(second_ctx))
        assert isinstance(results[0], Conflict), results
        actions = audit_actions(ctx, case_id)
        assert actions["timer_fired"] == 1 and actions["task_completed"] == 0
        case = cases.get_case(ctx, actor("supervisor"), case_id)
        assert case["overdue"] is True
        assert [t["key"] for t in case["open_tasks"]] == ["government_approval"]


def test_a_completion_just_before_the_deadline_races_the_sweep_safely(ctx, second_ctx, make_case):
    """One minute before the deadline ends, the report is in time; a concurrent sweep fires nothing."""
    firm = actor("enterprise", enterprise=ENTERPRISE_A)
    timers.set_clock(ctx, actor("admin"), parse_instant(CLOCK_START))
    case_id = make_case("energy_use", industry="flat_glass")
    task_id = next(t["id"] for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"])
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-02T23:59:00+08:00"))
    results = race(lambda: tasks.complete_task(ctx, firm, task_id, {"outcome": "rectified", "report": "按期"}),
                   lambda: timers.sweep(second_ctx))
    assert isinstance(results[0], dict) and results[1].fired == 0, results
    actions = audit_actions(ctx, case_id)
    assert actions["task_completed"] == 1 and actions["timer_fired"] == 0


def test_a_sweep_commits_several_cases_at_once(ctx, make_case):
    """The sweep's batch: one commit for up to CASES_PER_TRANSACTION cases, not one per case."""
    case_ids = [make_case("energy_use", industry="flat_glass") for _ in range(23)]
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-03T00:00:01+08:00"))
    commits = []
    db_engine = ctx.session_factory.kw["bind"]
    listener = lambda conn: commits.append(conn)  # noqa: E731
    sa.event.listen(db_engine, "commit", listener)
    try:
        result = timers.sweep(ctx)
    finally:
        sa.event.remove(db_engine, "commit", listener)
    assert (result.fired, result.cases, result.failed) == (len(case_ids), len(case_ids), [])
    # batches of 10: 3 commits, plus the reads of the due cases and of the annual report's start
    assert len(commits) <= 3 + 4, len(commits)
    for case_id in case_ids:
        assert audit_actions(ctx, case_id)["timer_fired"] == 1


def test_a_case_that_cannot_be_fired_does_not_hold_up_the_others(ctx, make_case, caplog):
    """Its batch is rolled back and worked again case by case: the others fire, it stays due and is logged."""
    from engine.models import Case, WaitingTimer

    case_ids = [make_case("energy_use", industry="flat_glass") for _ in range(12)]
    broken = case_ids[4]
    with ctx.unit_of_work() as session:  # as if another process had written a state this one cannot read
        session.execute(sa.update(Case).where(Case.id == broken).values(state="z:not-a-state",
                                                                         version=Case.version + 1))
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-03T00:00:01+08:00"))
    result = timers.sweep(ctx)
    assert result.failed == [broken]
    assert result.fired == len(case_ids) - 1
    assert f"case {broken}: its due timers could not be fired" in caplog.text
    for case_id in case_ids:
        assert audit_actions(ctx, case_id)["timer_fired"] == (0 if case_id == broken else 1)
    with ctx.unit_of_work() as session:
        still_due = session.scalars(sa.select(WaitingTimer.case_id)).all()
    assert still_due == [broken]
    assert timers.sweep(ctx).failed == [broken]  # retried by the next sweep, still refused, nothing else fired twice
    assert sum(audit_actions(ctx, c)["timer_fired"] for c in case_ids) == len(case_ids) - 1


def test_a_save_over_a_case_row_changed_meanwhile_is_refused(ctx, make_case):
    """The save's UPDATE carries the version it read: a row another writer moved on is not overwritten."""
    from engine.models import Case
    from engine.services import instances

    case_id = make_case("energy_use", industry="flat_glass")
    with ctx.unit_of_work() as session:
        before = session.execute(sa.select(Case.version, Case.state).where(Case.id == case_id)).one()
    with pytest.raises(Conflict, match="changed by someone else"), ctx.unit_of_work() as session:
        case = session.get(Case, case_id)
        workflow, bundle = instances.load(ctx, session, case, readonly=True)
        session.execute(sa.update(Case.__table__).where(Case.__table__.c.id == case_id)
                        .values(version=Case.__table__.c.version + 1, state="another writer's"))
        instances.save(session, case, workflow, bundle, ctx.now(session), overdue=True)
    with ctx.unit_of_work() as session:
        assert session.execute(sa.select(Case.version, Case.state).where(Case.id == case_id)).one() == before


def test_cases_that_cannot_be_fired_do_not_hide_a_later_deadline(ctx, make_case, caplog):
    """However many cases ahead of it cannot be fired (a whole page of the due timers and more), a later
    deadline still fires in the same sweep."""
    from engine.models import Case

    broken = [make_case("energy_use", industry="flat_glass") for _ in range(4)]
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-03-03T09:00:00+08:00"))
    healthy = make_case("energy_use", industry="flat_glass")  # opened a day later: due a day after them
    with ctx.unit_of_work() as session:
        session.execute(sa.update(Case).where(Case.id.in_(broken)).values(state="z:not-a-state",
                                                                           version=Case.version + 1))
    timers.set_clock(ctx, actor("admin"), parse_instant("2026-12-01T00:00:00+08:00"))
    for _ in range(2):  # the broken ones stay due, and the next sweep gets past them again
        result = timers.sweep(ctx, batch=3)
        assert sorted(result.failed) == broken
    assert audit_actions(ctx, healthy)["timer_fired"] == 1
    assert all(audit_actions(ctx, c)["timer_fired"] == 0 for c in broken)


def _rectify(ctx, case_id: int) -> dict:
    return next(t for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"] if t["key"] == "rectify")


def test_a_claim_written_while_a_completion_runs_is_not_overridden(ctx, second_ctx, make_case, monkeypatch):
    """The completion read the task unclaimed; a colleague claims it before the completion writes: refused."""
    from engine.context import Actor

    case_id = make_case("energy_use", industry="flat_glass")
    task_id = _rectify(ctx, case_id)["id"]
    colleague = Actor("enterprise_colleague", "enterprise", None, ENTERPRISE_A)
    checked = tasks.validate_form

    def claimed_meanwhile(validator, data):
        monkeypatch.setattr(tasks, "validate_form", checked)
        tasks.claim_task(second_ctx, colleague, task_id)  # another worker, committed before the completion writes
        return checked(validator, data)

    monkeypatch.setattr(tasks, "validate_form", claimed_meanwhile)
    with pytest.raises(Conflict):
        tasks.complete_task(ctx, actor("enterprise", enterprise=ENTERPRISE_A), task_id, LATE_REPORT)
    assert _rectify(ctx, case_id)["claimed_by"] == "enterprise_colleague"
    assert audit_actions(ctx, case_id)["task_completed"] == 0


def test_a_claim_of_a_task_completed_meanwhile_is_refused(ctx, second_ctx, make_case, monkeypatch):
    """The claim read the task open; it is completed before the claim writes: a conflict, not an error."""
    case_id = make_case("energy_use", industry="flat_glass")
    task_id = _rectify(ctx, case_id)["id"]
    firm = actor("enterprise", enterprise=ENTERPRISE_A)
    allowed = tasks.may_work_task

    def completed_meanwhile(*args):
        monkeypatch.setattr(tasks, "may_work_task", allowed)
        tasks.complete_task(second_ctx, firm, task_id, LATE_REPORT)
        return allowed(*args)

    monkeypatch.setattr(tasks, "may_work_task", completed_meanwhile)
    with pytest.raises(Conflict):
        tasks.claim_task(ctx, firm, task_id)
    assert audit_actions(ctx, case_id)["task_completed"] == 1 and audit_actions(ctx, case_id)["task_claimed"] == 0
