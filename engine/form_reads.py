"""What deployed processes read from task forms: the forms their user tasks use, and the data names their
conditions, timer expressions and field deadline rules read (``engine.form_rules.protected_problems``)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from lxml import etree

from engine.bpmn_rules import EXPRESSION_TAGS, TIMER_KINDS, bpmn, local_name, owner_of, properties_of


@dataclass(frozen=True)
class Read:
    """A data name a process reads: in a condition or timer expression, or as a timer's deadline field."""

    name: str
    process_id: str
    element_id: str
    kind: str  # "expression" or "deadline"


@dataclass(frozen=True)
class DefinitionUse:
    """The forms a process's user tasks use, and the data names its expressions and deadline rules read."""

    forms: frozenset[str]
    reads: tuple[Read, ...]
    calls: tuple[str, ...]


def expression_names(text: str) -> set[str]:
    """The data names an expression reads (names and ``get("name")``; function names left out)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            functions.add(id(node.func))
            first = node.args[0] if node.args else None
            if node.func.id == "get" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
        elif isinstance(node, ast.Name) and id(node) not in functions:
            names.add(node.id)
    return names


def definition_use(root: etree._Element) -> DefinitionUse:
    """What a BPMN document's processes use and read."""
    forms: set[str] = set()
    reads: list[Read] = []
    for process in root.iter(bpmn("process")):
        pid = process.get("id") or ""
        for task in process.iter(bpmn("userTask")):
            if form := properties_of(task).get("formJsonSchemaFilename"):
                forms.add(form)
        expressions = [*process.iter(*EXPRESSION_TAGS), *(n for d in process.iter(bpmn("timerEventDefinition"))
                                                        for n in d if local_name(n) in TIMER_KINDS)]
        for node in expressions:
            element = owner_of(node).get("id") or ""
            reads += [Read(name, pid, element, "expression") for name in sorted(expression_names(node.text or ""))]
        for event in process.iter(bpmn("boundaryEvent"), bpmn("intermediateCatchEvent")):
            props = properties_of(event)
            if props.get("deadlineRule") == "field" and props.get("field"):
                reads.append(Read(props["field"], pid, event.get("id") or "", "deadline"))
    calls = tuple(sorted({c.get("calledElement") for c in root.iter(bpmn("callActivity")) if c.get("calledElement")}))
    return DefinitionUse(frozenset(forms), tuple(reads), calls)
