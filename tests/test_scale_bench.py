"""The scale benchmark runs end to end at a small size (no timing assertions), and its data set is sound.

The run uses SQLite, and PostgreSQL too when CAPEXIT_TEST_DATABASE_URL is set (the benchmark creates and
drops a database of its own on that server). A hook looks at each database before it is dropped.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from bench import scale_bench, scale_data
from engine import runner
from engine.credit_code import validate_credit_code
from engine.models import AuditEvent, Case, CaseStatus, Enterprise, OpenTask, WaitingTimer
from engine.services import audit, inbox, instances
from tests.conftest import PG_URL, actor

METRICS = ["inbox_median_ms_100k", "inbox_p95_ms_100k", "case_page_ms_100k", "http_complete_median_ms",
           "http_complete_p95_ms", "http_complete_per_s", "sweep_idle_100k_ms", "due_10k_fire_s", "bytes_per_case",
           "timer_latency_s"]
CASES = 300


def _index_matches_state(ctx, case_ids: list[int]) -> None:
    """Each case's open_tasks and waiting_timers rows are what its stored workflow says (copies included)."""
    with ctx.unit_of_work() as session:
        for case_id in case_ids:
            case = session.get(Case, case_id)
            workflow, bundle = instances.load(ctx, session, case, readonly=True)
            position = runner.position(workflow, bundle)
            tasks = set(session.scalars(sa.select(OpenTask.id).where(OpenTask.case_id == case_id)))
            rows = session.execute(sa.select(WaitingTimer.id, WaitingTimer.task_key, WaitingTimer.due_at,
                                             WaitingTimer.fires).where(WaitingTimer.case_id == case_id)).all()
            assert tasks == {t.id for t in position.open_tasks}, case_id
            assert {r.id for r in rows if r.fires} == {t.id for t in position.timers}, case_id
            running = any(t.deadline_running for t in position.open_tasks) and not position.timers
            clocks = instances.running_clocks(position, instances.current_deadline(workflow)) if running else []
            assert {(r.task_key, r.due_at) for r in rows if not r.fires} == {(c.key, c.due_at) for c in clocks}
            start = next(t for t in workflow.get_tasks() if t.task_spec.name == "Start")
            assert start.data["credit_code"] == case.enterprise_code, case_id  # the copy's own enterprise
            assert start.data["enterprise_name"] == session.get(Enterprise, case.enterprise_code).name


def test_scale_bench_runs_on_each_database_and_leaves_it_sound():
    dbs = ("sqlite", "pg") if PG_URL else ("sqlite",)
    seen: dict[str, dict] = {}

    def inspect(kind: str, ctx, generated: scale_data.Generated) -> None:
        checked, breaks = audit.verify(ctx)
        with ctx.unit_of_work() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == CASES
            assert checked == session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) and not breaks
            codes = session.scalars(sa.select(Enterprise.credit_code)).all()
            assert all(validate_credit_code(c) == c for c in codes) and len(set(codes)) == len(codes)
            names = session.scalars(sa.select(Enterprise.name)).all()
            assert len(set(names)) == len(names)
            statuses = Counter(session.scalars(sa.select(Case.status)))
            completed = Counter(session.scalars(sa.select(AuditEvent.task_id).where(
                AuditEvent.action == "task_completed")))
            fired = Counter(session.scalars(sa.select(AuditEvent.case_id).where(
                AuditEvent.action == "timer_fired", AuditEvent.at > generated.now)))
            copies = session.scalars(sa.select(Case.id).where(Case.id > generated.template_cases)
                                     .order_by(Case.id.desc()).limit(40)).all()
        assert statuses[CaseStatus.COMPLIANT] and statuses[CaseStatus.EXITED] and statuses[CaseStatus.OPEN]
        assert set(completed.values()) == {1}  # no task was completed twice, over HTTP or while building
        due = generated.sweep_group.ids + generated.due_group.ids + [i for i, _ in generated.latency]
        assert fired == Counter(due)  # every due timer fired exactly once, no other
        _index_matches_state(ctx, copies)
        seen[kind] = {"checked": checked}

    lines: list[str] = []
    metrics = scale_bench.run(cases=CASES, dbs=dbs, pg_url=PG_URL or scale_bench.DEFAULT_PG, echo=lines.append,
                              verify_audit=True, inspect=inspect, bare_cases=20)
    assert set(seen) == set(dbs)
    for kind in dbs:
        for name in METRICS:
            assert metrics[f"{name}_{kind}"] > 0, (name, kind)
        assert metrics[f"cases_{kind}"] == CASES
        assert metrics[f"http_completions_stored_once_{kind}"] == metrics[f"http_completions_checked_{kind}"] > \
            metrics[f"http_completions_{kind}"] + metrics[f"http_paced_completions_{kind}"]  # and the warm-up's
        assert metrics[f"http_paced_completions_{kind}"] > 0 and metrics[f"http_saturated_median_ms_{kind}"] > 0
        assert metrics[f"http_paced_rate_{kind}"] == scale_bench.PACED_RATE
        assert metrics[f"due_10k_fired_once_{kind}"] == metrics[f"due_10k_timers_{kind}"] == CASES // 10
        assert metrics[f"audit_breaks_{kind}"] == 0
    assert not any(name.endswith("_pg") for name in metrics) or "pg" in dbs
    table = "\n".join(lines)
    assert "inbox_p95_ms_100k" in table and "bare_tx_ms" in table and "http_complete_per_s" in table
    if PG_URL:  # the benchmark's own database is gone
        engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            assert not conn.scalar(sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"),
                                   {"n": f"capexit_bench_{os.getpid()}"})
        engine.dispose()


def test_inbox_pages_by_due_date_follow_the_full_order(ctx):
    """The inbox reads tasks with a deadline and those without in two index-ordered queries; together the pages
    give exactly the order of sorting the whole inbox (deadline first, soonest first or last, undated last)."""
    scale_data.build(ctx, 400, 3, 40, 1, 1)
    for who, department in ((actor("supervisor"), None), (actor("staff", "industry"), "industry")):
        mine = [OpenTask.department == department] if department else []
        for sort in ("due", "-due"):
            with ctx.unit_of_work() as session:
                expected = session.scalars(sa.select(OpenTask.id).where(*mine).order_by(*inbox._order(sort))).all()
                undated = session.scalar(sa.select(sa.func.count()).select_from(OpenTask).where(
                    *mine, OpenTask.due.is_(None)))
            assert undated and len(expected) > undated
            if department is None:  # whole pages of each kind, and a page holding both
                assert len(expected) - undated > inbox.PAGE_SIZE and undated > inbox.PAGE_SIZE
            shown: list[str] = []
            page = 1
            while True:
                result = inbox.inbox_page(ctx, who, inbox.InboxFilters(), page=page, sort=sort)
                shown += [row.task_id for row in result.rows]
                if page >= result.pages:
                    break
                page += 1
            assert shown == expected, (department, sort)


@contextlib.contextmanager
def _answering_server(before_answer: Callable[[], None]) -> Iterator[int]:
    """A local HTTP server answering every POST with ``{}`` after ``before_answer()``; yields its port."""
    import http.server
    import threading

    class Answering(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - the handler's name is http.server's
            self.rfile.read(int(self.headers["Content-Length"]))
            before_answer()
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_paced_load_counts_the_wait_behind_a_slow_answer():
    """The open loop times each request from the moment it was due, not from when a sender got to it: with one
    sender and a server slower than the offered rate, the later requests' times hold their wait in the queue."""
    import threading
    import time

    from bench import scale_server

    one_at_a_time = threading.Lock()

    def slowly() -> None:
        with one_at_a_time:
            time.sleep(0.05)

    with _answering_server(slowly) as port:
        done = scale_server.complete_at_rate(port, [(f"t{i}", "token") for i in range(6)], {}, rate=100.0, senders=1)
    assert not done.errors and [s for _, s, _ in done.results] == [200] * 6
    times = [t for _, _, t in done.results]
    # request i was due at i * 10 ms and answered after (i + 1) * 50 ms: the last waited about 250 ms in all
    assert times[0] >= 0.05 and times[-1] >= 0.2, times
    assert times == sorted(times)


def test_settle_leaves_no_load_for_the_timings_to_share_the_disk_with(ctx):
    """After the bulk load the benchmark checkpoints: SQLite's write-ahead log is emptied into the database file;
    PostgreSQL runs a checkpoint (counted by the server) after VACUUM ANALYZE."""
    db_engine = ctx.session_factory.kw["bind"]
    with db_engine.begin() as conn:  # something in the log
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS settle_probe (n integer)"))
        conn.execute(sa.text("INSERT INTO settle_probe (n) VALUES (1), (2), (3)"))
    if db_engine.dialect.name == "sqlite":
        wal = f"{db_engine.url.database}-wal"
        assert os.path.getsize(wal) > 0
        assert scale_bench.settle("sqlite", db_engine) >= 0
        assert os.path.getsize(wal) == 0
    else:
        def checkpoints() -> int:
            with db_engine.connect() as conn:
                return conn.scalar(sa.text("SELECT checkpoints_req FROM pg_stat_bgwriter"))

        before = checkpoints()
        assert scale_bench.settle("pg", db_engine) >= 0
        assert checkpoints() > before
    with db_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE settle_probe"))


def test_the_clients_garbage_collector_is_paused_only_while_they_time_requests():
    """A collection in the benchmark's own process would stop its clients and count as the server's time."""
    import gc

    from bench import scale_server

    seen: list[bool] = []
    with _answering_server(lambda: seen.append(gc.isenabled())) as port:  # the server shares the clients' process
        paced = scale_server.complete_at_rate(port, [(f"p{i}", "token") for i in range(4)], {}, rate=200.0, senders=2)
        closed = scale_server.complete_tasks(port, [[("c0", "token"), ("c1", "token")], [("c2", "token")]], {})
    assert not paced.errors and not closed.errors and len(seen) == 7
    assert seen == [False] * 7
    assert gc.isenabled()
