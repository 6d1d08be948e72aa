"""An instance's position: its waiting timers (subprocesses included) and the due day of the tasks they guard."""

from __future__ import annotations

from datetime import date

from SpiffWorkflow.util.task import TaskState

from engine import definitions as defs
from engine import runner
from engine.clock import parse_instant
from tests.test_bpmn_rules import deadline, flow, tiny, user

NOW = parse_instant("2026-03-02T09:00:00+08:00")
REMINDER = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">reminder_at</bpmn:timeDate>'


def _two_timers_on_one_task():
    text = tiny(user("work", "整改"), flow("start", "work"), flow("work", "end"),
                deadline("late", "work"), flow("late", "end"), deadline("reminder", "work", REMINDER),
                flow("reminder", "end"))
    return defs.parse_bundle(("tiny.bpmn", defs.read_xml(text.encode())), [], "tiny")


def test_a_task_guarded_by_two_timers_is_due_the_day_before_the_first():
    bundle = _two_timers_on_one_task()
    for first, second in (("deadline_at", "reminder_at"), ("reminder_at", "deadline_at")):
        workflow = runner.start(bundle, {first: "2026-05-11T00:00:00+08:00", second: "2026-09-01T00:00:00+08:00"},
                                NOW)
        position = runner.position(workflow, bundle)
        assert sorted(t.key for t in position.timers) == ["late", "reminder"]
        assert [(t.key, t.due) for t in position.open_tasks] == [("work", date(2026, 5, 10))]


def test_the_timers_are_those_a_walk_of_the_task_tree_finds():
    bundle = _two_timers_on_one_task()
    workflow = runner.start(bundle, {"deadline_at": "2026-05-11T00:00:00+08:00",
                                     "reminder_at": "2026-09-01T00:00:00+08:00"}, NOW)
    walked = {str(t.id) for t in workflow.get_tasks(state=TaskState.WAITING) if runner._is_timer(t)}
    assert {t.id for t in runner.position(workflow, bundle).timers} == walked and len(walked) == 2
    assert runner.has_due_timer(workflow, parse_instant("2026-05-11T00:00:01+08:00"))
    assert not runner.has_due_timer(workflow, parse_instant("2026-05-10T23:59:59+08:00"))
