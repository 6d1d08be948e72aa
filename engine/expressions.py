"""Safe expression language for BPMN gateway conditions and timer expressions (no eval/exec)."""

from __future__ import annotations

import ast
import functools
import operator as op
import re
import warnings
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

MAX_SOURCE, MAX_NODES, MAX_DEPTH, MAX_STR, MAX_INT = 1000, 200, 20, 10_000, 10**15
_SPEC_RE = re.compile(r"[<>^=]?[+\- ]?#?0?\d{0,2}[,_]?(\.\d{1,2})?[bcdeEfFgGnosxX%]?")
_COMPREHENSION = ("comprehensions and generators are not allowed", "不允许使用推导式或生成器")
_REFUSED = {  # node type -> (English, Chinese)
    ast.Attribute: ("attribute access is not allowed", "表达式不允许访问属性"),
    ast.Lambda: ("lambda is not allowed", "不允许使用 lambda 表达式"),
    ast.ListComp: _COMPREHENSION, ast.SetComp: _COMPREHENSION, ast.DictComp: _COMPREHENSION,
    ast.GeneratorExp: _COMPREHENSION,
    ast.NamedExpr: ("assignment expressions (:=) are not allowed", "不允许使用赋值表达式（:=）"),
    ast.Starred: ("starred expressions (*x) are not allowed", "不允许使用星号展开（*x）"),
    ast.Await: ("await/yield is not allowed", "不允许使用 await/yield"),
    ast.Yield: ("await/yield is not allowed", "不允许使用 await/yield"),
    ast.YieldFrom: ("await/yield is not allowed", "不允许使用 await/yield"),
}
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: op.add, ast.Sub: op.sub, ast.Mult: op.mul, ast.Div: op.truediv,
    ast.FloorDiv: op.floordiv, ast.Mod: op.mod, ast.Pow: op.pow}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: op.eq, ast.NotEq: op.ne, ast.Lt: op.lt, ast.LtE: op.le, ast.Gt: op.gt, ast.GtE: op.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b, ast.Is: op.is_, ast.IsNot: op.is_not}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: op.neg, ast.UAdd: op.pos, ast.Not: op.not_}
_ALLOWED = (ast.Expression, ast.Constant, ast.Name, ast.Compare, ast.BoolOp, ast.BinOp, ast.UnaryOp,
            ast.IfExp, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Call,
            ast.JoinedStr, ast.FormattedValue, ast.Load, ast.boolop, ast.cmpop)
_CONVERSIONS: dict[int, Callable[[Any], str]] = {ord("s"): str, ord("r"): repr, ord("a"): ascii}


class ExpressionError(ValueError):
    """Refused or failed expression; str() is the English message."""

    def __init__(self, message_en: str, message_zh: str | None = None, column: int | None = None) -> None:
        message_zh = message_en if message_zh is None else message_zh
        self.base, self.column, self.node = (message_en, message_zh), column, None
        if column is not None:
            message_en, message_zh = f"{message_en} (column {column})", f"{message_zh}（第 {column} 列）"
        super().__init__(message_en)
        self.message_en, self.message_zh = message_en, message_zh


def _column(text: str, node: ast.AST) -> int | None:
    """1-based character column of a node (ast offsets count UTF-8 bytes)."""
    if getattr(node, "col_offset", None) is None:
        return None
    line = (text.splitlines() or [""])[node.lineno - 1]
    return len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace")) + 1


def _bad_name(name: str) -> bool:
    """True for names/keys starting with '_' or containing '__'."""
    return name.startswith("_") or "__" in name


def _spec(node: ast.FormattedValue) -> str:
    """The constant format spec of an f-string field."""
    return "".join(p.value for p in node.format_spec.values) if node.format_spec else ""


def _depth(node: ast.AST) -> int:
    """Nesting depth of expression nodes."""
    return isinstance(node, ast.expr) + max((_depth(c) for c in ast.iter_child_nodes(node)), default=0)


def _refusal(node: ast.AST) -> tuple[str, str] | None:
    """Return (English, Chinese) reasons if a node is outside the whitelist."""
    kind = type(node).__name__
    if type(node) in _REFUSED:
        en, zh = _REFUSED[type(node)]
        return (f"{en}: .{node.attr}", f"{zh}：.{node.attr}") if isinstance(node, ast.Attribute) else (en, zh)
    if isinstance(node, ast.operator | ast.unaryop):
        return None if type(node) in _BINOPS or type(node) in _UNARY else (
            f"operator not allowed: {kind}", f"不允许的运算符：{kind}")
    if not isinstance(node, _ALLOWED):
        return f"construct not allowed: {kind}", f"不允许的表达式结构：{kind}"
    if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | None):
        vtype = type(node.value).__name__
        return f"literal not allowed: {vtype}", f"不允许的字面量：{vtype}"
    if isinstance(node, ast.Name) and _bad_name(node.id):
        return f"name not allowed: {node.id}", f"不允许使用的名称：{node.id}"
    key = getattr(getattr(node, "slice", None), "value", None)
    if isinstance(node, ast.Subscript) and isinstance(key, str) and _bad_name(key):
        return f"key not allowed: {key!r}", f"不允许使用的键：{key!r}"
    operands = [node.left, *node.comparators] if isinstance(node, ast.Compare) else []
    if any(isinstance(o, ast.Is | ast.IsNot) and not any(isinstance(s, ast.Constant) and s.value is None
                                                         for s in operands[i:i + 2])
           for i, o in enumerate(getattr(node, "ops", []))):
        return "'is' / 'is not' is only allowed with None", "“is / is not”只能与 None 比较"
    if isinstance(node, ast.Dict) and None in node.keys:
        return "dict unpacking (**x) is not allowed", "不允许使用字典展开（**x）"
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            return _refusal(node.func) or ("only named functions may be called", "只允许调用指定名称的函数")
        if node.func.id not in _FUNCTIONS:
            return f"function call not allowed: {node.func.id}", f"不允许调用函数：{node.func.id}"
        if node.keywords:
            return "keyword arguments are not allowed", "不允许使用关键字参数"
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        parts = node.format_spec.values
        if not all(isinstance(p, ast.Constant) for p in parts) or not _SPEC_RE.fullmatch(_spec(node)):
            return "f-string format not allowed", "不允许的 f-string 格式"
    return None


@functools.lru_cache(maxsize=2048)
def _compile(text: str) -> ast.Expression:
    """Parse and statically check an expression (cached)."""
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"expression too long: {len(text)} characters (limit {MAX_SOURCE})",
                              f"表达式过长：{len(text)} 个字符（上限 {MAX_SOURCE}）")
    text = text.strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"syntax error: {err.msg}", f"表达式语法错误：{err.msg}", err.offset) from None
    except (ValueError, RecursionError, MemoryError, Warning) as err:
        raise ExpressionError(f"cannot parse expression: {err}", f"无法解析表达式：{err}") from None
    nodes = list(ast.walk(tree))
    if (count := sum(isinstance(n, ast.expr) for n in nodes)) > MAX_NODES:
        raise ExpressionError(f"expression too complex: {count} nodes (limit {MAX_NODES})",
                              f"表达式过于复杂：{count} 个节点（上限 {MAX_NODES}）")
    if (depth := _depth(tree)) > MAX_DEPTH:
        raise ExpressionError(f"expression nested too deeply: depth {depth} (limit {MAX_DEPTH})",
                              f"表达式嵌套过深：{depth} 层（上限 {MAX_DEPTH}）")
    for node in nodes:
        if reason := _refusal(node):
            raise ExpressionError(*reason, _column(text, node))
    return tree


def check_expression(text: str) -> None:
    """Statically check an expression; raise ExpressionError if refused."""
    if not isinstance(text, str):
        raise ExpressionError("expression must be a string", "表达式必须是字符串")
    _compile(text)


def _weight(value: Any, budget: int = MAX_STR + 1) -> int:
    """Approximate rendered size of a value (strings count their length), capped at budget."""
    total, stack = 0, [value]
    while stack and total < budget:
        item = stack.pop()
        total += len(item) if isinstance(item, str) else 1
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return total


def _limit(value: Any) -> Any:
    """Enforce result limits on computed values."""
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise ExpressionError("integer result out of range (±10**15)", "整数结果超出范围（±10^15）")
    if isinstance(value, str) and len(value) > MAX_STR:
        raise ExpressionError(f"string result too long (limit {MAX_STR})", f"字符串过长（上限 {MAX_STR}）")
    if isinstance(value, complex):
        raise ExpressionError("complex numbers are not allowed", "不允许使用复数")
    return value


def _binop(node: ast.BinOp, a: Any, b: Any) -> Any:
    """Apply an arithmetic operator, refusing huge results before computing them."""
    kind, seqs = type(node.op), str | list | tuple
    if kind is ast.Pow and isinstance(a, int) and isinstance(b, int) and b * (abs(a).bit_length() - 1) > 50:
        raise ExpressionError("integer result out of range (±10**15)", "整数结果超出范围（±10^15）")
    if kind is ast.Mult and any(isinstance(s, seqs) and isinstance(n, int)
                                and (_weight(s) - (not isinstance(s, str))) * n > MAX_STR
                                for s, n in ((a, b), (b, a))):
        raise ExpressionError("repetition result too large", "重复运算结果过大")
    if kind is ast.Add and isinstance(a, seqs) and isinstance(b, seqs) and len(a) + len(b) > MAX_STR:
        raise ExpressionError("concatenation result too large", "拼接结果过大")
    if kind in (ast.Mod, ast.Pow) and not all(isinstance(v, int | float) for v in (a, b)):
        raise ExpressionError("'%' and '**' are only allowed on numbers", "“%”和“**”只能用于数字")
    return _limit(_BINOPS[kind](a, b))


def _ev(node: Any, data: Mapping[str, Any]) -> Any:
    """Interpret one checked AST node; failures are tagged with the node."""
    try:
        return _ev_node(node, data)
    except ExpressionError as err:
        err.node = err.node or node
        raise
    except Exception as err:  # every runtime failure becomes an ExpressionError
        new = ExpressionError(f"cannot evaluate: {type(err).__name__}: {err}"[:300],
                              f"表达式计算失败：{type(err).__name__}: {err}"[:300])
        new.node = node
        raise new from None


def _ev_node(node: Any, data: Mapping[str, Any]) -> Any:
    """Dispatch on node type."""
    if isinstance(node, ast.Constant):
        return _limit(node.value)
    if isinstance(node, ast.Name):
        if node.id not in data:
            raise ExpressionError(f"unknown name: {node.id}", f"未知的变量名：{node.id}")
        return data[node.id]
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            result = _ev(value, data)
            if bool(result) is isinstance(node.op, ast.Or):
                return result
        return result
    if isinstance(node, ast.Compare):
        left = _ev(node.left, data)
        for cmp, comp in zip(node.ops, node.comparators, strict=True):
            right = _ev(comp, data)
            if not _CMPOPS[type(cmp)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        return _binop(node, _ev(node.left, data), _ev(node.right, data))
    if isinstance(node, ast.UnaryOp):
        return _limit(_UNARY[type(node.op)](_ev(node.operand, data)))
    if isinstance(node, ast.IfExp):
        return _ev(node.body, data) if _ev(node.test, data) else _ev(node.orelse, data)
    if isinstance(node, ast.Subscript):
        container, key = _ev(node.value, data), _ev(node.slice, data)
        if not isinstance(container, Mapping | list | tuple | str):
            ctype = type(container).__name__
            raise ExpressionError(f"cannot subscript {ctype}", f"无法对 {ctype} 取下标")
        if isinstance(key, str) and _bad_name(key):
            raise ExpressionError(f"key not allowed: {key!r}", f"不允许使用的键：{key!r}")
        try:
            return container[key]
        except (KeyError, IndexError):
            raise ExpressionError(f"key not found: {key!r}", f"找不到键：{key!r}") from None
    if isinstance(node, ast.Slice):
        return slice(*(None if p is None else _ev(p, data) for p in (node.lower, node.upper, node.step)))
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](_ev(e, data) for e in node.elts)
    if isinstance(node, ast.Dict):
        return {_ev(k, data): _ev(v, data) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.Call):
        fn, args = _FUNCTIONS[node.func.id], [_ev(a, data) for a in node.args]
        return _limit(fn(data, *args) if fn is _get else fn(*args))
    if isinstance(node, ast.JoinedStr):
        return _limit("".join(str(_ev(v, data)) for v in node.values))
    if isinstance(node, ast.FormattedValue):
        value = _ev(node.value, data)
        if _weight(value) > MAX_STR:
            raise ExpressionError("value too large to format", "值过大，无法格式化")
        value = _CONVERSIONS.get(node.conversion, lambda v: v)(value)
        return _limit(format(value, _spec(node)))
    kind = type(node).__name__
    raise ExpressionError(f"construct not allowed: {kind}", f"不允许的表达式结构：{kind}")


def _get(data: Mapping[str, Any], name: Any, default: Any = None) -> Any:
    """Task data lookup with a default."""
    if not isinstance(name, str) or _bad_name(name):
        raise ExpressionError(f"name not allowed: {name!r}", f"不允许使用的名称：{name!r}")
    return data[name] if name in data else default


def _round(value: Any, ndigits: Any = None) -> Any:
    """round() with bounded digits (round(5, -10**15) would compute 10**10**15)."""
    if ndigits is not None and not (isinstance(ndigits, int) and -100 <= ndigits <= 100):
        raise ExpressionError("round() digits must be an integer between -100 and 100",
                              "round() 的位数必须是 -100 到 100 之间的整数")
    return round(value, ndigits)


def _str(value: Any) -> str:
    """str() that refuses to render oversized values."""
    if _weight(value) > MAX_STR:
        raise ExpressionError("value too large to convert to text", "值过大，无法转换为文本")
    return str(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": _round, "str": _str, "int": int, "float": float,
    "bool": bool, "get": _get}


def evaluate(text: str, data: Mapping[str, Any]) -> Any:
    """Evaluate a safe expression against task data."""
    check_expression(text)
    try:
        return _ev(_compile(text).body, data)
    except ExpressionError as err:
        if err.column is None and err.node is not None:
            raise ExpressionError(*err.base, _column(text.strip(), err.node)) from None
        raise


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Script environment that evaluates only safe expressions and refuses scripts."""

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        """Evaluate over external context overlaid by task data."""
        return evaluate(expression, ChainMap(context, external_context) if external_context else context)

    def execute(self, script: str, context: Any, external_context: Any = None) -> bool:
        """Script tasks are refused."""
        raise ExpressionError("script tasks are not allowed", "脚本任务不允许执行")

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        """Service tasks are refused."""
        raise ExpressionError("service calls are not allowed", "不允许调用服务")


class SafeScriptEngine(PythonScriptEngine):
    """PythonScriptEngine that never reaches eval/exec."""

    def __init__(self) -> None:
        super().__init__(environment=SafeEnvironment())

    def validate(self, expression: str) -> None:
        """Static check (deploy time)."""
        check_expression(expression)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """Refuse service calls (the base method's error path has a NameError)."""
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err


def make_script_engine() -> SafeScriptEngine:
    """Return a new safe script engine."""
    return SafeScriptEngine()


def attach_safe_engine(workflow: Any, engine: PythonScriptEngine | None = None) -> Any:
    """Re-attach a safe engine after deserialization (the engine is not serialized); return the workflow."""
    engine = engine or make_script_engine()
    workflow.script_engine = engine
    for sub in getattr(workflow, "subprocesses", {}).values():
        try:  # in 3.2 a subprocess's script_engine is a read-only property delegating to the top workflow
            sub.script_engine = engine
        except AttributeError:
            pass
        if sub.script_engine is not engine:
            raise RuntimeError("subprocess does not use the safe script engine")
    return workflow
