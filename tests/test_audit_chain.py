"""The audit trail is hash-chained per case; a changed, removed or inserted row is reported."""

import sqlalchemy as sa
from click.testing import CliRunner

from engine.models import AuditEvent
from engine.services import audit
from tests.conftest import CLOCK_START, ENTERPRISE_B


def _drive(make_case, work) -> int:
    case_id = make_case("energy_use")
    work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "改造"})
    work(case_id, "review_extension", {"approved": True, "opinion": "同意"})
    return case_id


def test_a_clean_trail_verifies(ctx, make_case, work):
    _drive(make_case, work)
    checked, breaks = audit.verify(ctx)
    assert checked >= 3 and breaks == []  # the case's three events, plus any deployments


def test_each_event_links_to_the_previous_one_of_its_case(ctx, make_case, work):
    case_id = _drive(make_case, work)
    make_case("quality", industry="cement", enterprise=ENTERPRISE_B)
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)).all()
    assert rows[0].prev_hash == ""
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))


def test_a_changed_row_is_reported(ctx, make_case, work):
    case_id = _drive(make_case, work)
    with ctx.unit_of_work() as session:
        target = session.scalars(sa.select(AuditEvent.id).where(AuditEvent.case_id == case_id,
                                                                AuditEvent.action == "task_completed")).first()
        session.execute(sa.update(AuditEvent).where(AuditEvent.id == target)
                        .values(detail='{"data": {"approved": false}}'))
    checked, breaks = audit.verify(ctx)
    assert [(b.case_id, b.event_id) for b in breaks] == [(case_id, target)]
    assert "changed" in breaks[0].reason


def test_a_removed_row_is_reported(ctx, make_case, work):
    case_id = _drive(make_case, work)
    with ctx.unit_of_work() as session:
        ids = session.scalars(sa.select(AuditEvent.id).where(AuditEvent.case_id == case_id)
                              .order_by(AuditEvent.id)).all()
        session.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[1]))
    _, breaks = audit.verify(ctx)
    assert [b.event_id for b in breaks] == [ids[2]]


def test_the_cli_reports_a_break(app, ctx, make_case, work):
    from webapp.cli import main

    case_id = _drive(make_case, work)
    env = {"CAPEXIT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CAPEXIT_CLOCK": "simulated",
           "CAPEXIT_CLOCK_START": CLOCK_START, "CAPEXIT_SECRET_KEY": "cli"}
    ok = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert ok.exit_code == 0 and "no break" in ok.output
    with ctx.unit_of_work() as session:
        first = session.scalar(sa.select(sa.func.min(AuditEvent.id)).where(AuditEvent.case_id == case_id))
        session.execute(sa.update(AuditEvent).where(AuditEvent.id == first).values(actor="someone_else"))
    broken = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert broken.exit_code == 1 and f"BROKEN case {case_id}, event {first}" in broken.output


def test_the_migration_chains_events_written_before_it(tmp_path):
    from alembic import command
    from alembic.config import Config

    from engine.clock import SystemClock
    from engine.context import EngineContext
    from engine.db import MIGRATIONS, make_engine, make_session_factory, upgrade_schema

    db_engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    with db_engine.begin() as connection:
        for n in range(3):
            connection.execute(sa.text(
                "INSERT INTO audit_events (case_id, at, actor, action, detail) "
                "VALUES (NULL, '2026-03-02 01:00:00.000000', 'system', 'definition_deployed', :d)"), {"d": f'{{"n": {n}}}'})
    upgrade_schema(db_engine)
    checked, breaks = audit.verify(EngineContext(make_session_factory(db_engine), SystemClock()))
    db_engine.dispose()
    assert checked == 3 and breaks == []


def _chain_end_reads(ctx) -> tuple[list[str], object]:
    """A list collecting the statements that read a chain's last hash, and the listener to remove."""
    seen: list[str] = []

    def before(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT AUDIT_EVENTS.HASH"):
            seen.append(statement)

    db_engine = ctx.session_factory.kw["bind"]
    sa.event.listen(db_engine, "before_cursor_execute", before)
    return seen, lambda: sa.event.remove(db_engine, "before_cursor_execute", before)


def test_a_transaction_reads_a_chains_end_once_however_many_events_it_appends(ctx, make_case):
    case_id = make_case("energy_use")
    seen, stop = _chain_end_reads(ctx)
    try:
        with ctx.unit_of_work() as session:
            now = ctx.now(session)
            for n in range(3):
                audit.append(session, case_id, now, "someone", "note", n=n)
    finally:
        stop()
    assert len(seen) == 1
    assert audit.verify(ctx)[1] == []


def test_a_rolled_back_append_is_not_the_next_ones_predecessor(ctx, make_case):
    """A session that rolls back and goes on must link to the stored chain, not to the event it took back."""
    from sqlalchemy.orm import Session

    case_id = make_case("energy_use")
    with Session(ctx.session_factory.kw["bind"]) as session:
        session.begin()
        audit.append(session, case_id, ctx.now(session), "someone", "note", kept=False)
        session.rollback()
        session.begin()
        audit.append(session, case_id, ctx.now(session), "someone", "note", kept=True)
        session.commit()
    assert audit.verify(ctx)[1] == []


def test_an_append_before_any_write_cannot_fork_the_chain(ctx, make_case, monkeypatch):
    """Releasing a task appends its event before anything else is written; a claim on the same case, committed
    while the release sits between reading the chain's end and inserting, must wait for it, not fork the chain."""
    import threading

    from engine.services import cases, tasks
    from tests.conftest import ENTERPRISE_A, actor

    case_id = make_case("energy_use")  # steel: rectify and set_differential_price are open together
    open_tasks = {t["key"]: t for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"]}
    firm = actor("enterprise", enterprise=ENTERPRISE_A)
    department = actor("staff", open_tasks["set_differential_price"]["department"])
    tasks.claim_task(ctx, firm, open_tasks["rectify"]["id"])

    read_end, go_on, claimed = threading.Event(), threading.Event(), threading.Event()
    hash_of = audit.event_hash

    def paused_hash(*args):
        if threading.current_thread().name == "release" and not read_end.is_set():
            read_end.set()  # the release has read the chain's end
            go_on.wait(10)
        return hash_of(*args)

    monkeypatch.setattr(audit, "event_hash", paused_hash)
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    release = threading.Thread(name="release", target=run,
                               args=(lambda: tasks.release_task(ctx, firm, open_tasks["rectify"]["id"]),))
    claim = threading.Thread(target=run, args=(lambda: (tasks.claim_task(
        ctx, department, open_tasks["set_differential_price"]["id"]), claimed.set()),))
    release.start()
    assert read_end.wait(10)
    claim.start()
    assert not claimed.wait(1.0)  # it waits for the release's transaction
    go_on.set()
    release.join(15)
    claim.join(15)
    assert not errors, errors
    assert claimed.is_set()
    checked, breaks = audit.verify(ctx)
    assert breaks == [], breaks
    with ctx.unit_of_work() as session:
        actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.case_id == case_id)
                                  .order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["task_released", "task_claimed"]


def test_an_event_stamped_in_beijing_time_verifies(ctx, make_case):
    """The hash covers the instant as stored (UTC), whatever offset the caller's instant carried."""
    from datetime import datetime

    from engine.clock import SHANGHAI

    case_id = make_case("energy_use")
    with ctx.unit_of_work() as session:
        audit.append(session, case_id, datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI), "system", "note_added", text="x")
    assert audit.verify(ctx)[1] == []
