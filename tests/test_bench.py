"""The benchmark runs end to end on its own throwaway database (tiny sizes; no timing assertions)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench import engine_bench

METRICS = ["bare_tx_ms", "engine_mem_tx_ms", "engine_tx_ms", "engine_vs_bare", "start_case_ms", "bytes_per_case",
           "state_bytes_per_case", "index_bytes_per_case", "full_snapshot_bytes", "sweep_idle_10k_ms",
           "sweep_idle_cases", "sweep_due_1k_s", "sweep_due_timers", "sweep_due_fired_once",
           "sweep_due_per_timer_ms", "sweep_due_timers_per_s", "total_s"]


def _bench_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("capexit-bench-*"))


def test_bench_runs_and_fires_each_due_timer_once():
    instance_db = os.environ.get("CAPEXIT_DATABASE_URL")
    before = _bench_folders()
    lines: list[str] = []
    metrics = engine_bench.run(quick=True, echo=lines.append, scale=0.05)
    for name in METRICS:
        assert name in metrics, name
        assert metrics[name] > 0, (name, metrics[name])
    assert metrics["sweep_due_fired_once"] == metrics["sweep_due_timers"] >= 3
    assert metrics["sweep_idle_cases"] > metrics["sweep_due_timers"]
    table = "\n".join(lines)
    for name in ("bare_tx_ms", "engine_tx_ms", "engine_vs_bare", "bytes_per_case", "sweep_idle_10k_ms",
                 "sweep_due_1k_s"):
        assert name in table
    assert os.environ.get("CAPEXIT_DATABASE_URL") == instance_db  # the environment is restored
    assert _bench_folders() <= before  # the throwaway database is gone
