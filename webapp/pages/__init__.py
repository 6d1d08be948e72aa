"""Server-rendered pages, one blueprint per group of people; shared helpers for their views."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, abort, g, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.context import Actor
from engine.errors import CapexitError, Conflict, DefinitionInvalid, InvalidInput, NotFound, PermissionDenied
from engine.services import users
from engine.step_names import in_language
from webapp.extensions import engine_context
from webapp.pages.forms import describe

STATUS = {InvalidInput: 400, DefinitionInvalid: 400, PermissionDenied: 403, NotFound: 404, Conflict: 409}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def current_actor() -> Actor:
    """The signed-in person as the engine sees them."""
    return current_user.actor


def lang() -> str:
    """The page's language code (``zh`` or ``en``)."""
    return "en" if str(get_locale()).startswith("en") else "zh"


def sentence(text: str) -> str:
    """A message shown as a sentence of its own, its first letter upper-cased: the engine's English messages
    start lower-case ("script tasks are not allowed"), as the API answers them."""
    return text[:1].upper() + text[1:]


def step_label(step: Any, language: str | None = None) -> str:
    """A step's name in the page's language (or ``language``, which a long list passes once for all its rows): its
    English name (``name_en``) in English when it has one, else its Chinese name (``name``, or ``key`` when
    unnamed). ``step`` is a task row or view, an audit event's detail, a diagram step, or a name (a ``StepName``
    carries its English name: a step's, a deployed process's, a form's or a field's title)."""
    language = language or lang()
    if isinstance(step, str):
        return in_language(step, getattr(step, "name_en", None), language)
    read = step.get if isinstance(step, Mapping) else lambda name: getattr(step, name, None)
    return in_language(read("name") or read("key") or "", read("name_en"), language)


def who(username: str | None) -> str:
    """Who did something, as pages show it: "王明（industry_staff）" when the account has a real name, else the
    username; the engine's own steps (timers, imports) as 系统/System."""
    if username == "system":
        return _("系统")
    return person_labels().get(username, username) if username else ""


def person_labels() -> dict[str, str]:
    """Username → the person as pages show them, for every account with a real name: one read per request, made
    the first time a page names someone (kept on ``flask.g``)."""
    if "person_labels" not in g:
        pattern = _("{name}（{username}）")
        names = users.display_names(engine_context())
        g.person_labels = {username: users.with_name(username, names, pattern) for username in names}
    return g.person_labels


def submitted(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A history event's submitted form data as (title, shown value) pairs in the page's language, labelled by the
    form the event carries (``form``); the case page and the task page show it this way."""
    data = (event.get("detail") or {}).get("data")
    return describe(event.get("form"), data, lang()) if isinstance(data, Mapping) else []


def xlsx_download(content: bytes, filename: str) -> Response:
    """An .xlsx workbook as a download named ``filename``."""
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def roles_required(*roles: str) -> Callable:
    """Sign-in required, and one of ``roles`` (403 otherwise)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def init_app(app: Flask) -> None:
    """Register every page blueprint and the error pages."""
    from webapp.pages import (
        admin,
        board,
        case_page,
        cases,
        form_editor,
        history,
        inbox,
        modeler,
        processes,
        public,
        statistics,
    )
    from webapp.pages import annual as annual_report

    for module in (inbox, cases, board, admin, public, case_page, modeler, statistics, processes, annual_report,
                   form_editor):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["history_actions"] = history.ACTIONS  # the case page's and the task page's history
    app.jinja_env.globals["submitted"] = submitted
    app.add_template_filter(step_label, "step")
    app.add_template_filter(who, "who")
    app.add_template_filter(sentence, "sentence")

    @app.errorhandler(CapexitError)
    def domain_error(exc: CapexitError):
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        return render_template("errors/problem.html", error=exc, lang=lang(), status=status), status

    def status_page(exc, status: int):
        if request.path.startswith("/api/"):  # no API route matched (unknown path, wrong method): the API's shape
            from webapp import api

            return {405: api.handle_method, 413: api.handle_too_large}.get(status, api.handle_not_found)(exc)
        return render_template("errors/problem.html", error=None, status=status, path=request.path), status

    for status in (403, 404, 405, 413):
        app.register_error_handler(status, lambda exc, s=status: status_page(exc, s))
