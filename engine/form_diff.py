"""Comparing two versions of a task form: fields added, removed and changed (by name), and the form's own settings.

Pure functions over two parsed JSON Schemas; ``engine.services.forms.diff`` feeds them stored versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.form_english import english_text
from engine.step_names import named

_RULE_KEYWORDS = ("if", "then", "else", "allOf", "anyOf", "oneOf", "not", "dependentRequired", "dependentSchemas")

PROPERTY_ASPECTS = ("title", "type", "required", "enum", "format", "description", "minimum", "maximum",
                    "minLength", "maxLength", "pattern", "const", "default", "other")
FORM_ASPECTS = ("title", "description", "order", "rules", "additionalProperties", "other")
ASPECT_LABELS = {
    "title": ("标题", "title"), "type": ("类型", "type"), "required": ("必填", "required"), "enum": ("取值", "values"),
    "format": ("格式", "format"), "description": ("说明", "description"), "minimum": ("最小值", "minimum"),
    "maximum": ("最大值", "maximum"), "minLength": ("最短", "minimum length"), "maxLength": ("最长", "maximum length"),
    "pattern": ("格式正则", "pattern"), "const": ("固定值", "constant"), "default": ("默认值", "default"),
    "other": ("其他", "other keywords"), "order": ("字段顺序", "field order"),
    "rules": ("条件规则", "conditional rules"), "additionalProperties": ("其他字段", "additional fields"),
}


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass
class PropertyChange:
    """One field added, removed or changed; ``what`` names the changed aspects."""

    name: str
    title: str  # a ``StepName``: the field's title carrying the overlay's English one, if any
    what: tuple[str, ...] = ()
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)


@dataclass
class FormDiff:
    """What changed from one version of a form to another: its fields, and the form's own keywords."""

    added: list[PropertyChange] = field(default_factory=list)
    removed: list[PropertyChange] = field(default_factory=list)
    changed: list[PropertyChange] = field(default_factory=list)
    form: list[tuple[str, str, str]] = field(default_factory=list)  # (aspect, before, after)

    @property
    def empty(self) -> bool:
        """True when the two versions have the same fields and form keywords."""
        return not (self.added or self.removed or self.changed or self.form)


def _describe(schema: dict, name: str) -> dict[str, str]:
    prop = schema.get("properties", {}).get(name)
    prop = prop if isinstance(prop, dict) else {}
    out = {a: _shown(prop.get(a)) for a in PROPERTY_ASPECTS if a not in ("required", "other")}
    out["required"] = "true" if name in (schema.get("required") or []) else "false"
    rest = {k: v for k, v in prop.items() if k not in PROPERTY_ASPECTS}
    out["other"] = _shown(rest) if rest else ""
    return out


def diff(old: dict, new: dict) -> FormDiff:
    """Compare two versions of a form by field name (``new`` is the later one, usually)."""
    result = FormDiff()
    before = old.get("properties") if isinstance(old.get("properties"), dict) else {}
    after = new.get("properties") if isinstance(new.get("properties"), dict) else {}

    def title(schema: dict, name: str) -> str:
        prop = schema["properties"][name]
        text = prop.get("title", "") if isinstance(prop, dict) and isinstance(prop.get("title"), str) else ""
        return named(text, english_text(prop, "title") or None)

    for name in after:
        if name not in before:
            result.added.append(PropertyChange(name, title(new, name), after=_describe(new, name)))
    for name in before:
        if name not in after:
            result.removed.append(PropertyChange(name, title(old, name), before=_describe(old, name)))
        else:
            a, b = _describe(old, name), _describe(new, name)
            what = tuple(k for k in PROPERTY_ASPECTS if a[k] != b[k])
            if what:
                result.changed.append(PropertyChange(name, title(new, name), what, a, b))
    common_before = [n for n in before if n in after]
    common_after = [n for n in after if n in before]
    pairs = {
        "title": (old.get("title"), new.get("title")), "description": (old.get("description"), new.get("description")),
        "order": (", ".join(common_before), ", ".join(common_after)),
        "rules": ({k: old[k] for k in _RULE_KEYWORDS if k in old} or None,
                  {k: new[k] for k in _RULE_KEYWORDS if k in new} or None),
        "additionalProperties": (old.get("additionalProperties"), new.get("additionalProperties")),
    }
    known = {"title", "description", "properties", "required", "additionalProperties", "type", *_RULE_KEYWORDS}
    pairs["other"] = ({k: v for k, v in old.items() if k not in known} or None,
                      {k: v for k, v in new.items() if k not in known} or None)
    result.form = [(aspect, _shown(a), _shown(b)) for aspect, (a, b) in pairs.items() if _shown(a) != _shown(b)]
    return result
