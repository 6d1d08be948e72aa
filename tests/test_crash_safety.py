"""Crash safety: the server is SIGKILLed at random moments while clients complete tasks and timers fire.

``capexit serve --workers 2`` (gunicorn) runs as a subprocess in its own process group on the test's
database (a temporary SQLite file, or PostgreSQL when CAPEXIT_TEST_DATABASE_URL is set). Client
threads work energy-use cases over HTTP and note every completion the server acknowledged (HTTP 200);
the simulated clock moves half a day at a time, so rectification deadlines fall due and the workers'
schedulers fire them, some racing the enterprise's last-day report. Three times, at seeded random
moments, the whole process group is killed with SIGKILL; the clock moves on while the server is down
and the server is started again. At the end the server is killed once more with timers falling due
while it is down, and started with no client at all: its scheduler must fire them on start.

Then, read back with a fresh app (no cache): every acknowledged completion is stored, every case's
index rows (open tasks, waiting timers) and status are exactly what its stored workflow instance
says, the audit trail holds one ``task_completed`` per completed step and one ``timer_fired`` per
fired timer, its hash chains are unbroken, and no timer is left due.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine import runner
from engine.clock import SHANGHAI, parse_instant
from engine.errors import Conflict
from engine.models import AuditEvent, Case, OpenTask, WaitingTimer
from engine.services import audit, cases, instances, timers
from tests.conftest import CLOCK_START, ENTERPRISE_A, _dispose, actor
from tests.test_workers import (
    APPROVE,
    CLOSE,
    NEW_CASE,
    PASS,
    RECTIFIED,
    HttpDown,
    Server,
    call,
    due_timers,
    make_token,
)
from webapp import create_app

SEED = 20260302
NOTICE_DAYS = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09"]
CASES_PER_DAY = 3
RESERVED_DAY = "2026-04-01"  # deadline 2026-10-08: falls due only in the final phase, while the server is down
TIMELINE_START = parse_instant("2026-08-31T12:00:00+08:00")
TIMELINE_STEPS = 22  # half a day each: to 2026-09-11 12:00, past every deadline of the NOTICE_DAYS cases
FINAL_INSTANT = "2026-10-09T09:00:00+08:00"
KILLS = 3
CLIENTS = 4  # threads working the cases opened before the server starts
CHURN = 2  # threads opening and finishing new cases all the time
HANDLED = {"rectify", "reinspect", "government_approval", "close_order"}
INDUSTRY = "flat_glass"  # the energy-use procedure runs rectification alone for it (no differential prices)


def open_case(ctx, day: str) -> int:
    timers.set_clock(ctx, actor("admin"), parse_instant(f"{day}T09:00:00+08:00"))
    return cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="energy_use", lead_department=None, finding={}, enterprise={
            "name": "企业0010", "credit_code": ENTERPRISE_A, "county": "任城区", "industry": INDUSTRY}))


def move_clock(ctx, instant) -> None:
    """Set the simulated clock in the database (fires nothing: the servers' schedulers do)."""
    for _ in range(50):
        try:
            timers.set_clock(ctx, actor("admin"), instant)
            return
        except Conflict:
            time.sleep(0.05)
    raise AssertionError("the clock could not be moved")


class Clients:
    """Threads working the cases over HTTP; each notes what the server acknowledged."""

    def __init__(self, server: Server, tokens: dict[str, str], plans: dict[int, int | None]) -> None:
        self.server = server
        self.tokens = tokens
        self.plans = plans  # case id -> days before the last day the enterprise reports (None: never)
        self.today = date(2026, 8, 31)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[tuple[int, str, str]] = []  # (case id, task id, key) answered 200
        self.unanswered: list[tuple[int, str, str]] = []  # sent, no answer (the server was killed)
        self.statuses: Counter = Counter()
        self.unexpected: list = []
        self.opened: list[int] = []  # cases whose opening the server acknowledged (HTTP 201)
        ids = sorted(plans)
        self.threads = [threading.Thread(target=self.run, args=(i, ids[i::CLIENTS]), daemon=True)
                        for i in range(CLIENTS)]
        self.threads += [threading.Thread(target=self.churn, args=(CLIENTS + i,), daemon=True) for i in range(CHURN)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in self.threads), "a client thread hangs"

    def choose(self, case: dict) -> tuple[dict, dict] | None:
        """The open task this client works next, with its form data, or None."""
        for task in case["open_tasks"]:
            key = task["key"]
            if key == "rectify":
                lead = self.plans[case["id"]]
                if lead is not None and case["deadline"] and \
                        self.today >= date.fromisoformat(case["deadline"]) - timedelta(days=lead):
                    return task, RECTIFIED
            elif key == "reinspect":
                return task, PASS
            elif key == "government_approval":
                return task, APPROVE
            elif key == "close_order":  # dated within the case: on or after its notice, not after today
                return task, {**CLOSE, "order_date": TIMELINE_START.date().isoformat()}
        return None

    def run(self, index: int, case_ids: list[int]) -> None:
        rng = random.Random(SEED + index)
        while not self.stop.is_set():
            for case_id in case_ids:
                if self.stop.is_set():
                    return
                base = self.server.base
                try:
                    status, case = call(base, "GET", f"/cases/{case_id}", self.tokens["supervisor"])
                except HttpDown:
                    time.sleep(0.1)
                    continue
                if status != 200:
                    self.note_unexpected(("GET", case_id, status, case))
                    continue
                chosen = self.choose(case)
                if chosen is None:
                    continue
                task, data = chosen
                token = self.tokens[task["department"]]
                try:
                    status, body = call(base, "POST", f"/tasks/{task['id']}/complete", token, data)
                except HttpDown:
                    with self.lock:
                        self.unanswered.append((case_id, task["id"], task["key"]))
                    continue
                with self.lock:
                    self.statuses[status] += 1
                    if status == 200:
                        self.acked.append((case_id, task["id"], task["key"]))
                if status not in (200, 409):
                    self.note_unexpected(("POST", case_id, task["key"], status, body))
                time.sleep(rng.uniform(0.0, 0.04))
            time.sleep(0.03)

    def churn(self, index: int) -> None:
        """Open a case, rectify, reinspect; again and again, so that a kill most often meets a write in flight."""
        rng = random.Random(SEED + index)
        steps = (("rectify", "enterprise", RECTIFIED), ("reinspect", "industry", PASS))
        while not self.stop.is_set():
            base = self.server.base
            try:
                status, case = call(base, "POST", "/cases", self.tokens["industry"], NEW_CASE)
            except HttpDown:
                time.sleep(0.1)
                continue
            if status != 201:
                self.note_unexpected(("POST /cases", status, case))
                continue
            with self.lock:
                self.opened.append(case["id"])
            for key, who, data in steps:
                task = next((t for t in case["open_tasks"] if t["key"] == key), None)
                if task is None:
                    self.note_unexpected(("no open", key, case))
                    break
                try:
                    status, case = call(base, "POST", f"/tasks/{task['id']}/complete", self.tokens[who], data)
                except HttpDown:
                    with self.lock:
                        self.unanswered.append((task["case_id"], task["id"], key))
                    break
                with self.lock:
                    self.statuses[status] += 1
                    if status == 200:
                        self.acked.append((case["id"], task["id"], key))
                if status != 200:
                    self.note_unexpected(("POST", task["case_id"], key, status, case))
                    break
            time.sleep(rng.uniform(0.0, 0.02))

    def note_unexpected(self, what) -> None:
        with self.lock:
            self.unexpected.append(what)


def quiet(ctx, case_ids: list[int]) -> bool:
    """Nothing left for the clients: no handled task open, no timer due."""
    with ctx.unit_of_work() as session:
        left = session.scalar(sa.select(sa.func.count()).select_from(OpenTask).where(
            OpenTask.case_id.in_(case_ids), OpenTask.key.in_(HANDLED)))
    return left == 0 and not due_timers(ctx)


def wait_for(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def test_killed_server_loses_nothing_and_fires_every_due_timer(app, ctx, tmp_path):
    rng = random.Random(SEED)
    active = [open_case(ctx, day) for day in NOTICE_DAYS for _ in range(CASES_PER_DAY)]
    reserved = [open_case(ctx, RESERVED_DAY) for _ in range(2)]
    # two in three enterprises report 0-2 days before their last day (0: racing the deadline), the rest never
    plans = {case_id: rng.choice([0, 0, 1, 2, None, None]) for case_id in active}
    tokens = {"supervisor": make_token(ctx, "supervisor", "supervisor"),
              "enterprise": make_token(ctx, "firm_a", "enterprise", enterprise=ENTERPRISE_A),
              "industry": make_token(ctx, "staff_industry", "staff", department="industry"),
              "government": make_token(ctx, "staff_government", "staff", department="government")}
    move_clock(ctx, TIMELINE_START)

    server = Server(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=2, sweep_seconds=0.2)
    server.start()
    clients = Clients(server, tokens, plans)
    kill_steps = sorted(rng.sample(range(2, TIMELINE_STEPS - 4), KILLS))
    fell_due_while_down: list[tuple[int, str]] = []
    try:
        clients.start()
        step = 0
        while step < TIMELINE_STEPS:
            instant = TIMELINE_START + timedelta(hours=12 * step)
            move_clock(ctx, instant)
            clients.today = instant.astimezone(SHANGHAI).date()
            time.sleep(rng.uniform(0.15, 0.5))
            if kill_steps and step >= kill_steps[0]:
                kill_steps.pop(0)
                server.kill()  # at a random moment of the clients' work and the schedulers' sweeps
                while step + 1 < TIMELINE_STEPS:  # the clock moves on while the server is down, until timers are due
                    step += 1
                    instant = TIMELINE_START + timedelta(hours=12 * step)
                    move_clock(ctx, instant)
                    clients.today = instant.astimezone(SHANGHAI).date()
                    if due_timers(ctx):
                        break
                fell_due_while_down += due_timers(ctx)
                server.start()
            step += 1
        for _ in kill_steps:  # kills the clock's jumps left over: while the clients finish
            time.sleep(rng.uniform(0.1, 0.5))
            server.kill()
            server.start()
        wait_for(lambda: quiet(ctx, active), "the clients and schedulers are done", timeout=20)
        clients.join()

        # last: timers fall due while the server is down; started again with no client, it fires them
        server.kill()
        move_clock(ctx, parse_instant(FINAL_INSTANT))
        waiting = due_timers(ctx)
        assert sorted(case_id for case_id, _ in waiting) == sorted(reserved)
        with ctx.unit_of_work() as session:
            last_event = session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        server.start()
        wait_for(lambda: not due_timers(ctx), "the restarted server fires the timers due while it was down",
                 timeout=15)
    finally:
        clients.stop.set()
        code = server.stop()
    assert code == 0, server.log()
    with ctx.unit_of_work() as session:
        fired_on_start = Counter(session.scalars(sa.select(AuditEvent.case_id).where(
            AuditEvent.id > last_event, AuditEvent.action == "timer_fired", AuditEvent.actor == "system")))
    assert fired_on_start == {case_id: 1 for case_id in reserved}

    assert server.starts == KILLS + 2
    assert clients.unexpected == [], clients.unexpected
    assert len(clients.acked) >= 20, (clients.acked, clients.statuses)
    assert fell_due_while_down, "no timer fell due while the server was down"
    check_store(app.config["SQLALCHEMY_DATABASE_URI"], clients.opened, clients.acked)


def check_store(url: str, opened: list[int], acked: list[tuple[int, str, str]]) -> None:
    """Read everything back with a fresh app (own connections, empty caches) and check it holds together."""
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test-secret",
                        "CAPEXIT_CLOCK": "simulated", "CAPEXIT_CLOCK_START": CLOCK_START})
    ctx = fresh.extensions["capexit"]
    try:
        checked, breaks = audit.verify(ctx)
        assert checked and breaks == [], breaks
        acked_by_case: dict[int, set[str]] = {}
        for case_id, task_id, _key in acked:
            acked_by_case.setdefault(case_id, set()).add(task_id)
        with ctx.unit_of_work() as session:
            stored = set(session.scalars(sa.select(Case.id)))
        assert set(opened) <= stored, set(opened) - stored  # every acknowledged opening is there
        for case_id in sorted(stored):  # and every case holds together, acknowledged or not
            check_case(ctx, case_id, acked_by_case.get(case_id, set()))
        assert not due_timers(ctx)
    finally:
        _dispose(fresh)


def check_case(ctx, case_id: int, acked: set[str]) -> None:
    with ctx.unit_of_work() as session:
        case = session.get(Case, case_id)
        workflow, bundle = instances.load(ctx, session, case, readonly=True)
        position = runner.position(workflow, bundle)
        open_rows = {(t.id, t.key) for t in session.scalars(sa.select(OpenTask).where(OpenTask.case_id == case_id))}
        timer_rows = {(t.id, t.task_key, t.due_at) for t in
                      session.scalars(sa.select(WaitingTimer).where(WaitingTimer.case_id == case_id))}
        events = list(session.scalars(sa.select(AuditEvent).where(AuditEvent.case_id == case_id)
                                      .order_by(AuditEvent.id)))
    where = f"case {case_id}"
    # the index rows are what the stored instance computes: nothing half-written
    assert open_rows == {(t.id, t.key) for t in position.open_tasks}, where
    assert timer_rows == {(t.id, t.key, t.due_at) for t in position.timers}, where
    if position.finished:
        assert case.status.value == (position.end_status or "exited"), where
    else:
        assert case.status.value == "open", where
    # the audit trail matches the instance: one task_completed per completed step, one timer_fired per fired timer
    done_steps = {str(t.id) for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.manual}
    completions = Counter(e.task_id for e in events if e.action == "task_completed")
    assert set(completions) == done_steps and set(completions.values()) <= {1}, (where, completions, done_steps)
    fired_steps = Counter(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                          if runner._is_timer(t))
    fired_events = Counter(json.loads(e.detail)["timer"] for e in events if e.action == "timer_fired")
    assert fired_steps == fired_events, (where, fired_steps, fired_events)
    assert case.overdue == bool(fired_events), where
    # every acknowledged completion is stored, and the case moved past that step
    assert acked <= done_steps, (where, acked - done_steps)


def test_the_check_sees_a_half_written_case(app, ctx):
    """The check above is not vacuous: a missing index row, a stray audit event or a lost acknowledgement fail it."""
    cases_ = [open_case(ctx, "2026-03-02") for _ in range(4)]
    check_store(app.config["SQLALCHEMY_DATABASE_URI"], cases_, [])
    with ctx.unit_of_work() as session:
        acked_task = session.scalar(sa.select(OpenTask.id).where(OpenTask.case_id == cases_[3]))
        session.execute(sa.delete(WaitingTimer).where(WaitingTimer.case_id == cases_[0]))
        session.execute(sa.delete(OpenTask).where(OpenTask.case_id == cases_[1]))
        audit.append(session, cases_[2], ctx.now(session), "someone", "task_completed", task_id=acked_task)
    for case_id, acked in ((cases_[0], set()), (cases_[1], set()), (cases_[2], set()), (cases_[3], {acked_task})):
        with pytest.raises(AssertionError):
            check_case(ctx, case_id, acked)
