"""The scale benchmark (issue 6): 100,000 cases on SQLite and on PostgreSQL, measured in one run.

``capexit bench --scale [--cases N] [--db sqlite|pg|both] [--pg-url URL] [--json PATH]``. For each
database (a SQLite file in a temporary folder; a fresh PostgreSQL database ``capexit_bench_<pid>``,
created and dropped by the run) it builds the data set of ``bench/scale_data.py`` (simulated
clock) and measures, in this order:

``inbox_median_ms_100k`` / ``inbox_p95_ms_100k``
    ``inbox.inbox_page`` (the inbox query: counts and the first page of 25, default sort) for a staff
    user of ``INBOX_DEPARTMENT``; beside it ``inbox_page_*``: ``GET /inbox`` through the Flask test
    client, signed in (server time in-process, template included).
``case_page_ms_100k``
    ``GET /cases/<id>`` as a supervisor, one request for each of ``page_reps`` random cases.
``sweep_idle_100k_ms``
    ``timers.sweep`` with every case in place and no timer due.
``due_one_sweeper_per_s``
    one ``timers.sweep`` in this process firing the sweep group (1% of the cases, one instant), before
    the server starts: the rate of a single sweeper, beside the two workers' below.
``bytes_per_case`` (and its parts)
    the stored bytes of every case's rows divided by the number of cases: the ``cases`` row (state
    and columns), its ``open_tasks`` and ``waiting_timers`` rows and its audit events, each value
    counted as text (SQLite ``length(CAST(v AS BLOB))``, PostgreSQL ``octet_length(v::text)``);
    ``disk_bytes_per_case``: the whole database on disk (SQLite pages in use, ``pg_database_size``).
``http_complete_median_ms`` / ``http_complete_p95_ms`` / ``http_complete_per_s``
    ``capexit serve --workers 2`` (gunicorn, simulated clock, default sweep interval) as a
    subprocess; distinct open ``reinspect`` tasks of ``INBOX_DEPARTMENT`` are completed
    (``result: pass``) with ``POST /api/v1/tasks/<id>/complete``, each client with the bearer token of
    its own staff user and a keep-alive connection (opened again every 25 requests, so the clients
    spread over the workers), after a warm-up, in two parts:

    * the latency (median, p95) at an offered load of ``PACED_RATE`` (150, the throughput target) a
      second: an open loop, request ``i`` due ``i / 150`` s after the start, ``PACED_SENDERS``
      threads sending; each time runs from the moment the request was due (so queueing behind a slow
      answer counts);
    * the throughput (``http_complete_per_s``) at saturation: ``CLIENTS`` threads each sending its
      next request as soon as the last is answered; their times are ``http_saturated_median_ms`` /
      ``_p95_ms``. In such a closed loop the mean time is the clients' number over the throughput
      (Little's law: 4 clients at 200 a second wait 20 ms on average), so it measures the client
      count as much as the server, and the latency target is read at the paced load.

    Verified afterwards: every answer was 200, each task has exactly one ``task_completed`` event and
    is no longer open.
``due_10k_fire_s``
    with that server idle, the simulated clock is set just past the due group's deadline (10% of the
    cases, one instant; ``set_clock`` fires nothing) and the two workers' schedulers fire them, two
    sweepers in parallel; time from the clock's commit until no timer is left due (polled every 50 ms).
    Verified: each due case has exactly one new ``timer_fired`` event and waits on
    ``government_approval``; no other case fired.
``timer_latency_s``
    median over the latency cases: the clock is set one second past a timer's due instant (after a
    random pause of up to a second, so the schedulers' phase varies) and the time until its firing is
    committed (its ``waiting_timers`` row gone, polled every 5 ms) is measured.

At the end ``audit.verify`` recomputes every hash chain (``audit_events_checked``; a break fails the run).
Beside them the bare-engine baseline of the same run (``engine_bench.BareRunner``, ``bare_tx_ms``,
measured before the first database and after the last) and the machine. Each metric name gets the
suffix ``_sqlite`` or ``_pg``; the names stay the same whatever ``--cases`` is (``cases_*`` says).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import engine_bench, pages_bench, scale_data, scale_server

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INBOX_DEPARTMENT = "industry"
CLIENTS = 4
PACED_RATE = 150.0  # completions a second offered to the server for the latency figures: issue 6's throughput target
PACED_SENDERS = 8
WORKERS = 2
SUFFIX = {"sqlite": "sqlite", "pg": "pg"}
NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}
PASSWORD = pages_bench.PASSWORD
REINSPECT_PASS = {"result": "pass", "findings": "复查达标。"}


@dataclass(frozen=True)
class ScaleSizes:
    """How much one database's run does."""

    cases: int
    sweep_due: int  # timers falling due at once, fired by one sweep in the benchmark's process
    due: int  # timers falling due at once, fired by the server's workers
    template_days: int
    http_completions: int  # timed at saturation (CLIENTS back-to-back clients); a warm-up of 2 per client comes first
    http_paced: int  # timed at the offered load of PACED_RATE a second
    latency_samples: int
    inbox_reps: int
    page_reps: int
    idle_reps: int

    @classmethod
    def for_cases(cls, cases: int) -> ScaleSizes:
        """The sizes for ``cases`` cases (100,000: 1,000 + 10,000 due, 2,000 completions over HTTP, 7 latency
        samples)."""
        small = cases < 5000
        return cls(cases=cases, sweep_due=max(3, cases // 100), due=max(3, cases // 10), template_days=max(1, min(10, cases // 2500)),
                   http_completions=max(10, min(2000, cases // 50)), http_paced=max(10, min(1500, cases // 60)),
                   latency_samples=3 if small else 7,
                   inbox_reps=15 if small else 50, page_reps=8 if small else 20, idle_reps=7 if small else 21)


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- databases


def postgres_version(admin_url: str) -> str | None:
    """The server's version, or None when PostgreSQL cannot be reached at ``admin_url``."""
    db_engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 5})
    try:
        with db_engine.connect() as conn:
            return str(conn.scalar(sa.text("SHOW server_version"))).split()[0]
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        db_engine.dispose()


@contextlib.contextmanager
def database(kind: str, folder: Path, admin_url: str) -> Iterator[str]:
    """The URL of an empty database of ``kind``: a file in ``folder``, or ``capexit_bench_<pid>`` (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'scale.db'}"
        return
    name = f"capexit_bench_{os.getpid()}"
    admin = sa.create_engine(admin_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------- measurements


def measure_pages(app: Any, ctx: Any, sizes: ScaleSizes, rng: random.Random) -> dict[str, float]:
    """The inbox query and page of one department, and case pages of random cases (in-process)."""
    from engine.context import Actor
    from engine.models import Case
    from engine.services import inbox

    staff = pages_bench._login(app, ctx, "scale_inbox", "staff", INBOX_DEPARTMENT)
    supervisor = pages_bench._login(app, ctx, "scale_supervisor", "supervisor")
    actor = Actor("scale_inbox", "staff", INBOX_DEPARTMENT)
    first = inbox.inbox_page(ctx, actor, inbox.InboxFilters())
    rows = len(first.rows)
    if not rows:
        raise RuntimeError("scale bench: the department's inbox is empty")
    service: list[float] = []
    page: list[float] = []
    rounds = 5
    for r in range(rounds):
        n = sizes.inbox_reps // rounds + (1 if r < sizes.inbox_reps % rounds else 0)
        warmup = 3 if r == 0 else 0
        service += pages_bench._time_call(lambda: inbox.inbox_page(ctx, actor, inbox.InboxFilters()), n, warmup)
        page += pages_bench._time_get(staff, "/inbox", n, warmup, lambda html: html.count('data-task="') == rows)[0]
    with ctx.unit_of_work() as session:
        ids = session.scalars(sa.select(Case.id)).all()
    sample = rng.sample(ids, min(len(ids), sizes.page_reps + 3))
    case_times = []
    for i, case_id in enumerate(sample):
        started = time.perf_counter()
        answer = supervisor.get(f"/cases/{case_id}")
        body = answer.get_data(as_text=True)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200 or f"案件 {case_id}" not in body:
            raise RuntimeError(f"scale bench: GET /cases/{case_id} answered {answer.status_code}")
        if i >= 3:  # the first three warm the caches
            case_times.append(elapsed)
    return {"inbox_median_ms_100k": _ms(statistics.median(service)), "inbox_p95_ms_100k": _ms(_p95(service)),
            "inbox_page_median_ms_100k": _ms(statistics.median(page)), "inbox_page_p95_ms_100k": _ms(_p95(page)),
            "inbox_tasks": float(first.total), "inbox_calls": float(len(service)),
            "case_page_ms_100k": _ms(statistics.median(case_times)), "case_page_p95_ms_100k": _ms(_p95(case_times)),
            "case_pages": float(len(case_times))}


def measure_sweep(ctx: Any, reps: int) -> dict[str, float]:
    """Idle sweeps: every case in place, nothing due."""
    from engine.models import WaitingTimer

    with ctx.unit_of_work() as session:
        waiting = session.scalar(sa.select(sa.func.count()).select_from(WaitingTimer))
        waiting_cases = session.scalar(sa.select(sa.func.count(sa.distinct(WaitingTimer.case_id))))
    times = engine_bench.time_sweeps(ctx, reps + 1)[1:]  # the first one warms up
    return {"sweep_idle_100k_ms": _ms(statistics.median(times)), "sweep_idle_timers": float(waiting),
            "sweep_idle_waiting_cases": float(waiting_cases)}


def measure_bytes(ctx: Any, cases: int) -> dict[str, float]:
    """Stored bytes per case: each value of its rows as text, and the database on disk."""
    from engine.models import AuditEvent, Case, OpenTask, WaitingTimer

    db_engine = ctx.session_factory.kw["bind"]
    pg = db_engine.dialect.name == "postgresql"

    def total(model: Any, *columns: str, where: str = "") -> float:
        size = (lambda c: f"coalesce(octet_length(CAST({c} AS TEXT)), 0)") if pg else \
            (lambda c: f"coalesce(length(CAST({c} AS BLOB)), 0)")
        names = columns or tuple(c.name for c in model.__table__.c)
        sql = f"SELECT sum({' + '.join(size(c) for c in names)}) FROM {model.__tablename__} {where}"
        with db_engine.connect() as conn:
            return float(conn.scalar(sa.text(sql)) or 0)

    other = tuple(c.name for c in Case.__table__.c if c.name != "state")
    parts = {"state_bytes_per_case": total(Case, "state"), "case_row_bytes_per_case": total(Case, *other),
             "index_bytes_per_case": total(OpenTask) + total(WaitingTimer),
             "audit_bytes_per_case": total(AuditEvent, where="WHERE case_id IS NOT NULL")}
    out = {name: value / cases for name, value in parts.items()}
    out["bytes_per_case"] = sum(out.values())
    with db_engine.connect() as conn:
        if pg:
            disk = conn.scalar(sa.text("SELECT pg_database_size(current_database())"))
        else:
            used = conn.scalar(sa.text("PRAGMA page_count")) - conn.scalar(sa.text("PRAGMA freelist_count"))
            disk = used * conn.scalar(sa.text("PRAGMA page_size"))
    out["disk_bytes_per_case"] = float(disk) / cases
    return out


def _set_clock(ctx: Any, instant: Any) -> None:
    """Move the simulated clock (retried while a worker holds the database's write lock)."""
    from engine.context import SYSTEM
    from engine.errors import Conflict
    from engine.services import timers

    for _ in range(100):
        try:
            timers.set_clock(ctx, SYSTEM, instant)
            return
        except Conflict:
            time.sleep(0.02)
    raise RuntimeError("scale bench: the clock could not be moved")


def _wait(condition: Callable[[], bool], what: str, poll: float, timeout: float = 900.0) -> float:
    """Seconds until ``condition()`` holds, polling every ``poll`` seconds."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"scale bench: timed out waiting until {what}")
        time.sleep(poll)
    return time.perf_counter() - started


def measure_server(ctx: Any, url: str, folder: Path, generated: scale_data.Generated, sizes: ScaleSizes,
                   rng: random.Random, echo: Callable[[str], Any]) -> dict[str, float]:
    """HTTP completions, the due group fired by the workers' schedulers, and timer latency, on one running server."""
    from engine.models import OpenTask, WaitingTimer
    from engine.services import users

    warmup = 2 * CLIENTS
    with ctx.unit_of_work() as session:
        open_reinspect = session.scalars(sa.select(OpenTask.id).where(
            OpenTask.key == "reinspect", OpenTask.department == INBOX_DEPARTMENT).order_by(OpenTask.id)).all()
    wanted = warmup + sizes.http_paced + sizes.http_completions
    chosen = rng.sample(open_reinspect, min(len(open_reinspect), wanted))
    share = min(sizes.http_paced, (len(chosen) - warmup) // 2)  # a small data set splits what it has
    paced = chosen[warmup:warmup + share]
    saturated = chosen[warmup + share:]
    if not paced:
        raise RuntimeError(f"scale bench: only {len(open_reinspect)} open reinspect tasks of {INBOX_DEPARTMENT}")
    tokens = [users.issue_token(ctx, users.add_user(ctx, f"scale_client{i}", "staff", PASSWORD,
                                                    department=INBOX_DEPARTMENT)) for i in range(CLIENTS)]

    def split(task_ids: list[str]) -> list[list[tuple[str, str]]]:
        return [[(t, tokens[c]) for t in task_ids[c::CLIENTS]] for c in range(CLIENTS)]

    def due_left(instant: Any) -> bool:
        with ctx.unit_of_work() as session:
            return not session.scalar(sa.select(WaitingTimer.id).where(WaitingTimer.fires, WaitingTimer.due_at <= instant)
                                      .limit(1))

    def fired(case_id: int) -> bool:
        with ctx.unit_of_work() as session:
            return not session.scalar(sa.select(WaitingTimer.id).where(WaitingTimer.case_id == case_id).limit(1))

    echo(f"    server: capexit serve --workers {WORKERS} ...")
    with scale_server.BenchServer(url, folder, WORKERS) as server:
        warm = scale_server.complete_tasks(server.port, split(chosen[:warmup]), REINSPECT_PASS)
        echo(f"    {len(paced)} completions over HTTP offered at {PACED_RATE:.0f} a second ...")
        steady = scale_server.complete_at_rate(server.port, [(t, tokens[i % CLIENTS]) for i, t in enumerate(paced)],
                                               REINSPECT_PASS, PACED_RATE, PACED_SENDERS)
        echo(f"    {len(saturated)} completions over HTTP from {CLIENTS} clients back to back ...")
        timed = scale_server.complete_tasks(server.port, split(saturated), REINSPECT_PASS)
        group = generated.due_group
        echo(f"    {len(group.ids)} timers falling due at once, fired by the workers ...")
        _set_clock(ctx, group.at + timedelta(minutes=1))
        due_s = _wait(lambda: due_left(group.at), "the due timers fired", 0.05)
        echo(f"    timer latency, {len(generated.latency)} timers ...")
        latencies = []
        for case_id, due_at in generated.latency:
            time.sleep(rng.uniform(0.0, 1.0))
            _set_clock(ctx, due_at + timedelta(seconds=1))
            latencies.append(_wait(lambda case_id=case_id: fired(case_id), f"case {case_id}'s timer fired", 0.005))
    answers = warm.results + steady.results + timed.results
    bad = [(t, s) for t, s, _ in answers if s != 200]
    if bad or warm.errors or steady.errors or timed.errors:
        raise RuntimeError(f"scale bench: {len(bad)} completions not answered 200 (e.g. {bad[:3]}); "
                           f"{(warm.errors + steady.errors + timed.errors)[:3]}\n{server.log()}")
    once = verify_completions(ctx, [t for t, _, _ in answers])
    fired_once = verify_fired(ctx, generated)
    times = [s for _, _, s in timed.results]
    paced_times = [s for _, _, s in steady.results]
    return {"http_complete_median_ms": _ms(statistics.median(paced_times)), "http_complete_p95_ms": _ms(_p95(paced_times)),
            "http_paced_rate": PACED_RATE, "http_paced_per_s": len(paced_times) / steady.wall_s,
            "http_paced_completions": float(len(paced_times)), "http_paced_senders": float(PACED_SENDERS),
            "http_saturated_median_ms": _ms(statistics.median(times)), "http_saturated_p95_ms": _ms(_p95(times)),
            "http_complete_per_s": len(times) / timed.wall_s, "http_completions": float(len(times)),
            "http_completions_checked": float(len(answers)), "http_completions_stored_once": float(once), "http_clients": float(CLIENTS),
            "due_10k_fire_s": due_s, "due_10k_timers": float(len(group.ids)), "due_10k_per_s": len(group.ids) / due_s,
            "due_10k_fired_once": float(fired_once), "timer_latency_s": statistics.median(latencies),
            "timer_latency_max_s": max(latencies), "timer_latency_samples": float(len(latencies))}


def verify_completions(ctx: Any, task_ids: list[str]) -> int:
    """How many of the tasks have exactly one ``task_completed`` event and are no longer open (raises otherwise)."""
    from engine.models import AuditEvent, OpenTask

    counts: dict[str, int] = {}
    still_open = 0
    with ctx.unit_of_work() as session:
        for first in range(0, len(task_ids), 500):
            part = task_ids[first:first + 500]
            counts.update(session.execute(sa.select(AuditEvent.task_id, sa.func.count()).where(
                AuditEvent.action == "task_completed", AuditEvent.task_id.in_(part)).group_by(AuditEvent.task_id)).all())
            still_open += session.scalar(sa.select(sa.func.count()).select_from(OpenTask).where(OpenTask.id.in_(part)))
    once = sum(1 for t in task_ids if counts.get(t) == 1)
    if once != len(task_ids) or still_open:
        raise RuntimeError(f"scale bench: {once} of {len(task_ids)} completions stored once, {still_open} still open")
    return once


def measure_one_sweeper(ctx: Any, group: scale_data.DueGroup) -> dict[str, float]:
    """One ``timers.sweep`` in the benchmark's process firing the sweep group's timers (no server running)."""
    from engine.services import timers

    _set_clock(ctx, group.at + timedelta(minutes=1))
    started = time.perf_counter()
    result = timers.sweep(ctx)
    elapsed = time.perf_counter() - started
    if result.fired != len(group.ids) or result.cases != len(group.ids) or result.conflicts:
        raise RuntimeError(f"scale bench: one sweep fired {result.fired} timers in {result.cases} cases "
                           f"({result.conflicts} conflicts), expected {len(group.ids)}")
    return {"due_one_sweeper_s": elapsed, "due_one_sweeper_timers": float(len(group.ids)),
            "due_one_sweeper_per_s": len(group.ids) / elapsed}


def verify_fired(ctx: Any, generated: scale_data.Generated) -> int:
    """How many cases of the due group fired exactly once and wait on government_approval; raises if a case of
    the sweep group did not, or if any case outside the groups and the latency cases fired."""
    from engine.models import AuditEvent, OpenTask

    after_build = sa.select(AuditEvent.case_id).where(AuditEvent.action == "timer_fired", AuditEvent.at > generated.now)
    with ctx.unit_of_work() as session:
        fired = dict(session.execute(sa.select(AuditEvent.case_id, sa.func.count()).where(
            AuditEvent.action == "timer_fired", AuditEvent.at > generated.now).group_by(AuditEvent.case_id)).all())
        waiting = dict(session.execute(sa.select(OpenTask.case_id, OpenTask.key).where(
            OpenTask.key == "government_approval", OpenTask.case_id.in_(after_build))).all())

    def once(ids: list[int]) -> int:
        return sum(1 for i in ids if fired.get(i) == 1 and waiting.get(i) == "government_approval")

    groups = generated.sweep_group.ids + generated.due_group.ids
    expected = set(groups) | {case_id for case_id, _ in generated.latency}
    if set(fired) != expected or any(n != 1 for n in fired.values()) or once(groups) != len(groups):
        raise RuntimeError(f"scale bench: {len(fired)} cases fired ({sum(fired.values())} events), expected "
                           f"{len(expected)} once each; {once(groups)} of {len(groups)} due cases fired once "
                           "and wait on government_approval")
    return once(generated.due_group.ids)


def measure_database(kind: str, url: str, folder: Path, sizes: ScaleSizes, echo: Callable[[str], Any],
                     show_progress: bool, verify_audit: bool,
                     inspect: Callable[[str, Any, scale_data.Generated], None] | None) -> dict[str, float]:
    """Build the data set on one database and measure everything there; metric names without suffix."""
    rng = random.Random(scale_data.SEED)
    metrics: dict[str, float] = {}
    began = time.perf_counter()
    with engine_bench.app_on(url) as (app, ctx):
        echo(f"  {NAMES[kind]}: {sizes.cases:,} cases ({sizes.sweep_due:,} and {sizes.due:,} of them falling due "
             "at once) ...")
        started = time.perf_counter()
        with _progress(show_progress, sizes.cases, f"    {NAMES[kind]}: cases") as tick:
            generated = scale_data.build(ctx, sizes.cases, sizes.sweep_due, sizes.due, sizes.template_days,
                                         sizes.latency_samples, tick)
        metrics["generate_s"] = time.perf_counter() - started
        metrics["settle_s"] = settle(kind, ctx.session_factory.kw["bind"])
        metrics.update({"cases": float(generated.cases), "template_cases": float(generated.template_cases),
                        "template_s": generated.template_s, "copy_s": generated.copy_s,
                        "open_cases": float(generated.open_cases), "closed_cases": float(generated.closed_cases),
                        "open_tasks": float(generated.open_tasks), "waiting_timers": float(generated.waiting_timers),
                        "audit_events": float(generated.audit_events)})
        echo(f"    built in {metrics['generate_s']:.1f} s; pages, sweep, sizes ...")
        metrics.update(measure_bytes(ctx, generated.cases))
        metrics.update(measure_pages(app, ctx, sizes, rng))
        metrics.update(measure_sweep(ctx, sizes.idle_reps))
        metrics.update(measure_one_sweeper(ctx, generated.sweep_group))
        metrics.update(measure_server(ctx, url, folder, generated, sizes, rng, echo))
        if verify_audit:
            from engine.services import audit

            checked, breaks = audit.verify(ctx)
            if breaks:
                raise RuntimeError(f"scale bench: the audit chain is broken: {breaks[:3]}")
            metrics.update({"audit_events_checked": float(checked), "audit_breaks": float(len(breaks))})
        if inspect is not None:
            inspect(kind, ctx, generated)
    metrics["database_s"] = time.perf_counter() - began
    return metrics


def settle(kind: str, db_engine: sa.Engine) -> float:
    """Let the database finish with the bulk load before anything is measured; returns the seconds it took.

    PostgreSQL: ``VACUUM ANALYZE`` (what autovacuum does after a burst of inserts), then ``CHECKPOINT``, so
    the checkpoint the load's write-ahead log started is not still writing its pages to disk (and every
    page's first change not still logged whole) while the completions and timers are timed. SQLite: its
    write-ahead log is checkpointed into the database file. No ``ANALYZE`` on SQLite: the app never runs it.
    """
    started = time.perf_counter()
    with db_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if kind == "pg":
            conn.execute(sa.text("VACUUM ANALYZE"))
            conn.execute(sa.text("CHECKPOINT"))
        else:
            conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return time.perf_counter() - started


@contextlib.contextmanager
def _progress(show: bool, length: int, label: str) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    import click

    with click.progressbar(length=length, label=label) as bar:
        yield bar.update


# ---------------------------------------------------------------- the run


def run(cases: int = 100_000, dbs: tuple[str, ...] = ("sqlite", "pg"), pg_url: str = DEFAULT_PG,
        echo: Callable[[str], Any] = print, show_progress: bool = False, verify_audit: bool = True,
        inspect: Callable[[str, Any, scale_data.Generated], None] | None = None,
        bare_cases: int = 100) -> dict[str, float]:
    """Run the scale benchmark on ``dbs``, print its table through ``echo`` and return ``{metric_suffix: value}``."""
    from bench.scale_table import render

    began = time.perf_counter()
    sizes = ScaleSizes.for_cases(cases)
    info = engine_bench.machine_info()
    pg_version = postgres_version(pg_url) if "pg" in dbs else None
    if "pg" in dbs and pg_version is None:
        echo(f"PostgreSQL is unreachable at {sa.engine.make_url(pg_url).render_as_string()}: skipped")
        dbs = tuple(d for d in dbs if d != "pg")
    info["postgresql"] = pg_version or "-"
    echo(f"capexit bench --scale: {cases:,} cases on {', '.join(NAMES[d] for d in dbs)}, {info['date']}")
    echo(f"  cpus {info['cpus']}, Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}, "
         f"SpiffWorkflow {info['spiffworkflow']}, load average {info['load']}")
    from engine.parties import default_lead

    bare_runner = engine_bench.BareRunner(default_lead(engine_bench.DIMENSION, engine_bench.INDUSTRY))
    bare = bare_runner.run(bare_cases // 2)
    metrics: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="capexit-scale-"))
    try:
        for kind in dbs:
            with database(kind, folder, pg_url) as url:
                found = measure_database(kind, url, folder, sizes, echo, show_progress, verify_audit, inspect)
            metrics.update({f"{name}_{SUFFIX[kind]}": value for name, value in found.items()})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    bare += bare_runner.run(bare_cases - bare_cases // 2)
    metrics["bare_tx_ms"] = _ms(statistics.median(bare))
    metrics["bare_tx_count"] = float(len(bare))
    metrics["total_s"] = time.perf_counter() - began
    info["load_end"] = engine_bench.machine_info()["load"]
    echo("")
    for line in render(metrics, dbs, sizes, info):
        echo(line)
    return metrics
