"""The ``capexit`` command line (DESIGN.md, contract)."""

from __future__ import annotations

import json
import os
import sys

import click

from engine.context import SYSTEM, EngineContext
from engine.errors import CapexitError


def _app(**overrides):
    """The app for one command; its database connections close when the command ends."""
    from webapp import create_app
    from webapp.extensions import db

    app = create_app(overrides)
    click_context = click.get_current_context(silent=True)
    if click_context is not None:
        def close() -> None:
            with app.app_context():
                db.engine.dispose()

        click_context.call_on_close(close)
    return app


def _ctx(app) -> EngineContext:
    return app.extensions["capexit"]


def _fail(exc: CapexitError) -> None:
    click.echo(f"错误 / error: {exc.message_zh} / {exc.message_en}", err=True)
    for problem in exc.problems:
        where = ", ".join(f"{k}={v}" for k, v in (("field", problem.field), ("line", problem.line),
                                                   ("element", problem.element_id)) if v is not None)
        click.echo(f"  - {problem.message_zh} / {problem.message_en}" + (f" [{where}]" if where else ""), err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """capexit: lawful exit of outdated industrial capacity."""


def initialise(ctx: EngineContext) -> list:
    """Create or upgrade the schema, register departments, store new forms/ versions, deploy processes/
    (idempotent; forms first, since user tasks must name a known form)."""
    from engine.db import upgrade_schema
    from engine.services.deployments import deploy_directory
    from engine.services.forms import seed_directory
    from engine.services.users import register_departments

    upgrade_schema(ctx.session_factory.kw["bind"])
    with ctx.unit_of_work() as session:
        register_departments(session)
        seed_directory(ctx, session, SYSTEM, ctx.forms_dir)
        return [(d.process_id, d.version) for d in deploy_directory(ctx, session, SYSTEM, ctx.processes_dir)]


@main.command()
def init() -> None:
    """Create or upgrade the schema, register departments, deploy processes/ and forms/."""
    try:
        deployed = initialise(_ctx(_app()))
    except CapexitError as exc:
        _fail(exc)
    for process_id, version in deployed:
        click.echo(f"deployed {process_id} v{version}")


@main.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, help="staff, supervisor, owner, admin or enterprise")
@click.option("--department", help="department code (staff)")
@click.option("--enterprise", help="unified social credit code (enterprise users)")
@click.option("--password", required=True)
@click.option("--name", "display_name", help="the person's real name, e.g. 王明 (at most 50 characters)")
def user_add(name: str, role: str, department: str | None, enterprise: str | None, password: str,
             display_name: str | None) -> None:
    """Add a user (or reset an existing one; without --name an existing real name stays)."""
    from engine.services.users import add_user

    try:
        add_user(_ctx(_app()), name, role, password, department=department, enterprise=enterprise,
                 display_name=display_name)
    except CapexitError as exc:
        _fail(exc)
    click.echo(f"user {name} ({role}) saved")


@main.command()
def demo() -> None:
    """Load demo users, enterprises and cases at various stages; print the logins."""
    from webapp.demo import load_demo

    ctx = _ctx(_app())
    initialise(ctx)
    for line in load_demo(ctx):
        click.echo(line)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=1, type=click.IntRange(min=1), show_default=True,
              help="worker processes; more than one runs gunicorn")
@click.option("--threads", default=1, type=click.IntRange(min=1), show_default=True,
              help="request threads per gunicorn worker (more workers serve better than more threads)")
@click.option("--gunicorn", "use_gunicorn", is_flag=True, help="run gunicorn even with one worker")
def serve(host: str, port: int, workers: int, threads: int, use_gunicorn: bool) -> None:
    """Run the web app with the timer scheduler (under gunicorn with --workers N > 1 or --gunicorn)."""
    if workers > 1 or use_gunicorn:
        from webapp.extensions import db

        app = _app()
        initialise(_ctx(app))  # once, before any worker starts (the workers only serve)
        with app.app_context():
            db.engine.dispose()
        argv = gunicorn_argv(host, port, workers, threads)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)  # gunicorn takes over this process (same pid, same process group)
    app = _app(CAPEXIT_SCHEDULER=True)
    initialise(_ctx(app))
    app.run(host=host, port=port, threaded=True, use_reloader=False)


def gunicorn_argv(host: str, port: int, workers: int, threads: int) -> list[str]:
    """The command line running ``webapp.wsgi:app`` under gunicorn (gthread workers; never --preload)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--timeout", "60",
            "--graceful-timeout", "10", "--no-control-socket", "webapp.wsgi:app"]


@main.command()
def tick() -> None:
    """Run one timer sweep now."""
    from engine.services.timers import sweep

    result = sweep(_ctx(_app()))
    click.echo(f"fired {result.fired} timers in {result.cases} cases ({result.conflicts} left to other workers)")
    _refuse_failed(result.failed)


def _refuse_failed(case_ids: list[int]) -> None:
    """Exit non-zero when a sweep could not fire some cases' timers (they stay due)."""
    if case_ids:
        raise click.ClickException(f"the timers of {len(case_ids)} cases could not be fired (see the log); they stay "
                                   "due: " + ", ".join(map(str, case_ids)))


@main.group()
def clock() -> None:
    """Show or move the simulated clock."""


@clock.command("show")
def clock_show() -> None:
    """Print the clock's current instant."""
    from engine.clock import SHANGHAI

    ctx = _ctx(_app())
    kind = "simulated" if ctx.clock.simulated else "system"
    click.echo(f"{ctx.now().astimezone(SHANGHAI).isoformat()} ({kind})")


@clock.command("set")
@click.argument("instant")
def clock_set(instant: str) -> None:
    """Move the simulated clock to INSTANT (ISO 8601); fires nothing."""
    from engine.clock import SHANGHAI, parse_instant
    from engine.services.timers import set_clock

    try:
        value = set_clock(_ctx(_app()), SYSTEM, parse_instant(instant))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except CapexitError as exc:
        _fail(exc)
    click.echo(value.astimezone(SHANGHAI).isoformat())


@clock.command("advance")
@click.argument("duration")
def clock_advance(duration: str) -> None:
    """Move the simulated clock forward by DURATION (ISO 8601, e.g. P6M) and fire due timers."""
    from engine.services.timers import advance_clock

    try:
        result = advance_clock(_ctx(_app()), SYSTEM, by=duration)
    except CapexitError as exc:
        _fail(exc)
    click.echo(f"{result['now']} (fired {result['fired']} timers in {result['cases']} cases)")
    _refuse_failed(result["failed_cases"])


@main.group()
def calendar() -> None:
    """Correct the rest-day calendar (administrators)."""


@calendar.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--working/--rest", required=True, help="make DAY a working day or a rest day")
@click.option("--note", required=True, help="the grounds of the correction (the notice, say)")
def calendar_set(day, working: bool, note: str) -> None:
    """Override the published calendar for DAY (YYYY-MM-DD)."""
    from engine.services.rest_days import set_rest_day

    try:
        moved = set_rest_day(_ctx(_app()), SYSTEM, day.date(), working=working, note=note)
    except CapexitError as exc:
        _fail(exc)
    click.echo(f"{day.date()} is now a {'working' if working else 'rest'} day; running deadlines calculated again: "
               f"{len(moved)} case(s){' (' + ', '.join(map(str, moved)) + ')' if moved else ''}")


@calendar.command("entered")
@click.argument("year", type=int)
@click.option("--notice", required=True, help="the State Council notice that published the year's arrangements")
def calendar_entered(year: int, notice: str) -> None:
    """Say that YEAR's holiday arrangements, which the shipped data lacks, are entered in full as corrections: its
    deadlines are no longer estimates."""
    from engine.services.rest_days import enter_arrangements

    try:
        moved = enter_arrangements(_ctx(_app()), SYSTEM, year, notice)
    except CapexitError as exc:
        _fail(exc)
    click.echo(f"{year}: arrangements entered ({notice}); running deadlines settled again: {len(moved)} case(s)")


@calendar.command("list")
def calendar_list() -> None:
    """List the corrections."""
    from engine.services.rest_days import list_rest_days

    for row in list_rest_days(_ctx(_app())):
        click.echo(f"{row['day']} {'working' if row['working'] else 'rest'} {row['note']}")


@calendar.command("resettle")
def calendar_resettle() -> None:
    """Settle every running deadline again under the calendar as it now stands (after an update of the published
    holiday data); each moved case records why."""
    from engine.services.redating import resettle_all

    moved = resettle_all(_ctx(_app()), SYSTEM)
    click.echo(f"running deadlines calculated again: {len(moved)} case(s)"
               f"{' (' + ', '.join(map(str, moved)) + ')' if moved else ''}")


@main.command()
@click.option("--quick", is_flag=True, help="smaller sizes; finishes within a minute")
@click.option("--scale", is_flag=True, help="the scale benchmark: many cases on SQLite and PostgreSQL, HTTP "
              "completions with 2 workers, timers (bench/scale_bench.py)")
@click.option("--cases", type=click.IntRange(min=300), default=100_000, show_default=True,
              help="with --scale: how many cases")
@click.option("--db", type=click.Choice(["sqlite", "pg", "both"]), default="both", show_default=True,
              help="with --scale: which databases")
@click.option("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres", show_default=True,
              help="with --scale: the PostgreSQL server (a database capexit_bench_<pid> is created there and dropped)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="also write metrics as JSON")
def bench(quick: bool, scale: bool, cases: int, db: str, pg_url: str, json_path: str | None) -> None:
    """Run the benchmark (or with --scale the scale benchmark) and print its table."""
    if scale:
        if quick:
            raise click.UsageError("--quick is for the engine benchmark; give --cases with --scale")
        from bench.scale_bench import run as run_scale

        dbs = ("sqlite", "pg") if db == "both" else (db,)
        metrics = run_scale(cases=cases, dbs=dbs, pg_url=pg_url, echo=click.echo, show_progress=True)
    else:
        from bench.engine_bench import run

        metrics = run(quick=quick, echo=click.echo)
    if json_path:
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump(metrics, fh, indent=2)


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute every hash chain of the audit trail and report any break (exit 1 if broken)."""
    from engine.services.audit import verify

    checked, breaks = verify(_ctx(_app()))
    for item in breaks:
        where = f"case {item.case_id}" if item.case_id is not None else "system events"
        click.echo(f"BROKEN {where}, event {item.event_id}: {item.reason}")
    click.echo(f"checked {checked} events: {'no break' if not breaks else f'{len(breaks)} breaks'}")
    sys.exit(1 if breaks else 0)


from webapp.cli_import import import_command  # noqa: E402  (the command module imports this one)

main.add_command(import_command)
