"""The data set of the scale benchmark: any number of cases over every dimension and stage, built fast.

:func:`build` works on an empty, initialised database with the simulated clock:

1. **Templates, through the real engine.** For every kind in ``KINDS`` (the mix of
   ``pages_bench.RECIPES``, from first orders to closure measures and cases gone overdue, plus
   closed ones, compliant and exited) ``start_case`` and ``complete_task`` make real cases,
   opened on ``template_days`` notice days ``STEP_DAYS`` apart, so statutory deadlines spread
   over those days and department-set deadlines over the days after the benchmark's "now".
   Then two *due groups* (safety cases whose period, set by the department, ends on the first
   working day after "now", and on the second) and one *latency case* each for the following
   working days.
2. **Copies, in bulk SQL.** Each template is copied until the kinds reach their shares of the
   cases (``pages_bench._shares``) and the due groups their counts: the case row with its
   workflow state, its enterprise (a name of its own and a valid credit code), its
   ``open_tasks`` and ``waiting_timers`` rows, its audit events (hash chain recomputed for the
   new case, as ``engine.services.audit`` computes it) and announcements. The stored state is
   the template's JSON with every SpiffWorkflow task id replaced by a fresh one (the first 48
   bits of each id set per copy, so ids stay unique and consistent between the state, the
   index rows and the audit trail) and the enterprise's name and credit code replaced, then
   compressed as ``engine.store.dumps`` stores it. A copy is therefore a case the engine can
   load, complete and fire like any other. Rows go in with ``executemany`` in batches of
   ``CHUNK`` copies, one transaction each.

The timeline: the clock starts at ``CLOCK_START``; the overdue kinds are opened first and the
clock advances ``OVERDUE_DAYS`` days with a sweep (their deadlines pass, timers fire); then the
template days; then "now" (``Generated.now``), one day after the last template day. Every timer
still waiting falls due after the latency cases', except the due groups': each group's timers all fall
due at one instant (``DueGroup.at``), the sweep group's first.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.pages_bench import (
    APPROVE,
    CLOSE,
    COUNTIES,
    FAIL,
    RECIPES,
    RECORD,
    RECTIFIED,
    TODAY,
    Recipe,
    _Opener,
    _shares,
)

CLOCK_START = "2026-03-02T09:00:00+08:00"  # a Monday
OVERDUE_DAYS = 10
STEP_DAYS = 4
CHUNK = 2000
SEED = 20261124
PASS = ("reinspect", {"result": "pass", "findings": "复查达标。"})
MEASURES = (("resettle_workers", {"workers_affected": 120, "plan": "内部转岗与社保接续。"}),
            ("review_special_funds", {"eligible": True, "amount": 200, "basis": "符合职工安置专项资金支持条件。"}),
            ("cancel_licence", {"licence_no": "XK05-001-00001", "authority": "省市场监督管理局",
                                "requested_on": TODAY}))
KINDS: tuple[Recipe, ...] = (
    *RECIPES,
    Recipe("energy_use compliant", "energy_use", "flat_glass", (RECTIFIED, PASS), 5),
    Recipe("energy_use exited", "energy_use", "flat_glass", (RECTIFIED, FAIL, APPROVE, CLOSE, RECORD, *MEASURES), 4),
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def rectify_until(day: date) -> Recipe:
    """A safety case whose rectification period, set by the department, ends on ``day``."""
    order = ("order_suspension", {"order_no": "济应急停〔2026〕9号", "rectify_until": day.isoformat(),
                                  "requirements": "完成安全整改"})
    return Recipe(f"safety rectify until {day}", "safety", "steel", (order,), 0)


@dataclass
class DueGroup:
    """Cases whose one waiting timer falls due at the same instant."""

    ids: list[int]
    at: datetime


@dataclass
class Generated:
    """What :func:`build` made, and what the measurements need of it."""

    cases: int
    template_cases: int
    now: datetime  # the clock after the build
    sweep_group: DueGroup  # falls due first: fired by one sweep in the benchmark's process
    due_group: DueGroup  # falls due next: fired by the server's workers
    latency: list[tuple[int, datetime]]  # (case id, due instant), one per later working day
    open_cases: int = 0
    closed_cases: int = 0
    waiting_timers: int = 0
    open_tasks: int = 0
    audit_events: int = 0
    template_s: float = 0.0
    copy_s: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)


def _days_after(calendar: Any, day: date, count: int) -> list[date]:
    """The first ``count`` working days after ``day``."""
    out: list[date] = []
    while len(out) < count:
        day = calendar.next_working_day(day + timedelta(days=1))
        out.append(day)
    return out


def build(ctx: Any, cases: int, sweep_due: int, due: int, template_days: int, latency_samples: int,
          progress: Callable[[int], None] | None = None) -> Generated:
    """Fill the empty database behind ``ctx`` with ``cases`` cases, ``sweep_due`` and ``due`` of them in the two
    due groups; ``progress(n)`` is told of every ``n`` cases made."""
    from engine.calendar import RestDayCalendar
    from engine.clock import SHANGHAI, parse_instant
    from engine.context import SYSTEM
    from engine.services import timers

    started = time.perf_counter()
    start = parse_instant(CLOCK_START)
    days = [start + timedelta(days=OVERDUE_DAYS + i * STEP_DAYS) for i in range(template_days)]
    now = days[-1] + timedelta(days=1)
    today = now.astimezone(SHANGHAI).date()
    sweep_day, due_day, *latency_days = _days_after(RestDayCalendar(), today, 2 + latency_samples)
    field_base = (latency_days[-1] if latency_days else due_day) + timedelta(days=1)

    opener = _Opener(ctx)
    tick = progress or (lambda _n: None)

    def seed(kind: Recipe, base: date | None = None) -> int:
        case_id = opener.seed(kind, base)
        tick(1)
        return case_id

    templates: dict[str, list[int]] = {}
    for kind in (k for k in KINDS if k.before_advance):
        templates[kind.name] = [seed(kind) for _ in range(min(2, template_days))]
    timers.advance_clock(ctx, SYSTEM, by=f"P{OVERDUE_DAYS}D")  # their deadlines pass: timers fire
    for i, day in enumerate(days):
        timers.set_clock(ctx, SYSTEM, day)
        for kind in (k for k in KINDS if not k.before_advance):
            templates.setdefault(kind.name, []).append(seed(kind, base=field_base + timedelta(days=i)))
    timers.set_clock(ctx, SYSTEM, now)
    groups = {"sweep": (sweep_day, sweep_due), "due": (due_day, due)}
    group_templates = {g: [seed(rectify_until(day)) for _ in range(min(2, template_days, n))]
                       for g, (day, n) in groups.items()}
    latency_ids = [seed(rectify_until(day)) for day in latency_days]
    real = sum(map(len, [*templates.values(), *group_templates.values()])) + len(latency_ids)
    template_s = time.perf_counter() - started

    in_groups = sweep_due + due
    shares = _shares(max(0, cases - in_groups - len(latency_ids)), KINDS)
    copies = {name: max(0, shares[name] - len(ids)) for name, ids in templates.items()}
    group_copies = {g: n - len(group_templates[g]) for g, (_, n) in groups.items()}
    missing = cases - real - sum(copies.values()) - sum(group_copies.values())
    if missing:  # small sizes: more templates than some kinds' shares
        biggest = max(copies, key=lambda n: copies[n])
        copies[biggest] = max(0, copies[biggest] + missing)
    rng = random.Random(SEED)
    plan = [ids[k % len(ids)] for name, ids in templates.items() for k in range(copies[name])]
    for g, ids in group_templates.items():
        plan += [ids[k % len(ids)] for k in range(group_copies[g])]
    rng.shuffle(plan)  # ids interleave the kinds, as cases opened over time would
    started = time.perf_counter()
    first_copy = copy_cases(ctx, plan, rng, progress)
    copy_s = time.perf_counter() - started

    def members(g: str) -> DueGroup:
        own = set(group_templates[g])
        return DueGroup(sorted([*own, *(first_copy + k for k, t in enumerate(plan) if t in own)]), datetime.min)

    generated = Generated(cases=real + len(plan), template_cases=real, now=now, sweep_group=members("sweep"),
                          due_group=members("due"), latency=[], template_s=template_s, copy_s=copy_s,
                          kinds={name: len(ids) + copies[name] for name, ids in templates.items()})
    _check(ctx, generated, latency_ids, cases)
    return generated


def _check(ctx: Any, generated: Generated, latency_ids: list[int], cases: int) -> None:
    """Count what was built and find the due instants; refuse a data set whose timers would not fall due apart."""
    from engine.models import AuditEvent, Case, CaseStatus, OpenTask, WaitingTimer

    def due_by(session: Any, instant: datetime) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(WaitingTimer)
                              .where(WaitingTimer.fires, WaitingTimer.due_at <= instant))

    with ctx.unit_of_work() as session:
        by_status = dict(session.execute(sa.select(Case.status, sa.func.count()).group_by(Case.status)).all())
        generated.open_cases = by_status.get(CaseStatus.OPEN, 0)
        generated.closed_cases = sum(by_status.values()) - generated.open_cases
        generated.open_tasks = session.scalar(sa.select(sa.func.count()).select_from(OpenTask))
        generated.waiting_timers = session.scalar(sa.select(sa.func.count()).select_from(WaitingTimer))
        generated.audit_events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        for group in (generated.sweep_group, generated.due_group):
            group.at = session.scalar(sa.select(WaitingTimer.due_at).where(WaitingTimer.case_id == group.ids[0]))
        latency = dict(session.execute(sa.select(WaitingTimer.case_id, WaitingTimer.due_at)
                                       .where(WaitingTimer.case_id.in_(latency_ids))).all())
        generated.latency = sorted(((i, latency[i]) for i in latency_ids), key=lambda pair: pair[1])
        instants = [generated.now, generated.sweep_group.at, generated.due_group.at, *(d for _, d in generated.latency)]
        counts = [due_by(session, instant) for instant in instants]
    total = sum(by_status.values())
    if total != cases:
        raise RuntimeError(f"scale bench: expected {cases} cases, built {total}")
    # nothing due now; then exactly each due group at its instant; then one more timer at each latency instant
    first, second = len(generated.sweep_group.ids), len(generated.sweep_group.ids) + len(generated.due_group.ids)
    expected = [0, first, second, *(second + k for k in range(1, len(latency_ids) + 1))]
    if counts != expected:
        raise RuntimeError(f"scale bench: timers due by now, the due instants and each latency instant: {counts}, "
                           f"expected {expected}")


# ---------------------------------------------------------------- bulk copies


class _Text:
    """A template's text cut where a copy differs: task ids, the enterprise's name and credit code (JSON strings)."""

    __slots__ = ("literals", "slots")

    def __init__(self, text: str, pattern: re.Pattern[str], slot_of: Callable[[str], int]) -> None:
        self.literals: list[str] = []
        self.slots: list[int] = []
        last = 0
        for match in pattern.finditer(text):
            self.literals.append(text[last:match.start()])
            self.slots.append(slot_of(match.group()))
            last = match.end()
        self.literals.append(text[last:])

    def render(self, values: list[str]) -> str:
        """The text with each slot filled from ``values``."""
        out = [self.literals[0]]
        for slot, literal in zip(self.slots, self.literals[1:], strict=True):
            out.append(values[slot])
            out.append(literal)
        return "".join(out)


@dataclass
class _Blueprint:
    """One template case: its rows, with the text that changes per copy cut into slots."""

    case: dict[str, Any]
    enterprise: dict[str, Any]
    state: _Text
    suffixes: list[str]  # per task id slot: the id without its first 48 bits
    tasks: list[tuple[int, dict[str, Any]]]  # (id slot, row)
    timers: list[tuple[int, dict[str, Any]]]
    events: list[tuple[int | None, _Text, dict[str, Any]]]  # (task id slot, detail, row)
    announcements: list[dict[str, Any]]
    name: str


def _blueprint(conn: sa.Connection, case_id: int) -> _Blueprint:
    from engine import store
    from engine.models import Announcement, AuditEvent, Case, Enterprise, OpenTask, WaitingTimer

    def rows(model: Any, *order: Any) -> list[dict[str, Any]]:
        table = model.__table__
        return [dict(r) for r in conn.execute(sa.select(table).where(table.c.case_id == case_id)
                                              .order_by(*order)).mappings()]

    case = dict(conn.execute(sa.select(Case.__table__).where(Case.__table__.c.id == case_id)).mappings().one())
    enterprise = dict(conn.execute(sa.select(Enterprise.__table__).where(
        Enterprise.__table__.c.credit_code == case["enterprise_code"])).mappings().one())
    name = json.dumps(enterprise["name"], ensure_ascii=False)
    code = json.dumps(enterprise["credit_code"])
    pattern = re.compile(f"{UUID.pattern}|{re.escape(name)}|{re.escape(code)}")
    ids: dict[str, int] = {}

    def slot_of(text: str) -> int:
        if text == name:
            return 0
        if text == code:
            return 1
        return ids.setdefault(text, len(ids)) + 2

    stored = case["state"]
    text = (zlib.decompress(base64.b64decode(stored[len(store.COMPRESSED):])).decode("utf-8")
            if stored.startswith(store.COMPRESSED) else stored)
    state = _Text(text, pattern, slot_of)
    tasks = [(slot_of(r["id"]), r) for r in rows(OpenTask, OpenTask.__table__.c.id)]
    timers = [(slot_of(r["id"]), r) for r in rows(WaitingTimer, WaitingTimer.__table__.c.id)]
    events = [(slot_of(r["task_id"]) if r["task_id"] else None, _Text(r["detail"], pattern, slot_of), r)
              for r in rows(AuditEvent, AuditEvent.__table__.c.id)]
    announcements = rows(Announcement, Announcement.__table__.c.id)
    suffixes = [u[13:] for u in ids]  # insertion order = slot order
    return _Blueprint(case, enterprise, state, suffixes, tasks, timers, events, announcements,
                      enterprise["name"])


def _stored_state(text: str) -> str:
    """The state column as ``engine.store.dumps`` writes it: zlib level 6, base64, behind ``z:``."""
    from engine import store

    return store.COMPRESSED + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def copy_cases(ctx: Any, plan: list[int], rng: random.Random, progress: Callable[[int], None] | None) -> int:
    """Insert one copy of template case ``plan[k]`` for every k; returns the first copy's id (ids are consecutive)."""
    from engine.credit_code import make_credit_code
    from engine.models import Announcement, AuditEvent, Case, Enterprise, OpenTask, WaitingTimer
    from engine.services.audit import event_hash

    db_engine = ctx.session_factory.kw["bind"]
    with db_engine.connect() as conn:
        blueprints = {case_id: _blueprint(conn, case_id) for case_id in sorted(set(plan))}
        first_case = conn.scalar(sa.select(sa.func.max(Case.id))) + 1
        next_event = conn.scalar(sa.select(sa.func.max(AuditEvent.id))) + 1
    salt = rng.getrandbits(44) << 4  # copy k's task ids start with the 48 bits salt + k
    for first in range(0, len(plan), CHUNK):
        firms, cases, tasks, timers, events, notices = [], [], [], [], [], []
        for k, template in enumerate(plan[first:first + CHUNK], start=first):
            blueprint, case_id = blueprints[template], first_case + k
            code, name = make_credit_code(f"91370800MB{k:07d}"), f"基准批量企业{k}"
            head = f"{salt + k:012x}"
            prefix = f"{head[:8]}-{head[8:]}"
            values = [json.dumps(name, ensure_ascii=False), f'"{code}"', *(prefix + s for s in blueprint.suffixes)]
            firms.append({**blueprint.enterprise, "credit_code": code, "name": name, "county": rng.choice(COUNTIES)})
            cases.append({**blueprint.case, "id": case_id, "enterprise_code": code,
                          "state": _stored_state(blueprint.state.render(values))})
            tasks += [{**row, "id": values[slot], "case_id": case_id} for slot, row in blueprint.tasks]
            timers += [{**row, "id": values[slot], "case_id": case_id} for slot, row in blueprint.timers]
            previous = ""
            for slot, detail_text, row in blueprint.events:
                task_id = values[slot] if slot is not None else None
                detail = detail_text.render(values)
                digest = event_hash(previous, case_id, row["at"], row["actor"], row["action"], task_id, detail)
                events.append({**row, "id": next_event, "case_id": case_id, "task_id": task_id, "detail": detail,
                               "prev_hash": previous, "hash": digest})
                next_event += 1
                previous = digest
            notices += [{**{k2: v for k2, v in row.items() if k2 != "id"}, "case_id": case_id,
                         "enterprise_name": name, "credit_code": code,
                         "subject": row["subject"].replace(blueprint.name, name)}
                        for row in blueprint.announcements]
        with db_engine.begin() as conn:
            for model, batch in ((Enterprise, firms), (Case, cases), (OpenTask, tasks), (WaitingTimer, timers),
                                 (AuditEvent, events), (Announcement, notices)):
                if batch:
                    conn.execute(sa.insert(model.__table__), batch)
        if progress is not None:
            progress(len(cases))
    if db_engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        with db_engine.begin() as conn:
            for table in ("cases", "audit_events", "announcements"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} "
                                     "HAVING max(id) IS NOT NULL"))
    return first_case
