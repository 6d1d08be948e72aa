"""A dump reuses what a finished task was last stored as, and the check catches a task changed behind its key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from engine import definitions as defs
from engine import runner, store
from engine.clock import parse_instant

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
NOW = parse_instant("2026-03-02T09:00:00+08:00")
START = {"dimension": "energy_use", "lead_department": "industry", "industry": "steel", "enterprise_name": "某钢铁公司",
         "credit_code": "91370800MA3C000001", "notice_date": "2026-03-02", "overdue": False, "solid_waste": False,
         "deadline_at": "2099-12-30T23:59:59+08:00", "deadline_last_day": "2099-12-30"}
STEPS = [("set_differential_price", {"electricity_price": "differential", "water_price_progressive": True,
                                     "surcharge": "每千瓦时加价0.3元", "effective_from": "2026-03-05"}),
         ("rectify", {"outcome": "rectified", "report": "已整改。"}),
         ("reinspect", {"result": "fail", "findings": "仍未达标。"}),
         ("government_approval", {"approved": True, "opinion": "同意关停。"}),
         ("close_order", {"order_no": "济工信关〔2026〕1号", "order_date": "2026-03-10", "grounds": "未达标。"})]


@pytest.fixture(scope="module")
def bundle():
    return defs.parse_bundle(
        ("energy_use.bpmn", defs.read_xml((PROCESSES / "energy_use.bpmn").read_bytes())),
        [("closure_measures.bpmn", defs.read_xml((PROCESSES / "closure_measures.bpmn").read_bytes()))], "energy_use")


@pytest.fixture
def reusing(monkeypatch):
    """Reuse as production does (the suite otherwise converts afresh to check every reuse)."""
    monkeypatch.setattr(store, "CHECK_REUSE", False)


def _work(workflow, steps) -> None:
    for key, data in steps:
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == key)
        runner.complete(workflow, task, data, NOW)


def _tasks(dct: dict) -> dict[str, dict]:
    """Every task dictionary of an instance's dictionary, subprocesses included."""
    out = dict(dct["tasks"])
    for sub in dct["subprocesses"].values():
        out.update(sub["tasks"])
    return out


def _fresh(workflow) -> dict:
    """The instance converted with nothing reused."""
    for task in workflow.get_tasks():
        task.__dict__.pop(store._STORED, None)
    return store.state_dict(store.dumps(workflow))


def test_a_finished_task_is_converted_once(bundle, reusing):
    workflow = runner.start(bundle, START, NOW)
    _work(workflow, STEPS[:3])
    first = _tasks(store._SERIALIZER.to_dict(workflow))
    _work(workflow, STEPS[3:])
    second = _tasks(store._SERIALIZER.to_dict(workflow))
    finished = [str(t.id) for t in workflow.get_tasks(state=TaskState.COMPLETED) if str(t.id) in first
                and first[str(t.id)]["state"] == TaskState.COMPLETED]
    assert len(finished) >= 8
    reused = [tid for tid in finished if second[tid] is first[tid]]
    assert len(reused) >= len(finished) - 2  # the last ones completed before the first dump gained children since
    ready = [str(t.id) for t in workflow.get_tasks(state=TaskState.READY)]
    assert ready and all(tid not in first or second[tid] is not first[tid] for tid in ready)
    assert store.state_dict(store.dumps(workflow)) == _fresh(workflow)


def test_a_restored_instance_reuses_the_dictionaries_it_was_restored_from(bundle, reusing):
    workflow = runner.start(bundle, START, NOW)
    _work(workflow, STEPS)
    stored = store.dumps(workflow)
    restored = store.loads(stored, bundle)
    finished = [t for t in restored.get_tasks(state=TaskState.COMPLETED) if t.parent is None
                or t.parent.state == TaskState.COMPLETED]
    assert finished and all(store._STORED in t.__dict__ for t in finished)
    assert store.state_dict(store.dumps(restored)) == store.state_dict(stored)
    _work(restored, [("record_exit", {"equipment": "高炉1座", "capacity_tpy": 400000, "exit_date": "2026-03-20"})])
    assert store.state_dict(store.dumps(restored)) == _fresh(restored)


def test_the_check_catches_a_finished_task_changed_behind_its_key(bundle, monkeypatch):
    workflow = runner.start(bundle, START, NOW)
    _work(workflow, STEPS[:2])
    store.dumps(workflow)
    rectify = next(t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "rectify")
    rectify.data["report"] = "改写的报告"  # what no code of the engine does to a finished task
    monkeypatch.setattr(store, "CHECK_REUSE", False)
    assert "改写的报告" not in json.dumps(store.state_dict(store.dumps(workflow)), ensure_ascii=False)  # kept stale
    monkeypatch.setattr(store, "CHECK_REUSE", True)
    with pytest.raises(AssertionError, match=f"task {rectify.id} .*changed without a new state"):
        store.dumps(workflow)


def test_the_check_is_on_in_the_test_suite():
    assert store.CHECK_REUSE is True and os.environ["CAPEXIT_CHECK_REUSE"] == "1"


def test_two_threads_dumping_at_once_each_convert_in_encoder_mode(bundle, monkeypatch):
    """The timer sweep's thread and a request's may dump at the same moment: one's end must not turn the shared
    registry's encoder mode off while the other converts (a datetime would then be stored as a typed object)."""
    import threading
    from datetime import UTC, datetime

    first, second = runner.start(bundle, START, NOW), runner.start(bundle, START, NOW)
    probe = next(iter(first.tasks.values()))
    probe.internal_data["probe"] = {"at": datetime(2026, 1, 1, tzinfo=UTC)}
    alone = store.state_dict(store.dumps(first))["tasks"][str(probe.id)]["internal_data"]["probe"]
    registry = store._SERIALIZER.registry
    reuse_key = store._reuse_key
    converting, go_on, second_done = threading.Event(), threading.Event(), threading.Event()
    modes: list[bool] = []

    def paused_key(task):
        if threading.current_thread().name == "first-dump":
            modes.append(registry._encoder_mode)
            if not converting.is_set():
                converting.set()
                go_on.wait(10)
        return reuse_key(task)

    monkeypatch.setattr(store, "_reuse_key", paused_key)
    out: dict[str, str] = {}
    dumping = threading.Thread(name="first-dump", target=lambda: out.update(first=store.dumps(first)))
    dumping.start()
    assert converting.wait(10)
    other = threading.Thread(target=lambda: (out.update(second=store.dumps(second)), second_done.set()))
    other.start()
    second_done.wait(0.5)  # it waits for the first dump to end
    go_on.set()
    dumping.join(10)
    other.join(10)
    assert modes and all(modes)
    assert store.state_dict(out["first"])["tasks"][str(probe.id)]["internal_data"]["probe"] == alone
    assert "second" in out
