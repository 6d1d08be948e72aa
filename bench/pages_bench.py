"""Server time of the inbox and board pages with 10,000 open cases (part of ``capexit bench``).

On its own throwaway SQLite database (simulated clock), :func:`build` opens real cases
of every dimension and works them to a spread of stages (first order, rectification
with deadlines due this week, this month and later, extension review, re-inspection,
government approval, closure measures running in parallel, and cases whose deadline
passed and which now wait overdue on government approval), then clones them in bulk
SQL (cases, open_tasks, waiting_timers rows; each clone gets an enterprise of its own
in one of the counties and is dated up to ``MAX_AGE_DAYS`` earlier than its seed, so
deadlines spread over the months as in real use) until ``open_cases`` cases are open,
in the proportions of ``RECIPES``. :func:`measure` then signs a Flask test client in and times, in-process
with ``perf_counter``, after warm-up requests:

``inbox_page_ms_10k``
    ``GET /inbox`` (first page, default sort) for a staff user of ``INBOX_DEPARTMENT``;
``board_page_ms_10k``
    ``GET /board`` for a supervisor;
``inbox_service_ms_10k`` / ``board_service_ms_10k``
    ``inbox.inbox_page`` and ``board.board`` alone (no request, no template).

The metric names stay the same whatever the size; ``pages_open_cases`` says how many.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

INBOX_DEPARTMENT = "industry"
TARGET_MS = 100.0
COUNTIES = ("任城区", "兖州区", "曲阜市", "邹城市", "微山县", "鱼台县", "金乡县", "嘉祥县", "汶上县", "泗水县", "梁山县")
PASSWORD = "bench-password-1"


@dataclass(frozen=True)
class Days:
    """A date ``n`` days after the clock's today, filled in when the step is worked."""

    n: int


@dataclass(frozen=True)
class Today:
    """The clock's today when the step is worked, whatever ``base`` the ``Days`` count from: the date of something
    the step records as done (such fields refuse a date after today)."""


TODAY = Today()


def _orders(until: Any) -> dict[str, Any]:
    return {"order_no": "济应急停〔2026〕1号", "rectify_until": until, "requirements": "完成安全整改"}


RECTIFIED = ("rectify", {"outcome": "rectified", "report": "已完成整改。"})
FAIL = ("reinspect", {"result": "fail", "findings": "复查仍不合格。"})
APPROVE = ("government_approval", {"approved": True, "opinion": "同意依法关停。"})
CLOSE = ("close_order", {"order_no": "济关〔2026〕1号", "order_date": TODAY, "grounds": "整改后仍不达标。"})
RECORD = ("record_exit", {"equipment": "生产线1条", "capacity_tpy": 100000, "exit_date": TODAY})
EXTENSION = ("rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备改造周期较长"})
ORDER_STOP = ("order_stop", {"order_no": "济市监〔2026〕3号", "order_date": TODAY})
DISMANTLING = ("assess_dismantling", {"dismantlable": True, "ditiaogang": False, "equipment": "中频炉 2 台"})
SCREEN = ("screen_item", {"catalogue_item": "160kA 以下预焙槽", "exit_method": "close_enterprise"})


@dataclass(frozen=True)
class Recipe:
    """Real cases opened for one dimension and industry, worked through ``steps``; ``weight`` of the clones."""

    name: str
    dimension: str
    industry: str
    steps: tuple[tuple[str, dict[str, Any]], ...]
    weight: int
    before_advance: bool = False  # opened before the clock moves on 10 days (their deadline then passes)


def _dismantle(days: int) -> tuple[str, dict[str, Any]]:
    return DISMANTLING[0], {**DISMANTLING[1], "dismantle_deadline": Days(days)}


def _screen(days: int) -> tuple[str, dict[str, Any]]:
    return SCREEN[0], {**SCREEN[1], "exit_deadline": Days(days)}


# A spread of stages: most cases wait on the enterprise's rectification (long periods), fewer on the departments.
RECIPES: tuple[Recipe, ...] = (
    Recipe("energy_use rectify", "energy_use", "steel", (), 18),
    Recipe("energy_use coal rectify", "energy_use", "coal", (), 6),
    Recipe("energy_use extension review", "energy_use", "steel", (EXTENSION,), 3),
    Recipe("energy_use reinspect", "energy_use", "cement", (RECTIFIED,), 5),
    Recipe("energy_use government approval", "energy_use", "steel", (RECTIFIED, FAIL), 3),
    Recipe("energy_use close order", "energy_use", "steel", (RECTIFIED, FAIL, APPROVE), 2),
    Recipe("energy_use closure measures", "energy_use", "aluminium", (RECTIFIED, FAIL, APPROVE, CLOSE, RECORD), 2),
    Recipe("environmental rectify", "environmental", "cement", (), 10),
    Recipe("environmental reinspect", "environmental", "flat_glass", (RECTIFIED,), 3),
    Recipe("environmental government approval", "environmental", "cement", (RECTIFIED, FAIL), 2),
    Recipe("quality order", "quality", "flat_glass", (), 3),
    Recipe("quality rectify", "quality", "flat_glass", (ORDER_STOP,), 6),
    Recipe("quality reinspect", "quality", "other", (ORDER_STOP, RECTIFIED), 2),
    Recipe("safety order", "safety", "steel", (), 3),
    Recipe("safety rectify due this week", "safety", "steel", (("order_suspension", _orders(Days(4))),), 2),
    Recipe("safety rectify due this month", "safety", "coal", (("order_suspension", _orders(Days(20))),), 4),
    Recipe("safety rectify due later", "safety", "steel", (("order_suspension", _orders(Days(90))),), 4),
    Recipe("safety closure measures", "safety", "coal",
           (("order_suspension", _orders(Days(60))), RECTIFIED, FAIL, APPROVE, CLOSE, RECORD), 1),
    Recipe("safety overdue approval", "safety", "steel", (("order_suspension", _orders(Days(5))),), 3,
           before_advance=True),
    Recipe("technology assessment", "technology", "steel", (), 3),
    Recipe("technology dismantle this month", "technology", "steel", (_dismantle(25),), 3),
    Recipe("technology dismantle later", "technology", "cement", (_dismantle(120),), 3),
    Recipe("phase_out screening", "phase_out", "aluminium", (), 3),
    Recipe("phase_out exit report", "phase_out", "aluminium", (_screen(90),), 4),
    Recipe("phase_out overdue approval", "phase_out", "steel", (_screen(5),), 2, before_advance=True),
)
SEEDS_PER_RECIPE = 2
MAX_AGE_DAYS = 170  # clones were opened up to this many days before their seed


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values) if values else float("nan")


class _Opener:
    """Opens cases of any dimension for numbered enterprises and works their steps as the right party."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.counter = 0

    def open(self, recipe: Recipe) -> int:
        from engine.context import Actor
        from engine.credit_code import make_credit_code
        from engine.parties import default_lead
        from engine.services import cases

        self.counter += 1
        code = make_credit_code(f"91370800MA{self.counter:07d}")
        lead = default_lead(recipe.dimension, recipe.industry)
        request = cases.NewCase(dimension=recipe.dimension, lead_department=lead, finding={"kind": "bench"},
                                enterprise={"name": f"基准企业{self.counter}", "credit_code": code,
                                            "county": COUNTIES[self.counter % len(COUNTIES)],
                                            "industry": recipe.industry})
        return cases.start_case(self.ctx, Actor("bench_staff", "staff", lead), request)

    def work(self, case_id: int, key: str, data: dict[str, Any], base: date | None = None) -> None:
        """Complete the case's open ``key`` task with ``data`` (``Days`` counted from ``base``, default today;
        ``TODAY`` is today)."""
        from engine.context import Actor
        from engine.models import Case, OpenTask
        from engine.services import tasks

        with self.ctx.unit_of_work() as session:
            found = session.execute(sa.select(OpenTask.id, OpenTask.department)
                                    .where(OpenTask.case_id == case_id, OpenTask.key == key)).first()
            code = session.get(Case, case_id).enterprise_code
            today = self.ctx.today(session)
        if found is None:
            raise RuntimeError(f"pages bench: case {case_id} has no open {key}")
        task_id, department = found
        actor = (Actor("bench_enterprise", "enterprise", None, code) if department == "enterprise"
                 else Actor(f"bench_{department}", "staff", department))
        start = base or today
        filled = {k: today.isoformat() if isinstance(v, Today) else (start + timedelta(days=v.n)).isoformat()
                  if isinstance(v, Days) else v for k, v in data.items()}
        tasks.complete_task(self.ctx, actor, task_id, filled)

    def seed(self, recipe: Recipe, base: date | None = None) -> int:
        """A real case of ``recipe``, worked through its steps (``Days`` counted from ``base``, default today)."""
        case_id = self.open(recipe)
        for key, data in recipe.steps:
            self.work(case_id, key, data, base)
        return case_id


def _clone(ctx: Any, seeds: dict[str, list[int]], counts: dict[str, int]) -> None:
    """Copy each recipe's seed cases ``counts[recipe]`` times in bulk: case, open tasks, timers, a new enterprise."""
    from engine.credit_code import make_credit_code
    from engine.models import Case, Enterprise, OpenTask, WaitingTimer

    cases_t, tasks_t, timers_t, firms_t = (Case.__table__, OpenTask.__table__, WaitingTimer.__table__,
                                           Enterprise.__table__)
    every = [i for ids in seeds.values() for i in ids]
    rng = random.Random(20260302)
    with ctx.unit_of_work() as session:
        rows = {r["id"]: dict(r) for r in session.execute(sa.select(cases_t).where(cases_t.c.id.in_(every))).mappings()}
        firms = {r["credit_code"]: dict(r) for r in session.execute(sa.select(firms_t)).mappings()}
        tasks_by: dict[int, list[dict]] = {}
        for r in session.execute(sa.select(tasks_t).where(tasks_t.c.case_id.in_(every))).mappings():
            tasks_by.setdefault(r["case_id"], []).append(dict(r))
        timers_by: dict[int, list[dict]] = {}
        for r in session.execute(sa.select(timers_t).where(timers_t.c.case_id.in_(every))).mappings():
            timers_by.setdefault(r["case_id"], []).append(dict(r))
        plan = [seed for name, ids in seeds.items() for k in range(counts[name]) for seed in [ids[k % len(ids)]]]
        rng.shuffle(plan)  # ids interleave the recipes, as cases opened over time would
        now = ctx.now(session)
        room = {}  # how many days earlier a clone of each seed may have been opened, its deadline still ahead
        for seed_id in every:
            dues = [t["due_at"] for t in timers_by.get(seed_id, [])]
            room[seed_id] = min([MAX_AGE_DAYS, *((d - now).days - 1 for d in dues)]) if dues else MAX_AGE_DAYS
        next_id = session.scalar(sa.select(sa.func.max(cases_t.c.id))) + 1
        chunk = 1000
        for first in range(0, len(plan), chunk):
            case_rows, task_rows, timer_rows, firm_rows = [], [], [], []
            for k, seed_id in enumerate(plan[first:first + chunk], start=first):
                seed, new_id = rows[seed_id], next_id + k
                code = make_credit_code(f"91370800MB{k:07d}")
                firm = firms[seed["enterprise_code"]]
                firm_rows.append({**firm, "credit_code": code, "name": f"基准克隆企业{k}",
                                  "county": rng.choice(COUNTIES)})
                # Opened some days earlier than its seed (and at another hour): dates spread as in real use.
                shift = timedelta(days=rng.randint(0, max(0, room[seed_id])), minutes=rng.randrange(0, 600))
                case_rows.append({**_shifted(seed, shift, ("notice_date", "deadline", "created_at", "updated_at")),
                                  "id": new_id, "enterprise_code": code})
                task_rows += [{**_shifted(t, shift, ("due", "created_at")), "id": str(uuid.uuid4()), "case_id": new_id}
                              for t in tasks_by.get(seed_id, [])]
                timer_rows += [{**_shifted(t, shift, ("due_at",)), "id": str(uuid.uuid4()), "case_id": new_id}
                               for t in timers_by.get(seed_id, [])]
            session.execute(sa.insert(firms_t), firm_rows)
            session.execute(sa.insert(cases_t), case_rows)
            if task_rows:
                session.execute(sa.insert(tasks_t), task_rows)
            if timer_rows:
                session.execute(sa.insert(timers_t), timer_rows)


def _shifted(row: dict[str, Any], shift: timedelta, columns: tuple[str, ...]) -> dict[str, Any]:
    """``row`` with the dates and instants in ``columns`` moved ``shift`` earlier (dates by whole days)."""
    out = dict(row)
    for column in columns:
        value = out.get(column)
        if isinstance(value, datetime) and column == "due_at":
            out[column] = value - timedelta(days=shift.days)  # deadlines run out at 24:00 of a day
        elif isinstance(value, datetime):
            out[column] = value - shift
        elif isinstance(value, date):
            out[column] = value - timedelta(days=shift.days)
    return out


def _shares(total: int, recipes: tuple[Recipe, ...] = RECIPES) -> dict[str, int]:
    """Near-equal-by-weight shares of ``total`` cases for the recipes (largest remainders)."""
    weight = sum(r.weight for r in recipes)
    exact = {r.name: total * r.weight / weight for r in recipes}
    shares = {name: int(x) for name, x in exact.items()}
    for name in sorted(exact, key=lambda n: exact[n] - shares[n], reverse=True)[:total - sum(shares.values())]:
        shares[name] += 1
    return shares


def build(ctx: Any, open_cases: int) -> dict[str, float]:
    """Open ``open_cases`` cases in the mix of ``RECIPES``; return what the data set holds."""
    from engine.context import SYSTEM
    from engine.models import Case, CaseStatus, OpenTask, WaitingTimer
    from engine.services import timers

    opener = _Opener(ctx)
    seeds: dict[str, list[int]] = {}
    for recipe in (r for r in RECIPES if r.before_advance):
        seeds[recipe.name] = [opener.seed(recipe) for _ in range(SEEDS_PER_RECIPE)]
    result = timers.advance_clock(ctx, SYSTEM, by="P10D")  # their deadlines pass: timers fire, cases go overdue
    for recipe in (r for r in RECIPES if not r.before_advance):
        seeds[recipe.name] = [opener.seed(recipe) for _ in range(SEEDS_PER_RECIPE)]
    real = sum(len(ids) for ids in seeds.values())
    shares = _shares(open_cases)
    counts = {name: max(0, shares[name] - len(ids)) for name, ids in seeds.items()}
    missing = open_cases - real - sum(counts.values())
    if missing:  # tiny sizes: fewer clones than seeds in some recipe
        biggest = max(counts, key=counts.get)
        counts[biggest] = max(0, counts[biggest] + missing)
    started = time.perf_counter()
    _clone(ctx, seeds, counts)
    clone_s = time.perf_counter() - started
    with ctx.unit_of_work() as session:
        open_count = session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.status == CaseStatus.OPEN))
        overdue = session.scalar(sa.select(sa.func.count()).select_from(Case)
                                 .where(Case.status == CaseStatus.OPEN, Case.overdue.is_(True)))
        tasks = session.scalar(sa.select(sa.func.count()).select_from(OpenTask))
        in_inbox = session.scalar(sa.select(sa.func.count()).select_from(OpenTask)
                                  .where(OpenTask.department == INBOX_DEPARTMENT))
        timer_count = session.scalar(sa.select(sa.func.count()).select_from(WaitingTimer))
        per_dimension = Counter(dict(session.execute(sa.select(Case.dimension, sa.func.count())
                                                     .group_by(Case.dimension)).all()))
        departments = session.scalar(sa.select(sa.func.count(sa.distinct(OpenTask.department))))
        keys = session.scalar(sa.select(sa.func.count(sa.distinct(OpenTask.key))))
    if open_count != max(open_cases, real):
        raise RuntimeError(f"pages bench: expected {open_cases} open cases, found {open_count}")
    if result["fired"] < 1 or overdue < 1:
        raise RuntimeError("pages bench: no case went overdue")
    return {"pages_open_cases": float(open_count), "pages_real_cases": float(real), "pages_clone_s": clone_s,
            "pages_open_tasks": float(tasks), "pages_inbox_tasks": float(in_inbox),
            "pages_timers": float(timer_count), "pages_overdue_cases": float(overdue),
            "pages_dimensions": float(len(per_dimension)), "pages_departments": float(departments),
            "pages_task_keys": float(keys)}


def _login(app: Any, ctx: Any, username: str, role: str, department: str | None = None) -> Any:
    import re

    from engine.services import users

    users.add_user(ctx, username, role, PASSWORD, department=department)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token.group(1) if token else ""})
    if answer.status_code != 302:
        raise RuntimeError(f"pages bench: could not sign {username} in ({answer.status_code})")
    return client


def _time_get(client: Any, url: str, reps: int, warmup: int, check: Callable[[str], bool]
              ) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``reps`` GET requests after ``warmup`` untimed ones, each answer checked."""
    wall, cpu = [], []
    for i in range(warmup + reps):
        started, used = time.perf_counter(), time.process_time()
        answer = client.get(url)
        body = answer.get_data()
        elapsed, spent = time.perf_counter() - started, time.process_time() - used
        if answer.status_code != 200 or not check(body.decode()):
            raise RuntimeError(f"pages bench: GET {url} answered {answer.status_code} or without the expected rows")
        if i >= warmup:
            wall.append(elapsed)
            cpu.append(spent)
    return wall, cpu


def _time_call(call: Callable[[], Any], reps: int, warmup: int) -> list[float]:
    times = []
    for i in range(warmup + reps):
        started = time.perf_counter()
        call()
        elapsed = time.perf_counter() - started
        if i >= warmup:
            times.append(elapsed)
    return times


def measure(app: Any, ctx: Any, open_cases: int, reps: int, echo: Callable[[str], Any],
            warmup: int = 3) -> dict[str, float]:
    """Build the data set, then time the two pages and their services (medians, milliseconds)."""
    from engine.context import Actor
    from engine.services import board as board_service
    from engine.services import inbox as inbox_service

    started = time.perf_counter()
    echo(f"  pages: {open_cases} open cases of {len(RECIPES)} kinds (every dimension, a spread of stages), "
         f"{reps} requests a page ...")
    metrics = build(ctx, open_cases)
    metrics["pages_build_s"] = time.perf_counter() - started
    staff = _login(app, ctx, "bench_inbox", "staff", INBOX_DEPARTMENT)
    supervisor = _login(app, ctx, "bench_board", "supervisor")
    staff_actor = Actor("bench_inbox", "staff", INBOX_DEPARTMENT)
    supervisor_actor = Actor("bench_board", "supervisor")
    shown = inbox_service.inbox_page(ctx, staff_actor, inbox_service.InboxFilters())
    page_rows = min(shown.total, inbox_service.PAGE_SIZE)
    if shown.total != metrics["pages_inbox_tasks"] or len(shown.rows) != page_rows:
        raise RuntimeError(f"pages bench: the inbox shows {len(shown.rows)} of {shown.total} tasks, "
                           f"expected {metrics['pages_inbox_tasks']:.0f}")
    counted = board_service.board(ctx, supervisor_actor)
    board_rows = sum(len(rows) for rows in counted.rows.values())
    metrics["pages_board_items"] = float(sum(counted.counts.values()))
    metrics["pages_board_rows"] = float(board_rows)
    metrics["pages_inbox_rows"] = float(page_rows)
    inbox_ok = lambda html: html.count('data-task="') == page_rows  # noqa: E731
    board_ok = lambda html: html.count("/cases/") >= board_rows  # noqa: E731
    load_start = _load()
    # Interleaved in rounds, so a change in machine load touches pages and services alike.
    inbox_wall: list[float] = []
    inbox_cpu: list[float] = []
    board_wall: list[float] = []
    board_cpu: list[float] = []
    inbox_service_times: list[float] = []
    board_service_times: list[float] = []
    rounds = max(1, min(4, reps))
    for r in range(rounds):
        n = reps // rounds + (1 if r < reps % rounds else 0)
        w = warmup if r == 0 else 1
        wall, cpu = _time_get(staff, "/inbox", n, w, inbox_ok)
        inbox_wall += wall
        inbox_cpu += cpu
        wall, cpu = _time_get(supervisor, "/board", n, w, board_ok)
        board_wall += wall
        board_cpu += cpu
        inbox_service_times += _time_call(
            lambda: inbox_service.inbox_page(ctx, staff_actor, inbox_service.InboxFilters()), n, w)
        board_service_times += _time_call(lambda: board_service.board(ctx, supervisor_actor), n, w)
    metrics.update({
        "inbox_page_ms_10k": _ms(_median(inbox_wall)), "board_page_ms_10k": _ms(_median(board_wall)),
        "inbox_page_cpu_ms_10k": _ms(_median(inbox_cpu)), "board_page_cpu_ms_10k": _ms(_median(board_cpu)),
        "inbox_service_ms_10k": _ms(_median(inbox_service_times)),
        "board_service_ms_10k": _ms(_median(board_service_times)),
        "inbox_page_ms_10k_max": _ms(max(inbox_wall)), "board_page_ms_10k_max": _ms(max(board_wall)),
        "page_requests": float(len(inbox_wall)), "pages_load_start": load_start, "pages_load_end": _load(),
        "pages_s": time.perf_counter() - started,
    })
    return metrics


def _load() -> float:
    import os

    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _fmt_ms(value: float) -> str:
    return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"


def table_rows(m: dict[str, float]) -> list[tuple[str, str, str, str]]:
    """The pages' rows of the bench table: (metric, value, baseline or target, ratio)."""
    def verdict(value: float) -> str:
        return f"{value / TARGET_MS:.2f}x " + ("ok" if value < TARGET_MS else "OVER")

    return [
        ("inbox_page_ms_10k", _fmt_ms(m["inbox_page_ms_10k"]), f"target < {TARGET_MS:.0f} ms",
         verdict(m["inbox_page_ms_10k"])),
        ("  inbox_service_ms_10k", _fmt_ms(m["inbox_service_ms_10k"]), "inbox_page_ms_10k",
         f"{m['inbox_service_ms_10k'] / m['inbox_page_ms_10k']:.2f}x"),
        ("  inbox_page_cpu_ms_10k", _fmt_ms(m["inbox_page_cpu_ms_10k"]), "inbox_page_ms_10k",
         f"{m['inbox_page_cpu_ms_10k'] / m['inbox_page_ms_10k']:.2f}x"),
        ("board_page_ms_10k", _fmt_ms(m["board_page_ms_10k"]), f"target < {TARGET_MS:.0f} ms",
         verdict(m["board_page_ms_10k"])),
        ("  board_service_ms_10k", _fmt_ms(m["board_service_ms_10k"]), "board_page_ms_10k",
         f"{m['board_service_ms_10k'] / m['board_page_ms_10k']:.2f}x"),
        ("  board_page_cpu_ms_10k", _fmt_ms(m["board_page_cpu_ms_10k"]), "board_page_ms_10k",
         f"{m['board_page_cpu_ms_10k'] / m['board_page_ms_10k']:.2f}x"),
    ]


def notes(m: dict[str, float]) -> list[str]:
    """The lines under the table that say what the pages' numbers mean."""
    return [
        f"  pages: a database of its own with {m['pages_open_cases']:,.0f} open cases, {m['pages_real_cases']:.0f} "
        f"real ones (start_case + complete_task: {len(RECIPES)} kinds over {m['pages_dimensions']:.0f} dimensions, "
        f"tasks at {m['pages_task_keys']:.0f} different steps held by {m['pages_departments']:.0f} parties, "
        f"{m['pages_overdue_cases']:,.0f} cases overdue after their deadline passed) cloned in bulk SQL "
        f"({m['pages_clone_s']:.1f} s; each clone with an enterprise of its own in one of {len(COUNTIES)} counties, "
        f"opened up to {MAX_AGE_DAYS} days before its seed so deadlines spread over the months); "
        f"{m['pages_open_tasks']:,.0f} open tasks, {m['pages_timers']:,.0f} running timers;",
        f"  GET /inbox as a staff user of {INBOX_DEPARTMENT} ({m['pages_inbox_tasks']:,.0f} tasks, first page of "
        f"{m['pages_inbox_rows']:.0f} rows, default sort) and GET /board as a supervisor "
        f"({m['pages_board_items']:,.0f} items, {m['pages_board_rows']:.0f} rows shown) through the Flask test "
        f"client, signed in; wall time of each request in-process (perf_counter; CPU time of the process beside "
        f"it), median of {m['page_requests']:.0f} after warm-up (max {_fmt_ms(m['inbox_page_ms_10k_max'])} / "
        f"{_fmt_ms(m['board_page_ms_10k_max'])}); service = inbox.inbox_page / board.board alone; pages and "
        f"services interleaved; load average {m['pages_load_start']:.2f} before, {m['pages_load_end']:.2f} after.",
    ]
