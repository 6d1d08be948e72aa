"""Saving and restoring a workflow instance without its spec.

The spec is two thirds of a full SpiffWorkflow snapshot and never changes for a
definition version, so a case row keeps only the instance (tasks, data, subprocess
states) and the spec comes from the parsed-definition cache on load. Every load
re-attaches the safe script engine: SpiffWorkflow does not serialize it and would
otherwise fall back to ``eval``.

A finished task (completed or cancelled, under a finished parent) keeps the dictionary
it was last stored as, and the next dump reuses it while the task's state, state-change
time, children and parent's state-change time are what they were: most of an instance
is its finished past, and converting it again (with SpiffWorkflow's data delta against
the parent) was most of a dump. ``CHECK_REUSE`` (on when the environment has
``CAPEXIT_CHECK_REUSE=1``) makes every dump convert every task afresh as well and fail on
any difference; the test suite runs with it on, servers it starts included.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import zlib
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.definitions import SpecBundle
from engine.expressions import attach_safe_engine

SERIALIZER_VERSION = "capexit-2"  # capexit-1: plain JSON; capexit-2: the same JSON, zlib-compressed
COMPRESSED = "z:"


CHECK_REUSE = os.environ.get("CAPEXIT_CHECK_REUSE") == "1"  # every dump also converts afresh; a difference raises
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
_STORED = "_capexit_stored"  # the task attribute holding (key, dictionary) of its last conversion or restore


def _reuse_key(task: Task) -> tuple | None:
    """What must not have changed for a task's stored dictionary to stand; None while it may still change."""
    parent = task.parent
    if not task.state & _FINISHED or (parent is not None and not parent.state & _FINISHED):
        return None
    return (task.state, task.last_state_change, tuple(task._children),
            None if parent is None else parent.last_state_change)


class ReusingTaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, reusing a finished task's dictionary while its key holds."""

    def to_dict(self, task: Task) -> dict:
        key = _reuse_key(task)
        stored = task.__dict__.get(_STORED)
        reusable = key is not None and stored is not None and stored[0] == key
        if reusable and not CHECK_REUSE:
            return stored[1]
        dct = super().to_dict(task)
        if reusable:
            _check_same(task, stored[1], dct)
        if key is not None:
            setattr(task, _STORED, (key, dct))
        return dct

    def from_dict(self, dct: dict, workflow: BpmnWorkflow) -> Task:
        task = super().from_dict(dct, workflow)
        if task.state & _FINISHED:
            setattr(task, _STORED, (None, dct))  # keyed by remember_restored once the parents are there
        return task


def _check_same(task: Task, stored: dict, fresh: dict) -> None:
    as_json = [json.dumps({k: v for k, v in d.items() if k != "typename"}, sort_keys=True, default=_json_default)
               for d in (stored, fresh)]
    if as_json[0] != as_json[1]:
        raise AssertionError(f"task {task.id} ({task.task_spec.name}) changed without a new state: stored "
                             f"{as_json[0]}, now {as_json[1]}")


def remember_restored(workflow: BpmnWorkflow) -> None:
    """Key the dictionaries the finished tasks were restored from, now that every task is in place."""
    for owner in (workflow, *workflow.subprocesses.values()):
        for task in owner.tasks.values():
            stored = task.__dict__.get(_STORED)
            if stored is not None and stored[0] is None:
                key = _reuse_key(task)
                if key is None:
                    del task.__dict__[_STORED]
                else:
                    setattr(task, _STORED, (key, stored[1]))


class InstanceOnlyConverter(BpmnWorkflowConverter):
    """Converts a top-level workflow without its spec and subprocess specs."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_name"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict, bundle: SpecBundle | None = None) -> BpmnWorkflow:  # type: ignore[override]
        if bundle is None:
            raise ValueError("restoring a case needs its parsed spec bundle")
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        remember_restored(workflow)
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = InstanceOnlyConverter
    config[Task] = ReusingTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()
# The registry's encoder mode is one flag for every thread: a dump holds it until its conversion ends,
# or the timer sweep's thread and a request's could turn it off under each other.
_ENCODER_MODE = threading.Lock()


def dumps(workflow: BpmnWorkflow) -> str:
    """The instance state (no spec): compact JSON, zlib-compressed and base64-encoded behind ``z:``."""
    registry = _SERIALIZER.registry
    with _ENCODER_MODE:
        registry._encoder_mode = True
        try:
            dct = _SERIALIZER.to_dict(workflow)
        finally:
            registry._encoder_mode = False
    text = json.dumps(dct, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return COMPRESSED + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def state_dict(stored: str) -> dict:
    """The stored state as a dictionary (compressed or, from older rows, plain JSON)."""
    if stored.startswith(COMPRESSED):
        return json.loads(zlib.decompress(base64.b64decode(stored[len(COMPRESSED):])))
    return json.loads(stored)


def loads(text: str, bundle: SpecBundle) -> BpmnWorkflow:
    """Restore an instance onto its cached spec bundle, with the safe script engine attached."""
    workflow = _SERIALIZER.from_dict(state_dict(text), bundle=bundle)
    attach_safe_engine(workflow)
    return workflow


def _json_default(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"task data value of type {type(value).__name__} cannot be stored")
