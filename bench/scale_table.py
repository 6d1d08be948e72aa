"""The scale benchmark's table: both databases side by side, the targets of issue 6, ratios to the bare engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}
Check = Callable[[float, dict[str, float], str], bool]


def _due_ok(value: float, m: dict[str, float], sfx: str) -> bool:
    """10,000 timers within 30 s (at the rate measured, whatever the group's size), each fired once."""
    timers = m[f"due_10k_timers_{sfx}"]
    return value / timers * 10_000 <= 30 and m[f"due_10k_fired_once_{sfx}"] == timers


# (metric, unit, target text, check, how to compare with bare_tx_ms)
ROWS: tuple[tuple[str, str, str, Check | None, str], ...] = (
    ("inbox_median_ms_100k", "ms", "", None, "ms"),
    ("inbox_p95_ms_100k", "ms", "< 30 ms", lambda v, m, s: v < 30, "ms"),
    ("  inbox_page_median_ms_100k", "ms", "", None, "ms"),
    ("  inbox_page_p95_ms_100k", "ms", "", None, "ms"),
    ("case_page_ms_100k", "ms", "", None, "ms"),
    ("  case_page_p95_ms_100k", "ms", "", None, "ms"),
    ("http_complete_median_ms", "ms", "< 10 ms at 150 /s offered", lambda v, m, s: v < 10, "ms"),
    ("http_complete_p95_ms", "ms", "", None, "ms"),
    ("  http_paced_per_s", "/s", "", None, "per_s"),
    ("http_complete_per_s", "/s", ">= 150 /s (saturated)", lambda v, m, s: v >= 150, "per_s"),
    ("  http_saturated_median_ms", "ms", "", None, "ms"),
    ("  http_saturated_p95_ms", "ms", "", None, "ms"),
    ("sweep_idle_100k_ms", "ms", "< 20 ms", lambda v, m, s: v < 20, "ms"),
    ("due_10k_fire_s", "s", "10,000 in <= 30 s, each once", _due_ok, "per_timer"),
    ("  due_10k_per_s", "/s", "", None, "per_s"),
    ("  due_one_sweeper_per_s", "/s", "", None, "per_s"),
    ("timer_latency_s", "s", "<= 2 s", lambda v, m, s: v <= 2, ""),
    ("  timer_latency_max_s", "s", "", None, ""),
    ("bytes_per_case", "B", "", None, ""),
    ("  state_bytes_per_case", "B", "", None, ""),
    ("  case_row_bytes_per_case", "B", "", None, ""),
    ("  index_bytes_per_case", "B", "", None, ""),
    ("  audit_bytes_per_case", "B", "", None, ""),
    ("  disk_bytes_per_case", "B", "", None, ""),
    ("generate_s", "s", "< 120 s", lambda v, m, s: v < 120, ""),
)


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "/s":
        return f"{value:,.0f} /s"
    return f"{value:,.0f} B"


def _vs_bare(m: dict[str, float], name: str, sfx: str, how: str) -> str:
    bare = m["bare_tx_ms"]
    value = m[f"{name}_{sfx}"]
    if how == "ms":
        return f"{value / bare:,.1f}x"
    if how == "per_s":
        return f"{value / (1000 / bare):.3f}x"
    if how == "per_timer":
        return f"{value * 1000 / m[f'due_10k_timers_{sfx}'] / bare:,.1f}x per timer"
    return ""


def render(m: dict[str, float], dbs: tuple[str, ...], sizes: Any, info: dict[str, str]) -> list[str]:
    """The table and the notes under it, as printed lines."""
    headers = ["metric", *(NAMES[d] for d in dbs), "target", *(f"{NAMES[d]} / bare_tx" for d in dbs)]
    rows = [["bare_tx_ms", *(_fmt(m["bare_tx_ms"], "ms") for _ in dbs), "baseline (bare SpiffWorkflow)",
             *("1.0x" for _ in dbs)]]
    for name, unit, target, check, how in ROWS:
        key = name.strip()
        cells = []
        for d in dbs:
            value = m[f"{key}_{d}"]
            verdict = "" if check is None else (" ok" if check(value, m, d) else " MISSED")
            cells.append(_fmt(value, unit) + verdict)
        rows.append([name, *cells, target, *(_vs_bare(m, key, d, how) for d in dbs)])
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) for i in range(len(headers))]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out += ["", *notes(m, dbs, sizes, info)]
    return out


def notes(m: dict[str, float], dbs: tuple[str, ...], sizes: Any, info: dict[str, str]) -> list[str]:
    """What the numbers mean: sizes, data set and method, per database where they differ."""
    out = [f"Machine: {info['cpus']} cores, Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL "
           f"{info['postgresql']}, SQLAlchemy {info['sqlalchemy']}, SpiffWorkflow {info['spiffworkflow']}, "
           f"{info['platform']}; load average {info['load']} at the start, {info['load_end']} at the end; "
           f"{info['date']}. Total {m['total_s']:.0f} s."]
    for d in dbs:
        s = d
        out.append(
            f"{NAMES[d]}: {m[f'cases_{s}']:,.0f} cases built in {m[f'generate_s_{s}']:.1f} s "
            f"({m[f'template_cases_{s}']:,.0f} real ones through the engine in {m[f'template_s_{s}']:.1f} s, "
            f"the rest copied in bulk SQL in {m[f'copy_s_{s}']:.1f} s): {m[f'open_cases_{s}']:,.0f} open, "
            f"{m[f'closed_cases_{s}']:,.0f} closed (compliant, exited), {m[f'open_tasks_{s}']:,.0f} open tasks, "
            f"{m[f'waiting_timers_{s}']:,.0f} waiting timers, {m[f'audit_events_{s}']:,.0f} audit events; "
            f"inbox of {m[f'inbox_tasks_{s}']:,.0f} tasks; "
            + (f"audit verify: {m[f'audit_events_checked_{s}']:,.0f} events checked at the end, no break; "
               if f"audit_events_checked_{s}" in m else "")
            + f"whole run on this database {m[f'database_s_{s}']:.0f} s.")
    out += [
        f"Method: every figure from one run. inbox = inbox.inbox_page (counts + first page of 25, default sort) "
        f"for a staff user of industry, {sizes.inbox_reps} calls after 3 warm-up, interleaved in 5 rounds with "
        "GET /inbox (Flask test client, signed in, server time in-process); case page = GET /cases/<id> as a "
        f"supervisor for {sizes.page_reps} random cases after 3 warm-up, median; idle sweep = timers.sweep "
        f"with nothing due, median of {sizes.idle_reps}; bytes = every value of a case's rows (cases incl. the "
        "compressed state, open_tasks, waiting_timers, audit_events) as text, summed and divided by the cases; "
        "disk = the whole database (SQLite pages in use; pg_database_size) over the cases.",
        f"  HTTP: capexit serve --workers 2 (gunicorn gthread, 1 thread a worker: the default, simulated clock, default "
        f"1 s sweep in every worker) on the same database; clients in the bench process complete distinct open "
        "reinspect tasks (result pass), each with a keep-alive connection (opened again every 25 requests) and "
        "a staff token, after a warm-up of 8; client-side time per request (the answer is the case view; no garbage collection in the clients' process while timing). "
        f"Latency (median, p95): {sizes.http_paced:,} requests offered at "
        f"{m.get(f'http_paced_rate_{dbs[0]}', 150):.0f} a second (open loop, "
        f"{int(m.get(f'http_paced_senders_{dbs[0]}', 8))} sending threads, each time counted from the moment "
        "the request was due). Throughput: "
        f"{int(m.get(f'http_clients_{dbs[0]}', 4))} client threads back to back (closed loop), timed "
        "completions / wall time; their own times are the saturated median and p95 (in a closed loop the mean "
        "time is clients / throughput). Every answer 200, each task completed once (one task_completed event, "
        "no longer open).",
        f"  Due: the clock set just past the due group's deadline ({sizes.due:,} safety cases, one instant) with "
        "the server idle; its two workers' schedulers fire them (two sweepers in parallel); time until none is "
        "left due (polled every 50 ms); each fired once and waits on government_approval, no other case fired. "
        f"Before the server started, a smaller group ({sizes.sweep_due:,} cases, an earlier instant) was fired by "
        "one timers.sweep in the benchmark's process (due_one_sweeper_per_s), for comparison.",
        f"  Latency: {sizes.latency_samples} timers, each falling due alone: clock set 1 s past its due instant "
        "after a random pause of up to 1 s; time until its firing is committed (row gone from waiting_timers, "
        "polled every 5 ms); median.",
        f"  bare_tx_ms = engine_bench's bare SpiffWorkflow transaction (in memory, no persistence), "
        f"{m['bare_tx_count']:.0f} transactions before the first database and after the last; ratios divide "
        "by it (per second: by bare transactions a second; due: per timer).",
    ]
    out.append("  After the bulk load, before any measurement: PostgreSQL VACUUM ANALYZE (as autovacuum does after a "
               "burst of inserts) and CHECKPOINT (the load's checkpoint done, not writing during the timings); "
               "SQLite: WAL checkpoint, no ANALYZE (the app never runs it).")
    return out
