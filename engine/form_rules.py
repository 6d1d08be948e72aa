"""Publish-time rules for user-task forms (JSON Schema text), with the line, column and JSON path of each problem.

Pure functions, no database: ``engine.services.forms`` feeds them the stored versions and
the deployed definitions. Every problem names where it is: the line and column of the
text, and the JSON path (``$.properties.outcome.type``) in ``field``; messages in Chinese
and English.

Checks, in order (later ones need the earlier to pass): the form key, the size, JSON
syntax (line and column from the decoder), nesting depth, the JSON Schema 2020-12
meta-schema (every error with its path), then our rules: the top level is ``type: object``
with ``properties``; property names ``^[a-z][a-z0-9_]*$``; titles are Chinese text;
``required`` names only properties; references stay inside the document; ``x-notAfterToday``
(a date of something that has happened) is a boolean on a top-level date field; ``x-en`` (the English
overlay, ``engine.form_english``) is an object of English strings, its labels naming enum values; and the fields of
DESIGN.md's contract table keep their names, types and values, and the range the law allows
(``extension_months`` 1 to 3: a form cannot offer more than the server accepts). Against the latest stored
version: ``widget_problems`` keeps fields to the types the task page has inputs for, and
``protected_problems`` refuses removing a property, or changing its type, while a deployed
process reads it.
What processes read is ``engine.form_reads``; comparing two versions is ``engine.form_diff``.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring
from typing import Any, NamedTuple
from urllib.parse import unquote

import jsonschema

from engine.errors import Problem
from engine.form_english import english_problems
from engine.form_reads import Read
from engine.schema_messages import reason_en, reason_zh, shown

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.schema\.json$")
PROPERTY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_KEY = 100
MAX_FORM_BYTES = 256 * 1024
MAX_DEPTH = 32
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# On a top-level date field: the date of something that has happened, so a completion refuses one after today
# (``engine.services.tasks.dates_out_of_range``: nor before the case's notice date); the task page's date input gets
# today as its ``max`` and the notice date as its ``min``.
NOT_AFTER_TODAY = "x-notAfterToday"
_CJK = re.compile(r"[\u3400-\u9fff]")
_WS = re.compile(r"[ \t\n\r]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_META = jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA,
                                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

MAX_EXTENSION_MONTHS = 3  # DOMAIN.md C-2.1/C-2.2: one extension of at most 3 months


class Contracted(NamedTuple):
    """A contract field: its type, its values (an enum) and the range the law allows (a number's minimum and
    maximum: the form may narrow it, never widen it)."""

    kind: str
    values: tuple[str, ...] | None = None
    bounds: tuple[int, int] | None = None


# DESIGN.md, "Task keys and their fields": the same step keeps these fields in every process (type, values, range).
CONTRACT: dict[str, dict[str, Contracted]] = {
    "rectify.schema.json": {"outcome": Contracted("string", ("rectified", "extension_requested")),
                            "extension_months": Contracted("integer", bounds=(1, MAX_EXTENSION_MONTHS)),
                            "reason": Contracted("string")},
    "review_extension.schema.json": {"approved": Contracted("boolean"), "opinion": Contracted("string")},
    "reinspect.schema.json": {"result": Contracted("string", ("pass", "fail")), "findings": Contracted("string")},
    "government_approval.schema.json": {"approved": Contracted("boolean"), "opinion": Contracted("string")},
}

_JSON_MESSAGES = {  # the decoder's messages, in Chinese
    "Expecting value": "此处应为一个值（字符串、数字、对象、数组、true、false 或 null）",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting property name enclosed in double quotes": "属性名应使用双引号括起（或多了一个逗号）",
    "Unterminated string starting at": "字符串没有结束的引号",
    "Invalid control character at": "字符串中有未转义的控制字符（如换行）",
    "Extra data": "JSON 结束后还有多余的内容",
    "Invalid \\escape": "无效的转义字符",
    "Invalid \\uXXXX escape": "无效的 \\uXXXX 转义",
}


# --- where things are in the text ----------------------------------------------------------------------------

Path = tuple[str | int, ...]


def json_path(path: Path) -> str:
    """``$.properties.outcome`` for ("properties", "outcome"); indexes and odd keys in brackets."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


class Located:
    """A parsed text that answers the line and column of any path in it (object members at their key)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offsets: dict[Path, int] = {}
        self.duplicates: list[Path] = []
        self._decoder = json.JSONDecoder()
        self._value(0, ())

    def _value(self, i: int, path: Path) -> int:
        i = _WS.match(self.text, i).end()
        self.offsets.setdefault(path, i)
        opener = self.text[i]
        if opener not in "{[":
            return self._decoder.raw_decode(self.text, i)[1]
        closer, index = ("}" if opener == "{" else "]"), 0
        i = _WS.match(self.text, i + 1).end()
        while self.text[i] != closer:
            if opener == "{":
                key_at = i
                key, i = scanstring(self.text, i + 1)
                child = (*path, key)
                if child in self.offsets:
                    self.duplicates.append(child)
                self.offsets[child] = key_at
                i = _WS.match(self.text, i).end() + 1  # past ':'
            else:
                child = (*path, index)
                index += 1
            i = _WS.match(self.text, self._value(i, child)).end()
            if self.text[i] == ",":
                i = _WS.match(self.text, i + 1).end()
        return i + 1

    def where(self, path: Path) -> tuple[int, int]:
        """(line, column) of a path, or of its nearest ancestor present in the text; both 1-based."""
        while path and path not in self.offsets:
            path = path[:-1]
        offset = self.offsets.get(path, 0)
        line_start = self.text.rfind("\n", 0, offset) + 1
        return self.text.count("\n", 0, offset) + 1, offset - line_start + 1

    def problem(self, zh: str, en: str, path: Path) -> Problem:
        """A problem at a path: the JSON path in ``field``, its line and column."""
        line, column = self.where(path)
        return Problem(zh, en, field=json_path(path), line=line, column=column)


# --- checking a text -----------------------------------------------------------------------------------------

def canonical(schema: Any) -> str:
    """The schema as compact JSON in its own key order: what two versions are compared by (not whitespace)."""
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def key_problems(key: Any) -> list[Problem]:
    """A form key is a file-like name, ``legal_review.schema.json``."""
    if not isinstance(key, str) or len(key) > MAX_KEY or not KEY_PATTERN.fullmatch(key):
        return [Problem(f"表单标识应为小写字母开头的字母、数字、下划线，并以 .schema.json 结尾（如 legal_review.schema.json），"
                        f"不超过 {MAX_KEY} 个字符",
                        f"a form key is lower-case letters, digits and underscores starting with a letter, ending in "
                        f".schema.json (e.g. legal_review.schema.json), at most {MAX_KEY} characters", field="key")]
    return []


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse(text: Any) -> tuple[Any, Located | None, list[Problem]]:
    """Read a form's text: (schema, its locations, problems); the schema is None when it cannot be read."""
    if not isinstance(text, str) or not text.strip():
        return None, None, [Problem("表单内容为空", "the form is empty", field="schema", line=1, column=1)]
    size = len(text.encode("utf-8"))
    if size > MAX_FORM_BYTES:
        return None, None, [Problem(f"表单超过 {MAX_FORM_BYTES // 1024} KB 的上限（{size} 字节）",
                                    f"the form is over {MAX_FORM_BYTES // 1024} kB ({size} bytes)", field="schema")]
    constants: list[str] = []
    try:
        schema = json.loads(text, parse_constant=lambda name: constants.append(name))
    except json.JSONDecodeError as exc:
        zh = next((v for k, v in _JSON_MESSAGES.items() if exc.msg.startswith(k)), exc.msg)
        return None, None, [Problem(f"JSON 语法错误：{zh}", f"JSON syntax error: {exc.msg}", line=exc.lineno,
                                    column=exc.colno)]
    except RecursionError:
        schema = [[]] * (MAX_DEPTH + 1)  # deeper than the limit, whatever it held
    if _depth(schema) > MAX_DEPTH:
        return None, None, [Problem(f"JSON 嵌套不能超过 {MAX_DEPTH} 层", f"JSON may nest at most {MAX_DEPTH} levels")]
    if constants:
        return None, None, [Problem(f"JSON 不允许 {constants[0]}", f"JSON does not allow {constants[0]}")]
    located = Located(text)
    problems = [located.problem(f"键 {path[-1]!r} 重复出现，只有最后一个有效", f"key {path[-1]!r} appears twice; only "
                                "the last one counts", path) for path in located.duplicates]
    return schema, located, problems


_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
_COMPARED = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "type", "enum", "const", "pattern")


def _meta_problems(schema: Any, located: Located) -> list[Problem]:
    """Errors against the 2020-12 meta-schema, one per path and message (its vocabularies repeat some)."""
    if not isinstance(schema, dict):
        return [located.problem("表单应为 JSON 对象（以 { 开头）", "a form must be a JSON object (starting with {)", ())]
    problems, seen = [], set()
    for error in sorted(_META.iter_errors(schema), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(error.absolute_path)
        if path and path[-1] == "type" and error.validator in ("anyOf", "enum", "type"):
            zh, en = f"类型应为 {'、'.join(_TYPES)} 之一", f"a type is one of {', '.join(_TYPES)}"
        else:
            zh, en = reason_zh(error), reason_en(error)
            if error.validator in _COMPARED and not isinstance(error.instance, (dict, list)):
                zh += f"（现为 {shown(error.instance, 'zh')}）"
        if (path, en) in seen:
            continue
        seen.add((path, en))
        where = f"「{path[-1]}」" if path else ""
        problems.append(located.problem(f"{where}不符合 JSON Schema 2020-12 规范：{zh}",
                                        f"not valid JSON Schema 2020-12 at {json_path(path)}: {en}", path))
    return problems


def _walk(value: Any, path: Path = ()):
    """Every (path, object) of a document, depth first."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            yield where, item
            stack.extend((v, (*where, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(item))


def _required_lists(schema: dict) -> list[tuple[Path, Any]]:
    """Every ``required`` that names top-level properties: the form's own and its if/then/else/allOf rules."""
    found, stack = [], [((), schema)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "required" in node:
            found.append(((*path, "required"), node["required"]))
        for keyword in ("if", "then", "else"):
            stack.append(((*path, keyword), node.get(keyword)))
        for keyword in ("allOf", "anyOf", "oneOf"):
            for i, item in enumerate(node.get(keyword) or []):
                stack.append(((*path, keyword, i), item))
    return found


def _chinese_title(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and bool(_CJK.search(value))


def _rule_problems(schema: Any, located: Located) -> list[Problem]:
    """Our rules on a valid JSON Schema."""
    p = located.problem
    if not isinstance(schema, dict):
        return [p("表单应为 JSON 对象", "a form must be a JSON object", ())]
    problems = []
    if "$schema" in schema and schema["$schema"] != SCHEMA_DIALECT:
        problems.append(p(f"$schema 应为 {SCHEMA_DIALECT}（表单按 2020-12 版校验）",
                          f"$schema must be {SCHEMA_DIALECT} (forms are checked as 2020-12)", ("$schema",)))
    if schema.get("type") != "object":
        problems.append(p("表单顶层应为 \"type\": \"object\"", "the form's top level must be \"type\": \"object\"",
                          ("type",)))
    if not _chinese_title(schema.get("title")):
        problems.append(p("表单应有中文标题（title）", "the form needs a title in Chinese (title)", ("title",)))
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        problems.append(p("表单应至少有一个字段（properties）", "the form needs at least one field (properties)",
                          ("properties",)))
        properties = {}
    for name, prop in properties.items():
        where = ("properties", name)
        if not PROPERTY_PATTERN.fullmatch(name):
            problems.append(p(f"字段名 {name!r} 应为小写字母开头的小写字母、数字、下划线（它也是提交数据的键）",
                              f"field name {name!r} must be lower-case letters, digits and underscores starting "
                              "with a letter (it is also the key of the submitted data)", where))
        if not isinstance(prop, dict):
            problems.append(p(f"字段 {name} 应为对象", f"field {name} must be an object", where))
        elif not _chinese_title(prop.get("title")):
            problems.append(p(f"字段 {name} 应有中文标题（title），表单上显示的就是它",
                              f"field {name} needs a title in Chinese (title): it is the label staff see",
                              (*where, "title")))
    for path, names in _required_lists(schema):
        for i, name in enumerate(names if isinstance(names, list) else []):
            if name not in properties:
                problems.append(p(f"必填字段 {name!r} 不是表单的字段", f"required field {name!r} is not a field of the "
                                  "form", (*path, i)))
    for path, node in _walk(schema):
        ref = node.get("$ref")
        if isinstance(ref, str) and not _resolves(schema, ref):
            problems.append(p(f"引用 {ref} 无法解析：只允许引用本表单内存在的定义（如 #/$defs/date）",
                              f"reference {ref} does not resolve: only references to definitions inside the form "
                              "are allowed (e.g. #/$defs/date)", (*path, "$ref")))
        if "$dynamicRef" in node:
            problems.append(p("不允许使用 $dynamicRef", "$dynamicRef is not allowed", (*path, "$dynamicRef")))
    return problems


def _resolves(schema: Any, ref: str) -> bool:
    """Whether ``ref`` is a JSON pointer (``#`` or ``#/...``) to something inside ``schema``."""
    if ref != "#" and not ref.startswith("#/"):
        return False
    target = schema
    for raw in ref[2:].split("/") if ref != "#" else []:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return False
    return True


def _type_set(prop: Any) -> frozenset[str]:
    kind = prop.get("type") if isinstance(prop, dict) else None
    return frozenset(kind) if isinstance(kind, list) else frozenset([kind]) if isinstance(kind, str) else frozenset()


def is_date_field(prop: Any) -> bool:
    """A field of ``"type": "string"`` (or ``["string", "null"]``) with ``"format": "date"``."""
    return isinstance(prop, dict) and _type_set(prop) - {"null"} == {"string"} and prop.get("format") == "date"


def not_after_today_problems(schema: dict, located: Located) -> list[Problem]:
    """``x-notAfterToday`` is true or false, and only on a top-level date field (the one place it is enforced)."""
    problems = []
    for path, node in _walk(schema):
        if NOT_AFTER_TODAY not in node:
            continue
        where = (*path, NOT_AFTER_TODAY)
        if not isinstance(node[NOT_AFTER_TODAY], bool):
            problems.append(located.problem(f"{NOT_AFTER_TODAY} 应为 true 或 false",
                                            f"{NOT_AFTER_TODAY} must be true or false", where))
        if len(path) != 2 or path[0] != "properties" or not is_date_field(node):
            problems.append(located.problem(
                f"{NOT_AFTER_TODAY} 只能用于表单顶层的日期字段（\"type\": \"string\", \"format\": \"date\"）",
                f"{NOT_AFTER_TODAY} belongs only on a top-level date field (\"type\": \"string\", \"format\": \"date\")",
                where))
    return problems


def contract_problems(key: str, schema: dict, located: Located) -> list[Problem]:
    """The contract's task forms keep their fields, with the same type and values (DESIGN.md)."""
    problems = []
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    for name, (kind, values, bounds) in CONTRACT.get(key, {}).items():
        prop, where = properties.get(name), ("properties", name)
        if not isinstance(prop, dict):
            problems.append(located.problem(
                f"字段 {name} 属于对外约定（其他系统按此字段读写本任务），不能删除", f"field {name} is part of the "
                "contract (other systems read and write this task by it) and cannot be removed", where))
        elif _type_set(prop) != {kind}:
            problems.append(located.problem(
                f"字段 {name} 属于对外约定，类型应保持为 {kind}", f"field {name} is part of the contract: its type must "
                f"stay {kind}", (*where, "type")))
        elif values is not None and set(map(str, prop.get("enum") or [])) != set(values):
            problems.append(located.problem(
                f"字段 {name} 属于对外约定，取值应保持为 {'、'.join(values)}", f"field {name} is part of the contract: its "
                f"values must stay {', '.join(values)}", (*where, "enum")))
        elif bounds is not None:
            problems += _bounds_problems(name, prop, bounds, located)
    return problems


def _bounds_problems(name: str, prop: dict, bounds: tuple[int, int], located: Located) -> list[Problem]:
    """A contract number keeps inside the range the law allows: a ``minimum`` and ``maximum`` within it."""
    low, high = bounds
    where, problems = ("properties", name), []
    minimum, maximum = prop.get("minimum"), prop.get("maximum")
    if not _number(minimum) or minimum < low:
        problems.append(located.problem(
            f"字段 {name} 属于对外约定，依法最小为 {low}：应有 \"minimum\" 且不小于 {low}（现为 {_shown(minimum, '未设')}）",
            f"field {name} is part of the contract and the law's minimum is {low}: it needs a \"minimum\" of at least "
            f"{low} (now {_shown(minimum, 'none')})", (*where, "minimum")))
    if not _number(maximum) or maximum > high:
        problems.append(located.problem(
            f"字段 {name} 属于对外约定，依法最多为 {high}：应有 \"maximum\" 且不大于 {high}（现为 {_shown(maximum, '未设')}）",
            f"field {name} is part of the contract and the law allows at most {high}: it needs a \"maximum\" of at "
            f"most {high} (now {_shown(maximum, 'none')})", (*where, "maximum")))
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any, missing: str) -> str:
    return missing if value is None else json.dumps(value, ensure_ascii=False)


def check_text(key: Any, text: Any) -> tuple[dict | None, Located | None, list[Problem]]:
    """Every rule that needs no database: (schema if it could be read, its locations, problems)."""
    problems = key_problems(key)
    schema, located, read_problems = parse(text)
    problems += read_problems
    if located is None:
        return None, None, problems
    meta = _meta_problems(schema, located)
    if meta:
        return schema if isinstance(schema, dict) else None, located, problems + meta
    problems += _rule_problems(schema, located)
    if isinstance(schema, dict):
        problems += not_after_today_problems(schema, located) + english_problems(schema, located)
        problems += contract_problems(key, schema, located)
    return schema if isinstance(schema, dict) else None, located, problems


# --- checks against earlier versions and deployed processes --------------------------------------------------

FIELD_TYPES = ("string", "integer", "number", "boolean")  # what the task page has inputs for


def widget_problems(old: dict | None, new: dict, located: Located) -> list[Problem]:
    """Fields are of a type the task page can render, unless the field already had its type (a task with its own
    page, such as the annual report's corrections list)."""
    before = (old or {}).get("properties") if isinstance((old or {}).get("properties"), dict) else {}
    problems = []
    for name, prop in (new.get("properties") or {}).items():
        kinds = _type_set(prop) - {"null"}
        if not kinds or kinds <= set(FIELD_TYPES) or _type_set(before.get(name)) == _type_set(prop):
            continue
        problems.append(located.problem(
            f"字段 {name} 的类型应为 {'、'.join(FIELD_TYPES)} 之一：办理页面没有其他类型的输入框",
            f"field {name} must be of type {', '.join(FIELD_TYPES)}: the task page has no input for other types",
            ("properties", name, "type")))
    return problems


def protected_problems(old: dict | None, new: dict, located: Located, reads: list[Read]) -> list[Problem]:
    """Refuse removing a field, or changing its type, while a deployed process reads it."""
    if not old:
        return []
    before = old.get("properties") if isinstance(old.get("properties"), dict) else {}
    after = new.get("properties") if isinstance(new.get("properties"), dict) else {}
    by_name: dict[str, list[Read]] = {}
    for read in reads:
        by_name.setdefault(read.name, []).append(read)
    problems = []
    for name, prop in before.items():
        if name not in by_name:
            continue
        if name in after and _type_set(after[name]) == _type_set(prop):
            continue
        removed = name not in after
        read = by_name[name][0]
        what_zh = "条件或定时表达式读取" if read.kind == "expression" else "期限规则（表单日期）读取"
        what_en = "reads it in a condition or timer expression" if read.kind == "expression" else \
            "reads it as a deadline rule's date field"
        others = len(by_name[name]) - 1
        more_zh, more_en = (f"等 {others + 1} 处", f" and {others} more place(s)") if others else ("", "")
        action_zh, action_en = ("删除", "removed") if removed else ("改变类型", "given another type")
        line, column = located.where(("properties", name) if removed else ("properties", name, "type"))
        problems.append(Problem(
            f"字段 {name} 不能{action_zh}：已部署流程 {read.process_id} 的元素 {read.element_id}{more_zh}{what_zh}它",
            f"field {name} cannot be {action_en}: deployed process {read.process_id} {what_en} (element "
            f"{read.element_id}){more_en}", field=json_path(("properties", name)), line=line, column=column,
            element_id=read.element_id))
    return problems
