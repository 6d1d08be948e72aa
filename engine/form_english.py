"""The English overlay of a task form: ``"x-en"`` beside the Chinese texts, on the form and on each field.

A form's own ``title`` and ``description`` stay Chinese (the default language, and what the
publish-time rules require). The overlay holds their English: ``{"title": ..., "description": ...}``,
and on a field with an ``enum`` also ``"labels": {"<value>": "<English label>"}``. JSON Schema
ignores the keyword, so it never changes what a submission must hold. Readers fall back to the
Chinese text where the overlay has no English one. ``english_problems`` is the publish-time
check of its shape (run by ``engine.form_rules.check_text``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.errors import Problem

if TYPE_CHECKING:
    from engine.form_rules import Located, Path

ENGLISH = "x-en"
TEXTS = ("title", "description")
LABELS = "labels"


def _overlay(node: Any) -> Mapping[str, Any]:
    found = node.get(ENGLISH) if isinstance(node, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def english_text(node: Any, key: str) -> str:
    """The overlay's English ``title`` or ``description`` of a form or field, or "" when it has none."""
    text = _overlay(node).get(key)
    return text.strip() if isinstance(text, str) else ""


def text_in(node: Any, key: str, lang: str) -> str:
    """A form's or field's ``title`` or ``description`` in a language: English when asked for and present, else the
    Chinese text ("" when that is missing or not a string)."""
    if lang == "en" and english_text(node, key):
        return english_text(node, key)
    text = node.get(key) if isinstance(node, Mapping) else None
    return text if isinstance(text, str) else ""


def english_labels(prop: Any) -> dict[str, str]:
    """The overlay's English labels of a field's enum values, by value (as text); only the non-empty ones."""
    labels = _overlay(prop).get(LABELS)
    if not isinstance(labels, Mapping):
        return {}
    return {str(k): v.strip() for k, v in labels.items() if isinstance(v, str) and v.strip()}


def english_name(prop: Any, name: str) -> str:
    """How English messages name a field: its English title, else its field name."""
    return english_text(prop, "title") or name


# --- the publish-time check ----------------------------------------------------------------------------------

def _labels_problems(labels: Any, enum: Any, where: Path, located: Located) -> list[Problem]:
    at = (*where, LABELS)
    if not isinstance(labels, dict):
        return [located.problem(f"{ENGLISH}.labels 应为对象：取值 → 英文名称",
                                f"{ENGLISH}.labels must be an object: value → English label", at)]
    if not isinstance(enum, list):
        return [located.problem(f"{ENGLISH}.labels 只能用于有 enum（取值列表）的字段",
                                f"{ENGLISH}.labels belongs only on a field with an enum (a list of values)", at)]
    values = {str(v) for v in enum}
    problems = []
    for value, label in labels.items():
        if value not in values:
            problems.append(located.problem(
                f"{ENGLISH}.labels 的 {value!r} 不是该字段的取值（enum：{'、'.join(map(str, enum))}）",
                f"{ENGLISH}.labels: {value!r} is not a value of the field's enum ({', '.join(map(str, enum))})",
                (*at, value)))
        elif not isinstance(label, str) or not label.strip():
            problems.append(located.problem(f"{ENGLISH}.labels 的 {value!r} 应为非空的英文名称（字符串）",
                                            f"{ENGLISH}.labels: the label of {value!r} must be a non-empty string",
                                            (*at, value)))
    return problems


def _overlay_problems(node: dict, where: Path, located: Located) -> list[Problem]:
    overlay = node[ENGLISH]
    at = (*where, ENGLISH)
    if not isinstance(overlay, dict):
        return [located.problem(f"{ENGLISH} 应为对象，如 {{\"title\": \"...\", \"description\": \"...\"}}",
                                f"{ENGLISH} must be an object, e.g. {{\"title\": \"...\", \"description\": \"...\"}}",
                                at)]
    problems = []
    for key, value in overlay.items():
        if key in TEXTS and not isinstance(value, str):
            problems.append(located.problem(f"{ENGLISH}.{key} 应为字符串（英文文本）",
                                            f"{ENGLISH}.{key} must be a string (the English text)", (*at, key)))
        elif key == LABELS:
            problems += _labels_problems(value, node.get("enum"), at, located)
        elif key not in TEXTS:
            problems.append(located.problem(f"{ENGLISH} 只能包含 title、description、labels，不能有 {key!r}",
                                            f"{ENGLISH} may hold only title, description and labels, not {key!r}",
                                            (*at, key)))
    return problems


def english_problems(schema: dict, located: Located) -> list[Problem]:
    """Every ``x-en`` in the form is an object of English strings: ``title`` and ``description``, and ``labels`` for
    values of the same field's ``enum``; each problem names its JSON path."""
    problems, stack = [], [((), schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            if ENGLISH in node:
                problems += _overlay_problems(node, where, located)
            stack.extend(((*where, k), v) for k, v in node.items() if k != ENGLISH)
        elif isinstance(node, list):
            stack.extend(((*where, i), v) for i, v in enumerate(node))
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
