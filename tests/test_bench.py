"""The benchmark runs end to end on its own throwaway database (tiny sizes; no timing assertions)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench import engine_bench

METRICS = ["bare_tx_ms", "engine_mem_tx_ms", "engine_tx_ms", "engine_vs_bare", "durable_commit_ms", "floor_vs_bare", "start_case_ms", "bytes_per_case",
           "state_bytes_per_case", "index_bytes_per_case", "full_snapshot_bytes", "sweep_idle_10k_ms",
           "sweep_idle_cases", "sweep_due_1k_s", "sweep_due_timers", "sweep_due_fired_once",
           "sweep_due_per_timer_ms", "sweep_due_timers_per_s", "inbox_page_ms_10k", "board_page_ms_10k",
           "inbox_service_ms_10k", "board_service_ms_10k", "pages_open_cases", "pages_inbox_tasks",
           "pages_board_rows", "pages_overdue_cases", "total_s"]


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
    # the pages ran on a mix of every dimension, department and stage, the open-case count reached exactly
    assert metrics["pages_open_cases"] == 500
    assert metrics["pages_dimensions"] == 6 and metrics["pages_departments"] >= 8 and metrics["pages_task_keys"] >= 12
    assert metrics["durable_commit_count"] >= 3
    assert metrics["floor_vs_bare"] == (metrics["bare_tx_ms"] + metrics["durable_commit_ms"]) / metrics["bare_tx_ms"]
    # the phases: every part of a completion ran in each of them, and the parts and the rest add up to the whole
    phases = {k: v for k, v in metrics.items() if k.startswith("phase_ms:")}
    assert len(phases) == 9 and all(v > 0 for k, v in phases.items() if "rest" not in k), phases
    assert abs(sum(phases.values()) - metrics["phase_total_ms"]) < 1e-9
    assert 0 < metrics["engine_tx_without_dump_ms"] < metrics["phase_total_ms"] * 2
    assert metrics["phase_count"] >= 9  # one case at least: nine completions
    from engine.services import tasks
    assert tasks.complete_task.__module__ == "engine.services.tasks" and not hasattr(tasks.complete_task, "__wrapped__")
    table = "\n".join(lines)
    for name in ("bare_tx_ms", "engine_tx_ms", "engine_vs_bare", "durable_commit_ms", "floor_vs_bare", "bytes_per_case", "sweep_idle_10k_ms",
                 "sweep_due_1k_s", "inbox_page_ms_10k", "board_page_ms_10k", "inbox_service_ms_10k",
                 "board_service_ms_10k", "engine_tx_without_dump_ms", "instance dump", "index rows"):
        assert name in table
    assert os.environ.get("CAPEXIT_DATABASE_URL") == instance_db  # the environment is restored
    assert _bench_folders() <= before  # the throwaway database is gone


def test_page_mix_shares_add_up():
    from bench import pages_bench

    for total in (60, 500, 10_000):
        shares = pages_bench._shares(total)
        assert sum(shares.values()) == total
        assert all(n >= 0 for n in shares.values())
