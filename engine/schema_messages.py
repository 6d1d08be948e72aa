"""What a JSON Schema error says, in Chinese and in English, for people rather than for programmers.

jsonschema's own messages are English and show Python's values ("True", "-5 is less than the minimum of 0").
A task form's refusal (``engine.services.tasks``) and the form editor's check of a form against the JSON Schema
2020-12 meta-schema (``engine.form_rules``) both say why a value is wrong through ``reason_zh`` / ``reason_en``;
a keyword without a wording of its own keeps jsonschema's message.
"""

from __future__ import annotations

from typing import Any

import jsonschema

TYPE_NAMES = {"string": ("文本", "text"), "integer": ("整数", "a whole number"), "number": ("数字", "a number"),
              "boolean": ("是或否", "true or false"), "object": ("对象（{…}）", "an object ({…})"),
              "array": ("列表（[…]）", "a list ([…])"), "null": ("空值 null", "null")}
FORMATS = {"uri": ("应为以 http:// 或 https:// 开头的完整网址", "must be a full web address starting with http:// or https://"),
           "date": ("应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)")}


def shown(value: Any, lang: str) -> str:
    """A value of the schema as a message shows it: a boolean as 是/否 (true/false in English), never Python's."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else str(value).lower()
    return str(value)


def _types(value: Any, lang: str) -> str:
    names = value if isinstance(value, list) else [value]
    index = 0 if lang == "zh" else 1
    return ("或" if lang == "zh" else " or ").join(TYPE_NAMES.get(n, (n, n))[index] for n in names)


def reason_zh(error: jsonschema.ValidationError) -> str:
    """Why the value is wrong, in Chinese."""
    v = error.validator_value
    reasons = {
        "enum": lambda: "应为以下之一：" + "、".join(shown(x, "zh") for x in v),
        "maximum": lambda: f"不能大于 {v}",
        "minimum": lambda: f"不能小于 {v}",
        "exclusiveMaximum": lambda: f"应小于 {v}",
        "exclusiveMinimum": lambda: f"应大于 {v}",
        "type": lambda: f"应为{_types(v, 'zh')}",
        "format": lambda: FORMATS.get(v, (f"格式应为 {v}", ""))[0],
        "maxLength": lambda: f"长度不能超过 {v}",
        "minLength": lambda: f"长度不能少于 {v}",
        "maxItems": lambda: f"不能多于 {v} 项",
        "minItems": lambda: f"不能少于 {v} 项",
        "uniqueItems": lambda: "各项不能重复",
        "pattern": lambda: f"应符合格式 {v}",
        "const": lambda: f"必须为「{shown(v, 'zh')}」",
        "required": lambda: "缺少必填项 " + "、".join(str(x) for x in v if not isinstance(error.instance, dict)
                                                   or x not in error.instance),
    }
    return reasons.get(error.validator, lambda: error.message)()


def reason_en(error: jsonschema.ValidationError) -> str:
    """Why the value is wrong, in English: jsonschema's message, except where it would show Python's values or a
    bare format name."""
    v = error.validator_value
    reasons = {
        "enum": lambda: "must be one of " + ", ".join(shown(x, "en") for x in v),
        "format": lambda: FORMATS.get(v, ("", error.message))[1],
        "const": lambda: f"must be {shown(v, 'en')}",
        "type": lambda: f"must be {_types(v, 'en')}",
    }
    return reasons.get(error.validator, lambda: error.message)()
