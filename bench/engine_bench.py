"""The benchmark behind ``capexit bench``: our engine against bare SpiffWorkflow, in one run.

Everything runs on a throwaway SQLite database in a temporary folder (simulated
clock), never on the instance database. One run measures:

``bare_tx_ms``
    bare SpiffWorkflow in memory, one transaction = one user-task completion plus
    ``do_engine_steps`` (default script engine), along the path of a steel case:
    set_differential_price (C-3.3, in its own branch) -> rectify -> reinspect (fail) ->
    government_approval -> close_order -> record_exit -> the closure measures of
    ``closure_measures.bpmn``.
``bare_json_tx_ms``
    the same with a full SpiffWorkflow JSON round trip (spec included) per transaction.
``engine_mem_tx_ms``
    the same transaction through our engine code without a database: restore the
    instance-only JSON onto the cached spec, complete with the safe evaluator,
    compute the position (index rows), dump the JSON again.
``engine_tx_ms``
    ``engine.services.tasks.complete_task`` on SQLite along the same path: load,
    run, save, index, audit, commit, and the case view it answers.
``durable_commit_ms``
    one row inserted and committed on the same SQLite file through the engine's connections (WAL,
    ``synchronous=FULL``), interleaved with the others: what any engine that makes each transaction durable
    pays on this machine whatever it stores. ``floor_vs_bare`` = (``bare_tx_ms`` + ``durable_commit_ms``) /
    ``bare_tx_ms``: the bare step made durable, the least an engine transaction can be against the target.
``engine_tx_without_dump_ms`` and ``phase_ms:<part>``
    one more pass along the path with each part of ``complete_task`` timed (``bench/engine_phases.py``):
    the mean per completion of each part, and the median completion less its instance dump.
``bytes_per_case``
    instance state plus index rows of a case waiting on ``rectify``.
``sweep_idle_10k_ms`` / ``sweep_due_1k_s``
    one ``engine.services.timers.sweep`` with many waiting cases and none due, and
    one that fires a thousand due timers (verified: each fired exactly once).
``inbox_page_ms_10k`` / ``board_page_ms_10k``
    server time of ``GET /inbox`` (a department's staff user) and ``GET /board`` (a
    supervisor) through the Flask test client with 10,000 open cases of every dimension
    at a spread of stages, on a database of their own (target < 100 ms; see
    ``bench/pages_bench.py``), with the service calls alone beside them.

``run(quick, echo, scale)`` prints the table through ``echo`` and returns the metrics;
``scale`` shrinks every size (the test runs ``scale=0.05``). The metric names stay
the same whatever the sizes; ``sweep_idle_cases``, ``sweep_due_timers`` and ``pages_open_cases``
say how many there were.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import engine_phases, pages_bench

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
CLOCK_START = "2026-03-02T09:00:00+08:00"  # a Monday
START_DAY = CLOCK_START[:10]  # what a step records as done is dated on or before today
FAR_FUTURE = "2099-12-30T23:59:59+08:00"
DIMENSION = "energy_use"
INDUSTRY = "steel"

# Form data for each step of the measured path, in the order the steps are worked.
PATH_DATA: dict[str, dict[str, Any]] = {
    "set_differential_price": {"electricity_price": "differential", "water_price_progressive": True,
                               "surcharge": "每千瓦时加价0.3元", "effective_from": "2026-03-05"},
    "rectify": {"outcome": "rectified", "report": "已更换高效电机并完成能源审计。"},
    "reinspect": {"result": "fail", "findings": "单位产品能耗仍高于强制性限额标准。"},
    "government_approval": {"approved": True, "opinion": "同意依法关停。"},
    "close_order": {"order_no": "济工信关〔2026〕1号", "order_date": START_DAY,
                    "grounds": "经整改仍未达到强制性能耗限额标准。"},
    "record_exit": {"equipment": "450立方米高炉1座", "capacity_tpy": 400000, "exit_date": START_DAY},
    "resettle_workers": {"workers_affected": 320, "plan": "内部转岗与社保接续。"},
    "review_special_funds": {"eligible": True, "amount": 500, "basis": "符合职工安置专项资金支持条件。"},
    "cancel_licence": {"licence_no": "XK05-001-00001", "authority": "省市场监督管理局", "requested_on": START_DAY},
    "credit_listing": {"listed_on": START_DAY, "platforms": "市级信用信息共享平台", "published": True},
    "revoke_licences_notice": {"licences": "排污许可证", "notified_departments": "生态环境局"},
}
PATH_ORDER = list(PATH_DATA)
MAIN_PATH = ["rectify", "reinspect", "government_approval", "close_order", "record_exit"]
EXPECTED_PATH = ["set_differential_price", *MAIN_PATH, "resettle_workers", "review_special_funds", "cancel_licence"]


@dataclass(frozen=True)
class Sizes:
    """How much work one run does."""

    bare_cases: int  # instances run along the path in memory (9 transactions each)
    engine_cases: int  # cases run along the path through complete_task
    idle_waiting: int  # waiting cases during the idle sweep
    idle_seeds: int  # real cases cloned in SQL to reach idle_waiting
    idle_reps: int  # idle sweeps timed
    due_timers: int  # timers fired by the timed due sweep (one per real case)
    pages_open: int = 10_000  # open cases behind the timed inbox and board pages
    page_reps: int = 21  # requests timed per page

    def scaled(self, factor: float) -> Sizes:
        """Smaller (or larger) sizes, each kept at a workable minimum."""
        def s(n: int, low: int) -> int:
            return max(low, round(n * factor))

        due = s(self.due_timers, 3)
        seeds = s(self.idle_seeds, 2)
        return Sizes(s(self.bare_cases, 3), s(self.engine_cases, 2), max(s(self.idle_waiting, 20), due + seeds + 1),
                     seeds, s(self.idle_reps, 3), due, s(self.pages_open, 60), s(self.page_reps, 3))


FULL = Sizes(bare_cases=300, engine_cases=100, idle_waiting=10_000, idle_seeds=200, idle_reps=21, due_timers=1_000)
QUICK = Sizes(bare_cases=150, engine_cases=40, idle_waiting=2_000, idle_seeds=100, idle_reps=11, due_timers=200,
              pages_open=10_000, page_reps=15)


ROUNDS = 5


def _share(total: int, parts: int, index: int) -> int:
    """The ``index``-th of ``parts`` near-equal shares of ``total``."""
    return total // parts + (1 if index < total % parts else 0)


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _seed_data(lead: str, credit_code: str, deadline_at: str) -> dict[str, Any]:
    """The start data ``start_case`` gives an energy_use case (deadline far away for the in-memory runs)."""
    return {"dimension": DIMENSION, "lead_department": lead, "industry": INDUSTRY, "enterprise_name": "基准企业",
            "credit_code": credit_code, "notice_date": "2026-03-02", "overdue": False, "solid_waste": False,
            "deadline_at": deadline_at, "deadline_last_day": deadline_at[:10]}


def _next_key(keys: list[str]) -> str:
    for key in PATH_ORDER:
        if key in keys:
            return key
    raise RuntimeError(f"bench path: no form data for the open tasks {keys}")


# ---------------------------------------------------------------- bare SpiffWorkflow


def _bare_specs() -> tuple[Any, dict[str, Any]]:
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    for name in ("energy_use.bpmn", "closure_measures.bpmn"):
        parser.add_bpmn_str((PROCESSES / name).read_bytes(), filename=name)
    return parser.get_spec(DIMENSION), parser.get_subprocess_specs(DIMENSION)


def _bare_start(spec: Any, subprocess_specs: dict[str, Any], data: dict[str, Any]) -> Any:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.get_next_task(state=TaskState.READY).data.update(data)
    workflow.do_engine_steps()
    return workflow


class BareRunner:
    """Bare SpiffWorkflow along the path: parsed once, default script engine, no persistence."""

    def __init__(self, lead: str) -> None:
        self.spec, self.subprocess_specs = _bare_specs()
        self.data = _seed_data(lead, "91370800MA3C000001", FAR_FUTURE)
        self.path: list[str] = []
        self.run(1)  # warm-up, not kept
        self.run_full_json(1)

    def start(self) -> Any:
        """A fresh instance waiting on rectify."""
        return _bare_start(self.spec, self.subprocess_specs, self.data)

    def run(self, cases: int) -> list[float]:
        """Seconds of each transaction (one completion + ``do_engine_steps``) of ``cases`` instances."""
        from SpiffWorkflow.util.task import TaskState

        times: list[float] = []
        for _ in range(cases):
            workflow = self.start()
            keys: list[str] = []
            while not workflow.is_completed():
                ready = {t.task_spec.bpmn_id: t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
                if not ready:
                    raise RuntimeError("bare SpiffWorkflow: the instance waits with no user task open")
                key = _next_key(list(ready))
                task = ready[key]
                started = time.perf_counter()
                task.set_data(**PATH_DATA[key])
                task.run()
                workflow.do_engine_steps()
                times.append(time.perf_counter() - started)
                keys.append(key)
            self.path = keys
        return times


    def run_full_json(self, cases: int) -> list[float]:
        """Seconds of each transaction with a full SpiffWorkflow JSON round trip (spec included) around it."""
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
        from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
        from SpiffWorkflow.util.task import TaskState

        serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        times: list[float] = []
        for _ in range(cases):
            state = serializer.serialize_json(self.start())
            while True:
                probe = serializer.deserialize_json(state)
                ready = {t.task_spec.bpmn_id: t.id for t in probe.get_tasks(state=TaskState.READY, manual=True)}
                if not ready:
                    break
                key = _next_key(list(ready))
                started = time.perf_counter()
                workflow = serializer.deserialize_json(state)
                task = workflow.get_task_from_id(ready[key])
                task.set_data(**PATH_DATA[key])
                task.run()
                workflow.do_engine_steps()
                state = serializer.serialize_json(workflow)
                times.append(time.perf_counter() - started)
        return times


# ---------------------------------------------------------------- our engine, no database


class MemoryRunner:
    """Our engine code along the path without a database: JSON load + complete + position + JSON dump."""

    def __init__(self, lead: str) -> None:
        from engine import definitions as defs
        from engine.clock import parse_instant

        self.bundle = defs.parse_bundle(
            ("energy_use.bpmn", defs.read_xml((PROCESSES / "energy_use.bpmn").read_bytes())),
            [("closure_measures.bpmn", defs.read_xml((PROCESSES / "closure_measures.bpmn").read_bytes()))],
            DIMENSION)
        self.now = parse_instant(CLOCK_START)
        self.data = _seed_data(lead, "91370800MA3C000001", FAR_FUTURE)
        self.run(1)

    def run(self, cases: int) -> list[float]:
        """Seconds of each transaction of ``cases`` instances."""
        from SpiffWorkflow.util.task import TaskState

        from engine import runner, store

        times: list[float] = []
        for _ in range(cases):
            state = store.dumps(runner.start(self.bundle, self.data, self.now))
            while True:
                probe = store.loads(state, self.bundle)
                ready = {t.task_spec.bpmn_id: str(t.id) for t in probe.get_tasks(state=TaskState.READY, manual=True)}
                if not ready:
                    break
                key = _next_key(list(ready))
                started = time.perf_counter()
                workflow = store.loads(state, self.bundle)
                task = runner.find_task(workflow, ready[key])
                runner.complete(workflow, task, PATH_DATA[key], self.now)
                runner.position(workflow, self.bundle)
                state = store.dumps(workflow)
                times.append(time.perf_counter() - started)
        return times


# ---------------------------------------------------------------- our engine on SQLite


class CommitProbe:
    """One-row durable transactions on the engine's own SQLite file, through its connections and pragmas."""

    TABLE = sa.table("bench_commit_probe", sa.column("n", sa.Integer))

    def __init__(self, ctx: Any) -> None:
        self.db_engine = ctx.session_factory.kw["bind"]
        with self.db_engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE bench_commit_probe (n INTEGER NOT NULL)"))
        self.insert = sa.insert(self.TABLE)
        self.run(5)  # warm-up, not kept

    def run(self, count: int) -> list[float]:
        """Seconds of each of ``count`` transactions: BEGIN, one INSERT, COMMIT."""
        times: list[float] = []
        with self.db_engine.connect() as conn:
            for n in range(count):
                started = time.perf_counter()
                with conn.begin():
                    conn.execute(self.insert, {"n": n})
                times.append(time.perf_counter() - started)
        return times


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def throwaway_engine() -> Iterator[Any]:
    """An engine context on a fresh SQLite file in a temporary folder (simulated clock), removed afterwards."""
    with throwaway_app() as (_, ctx):
        yield ctx


@contextlib.contextmanager
def throwaway_app() -> Iterator[tuple[Any, Any]]:
    """The web app and its engine context on a fresh SQLite file in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="capexit-bench-"))
    try:
        with app_on(f"sqlite:///{folder / 'bench.db'}") as pair:
            yield pair
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def app_on(url: str) -> Iterator[tuple[Any, Any]]:
    """The web app and its engine context on the (empty) database at ``url``, initialised, simulated clock at
    ``CLOCK_START``, no scheduler; its connections are closed afterwards."""
    from webapp import create_app
    from webapp.cli import initialise

    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "CAPEXIT_CLOCK": "simulated",
              "CAPEXIT_CLOCK_START": CLOCK_START, "CAPEXIT_SCHEDULER": False, "TESTING": True}
    db_engine = None
    try:
        # The environment keeps create_app away from the instance folder's secret and database.
        with _environment(CAPEXIT_SECRET_KEY="bench", CAPEXIT_DATABASE_URL=url, CAPEXIT_CLOCK="simulated"):
            app = create_app(config)
        ctx = app.extensions["capexit"]
        db_engine = ctx.session_factory.kw["bind"]
        initialise(ctx)
        yield app, ctx
    finally:
        if db_engine is not None:
            db_engine.dispose()


class _Cases:
    """Opens energy_use cases for numbered enterprises and works their open tasks."""

    def __init__(self, ctx: Any) -> None:
        from engine.context import Actor
        from engine.parties import default_lead

        self.ctx = ctx
        self.lead = default_lead(DIMENSION, INDUSTRY)
        self.staff = Actor("bench_staff", "staff", self.lead)
        self.counter = 0

    def start(self) -> int:
        from engine.credit_code import make_credit_code
        from engine.services import cases

        self.counter += 1
        code = make_credit_code(f"91370800MA{self.counter % 10_000_000:07d}")
        request = cases.NewCase(dimension=DIMENSION, lead_department=self.lead, finding={"kind": "energy"},
                                enterprise={"name": f"基准企业{self.counter}", "credit_code": code,
                                            "county": "任城区", "industry": INDUSTRY})
        return cases.start_case(self.ctx, self.staff, request)

    def open_tasks(self, case_id: int) -> dict[str, tuple[str, str]]:
        from engine.models import OpenTask

        with self.ctx.unit_of_work() as session:
            rows = session.execute(sa.select(OpenTask.key, OpenTask.id, OpenTask.department)
                                   .where(OpenTask.case_id == case_id)).all()
        return {key: (task_id, department) for key, task_id, department in rows}

    def actor_for(self, case_id: int, department: str) -> Any:
        from engine.context import Actor
        from engine.models import Case

        if department == "enterprise":
            with self.ctx.unit_of_work() as session:
                code = session.get(Case, case_id).enterprise_code
            return Actor("bench_enterprise", "enterprise", None, code)
        return Actor(f"bench_{department}", "staff", department)


class EngineRunner:
    """Our engine on SQLite along the path: ``complete_task`` for every step of fresh cases."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.cases = _Cases(ctx)
        self.path: list[str] = []
        self.run(1)  # warms the caches (spec bundle, forms, statements), not kept

    def run(self, cases: int) -> list[float]:
        """Seconds of each ``complete_task`` of ``cases`` cases run from start to exit."""
        from engine.services import tasks

        times: list[float] = []
        for _ in range(cases):
            case_id = self.cases.start()
            keys: list[str] = []
            view: dict[str, Any] = {}
            while open_tasks := self.cases.open_tasks(case_id):
                key = _next_key(list(open_tasks))
                task_id, department = open_tasks[key]
                actor = self.cases.actor_for(case_id, department)
                started = time.perf_counter()
                view = tasks.complete_task(self.ctx, actor, task_id, PATH_DATA[key])
                times.append(time.perf_counter() - started)
                keys.append(key)
            if view.get("status") != "exited":
                raise RuntimeError(f"engine path ended with status {view.get('status')!r}, expected 'exited'")
            self.path = keys
        return times


def _row_bytes(row: Any) -> int:
    return sum(len(str(v).encode()) for v in row if v is not None)


def measure_sizes(ctx: Any, case_ids: list[int]) -> dict[str, float]:
    """Average stored bytes of waiting cases: instance state and index rows; full snapshot of one for comparison."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    from engine.models import Case, OpenTask, WaitingTimer
    from engine.services import instances

    with ctx.unit_of_work() as session:
        states = session.scalars(sa.select(Case.state).where(Case.id.in_(case_ids))).all()
        index = session.execute(sa.select(*OpenTask.__table__.c).where(OpenTask.case_id.in_(case_ids))).all()
        index += session.execute(sa.select(*WaitingTimer.__table__.c).where(WaitingTimer.case_id.in_(case_ids))).all()
        workflow, _ = instances.load(ctx, session, session.get(Case, case_ids[0]))
    full = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)).serialize_json(workflow)
    state_bytes = sum(len(s.encode()) for s in states) / len(states)
    index_bytes = sum(_row_bytes(r) for r in index) / len(case_ids)
    return {"state_bytes_per_case": state_bytes, "index_bytes_per_case": index_bytes,
            "bytes_per_case": state_bytes + index_bytes, "full_snapshot_bytes": float(len(full.encode()))}


def _waiting_cases(session: Any) -> int:
    from engine.models import WaitingTimer

    return session.scalar(sa.select(sa.func.count(sa.distinct(WaitingTimer.case_id))))


def clone_cases(ctx: Any, seed_ids: list[int], count: int) -> None:
    """Copy the case, open-task and waiting-timer rows of real cases ``count`` times in bulk (new ids, same due times)."""
    from engine.models import Case, OpenTask, WaitingTimer

    cases_t, tasks_t, timers_t = Case.__table__, OpenTask.__table__, WaitingTimer.__table__
    with ctx.unit_of_work() as session:
        seeds = [dict(r) for r in session.execute(sa.select(cases_t).where(cases_t.c.id.in_(seed_ids))).mappings()]
        tasks_by_case: dict[int, list[dict]] = {}
        for r in session.execute(sa.select(tasks_t).where(tasks_t.c.case_id.in_(seed_ids))).mappings():
            tasks_by_case.setdefault(r["case_id"], []).append(dict(r))
        timers_by_case: dict[int, list[dict]] = {}
        for r in session.execute(sa.select(timers_t).where(timers_t.c.case_id.in_(seed_ids))).mappings():
            timers_by_case.setdefault(r["case_id"], []).append(dict(r))
        next_id = session.scalar(sa.select(sa.func.max(cases_t.c.id))) + 1
        chunk = 1000
        for first in range(0, count, chunk):
            case_rows, task_rows, timer_rows = [], [], []
            for k in range(first, min(count, first + chunk)):
                seed = seeds[k % len(seeds)]
                new_id = next_id + k
                case_rows.append({**seed, "id": new_id})
                task_rows += [{**t, "id": str(uuid.uuid4()), "case_id": new_id} for t in tasks_by_case[seed["id"]]]
                timer_rows += [{**t, "id": str(uuid.uuid4()), "case_id": new_id} for t in timers_by_case[seed["id"]]]
            session.execute(sa.insert(cases_t), case_rows)
            if task_rows:
                session.execute(sa.insert(tasks_t), task_rows)
            if timer_rows:
                session.execute(sa.insert(timers_t), timer_rows)


def time_sweeps(ctx: Any, reps: int) -> list[float]:
    """Seconds of ``reps`` sweeps that must fire nothing."""
    from engine.services import timers

    times = []
    for _ in range(reps):
        started = time.perf_counter()
        result = timers.sweep(ctx)
        times.append(time.perf_counter() - started)
        if result.fired or result.cases:
            raise RuntimeError(f"idle sweep fired {result.fired} timers in {result.cases} cases")
    return times


def verify_due_sweep(ctx: Any, due_ids: list[int]) -> tuple[int, int]:
    """(cases whose timer fired exactly once and now wait on government_approval, timer_fired events in total)."""
    from engine.models import AuditEvent, OpenTask

    with ctx.unit_of_work() as session:
        fired = dict(session.execute(
            sa.select(AuditEvent.case_id, sa.func.count()).where(AuditEvent.action == "timer_fired")
            .group_by(AuditEvent.case_id)).all())
        waiting_on = {}
        for case_id, key in session.execute(sa.select(OpenTask.case_id, OpenTask.key)
                                            .where(OpenTask.case_id.in_(due_ids))
                                            .where(OpenTask.key != "set_differential_price")):  # C-3.3 branch
            waiting_on.setdefault(case_id, []).append(key)
    good = sum(1 for i in due_ids if fired.get(i) == 1 and waiting_on.get(i) == ["government_approval"])
    return good, sum(fired.values())


def measure_timers(ctx: Any, sizes: Sizes, echo: Callable[[str], Any]) -> dict[str, float]:
    """Sizes of waiting cases, idle sweeps (few and many waiting cases) and one sweep of due timers."""
    from engine.clock import add_duration
    from engine.context import SYSTEM
    from engine.models import WaitingTimer
    from engine.services import timers

    helper = _Cases(ctx)
    metrics: dict[str, float] = {}
    # Cases that will fall due: opened now, deadline six months on.
    starts = []
    due_ids = []
    for _ in range(sizes.due_timers):
        started = time.perf_counter()
        due_ids.append(helper.start())
        starts.append(time.perf_counter() - started)
    metrics["start_case_ms"] = _ms(_median(starts))
    metrics.update(measure_sizes(ctx, due_ids))
    # Cases that stay idle: opened a month later, so their deadlines come after every due one.
    t0 = ctx.now()
    timers.set_clock(ctx, SYSTEM, add_duration(t0, "P1M"))
    seed_ids = [helper.start() for _ in range(sizes.idle_seeds)]
    with ctx.unit_of_work() as session:
        small = _waiting_cases(session)
    metrics["sweep_idle_small_ms"] = _ms(_median(time_sweeps(ctx, sizes.idle_reps)))
    metrics["sweep_idle_small_cases"] = float(small)
    echo(f"  cloning {sizes.idle_waiting - small} waiting cases from {len(seed_ids)} real ones ...")
    started = time.perf_counter()
    clone_cases(ctx, seed_ids, sizes.idle_waiting - small)
    metrics["clone_s"] = time.perf_counter() - started
    with ctx.unit_of_work() as session:
        waiting = _waiting_cases(session)
        last_due = session.scalar(sa.select(sa.func.max(WaitingTimer.due_at)).where(WaitingTimer.case_id.in_(due_ids)))
        first_idle = session.scalar(sa.select(sa.func.min(WaitingTimer.due_at))
                                    .where(WaitingTimer.case_id.not_in(due_ids)))
    if waiting != sizes.idle_waiting:
        raise RuntimeError(f"expected {sizes.idle_waiting} waiting cases, found {waiting}")
    metrics["sweep_idle_cases"] = float(waiting)
    metrics["sweep_idle_10k_ms"] = _ms(_median(time_sweeps(ctx, sizes.idle_reps)))
    # Move the clock just past the last due deadline (and before any idle one), then fire them all at once.
    fire_at = last_due + timedelta(minutes=1)
    if not fire_at < first_idle:
        raise RuntimeError(f"due and idle deadlines overlap ({last_due} / {first_idle})")
    timers.set_clock(ctx, SYSTEM, fire_at)
    echo(f"  firing {len(due_ids)} due timers among {waiting} waiting cases ...")
    started = time.perf_counter()
    result = timers.sweep(ctx)
    elapsed = time.perf_counter() - started
    good, events = verify_due_sweep(ctx, due_ids)
    if result.fired != len(due_ids) or good != len(due_ids) or events != len(due_ids) or result.conflicts:
        raise RuntimeError(f"due sweep: fired {result.fired} in {result.cases} cases ({result.conflicts} conflicts); "
                           f"{good} of {len(due_ids)} cases fired once and wait on government_approval; "
                           f"{events} timer_fired events")
    metrics.update({"sweep_due_1k_s": elapsed, "sweep_due_timers": float(len(due_ids)),
                    "sweep_due_fired_once": float(good), "sweep_due_per_timer_ms": _ms(elapsed / len(due_ids)),
                    "sweep_due_timers_per_s": len(due_ids) / elapsed})
    return metrics


# ---------------------------------------------------------------- table


def _fmt(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "/s":
        return f"{value:,.0f} /s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"


def machine_info() -> dict[str, str]:
    """What the numbers were measured on."""
    import SpiffWorkflow

    try:
        from importlib.metadata import version
        spiff = version("SpiffWorkflow")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        spiff = getattr(SpiffWorkflow, "__version__", "?")
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
        "spiffworkflow": spiff,
        "platform": platform.platform(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?",
    }


def render(metrics: dict[str, float], sizes: Sizes, quick: bool, path: list[str], rounds: int) -> list[str]:
    """The table as printed lines."""
    m = metrics
    target_bytes = 8 * 1024
    rows = [
        ("bare_tx_ms", _fmt(m["bare_tx_ms"], "ms"), "about 0.2 ms (ENGINE-NOTES, other machine)", ""),
        ("bare_json_tx_ms", _fmt(m["bare_json_tx_ms"], "ms"), "bare_tx_ms",
         _fmt(m["bare_json_tx_ms"] / m["bare_tx_ms"], "x")),
        ("engine_mem_tx_ms", _fmt(m["engine_mem_tx_ms"], "ms"), "bare_tx_ms", _fmt(m["engine_mem_vs_bare"], "x")),
        ("  engine_mem vs JSON", "", "bare_json_tx_ms", _fmt(m["engine_mem_tx_ms"] / m["bare_json_tx_ms"], "x")),
        ("engine_tx_ms", _fmt(m["engine_tx_ms"], "ms"), "bare_tx_ms", _fmt(m["engine_vs_bare"], "x")),
        ("engine_vs_bare", _fmt(m["engine_vs_bare"], "x"), "target <= 3x",
         "ok" if m["engine_vs_bare"] <= 3 else "OVER"),
        ("durable_commit_ms", _fmt(m["durable_commit_ms"], "ms"), "bare_tx_ms",
         _fmt(m["durable_commit_ms"] / m["bare_tx_ms"], "x")),
        ("  floor_vs_bare", _fmt(m["floor_vs_bare"], "x"),
         f"3x leaves {_fmt(3 * m['bare_tx_ms'] - m['bare_tx_ms'] - m['durable_commit_ms'], 'ms')} for the rest", ""),
        *engine_phases.table_rows(m),
        ("start_case_ms", _fmt(m["start_case_ms"], "ms"), "engine_tx_ms", _fmt(m["start_case_ms"] / m["engine_tx_ms"], "x")),
        ("bytes_per_case", _fmt(m["bytes_per_case"], "B"), "target < 8,192 B",
         _fmt(m["bytes_per_case"] / target_bytes, "x") + (" ok" if m["bytes_per_case"] < target_bytes else " OVER")),
        ("  state_bytes_per_case", _fmt(m["state_bytes_per_case"], "B"), "full snapshot with spec",
         _fmt(m["state_bytes_per_case"] / m["full_snapshot_bytes"], "x")),
        ("  index_bytes_per_case", _fmt(m["index_bytes_per_case"], "B"), "", ""),
        ("  full_snapshot_bytes", _fmt(m["full_snapshot_bytes"], "B"), "state_bytes_per_case",
         _fmt(m["full_snapshot_bytes"] / m["state_bytes_per_case"], "x")),
        ("sweep_idle_10k_ms", _fmt(m["sweep_idle_10k_ms"], "ms"),
         f"same sweep, {m['sweep_idle_small_cases']:,.0f} waiting: {_fmt(m['sweep_idle_small_ms'], 'ms')}",
         _fmt(m["sweep_idle_10k_ms"] / m["sweep_idle_small_ms"], "x")),
        ("sweep_due_1k_s", _fmt(m["sweep_due_1k_s"], "s"),
         f"{m['sweep_due_timers']:,.0f} x engine_tx_ms = {_fmt(m['sweep_due_timers'] * m['engine_tx_ms'] / 1000, 's')}",
         _fmt(m["sweep_due_1k_s"] * 1000 / (m["sweep_due_timers"] * m["engine_tx_ms"]), "x")),
        ("  sweep_due_per_timer_ms", _fmt(m["sweep_due_per_timer_ms"], "ms"), "engine_tx_ms",
         _fmt(m["sweep_due_per_timer_ms"] / m["engine_tx_ms"], "x")),
        ("  sweep_due_timers_per_s", _fmt(m["sweep_due_timers_per_s"], "/s"), "", ""),
        *pages_bench.table_rows(m),
    ]
    headers = ("metric", "value (median)", "baseline or target", "ratio")
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) for i in range(4)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    measures = [k for k in path if k not in MAIN_PATH]
    out += [
        "",
        f"Sizes ({'quick' if quick else 'full'}; medians over every transaction). Path: {' > '.join(path)} "
        f"({len(path)} transactions, {len(measures)} of them measures: {', '.join(measures)}; "
        "credit_listing is not on an energy_use path)"
        + ("" if path == EXPECTED_PATH else f" [expected {' > '.join(EXPECTED_PATH)}]") + ".",
        f"  bare: {sizes.bare_cases} instances ({int(m['bare_tx_count'])} transactions: task.set_data + task.run + "
        "do_engine_steps), SpiffBpmnParser, default script engine, start data as start_case seeds it;",
        f"  bare_json: the same {sizes.bare_cases} instances, each transaction wrapped in a full SpiffWorkflow JSON "
        "round trip (deserialize_json + serialize_json, spec included: the naive way to persist);",
        f"  engine_mem: the same {sizes.bare_cases} instances through engine.store/runner without a database: "
        "instance-only JSON load + complete (safe evaluator) + position + dump;",
        f"  engine: {sizes.engine_cases} cases ({int(m['engine_tx_count'])} complete_task calls: checks, form validation, "
        "load, run, save + index, audit, commit with SQLite WAL synchronous=FULL, case view), simulated clock "
        "(one more query per call than the system clock); bare, bare_json, engine_mem and engine interleaved in "
        f"{rounds} rounds;",
        f"  durable_commit: {int(m['durable_commit_count'])} transactions (BEGIN, one-row INSERT, COMMIT) on the engine's "
        "SQLite file through its connections (WAL, synchronous=FULL), in the same rounds; floor = bare_tx_ms + "
        "durable_commit_ms, the bare step made durable;",
        f"  bytes: average over the {m['sweep_due_timers']:,.0f} cases waiting on rectify just after start_case "
        "(index = open_tasks + waiting_timers values as text); full snapshot = BpmnWorkflowSerializer(SPIFF_CONFIG) "
        "of one of them, spec included;",
        f"  idle sweep: median of {sizes.idle_reps} sweeps, none due, with {m['sweep_idle_cases']:,.0f} waiting cases: "
        f"{m['sweep_due_timers']:,.0f} + {sizes.idle_seeds} real cases (start_case), the other "
        f"{m['sweep_idle_cases'] - m['sweep_due_timers'] - sizes.idle_seeds:,.0f} cloned in bulk SQL from the "
        f"{sizes.idle_seeds} (cases, open_tasks, waiting_timers rows; new ids, same due times; {m['clone_s']:.1f} s); "
        f"baseline = the same sweep before cloning ({m['sweep_idle_small_cases']:,.0f} waiting);",
        f"  due sweep: one sweep firing the rectify deadlines of {m['sweep_due_timers']:,.0f} real cases (clock moved "
        "just past them with set_clock, before every idle deadline); verified: each of them has exactly one "
        "timer_fired audit event and waits on government_approval, no other case fired.",
        *engine_phases.notes(m),
        *pages_bench.notes(m),
    ]
    return out


def run(quick: bool = False, echo: Callable[[str], Any] = print, scale: float = 1.0) -> dict[str, float]:
    """Run the benchmark, print its table through ``echo`` and return ``{metric: value}``."""
    began = time.perf_counter()
    sizes = (QUICK if quick else FULL)
    if scale != 1.0:
        sizes = sizes.scaled(scale)
    info = machine_info()
    echo(f"capexit bench ({'quick' if quick else 'full'}) on {info['date']}")
    echo(f"  cpus {info['cpus']}, Python {info['python']}, SQLite {info['sqlite']}, SQLAlchemy {info['sqlalchemy']}, "
         f"SpiffWorkflow {info['spiffworkflow']}, {info['platform']}, load average {info['load']}")
    from engine.parties import default_lead

    lead = default_lead(DIMENSION, INDUSTRY)
    metrics: dict[str, float] = {}
    rounds = max(1, min(ROUNDS, sizes.engine_cases))
    echo(f"  transactions: {sizes.bare_cases} bare / bare JSON / in-memory instances and {sizes.engine_cases} engine cases, "
         f"interleaved in {rounds} rounds ...")
    bare_runner, memory_runner = BareRunner(lead), MemoryRunner(lead)
    bare: list[float] = []
    bare_json: list[float] = []
    memory: list[float] = []
    engine: list[float] = []
    commits: list[float] = []
    with throwaway_engine() as ctx:
        engine_runner = EngineRunner(ctx)
        commit_probe = CommitProbe(ctx)
        for r in range(rounds):
            # Interleaved, so a change in machine load during the run touches all three alike.
            bare += bare_runner.run(_share(sizes.bare_cases, rounds, r))
            bare_json += bare_runner.run_full_json(_share(sizes.bare_cases, rounds, r))
            memory += memory_runner.run(_share(sizes.bare_cases, rounds, r))
            engine += engine_runner.run(_share(sizes.engine_cases, rounds, r))
            commits += commit_probe.run(_share(sizes.bare_cases, rounds, r))
        if engine_runner.path != bare_runner.path:
            raise RuntimeError(f"paths differ: bare {bare_runner.path}, engine {engine_runner.path}")
        metrics["bare_tx_ms"] = _ms(_median(bare))
        metrics["bare_tx_count"] = float(len(bare))
        metrics["bare_json_tx_ms"] = _ms(_median(bare_json))
        metrics["engine_mem_tx_ms"] = _ms(_median(memory))
        metrics["engine_mem_vs_bare"] = metrics["engine_mem_tx_ms"] / metrics["bare_tx_ms"]
        metrics["engine_tx_ms"] = _ms(_median(engine))
        metrics["engine_tx_count"] = float(len(engine))
        metrics["engine_vs_bare"] = metrics["engine_tx_ms"] / metrics["bare_tx_ms"]
        metrics["durable_commit_ms"] = _ms(_median(commits))
        metrics["durable_commit_count"] = float(len(commits))
        metrics["floor_vs_bare"] = (metrics["bare_tx_ms"] + metrics["durable_commit_ms"]) / metrics["bare_tx_ms"]
        echo("  phases of an engine transaction ...")
        metrics.update(engine_phases.measure(engine_runner.run, max(1, sizes.engine_cases // rounds)))
        echo(f"  timers: {sizes.due_timers} due cases, {sizes.idle_waiting} waiting ...")
        metrics.update(measure_timers(ctx, sizes, echo))
    with throwaway_app() as (app, ctx):
        metrics.update(pages_bench.measure(app, ctx, sizes.pages_open, sizes.page_reps, echo))
    metrics["total_s"] = time.perf_counter() - began
    echo("")
    for line in render(metrics, sizes, quick, bare_runner.path, rounds):
        echo(line)
    echo(f"Total {metrics['total_s']:.1f} s; load average at the end {machine_info()['load']}.")
    return metrics
