"""Task forms from their JSON Schema: fields to render, submitted strings back to typed JSON, values to show.

Input names are the schema's property names (the contract). The server's validation
(``engine.services.tasks.complete_task``, with ``jsonschema``) is the check; the HTML
attributes rendered here (required, min, max, maxlength; today as a ``max`` for a date field
marked ``x-notAfterToday``, tomorrow as a ``min`` for a date that sets a deadline) only help the browser. In English, titles, help and choice labels come from the
schema's ``x-en`` overlay (``engine.form_english``), each falling back to the Chinese text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _

from engine.errors import Problem
from engine.form_english import english_labels, english_name, text_in
from engine.form_formats import WEB_ADDRESS_PATTERN
from engine.form_rules import NOT_AFTER_TODAY

LONG_TEXT = 200
RADIO_LIMIT = 4
_LABEL = re.compile(r"([A-Za-z0-9_\-]+)\s*[＝=]\s*([^；;]+)")


@dataclass
class FormField:
    """One input of a task form, ready for the template."""

    name: str
    widget: str  # text, textarea, date, url, number, radio, select, yesno, checkbox
    title: str
    help: str = ""
    required: bool = False
    required_when: tuple[str, str, str] | None = None  # (field, submitted value, label of that value)
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


def _type(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return str(kind)


def enum_labels(prop: Mapping[str, Any], lang: str = "zh") -> dict[str, str]:
    """Labels of an enum's values: ``rectified＝已完成整改`` pairs in the description, else the value itself; in
    English the overlay's labels first."""
    found = {m.group(1): m.group(2).strip().rstrip("。.，, ") for m in _LABEL.finditer(prop.get("description", ""))}
    if lang == "en":
        found |= english_labels(prop)
    return {str(v): found.get(str(v), str(v)) for v in prop.get("enum", [])}


def form_heading(schema: Mapping[str, Any] | None, lang: str = "zh") -> tuple[str, str]:
    """(title, description) of a form in a language; "" for what it lacks."""
    return text_in(schema, "title", lang), text_in(schema, "description", lang)


def _labels_in_description(prop: Mapping[str, Any]) -> bool:
    return bool(prop.get("enum")) and bool(_LABEL.search(prop.get("description", "")))


def conditional_requirements(schema: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Fields an ``if``/``then`` makes required, with the (field, value) that triggers it."""
    rules = [schema, *[s for s in schema.get("allOf", []) if isinstance(s, Mapping)]]
    out: dict[str, tuple[str, Any]] = {}
    for rule in rules:
        condition, then = rule.get("if"), rule.get("then")
        if not isinstance(condition, Mapping) or not isinstance(then, Mapping):
            continue
        props = condition.get("properties", {})
        if len(props) != 1:
            continue
        (trigger, test), = props.items()
        value = test.get("const", (test.get("enum") or [None])[0])
        for name in then.get("required", []):
            out[name] = (trigger, value)
    return out


def form_fields(schema: Mapping[str, Any] | None, lang: str = "zh", today: date | None = None,
                earliest: date | None = None, deadlines: Collection[str] = ()) -> list[FormField]:
    """The inputs of a form, in the schema's property order; ``today`` (the engine clock's) and ``earliest`` (the
    case's notice date) bound the dates of what has happened; a date field named in ``deadlines`` (a timer's field
    rule) starts the day after ``today``, as the server refuses today or earlier."""
    if not schema:
        return []
    required = set(schema.get("required", []))
    conditional = conditional_requirements(schema)
    properties = schema.get("properties", {})
    fields = []
    for name, prop in properties.items():
        kind, fmt = _type(prop), prop.get("format")
        out = FormField(name, "text", text_in(prop, "title", lang) or name, text_in(prop, "description", lang),
                        name in required)
        if name in conditional and name not in required:
            trigger, value = conditional[name]
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            out.required_when = (trigger, shown, display_value(properties.get(trigger, {}), value, lang))
        if "enum" in prop:
            out.options = list(enum_labels(prop, lang).items())
            out.widget = "radio" if len(out.options) <= RADIO_LIMIT else "select"
            if _labels_in_description(prop) and out.help == prop.get("description"):  # the labels, already shown
                out.help = ""
        elif kind == "boolean":
            out.widget = "checkbox" if prop.get("const") is True else "yesno"
            out.options = [("true", _("是")), ("false", _("否"))]
        elif kind in ("integer", "number"):
            out.widget = "number"
            out.attrs = {"step": 1 if kind == "integer" else "any", "min": prop.get("minimum"),
                         "max": prop.get("maximum")}
        elif fmt == "date":
            out.widget = "date"
            happened = prop.get(NOT_AFTER_TODAY) is True
            out.attrs = {"max": today.isoformat() if today and happened else None,
                         "min": earliest.isoformat() if earliest and happened else None}
            if today and name in deadlines:
                out.attrs["min"] = (today + timedelta(days=1)).isoformat()
        elif fmt == "uri":  # the browser's hint of the server's rule (``engine.form_formats``)
            out.widget = "url"
            out.attrs = {"maxlength": prop.get("maxLength"), "pattern": WEB_ADDRESS_PATTERN,
                         "title": _("以 http:// 或 https:// 开头的完整网址")}
        else:
            out.widget = "textarea" if (prop.get("maxLength") or 0) > LONG_TEXT else "text"
            out.attrs = {"maxlength": prop.get("maxLength")}
        out.attrs = {k: v for k, v in out.attrs.items() if v is not None}
        fields.append(out)
    return fields


def _number(raw: str, integer: bool) -> int | float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if value.is_integer() and ("." not in raw and "e" not in raw.lower() or integer):
        return int(value)
    return None if integer else value


def parse_submission(schema: Mapping[str, Any] | None, form: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Typed JSON from submitted strings: numbers, booleans, dates as strings; empty fields omitted.

    A value that cannot be read as its type is passed on as the raw string (so the schema
    check names the field) and reported as a problem with a clearer message.
    """
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, prop in ((schema or {}).get("properties") or {}).items():
        raw = form.get(name)
        if raw is None or not str(raw).strip():
            continue
        raw = str(raw).replace("\r\n", "\n").strip()
        kind, title, english = _type(prop), prop.get("title", name), english_name(prop, name)
        if kind in ("integer", "number"):
            value = _number(raw, kind == "integer")
            if value is None:
                problems.append(Problem(f"「{title}」应填写{'整数' if kind == 'integer' else '数字'}",
                                        f"{english} must be a {'whole number' if kind == 'integer' else 'number'}",
                                        field=name))
                value = raw
            data[name] = value
        elif kind == "boolean":
            value = {"true": True, "on": True, "1": True, "false": False, "0": False}.get(raw.lower())
            if value is None:
                problems.append(Problem(f"「{title}」应选择是或否", f"{english} must be yes or no", field=name))
            data[name] = raw if value is None else value
        else:
            data[name] = raw
    return data, problems


def display_value(prop: Mapping[str, Any], value: Any, lang: str = "zh") -> str:
    """A submitted value as people read it (labels for enums, 是/否 for booleans); an object as its fields'
    titles and values, a list as its items (the annual report's corrections), labelled by the nested schema."""
    prop = prop if isinstance(prop, Mapping) else {}
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, Mapping):
        return _("，").join(f"{title}{_('：')}{shown}" for title, shown in describe(prop, value, lang))
    if isinstance(value, list):
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        joiner = _("；") if any(isinstance(v, Mapping) for v in value) else _("、")
        return joiner.join(display_value(items, v, lang) for v in value)
    if "enum" in prop:
        return enum_labels(prop, lang).get(str(value), str(value))
    return str(value)


def describe(schema: Mapping[str, Any] | None, data: Mapping[str, Any], lang: str = "zh") -> list[tuple[str, str]]:
    """(title, shown value) for each submitted field, in the form's order; unknown fields by their name, empty
    ones left out. The one way pages show submitted data (the task page's and the case page's history)."""
    properties = (schema or {}).get("properties") or {}
    filled = {n: v for n, v in data.items() if v not in ("", None, [], {})}
    ordered = [n for n in properties if n in filled] + [n for n in filled if n not in properties]
    return [(text_in(properties.get(n), "title", lang) or n, display_value(properties.get(n, {}), filled[n], lang))
            for n in ordered]
