"""C-2.5: the dismantling deadline runs from the moment the department sets it (认定拆除条件) through
the sealing, the public commitment and the announcement until the dismantling, and runs out on whichever
step is open.

Each of those steps carries the deadline's boundary timer, so the clock is indexed (board, inboxes, case
view, case list) from the assessment on, and fires at 24:00 of its last day on the simulated clock. The case
then goes the overdue way: government approval, closure, and the measures for an exit not completed in time
(C-3.4, C-3.8).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from engine.bpmn_rules import NS
from engine.clock import parse_instant
from engine.errors import Conflict
from engine.models import Definition
from engine.services import board, case_list, deployments, inbox, migration, timers
from tests.conftest import ENTERPRISE_A, actor
from tests.test_procedures import (
    ANNOUNCED,
    COMMITTED,
    OVERDUE_EXIT_MEASURES,
    SEALED,
    SUPERVISOR,
    approve_and_order_closure,
    assert_deadline,
    assess,
    assessment,
    clock_to,
    due,
    finish_closure,
    fired,
    open_tasks,
    timers_of,
    view,
)

ROOT = Path(__file__).resolve().parent.parent
SET_DAY = "2026-06-20"  # a Saturday: the period ends on Monday 2026-06-22
LAST_DAY = "2026-06-22"
RUNS_OUT = "2026-06-23T00:00:00+08:00"  # 24:00 of the last day
JUST_BEFORE = "2026-06-22T23:59:59+08:00"
# the steps between the assessment and the dismantling: key, department, the timer it carries, its form
STEPS = [("seal_equipment", "industry", "seal_deadline_timer", SEALED),
         ("public_commitment", "enterprise", "commitment_deadline_timer", COMMITTED),
         ("publish_announcement", "industry", "announcement_deadline_timer", ANNOUNCED)]
STEP_IDS = [key for key, *_ in STEPS]


def sealed_up_to(ctx, make_case, work, step: int) -> int:
    """A technology case not dismantlable at once, its deadline set, standing on ``STEPS[step]``."""
    case_id, _ = assess(ctx, make_case, work, dismantlable=False, deadline=SET_DAY)
    for key, _department, _timer, form in STEPS[:step]:
        work(case_id, key, form)
    return case_id


def board_rows(ctx, case_id: int) -> dict[str, list[board.BoardRow]]:
    """The case's rows on the supervisors' board, by group (groups without one left out)."""
    found = board.board(ctx, SUPERVISOR).rows
    groups = {g: [r for r in rows if r.case_id == case_id] for g, rows in found.items()}
    return {g: rows for g, rows in groups.items() if rows}


def list_row(ctx, case_id: int) -> dict:
    rows = case_list.list_cases(ctx, SUPERVISOR, case_list.CaseFilter())["rows"]
    (row,) = [r for r in rows if r["id"] == case_id]
    return row


def inbox_due(ctx, case_id: int, department: str) -> list[date | None]:
    """Due dates of the case's tasks in the inbox of whoever works them."""
    who = (actor("enterprise", enterprise=ENTERPRISE_A) if department == "enterprise"
           else actor("staff", department))
    page = inbox.inbox_page(ctx, who, inbox.InboxFilters())
    return [r.due for r in page.rows if r.case_id == case_id]


def test_the_deadline_runs_from_the_assessment_through_every_step_until_the_dismantling(ctx, make_case, work):
    case_id, case = assess(ctx, make_case, work, dismantlable=False, deadline=SET_DAY)
    for key, department, timer, form in STEPS:
        assert open_tasks(case) == [(key, department)]
        assert_deadline(case, LAST_DAY, SET_DAY, "认定拆除条件")
        assert due(case, key) == LAST_DAY
        assert timers_of(ctx, case_id) == [(timer, RUNS_OUT)]
        rows = board_rows(ctx, case_id)
        assert list(rows) == ["later"]
        (row,) = rows["later"]
        assert (row.deadline, row.departments) == (date(2026, 6, 22), [department])
        assert row.steps == [case["open_tasks"][0]["name"]]
        assert LAST_DAY in row.rule
        assert (list_row(ctx, case_id)["deadline"], list_row(ctx, case_id)["due"]) == (LAST_DAY, "ok")
        assert inbox_due(ctx, case_id, department) == [date(2026, 6, 22)]
        case = work(case_id, key, form)
    assert open_tasks(case) == [("dismantle", "enterprise")]
    assert due(case, "dismantle") == LAST_DAY
    assert timers_of(ctx, case_id) == [("dismantle_deadline_timer", RUNS_OUT)]
    assert fired(case) == [] and case["overdue"] is False


@pytest.mark.parametrize("step", range(len(STEPS)), ids=STEP_IDS)
def test_the_deadline_fires_at_24_00_of_its_last_day_on_the_open_step_once(ctx, make_case, work, step):
    case_id = sealed_up_to(ctx, make_case, work, step)
    key, department, timer, _form = STEPS[step]
    assert clock_to(ctx, JUST_BEFORE)["fired"] == 0
    assert open_tasks(view(ctx, case_id)) == [(key, department)]
    assert clock_to(ctx, RUNS_OUT)["fired"] == 1
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")]
    assert fired(case) == [timer] and case["overdue"] is True
    (event,) = [e for e in case["history"] if e["action"] == "timer_fired"]
    assert event["detail"]["deadline"] == LAST_DAY
    assert timers_of(ctx, case_id) == []
    assert clock_to(ctx, "2026-12-31T00:00:00+08:00")["fired"] == 0
    assert fired(view(ctx, case_id)) == [timer]
    approve_and_order_closure(work, case_id, "industry")
    finish_closure(work, case_id,
                   {"resettle_workers": "hrss", "cancel_licence": "market", **OVERDUE_EXIT_MEASURES})


def test_a_deadline_run_out_on_the_commitment_shows_at_once_and_refuses_a_late_commitment(
        ctx, make_case, work, login_as):
    case_id = sealed_up_to(ctx, make_case, work, 1)
    client = login_as("supervisor")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert LAST_DAY in page and "当前无计时中的法定期限" not in page and "法定期限已届满" not in page
    timers.set_clock(ctx, SUPERVISOR, parse_instant(RUNS_OUT))  # the sweep has not run yet
    rows = board_rows(ctx, case_id)
    assert list(rows) == ["overdue"] and rows["overdue"][0].departments == ["enterprise"]
    assert list_row(ctx, case_id)["due"] == "late"
    assert "法定期限已届满" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    with pytest.raises(Conflict):
        work(case_id, "public_commitment", COMMITTED)
    case = view(ctx, case_id)
    assert open_tasks(case) == [("government_approval", "government")]
    assert fired(case) == ["commitment_deadline_timer"] and case["overdue"] is True
    done = [e["detail"].get("key") for e in case["history"] if e["action"] == "task_completed"]
    assert "public_commitment" not in done


# ---------------------------------------------------------------------------------------------
# Running cases of the version without these timers
# ---------------------------------------------------------------------------------------------

TIMERS = {timer for _key, _department, timer, _form in STEPS}


def without_the_step_timers() -> bytes:
    """processes/technology.bpmn as it was before: only ``dismantle`` carried the dismantling deadline."""
    tree = etree.parse(str(ROOT / "processes" / "technology.bpmn"))
    flows = {f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS) if f.get("sourceRef") in TIMERS}
    gone = TIMERS | flows
    for node in [n for n in tree.iter() if isinstance(n.tag, str)]:
        reference = etree.QName(node).localname in ("incoming", "flowNodeRef") and (node.text or "").strip()
        if node.get("id") in gone or node.get("bpmnElement") in gone or reference in gone:
            node.getparent().remove(node)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_a_case_on_a_step_of_the_old_version_stays_there_one_not_yet_assessed_moves(ctx, make_case, work):
    owner = actor("owner")
    deployments.deploy_upload(ctx, owner, without_the_step_timers(), note="before")
    sealing = make_case("technology")
    work(sealing, "assess_dismantling", assessment(dismantlable=False, deadline=SET_DAY))
    assessing = make_case("technology")
    new_text = (ROOT / "processes" / "technology.bpmn").read_bytes()
    new = deployments.deploy_upload(ctx, owner, new_text, note="after")
    with ctx.unit_of_work() as session:
        target = session.scalar(sa.select(Definition.id).where(Definition.process_id == "technology",
                                                               Definition.version == new["version"]))
    movable, problems = migration.can_migrate(ctx, sealing, target)
    assert not movable  # it would run on without its clock
    assert "seal_equipment" in {p.element_id for p in problems}
    migration.migrate_case(ctx, owner, assessing, target, "计时拆除期限")
    work(assessing, "assess_dismantling", assessment(dismantlable=False, deadline=SET_DAY))
    assert timers_of(ctx, assessing) == [("seal_deadline_timer", RUNS_OUT)]
    assert clock_to(ctx, RUNS_OUT)["fired"] == 1
    assert fired(view(ctx, assessing)) == ["seal_deadline_timer"] and fired(view(ctx, sealing)) == []
