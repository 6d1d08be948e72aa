"""Saving and restoring a workflow instance without its spec.

The spec is two thirds of a full SpiffWorkflow snapshot and never changes for a
definition version, so a case row keeps only the instance (tasks, data, subprocess
states) and the spec comes from the parsed-definition cache on load. Every load
re-attaches the safe script engine: SpiffWorkflow does not serialize it and would
otherwise fall back to ``eval``.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.definitions import SpecBundle
from engine.expressions import attach_safe_engine

SERIALIZER_VERSION = "capexit-2"  # capexit-1: plain JSON; capexit-2: the same JSON, zlib-compressed
COMPRESSED = "z:"


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
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = InstanceOnlyConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()


def dumps(workflow: BpmnWorkflow) -> str:
    """The instance state (no spec): compact JSON, zlib-compressed and base64-encoded behind ``z:``."""
    registry = _SERIALIZER.registry
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
