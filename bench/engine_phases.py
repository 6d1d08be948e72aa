"""Where an engine transaction's time goes (part of ``capexit bench``).

After the timed rounds, the same path runs once more with a timer around each part of
``engine.services.tasks.complete_task``; the parts are the module functions it calls,
wrapped for the pass and restored afterwards (a wrapper costs about a microsecond).
The table shows each part's mean per completion, and the median completion with the
instance dump taken out: what any persistence that did not write the whole instance
(a journal of completions, say) would at best leave, against ``bare_tx_ms``. The pass
starts after a full garbage collection: the rounds before it leave enough garbage for
one, and its 50 ms or so would otherwise land in whichever part happened to run.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

# (label, module, function): the parts of a completion, in the order it runs them.
PARTS = (
    ("task, case and form read", "engine.services.tasks", "_open_task_with_form"),
    ("form check", "engine.services.tasks", "validate_form"),
    ("step (SpiffWorkflow)", "engine.runner", "complete"),
    ("position", "engine.runner", "position"),
    ("instance dump", "engine.store", "dumps"),
    ("case row", "engine.services.instances", "_write_case"),
    ("index rows", "engine.services.instances", "_sync_index"),
    ("audit events", "engine.services.instances", "audit"),
)
DUMP = "instance dump"
TOTAL = "engine.services.tasks", "complete_task"


class _Recorder:
    """Seconds per part of each completion."""

    def __init__(self) -> None:
        self.completions: list[dict[str, float]] = []

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if self.completions:
                    part = self.completions[-1]
                    part[label] = part.get(label, 0.0) + time.perf_counter() - started
        return timed

    def wrap_total(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.completions.append({})
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.completions[-1]["total"] = time.perf_counter() - started
        return timed


@contextlib.contextmanager
def _timed_parts(recorder: _Recorder) -> Iterator[None]:
    import importlib

    saved: list[tuple[Any, str, Any]] = []
    try:
        for label, module_name, name in PARTS:
            module = importlib.import_module(module_name)
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, recorder.wrap(label, getattr(module, name)))
        module = importlib.import_module(TOTAL[0])
        saved.append((module, TOTAL[1], getattr(module, TOTAL[1])))
        setattr(module, TOTAL[1], recorder.wrap_total(getattr(module, TOTAL[1])))
        yield
    finally:
        for module, name, original in reversed(saved):
            setattr(module, name, original)


def measure(run_cases: Callable[[int], Any], cases: int) -> dict[str, float]:
    """Run ``cases`` cases along the path with each part timed; returns the phase metrics (ms)."""
    recorder = _Recorder()
    gc.collect()  # the rounds' garbage: a full collection (about 50 ms) would land in whichever part ran then
    with _timed_parts(recorder):
        run_cases(cases)
    done = recorder.completions
    count = len(done)
    metrics = {f"phase_ms:{label}": sum(c.get(label, 0.0) for c in done) / count * 1000.0 for label, *_ in PARTS}
    parts = sum(metrics[f"phase_ms:{label}"] for label, *_ in PARTS)
    total = sum(c["total"] for c in done) / count * 1000.0
    metrics["phase_ms:rest (session, statements, commit)"] = total - parts
    metrics["phase_total_ms"] = total
    metrics["phase_count"] = float(count)
    metrics["engine_tx_without_dump_ms"] = statistics.median(c["total"] - c.get(DUMP, 0.0) for c in done) * 1000.0
    return metrics


def table_rows(m: dict[str, float]) -> list[tuple[str, str, str, str]]:
    """The phase rows of the bench table: (metric, value, baseline or target, ratio)."""
    rows = [("engine_tx_without_dump_ms", f"{m['engine_tx_without_dump_ms']:.3f} ms", "bare_tx_ms",
             f"{m['engine_tx_without_dump_ms'] / m['bare_tx_ms']:.2f}x")]
    for key, value in m.items():
        if key.startswith("phase_ms:"):
            rows.append((f"  {key.removeprefix('phase_ms:')}", f"{value:.3f} ms", "mean per completion",
                         f"{value / m['phase_total_ms']:.2f}"))
    return rows


def notes(m: dict[str, float]) -> list[str]:
    return [f"  phases: one more pass over the path ({m['phase_count']:.0f} complete_task calls) with a timer around "
            "each part (mean per completion; the ratio is the part's share of the mean completion, "
            f"{m['phase_total_ms']:.3f} ms in that pass); engine_tx_without_dump_ms = median of each completion's "
            "time less its instance dump: the least a persistence writing less than the whole instance could reach."]
