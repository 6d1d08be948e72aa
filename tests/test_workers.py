"""``capexit serve --workers 2``: gunicorn with two worker processes on one database, driven over HTTP.

The server runs as a real subprocess (its own process group) on the test's database: a temporary
SQLite file, or PostgreSQL when CAPEXIT_TEST_DATABASE_URL is set. Client threads open cases and
complete tasks in parallel; the simulated clock is moved through the API while the scheduler of
every worker sweeps too, and each timer still fires once. The helpers here (``Server``, ``call``)
serve tests/test_crash_safety.py as well.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.models import AuditEvent, OpenTask, WaitingTimer
from engine.services import users
from tests.conftest import CLOCK_START, ENTERPRISE_A, PASSWORD, START_DAY

RECTIFIED = {"outcome": "rectified", "report": "已完成节能改造"}
PASS = {"result": "pass", "findings": "复查达标"}
APPROVE = {"approved": True, "opinion": "同意关停"}
CLOSE = {"order_no": "济政关〔2026〕1号", "order_date": START_DAY, "grounds": "逾期未整改"}
START_TIMEOUT = 40.0
ROOT = Path(__file__).resolve().parent.parent  # the server runs this checkout's code, as the tests do


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HttpDown(Exception):
    """No answer: the connection was refused, reset or timed out (the server is down or was killed)."""


def call(base: str, method: str, path: str, token: str | None = None, body: Any = None,
         timeout: float = 20.0) -> tuple[int, Any]:
    """One JSON request; returns (status, parsed body). Raises HttpDown when there is no HTTP answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/api/v1{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise HttpDown(str(exc)) from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


class Server:
    """``capexit serve`` as a subprocess in its own process group, on a new free port at every start."""

    def __init__(self, db_url: str, log_dir: Path, workers: int = 2, sweep_seconds: float = 0.2,
                 extra: tuple[str, ...] = ()) -> None:
        self.db_url = db_url
        self.extra = extra
        self.log_dir = log_dir
        self.workers = workers
        self.sweep_seconds = sweep_seconds
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.starts = 0

    def start(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "CAPEXIT_DATABASE_URL": self.db_url, "CAPEXIT_CLOCK": "simulated",
               "CAPEXIT_CLOCK_START": CLOCK_START, "CAPEXIT_SECRET_KEY": "test-secret",
               "CAPEXIT_SWEEP_SECONDS": str(self.sweep_seconds), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop("CAPEXIT_SCHEDULER", None)
        self.starts += 1
        log = open(self.log_dir / f"server-{self.starts}.log", "wb")  # noqa: SIM115 (the child writes it)
        argv = [sys.executable, "-c", "from webapp.cli import main; main(prog_name='capexit')", "serve",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers), *self.extra]
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.log_dir)
        log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = call(self.base, "GET", "/openapi.json", timeout=5)
                if status == 200:
                    return
            except HttpDown:
                pass
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"the server did not answer within {START_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        path = self.log_dir / f"server-{self.starts}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: processes whose parent is the server's process."""
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                children.append(int(entry))
        return children

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers), as a power cut would."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> int:
        """Terminate cleanly (gunicorn: graceful shutdown) and wait; returns the exit code."""
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = -9
        try:  # nothing of the group may outlive the test
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None
        return code


def make_token(ctx, name: str, role: str, department: str | None = None, enterprise: str | None = None) -> str:
    """An account and a bearer token for it, made in-process before the server starts."""
    return users.issue_token(ctx, users.add_user(ctx, name, role, PASSWORD, department=department,
                                                 enterprise=enterprise))


# flat glass: an industry the energy-use procedure leads through rectification alone (no differential prices)
NEW_CASE = {"dimension": "energy_use", "finding": {},
            "enterprise": {"name": "企业0010", "credit_code": ENTERPRISE_A, "county": "任城区", "industry": "flat_glass"}}


def test_two_workers_complete_each_task_once_and_fire_each_timer_once(app, ctx, tmp_path):
    staff = make_token(ctx, "staff_industry", "staff", department="industry")
    firm = make_token(ctx, "firm_a", "enterprise", enterprise=ENTERPRISE_A)
    supervisors = [make_token(ctx, f"supervisor{i}", "supervisor") for i in range(2)]
    server = Server(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=2)
    server.start()
    try:
        assert len(server.worker_pids()) == 2, server.log()
        with ThreadPoolExecutor(max_workers=8) as pool:
            opened = list(pool.map(lambda _: call(server.base, "POST", "/cases", staff, NEW_CASE), range(20)))
            assert [status for status, _ in opened] == [201] * 20, opened
            case_ids = [body["id"] for _, body in opened]
            assert len(set(case_ids)) == 20
            rectify = {body["id"]: body["open_tasks"][0]["id"] for _, body in opened}
            assert {body["open_tasks"][0]["key"] for _, body in opened} == {"rectify"}

            # half the cases: every rectify sent twice at once; one of each pair wins, the other gets 409
            completed = case_ids[:10]
            jobs = [(case_id, rectify[case_id]) for case_id in completed for _ in range(2)]
            answers = list(pool.map(lambda job: (job[0], call(server.base, "POST", f"/tasks/{job[1]}/complete",
                                                              firm, RECTIFIED)[0]), jobs))
            by_case: dict[int, list[int]] = {}
            for case_id, status in answers:
                by_case.setdefault(case_id, []).append(status)
            assert all(sorted(statuses) == [200, 409] for statuses in by_case.values()), by_case

            # the reinspections, in parallel: each case compliant
            def reinspect(case_id: int) -> int:
                status, case = call(server.base, "GET", f"/cases/{case_id}", staff)
                assert status == 200 and [t["key"] for t in case["open_tasks"]] == ["reinspect"], case
                return call(server.base, "POST", f"/tasks/{case['open_tasks'][0]['id']}/complete", staff, PASS)[0]

            assert list(pool.map(reinspect, completed)) == [200] * 10

            # two supervisors move the clock past the deadline at once; every worker's scheduler sweeps too
            target = {"to": "2026-09-03T00:00:01+08:00"}
            moved = list(pool.map(lambda token: call(server.base, "POST", "/clock/advance", token, target),
                                  supervisors))
            assert [status for status, _ in moved] == [200, 200], moved
        wait_until(lambda: not due_timers(ctx), "the due timers fire")
        statuses = [call(server.base, "GET", f"/cases/{case_id}", staff)[1] for case_id in case_ids]
    finally:
        code = server.stop()
    assert code == 0, server.log()

    actions = audit_counts(ctx)
    for case_id in completed:
        assert actions[case_id]["task_completed"] == 2, actions[case_id]  # rectify and reinspect, once each
        assert actions[case_id]["timer_fired"] == 0
    for case_id in case_ids[10:]:
        assert actions[case_id]["timer_fired"] == 1, actions[case_id]
        assert actions[case_id]["task_completed"] == 0
    with ctx.unit_of_work() as session:
        per_task = Counter(session.scalars(sa.select(AuditEvent.task_id).where(
            AuditEvent.action == "task_completed")))
        open_keys = Counter(session.scalars(sa.select(OpenTask.key)))
    assert set(per_task.values()) == {1} and len(per_task) == 20
    assert open_keys == {"government_approval": 10}
    assert [case["status"] for case in statuses[:10]] == ["compliant"] * 10
    assert all(case["status"] == "open" and case["overdue"] for case in statuses[10:])


@pytest.mark.parametrize("extra", [(), ("--gunicorn",)], ids=["plain", "gunicorn"])
def test_one_worker_serves_and_its_scheduler_fires_due_timers(app, ctx, tmp_path, extra):
    """``capexit serve`` as before (Flask's threaded server), and ``--gunicorn`` with one worker."""
    from engine.clock import parse_instant
    from engine.services import cases, timers
    from tests.conftest import actor

    case_id = cases.start_case(ctx, actor("staff", "industry"), cases.NewCase(
        dimension="energy_use", lead_department=None, finding={}, enterprise=NEW_CASE["enterprise"]))
    staff = make_token(ctx, "staff_industry", "staff", department="industry")
    server = Server(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=1, extra=extra)
    server.start()
    try:
        assert len(server.worker_pids()) == (1 if extra else 0), server.log()
        status, case = call(server.base, "GET", f"/cases/{case_id}", staff)
        assert status == 200 and [t["key"] for t in case["open_tasks"]] == ["rectify"]
        timers.set_clock(ctx, actor("admin"), parse_instant("2026-09-03T00:00:01+08:00"))  # no sweep here
        wait_until(lambda: not due_timers(ctx), "the server's scheduler fires the timer")
        status, case = call(server.base, "GET", f"/cases/{case_id}", staff)
        assert [t["key"] for t in case["open_tasks"]] == ["government_approval"] and case["overdue"]
    finally:
        code = server.stop()
    assert code in ((0,) if extra else (0, -15)), server.log()
    assert audit_counts(ctx)[case_id]["timer_fired"] == 1


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def due_timers(ctx) -> list[tuple[int, str]]:
    """(case id, timer key) of every waiting timer already due by the simulated clock."""
    with ctx.unit_of_work() as session:
        now = ctx.now(session)
        rows = session.execute(sa.select(WaitingTimer.case_id, WaitingTimer.task_key).where(WaitingTimer.due_at < now))
        return [tuple(row) for row in rows]


def audit_counts(ctx) -> dict[int, Counter]:
    """Per case, how many events of each action."""
    counts: dict[int, Counter] = {}
    with ctx.unit_of_work() as session:
        for case_id, action in session.execute(sa.select(AuditEvent.case_id, AuditEvent.action)
                                               .where(AuditEvent.case_id.is_not(None))):
            counts.setdefault(case_id, Counter())[action] += 1
    return counts
