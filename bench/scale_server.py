"""The scale benchmark's real server: ``capexit serve --workers 2`` as a subprocess, and clients driving it.

:class:`BenchServer` starts the server on the benchmark's database in its own process group
(simulated clock, default sweep interval: ``CAPEXIT_SWEEP_SECONDS`` is left unset, so every
worker's APScheduler sweeps each second) and stops it. :func:`complete_tasks` completes distinct
open tasks over HTTP from client threads, each with its own keep-alive connection
(``http.client``) and bearer token, and times every request on the client side.
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BenchServer:
    """``capexit serve --workers N`` (gunicorn) on ``url`` in its own process group, logging to ``folder``."""

    def __init__(self, url: str, folder: Path, workers: int = 2) -> None:
        self.url, self.folder, self.workers = url, folder, workers
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> BenchServer:
        env = {**os.environ, "CAPEXIT_DATABASE_URL": self.url, "CAPEXIT_CLOCK": "simulated",
               "CAPEXIT_SECRET_KEY": "bench", "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        for name in ("CAPEXIT_SWEEP_SECONDS", "CAPEXIT_SCHEDULER", "CAPEXIT_CLOCK_START"):
            env.pop(name, None)  # the defaults: sweep every second in every worker; the clock is in the database
        argv = [sys.executable, "-c", "from webapp.cli import main; main(prog_name='capexit')", "serve",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.folder)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def log(self) -> str:
        """The end of the server's output."""
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = request(self.port, "GET", "/api/v1/openapi.json")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {START_TIMEOUT:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        """Terminate gracefully (gunicorn finishes its requests), then make sure nothing of the group is left."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None


def request(port: int, method: str, path: str, token: str | None = None, body: Any = None,
            connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    """One request (on ``connection`` if given, kept alive); returns (status, body)."""
    own = connection is None
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        if own:
            conn.close()


@dataclass
class Completions:
    """What the clients saw: one (task id, status, seconds) per request, and the wall time of the timed part."""

    results: list[tuple[str, int, float]] = field(default_factory=list)
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def _post_completion(port: int, conn: http.client.HTTPConnection, task_id: str, token: str, data: dict[str, Any],
                     out: Completions, lock: threading.Lock) -> tuple[int, http.client.HTTPConnection]:
    """Complete one task on ``conn``; returns the status and the connection to go on with. A request that gets
    no HTTP answer is noted in ``out.errors`` with status -1, and a fresh connection replaces the broken one."""
    try:
        status, _ = request(port, "POST", f"/api/v1/tasks/{task_id}/complete", token, data, conn)
        return status, conn
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        with lock:
            out.errors.append(f"{task_id}: {exc!r}")
        return -1, http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def complete_tasks(port: int, jobs: list[list[tuple[str, str]]], data: dict[str, Any],
                   reconnect_every: int = 25) -> Completions:
    """Client thread ``i`` completes the tasks ``jobs[i]`` (task id, bearer token) one after another with ``data``.

    A kept-alive connection stays with the worker that accepted it, so each client opens a new one every
    ``reconnect_every`` requests: the clients spread over the workers however the first connections fell.
    """
    out = Completions()
    lock = threading.Lock()
    ready = threading.Barrier(len(jobs) + 1)

    def client(mine: list[tuple[str, str]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        seen: list[tuple[str, int, float]] = []
        try:
            try:
                conn.connect()
            finally:
                ready.wait()  # every client connected (or failed to): the timed part starts for all at once
            for n, (task_id, token) in enumerate(mine, start=1):
                if n % reconnect_every == 0:
                    conn.close()  # the next request connects again
                started = time.perf_counter()
                status, conn = _post_completion(port, conn, task_id, token, data, out, lock)
                seen.append((task_id, status, time.perf_counter() - started))
        finally:
            conn.close()
            with lock:
                out.results += seen

    threads = [threading.Thread(target=client, args=(mine,)) for mine in jobs]
    with client_gc_paused():
        for thread in threads:
            thread.start()
        ready.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        out.wall_s = time.perf_counter() - started
    return out


def complete_at_rate(port: int, jobs: list[tuple[str, str]], data: dict[str, Any], rate: float,
                     senders: int = 8, reconnect_every: int = 25) -> Completions:
    """Complete the tasks ``jobs`` (task id, bearer token) at a fixed offered load: request ``i`` is due
    ``i / rate`` seconds after the start, whether or not earlier answers have come (an open loop).

    ``senders`` threads, each with its own kept-alive connection, take the next request when free and
    wait for its moment. Each request's time runs from the moment it was due, not from when a sender
    got to it, so a slow answer that holds up the requests behind it is counted in theirs too.
    """
    out = Completions()
    lock = threading.Lock()
    ready = threading.Barrier(senders + 1)
    queue = iter(enumerate(jobs))
    start: list[float] = []

    def sender() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        seen: list[tuple[str, int, float]] = []
        sent = 0
        try:
            ready.wait()
            while True:
                with lock:
                    job = next(queue, None)
                if job is None:
                    break
                index, (task_id, token) = job
                due = start[0] + index / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                sent += 1
                if sent % reconnect_every == 0:
                    conn.close()
                status, conn = _post_completion(port, conn, task_id, token, data, out, lock)
                seen.append((task_id, status, time.perf_counter() - due))
        finally:
            conn.close()
            with lock:
                out.results += seen

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    with client_gc_paused():
        for thread in threads:
            thread.start()
        start.append(time.perf_counter() + 0.05)
        ready.wait()
        for thread in threads:
            thread.join()
        out.wall_s = time.perf_counter() - start[0]
    return out


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """No garbage collection in the benchmark's own process while it times requests (as ``timeit`` does).

    The benchmark's process holds everything it built; a full collection there stops every client
    thread for as long as it takes, and that pause would be counted as the server's time.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
