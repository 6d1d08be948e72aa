"""The ``capexit`` command line, through Click's runner on a temporary SQLite file and a simulated clock."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine.credit_code import make_credit_code
from webapp.cli import main

START = "2026-03-02T09:00:00+08:00"
PROCESS_FILES = 8  # processes/*.bpmn (the dimensions, closure_measures, annual_report)
GOOD_CODE = make_credit_code("91370800MA3C00010")


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    path = tmp_path / "cli.db"
    monkeypatch.setenv("CAPEXIT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("CAPEXIT_CLOCK", "simulated")
    monkeypatch.setenv("CAPEXIT_CLOCK_START", START)
    monkeypatch.setenv("CAPEXIT_SECRET_KEY", "cli-test-secret")
    return path


@pytest.fixture
def cli(db_path):
    """Run ``capexit ARGS...``; returns the Click result."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def initialised(cli):
    result = cli("init")
    assert result.exit_code == 0, result.output
    return cli


def query(db_path, sql: str, **params):
    engine = sa.create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def scalar(db_path, sql: str, **params):
    return query(db_path, sql, **params)[0][0]


def test_init_is_idempotent(cli, db_path):
    first = cli("init")
    assert first.exit_code == 0, first.output
    assert "energy_use v1" in first.output and "closure_measures v1" in first.output
    definitions = scalar(db_path, "SELECT count(*) FROM definitions")
    assert definitions == PROCESS_FILES
    departments = scalar(db_path, "SELECT count(*) FROM departments")
    assert departments >= 13
    second = cli("init")
    assert second.exit_code == 0, second.output
    assert scalar(db_path, "SELECT count(*) FROM definitions") == definitions
    assert scalar(db_path, "SELECT max(version) FROM definitions") == 1
    assert scalar(db_path, "SELECT count(*) FROM departments") == departments
    assert "v2" not in second.output


def test_user_add(initialised, db_path):
    result = initialised("user", "add", "li_ming", "--role", "staff", "--department", "industry",
                         "--password", "long-enough-1")
    assert result.exit_code == 0, result.output
    assert "li_ming" in result.output
    result = initialised("user", "add", "steelco", "--role", "enterprise", "--enterprise", GOOD_CODE.lower(),
                         "--password", "long-enough-1")
    assert result.exit_code == 0, result.output
    rows = dict(query(db_path, "SELECT username, role FROM users"))
    assert rows == {"li_ming": "staff", "steelco": "enterprise"}
    assert scalar(db_path, "SELECT enterprise_code FROM users WHERE username = 'steelco'") == GOOD_CODE
    assert scalar(db_path, "SELECT department_code FROM users WHERE username = 'li_ming'") == "industry"
    # adding again resets the role and password of the same account
    result = initialised("user", "add", "li_ming", "--role", "supervisor", "--password", "another-one-2")
    assert result.exit_code == 0, result.output
    assert dict(query(db_path, "SELECT username, role FROM users"))["li_ming"] == "supervisor"
    assert scalar(db_path, "SELECT count(*) FROM users") == 2


def test_user_add_with_a_real_name(initialised, db_path):
    result = initialised("user", "add", "industry_staff", "--role", "staff", "--department", "industry",
                         "--password", "long-enough-1", "--name", "王明")
    assert result.exit_code == 0, result.output
    assert scalar(db_path, "SELECT display_name FROM users WHERE username = 'industry_staff'") == "王明"
    # adding again without --name keeps the name; with --name changes it
    again = initialised("user", "add", "industry_staff", "--role", "supervisor", "--password", "another-one-2")
    assert again.exit_code == 0, again.output
    assert scalar(db_path, "SELECT display_name FROM users WHERE username = 'industry_staff'") == "王明"
    assert initialised("user", "add", "industry_staff", "--role", "supervisor", "--password", "another-one-2",
                       "--name", "王明华").exit_code == 0
    assert scalar(db_path, "SELECT display_name FROM users WHERE username = 'industry_staff'") == "王明华"
    result = initialised("user", "add", "someone", "--role", "owner", "--password", "long-enough-1",
                         "--name", "王" * 51)
    assert result.exit_code == 2 and "display_name" in result.output and "50" in result.output
    assert scalar(db_path, "SELECT count(*) FROM users WHERE username = 'someone'") == 0


BAD_CODE = GOOD_CODE[:17] + ("0" if GOOD_CODE[17] != "0" else "1")


@pytest.mark.parametrize(("args", "needle"), [
    (["--role", "wizard"], "role"),
    (["--role", "staff"], "department"),
    (["--role", "staff", "--department", "nosuch"], "nosuch"),
    (["--role", "enterprise", "--enterprise", BAD_CODE], "check character"),
    (["--role", "enterprise", "--enterprise", "91370800MA3I000100"], "'I'"),
    (["--role", "enterprise"], "18"),
    (["--role", "supervisor", "--department", "industry"], "department"),
    (["--role", "owner", "--enterprise", GOOD_CODE], "credit code"),
])
def test_user_add_refusals(initialised, db_path, args, needle):
    result = initialised("user", "add", "someone", *args, "--password", "long-enough-1")
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert re.search(r"[\u4e00-\u9fff]", result.output)  # Chinese and English
    assert scalar(db_path, "SELECT count(*) FROM users") == 0


def test_user_add_short_password(initialised, db_path):
    result = initialised("user", "add", "someone", "--role", "owner", "--password", "short")
    assert result.exit_code == 2
    assert "password" in result.output
    assert scalar(db_path, "SELECT count(*) FROM users") == 0


def test_user_add_needs_role_and_password(initialised):
    assert initialised("user", "add", "someone", "--password", "long-enough-1").exit_code == 2
    assert initialised("user", "add", "someone", "--role", "owner").exit_code == 2


def test_demo_prints_logins(cli, db_path):
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "capexit-demo" in result.output
    for login in ("supervisor", "owner", "admin", "industry_staff", "government_staff", "enterprise1"):
        assert re.search(rf"^\s*{login}\s", result.output, re.M), login
    assert re.search(r"^\s*industry_staff\s.*王明$", result.output, re.M)
    assert scalar(db_path, "SELECT display_name FROM users WHERE username = 'industry_staff'") == "王明"
    assert scalar(db_path, "SELECT count(*) FROM users WHERE display_name IS NULL") == 0
    cases = scalar(db_path, "SELECT count(*) FROM cases")
    assert cases == 6
    assert scalar(db_path, "SELECT count(DISTINCT dimension) FROM cases") == 6
    # a second run adds nothing
    again = cli("demo")
    assert again.exit_code == 0, again.output
    assert scalar(db_path, "SELECT count(*) FROM cases") == cases
    assert scalar(db_path, "SELECT count(*) FROM definitions") == PROCESS_FILES


def test_clock_show_set_advance_and_tick(cli, db_path):
    assert cli("demo").exit_code == 0
    shown = cli("clock", "show")
    assert shown.exit_code == 0
    assert shown.output.strip() == f"{START} (simulated)"
    timers = scalar(db_path, "SELECT count(*) FROM waiting_timers WHERE fires")
    assert timers >= 2  # the environmental case's six months, the safety case's 60 days

    # set moves the clock only: nothing fires until a sweep
    result = cli("clock", "set", "2026-10-02T09:00:00+08:00")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-10-02T09:00:00+08:00"
    assert cli("clock", "show").output.startswith("2026-10-02T09:00:00+08:00")
    assert scalar(db_path, "SELECT count(*) FROM waiting_timers WHERE fires") == timers
    result = cli("tick")
    assert result.exit_code == 0, result.output
    assert re.search(rf"fired {timers} timers in {timers} cases", result.output), result.output
    assert scalar(db_path, "SELECT count(*) FROM waiting_timers WHERE fires") == 0
    assert "fired 0 timers" in cli("tick").output


def test_clock_advance_fires_timers(cli, db_path):
    assert cli("demo").exit_code == 0
    before = scalar(db_path, "SELECT count(*) FROM waiting_timers WHERE fires")
    assert before >= 2
    result = cli("clock", "advance", "P7M")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2026-10-02T09:00:00+08:00")
    fired = int(re.search(r"fired (\d+) timers", result.output).group(1))
    assert fired == before
    assert scalar(db_path, "SELECT count(*) FROM waiting_timers WHERE fires") == 0
    # the demo's extension request under review keeps its period's clock, now past, for the board
    assert scalar(db_path, "SELECT count(*) FROM waiting_timers WHERE NOT fires AND task_key = 'review_extension'") == 1
    overdue = scalar(db_path, "SELECT count(*) FROM cases WHERE overdue")
    assert overdue == fired
    keys = {k for (k,) in query(db_path, "SELECT key FROM open_tasks")}
    assert "government_approval" in keys
    assert cli("clock", "show").output.startswith("2026-10-02T09:00:00+08:00")


@pytest.mark.parametrize("args", [("clock", "advance", "seven months"), ("clock", "advance", "P"),
                                  ("clock", "set", "tomorrow")])
def test_clock_bad_values(initialised, args):
    result = initialised(*args)
    assert result.exit_code == 2, result.output
    assert initialised("clock", "show").output.startswith(START)


def test_clock_on_the_system_clock_is_refused(initialised, monkeypatch):
    monkeypatch.setenv("CAPEXIT_CLOCK", "system")
    result = initialised("clock", "advance", "P1D")
    assert result.exit_code == 2
    assert "simulated" in result.output
    assert "(system)" in initialised("clock", "show").output


def test_tick_with_nothing_due(initialised):
    result = initialised("tick")
    assert result.exit_code == 0
    assert "fired 0 timers in 0 cases" in result.output


@pytest.mark.parametrize("command", [("tick",), ("clock", "advance", "P7M")])
def test_a_case_whose_timers_cannot_fire_is_named_and_the_command_fails(cli, db_path, command):
    """The others fire; the broken one stays due and the command exits non-zero, naming it."""
    assert cli("demo").exit_code == 0
    due = [case_id for (case_id,) in query(db_path, "SELECT DISTINCT case_id FROM waiting_timers WHERE fires ORDER BY case_id")]
    assert len(due) >= 2
    engine = sa.create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:  # a state this version cannot read, written by someone else
        conn.execute(sa.text("UPDATE cases SET state = 'z:not-a-state', version = version + 1 WHERE id = :id"),
                     {"id": due[0]})
    engine.dispose()
    if command == ("tick",):
        assert cli("clock", "set", "2026-10-02T09:00:00+08:00").exit_code == 0
    result = cli(*command)
    assert result.exit_code == 1, result.output
    assert f"could not be fired (see the log); they stay due: {due[0]}" in result.output
    assert re.search(rf"fired {len(due) - 1} timers", result.output), result.output
    assert [c for (c,) in query(db_path, "SELECT DISTINCT case_id FROM waiting_timers WHERE fires")] == [due[0]]


def test_calendar_set_and_resettle_move_running_deadlines(cli, db_path):
    assert cli("demo").exit_code == 0
    due = scalar(db_path, "SELECT count(*) FROM cases WHERE deadline = '2026-09-02'")
    assert due >= 2
    result = cli("calendar", "set", "2026-09-02", "--rest", "--note", "临时调整")
    assert result.exit_code == 0 and f"running deadlines calculated again: {due} case(s)" in result.output
    assert scalar(db_path, "SELECT count(*) FROM cases WHERE deadline = '2026-09-03'") == due
    # the calendar changes under the running deadlines without a correction (new holiday data): resettle
    with sa.create_engine(f"sqlite:///{db_path}").begin() as conn:
        conn.execute(sa.text("UPDATE rest_day_overrides SET is_working_day = 1 WHERE day = '2026-09-02'"))
    result = cli("calendar", "resettle")
    assert result.exit_code == 0 and f"running deadlines calculated again: {due} case(s)" in result.output
    assert scalar(db_path, "SELECT count(*) FROM cases WHERE deadline = '2026-09-02'") == due
    assert scalar(db_path, "SELECT count(*) FROM audit_events WHERE action = 'deadline_redated'") == 2 * due
    assert "calculated again: 0 case(s)" in cli("calendar", "resettle").output  # nothing left to move
