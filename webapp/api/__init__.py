"""The JSON API under /api/v1: bearer-token auth, domain errors turned into status codes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, g, jsonify, request

from engine.context import Actor
from engine.errors import (
    CapexitError,
    Conflict,
    DefinitionInvalid,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
)
from engine.services.users import actor_for_token
from webapp.extensions import engine_context

api = Blueprint("api", __name__, url_prefix="/api/v1")

STATUS = {InvalidInput: 400, DefinitionInvalid: 400, PermissionDenied: 403, NotFound: 404, Conflict: 409}


def language() -> str:
    """``en`` when the client asks for English (``?lang=en`` or Accept-Language), else ``zh``."""
    asked = request.args.get("lang") or request.accept_languages.best_match(["zh", "en"]) or "zh"
    return "en" if asked.startswith("en") else "zh"


def error_response(status: int, message: str, errors: list[dict] | None = None):
    """The one error shape of the API: ``{"message", "errors": [...]}``."""
    body: dict[str, Any] = {"message": message, "errors": errors or [{"message": message}]}
    return jsonify(body), status


@api.errorhandler(CapexitError)
def handle_domain_error(exc: CapexitError):
    lang = language()
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    errors = [p.as_dict(lang) for p in exc.problems] or None
    return error_response(status, exc.message(lang), errors)


@api.errorhandler(404)
def handle_not_found(_exc):
    return error_response(404, "Not found" if language() == "en" else "未找到")


@api.errorhandler(405)
def handle_method(_exc):
    return error_response(405, "Method not allowed" if language() == "en" else "不支持该请求方法")


@api.errorhandler(413)
def handle_too_large(_exc):
    return error_response(413, "Request too large" if language() == "en" else "请求内容过大")


def authenticated(view: Callable) -> Callable:
    """Require a valid bearer token; the actor is in ``g.actor``."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        actor: Actor | None = None
        if header.startswith("Bearer "):
            actor = actor_for_token(engine_context(), header.removeprefix("Bearer ").strip())
        if actor is None:
            msg = "Sign in first: send a valid bearer token" if language() == "en" else "请先登录（缺少有效的令牌）"
            return error_response(401, msg)
        g.actor = actor
        return view(*args, **kwargs)

    return wrapper


MAX_JSON_DEPTH = 32


def request_json() -> Any:
    """The request's JSON (None if it is none); InvalidInput if nested too deep, or holding text that cannot be
    stored: the NUL character, or half of a UTF-16 surrogate pair ("\\ud800" alone), which no UTF-8 text holds.

    Deep nesting would end in a RecursionError somewhere (parser, schema check, encoder); PostgreSQL's text
    columns cannot hold NUL. All are refused here, naming the field, before any service sees the data.
    """
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data, depth = None, MAX_JSON_DEPTH + 1
    else:
        depth = 0
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack and depth <= MAX_JSON_DEPTH:
        item, level, path = stack.pop()
        if isinstance(item, dict):
            depth = max(depth, level)
            stack.extend((key, level, path) for key in item)
            stack.extend((value, level + 1, _child(path, key)) for key, value in item.items())
        elif isinstance(item, list):
            depth = max(depth, level)
            stack.extend((value, level + 1, _child(path, n)) for n, value in enumerate(item))
        elif isinstance(item, str):
            _storable(item, path)
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(f"JSON 嵌套不能超过 {MAX_JSON_DEPTH} 层", f"JSON may nest at most {MAX_JSON_DEPTH} levels")
    return data


def _child(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _storable(text: str, path: str) -> None:
    where = path or None
    if "\x00" in text:
        raise InvalidInput("文本不能包含 NUL 字符", "text may not contain the NUL character",
                           [Problem("不能包含 NUL 字符", "may not contain the NUL character", field=where)])
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("文本包含无效字符", "the text holds an invalid character", [Problem(
            f"第 {exc.start + 1} 个字符是不成对的代理码位（{ascii(text[exc.start])}），不是有效的字符",
            f"character {exc.start + 1} is an unpaired surrogate ({ascii(text[exc.start])}), not a valid character",
            field=where)]) from None


def json_body() -> dict[str, Any]:
    """The request's JSON object, or an InvalidInput naming the problem."""
    data = request_json()
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象", "the request body must be a JSON object")
    return data


from webapp.api import forms, openapi, routes, versions  # noqa: E402,F401  (registers the routes)
