"""The inbox (open tasks of one's department or enterprise) and the task page with its form."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.clock import SHANGHAI
from engine.errors import Conflict, InvalidInput, Problem
from engine.parties import DIMENSIONS, INDUSTRIES, PARTIES, party_name
from engine.services import annual, tasks
from engine.services import inbox as inbox_service
from webapp.auth import is_local_path
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required, step_label
from webapp.pages.forms import describe, form_fields, form_heading, parse_submission

bp = Blueprint("inbox", __name__)


class Names:
    """Display names of codes in the page's language."""

    def __init__(self, language: str) -> None:
        self.en = language == "en"

    def dimension(self, code: str) -> str:
        found = DIMENSIONS.get(code)
        if found is None:  # the annual report's run is a case of no dimension
            return _("淘汰落后产能年度报告") if code == "annual_report" else code
        return found.name_en if self.en else found.name_zh

    def industry(self, code: str) -> str:
        found = INDUSTRIES.get(code)
        return found[1 if self.en else 0] if found else code

    def party(self, code: str) -> str:
        return party_name(code, "en" if self.en else "zh")

    @staticmethod
    def local_time(value: datetime) -> str:
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _filters(args: dict[str, str]) -> tuple[inbox_service.InboxFilters, str | None]:
    """The filters of the query string; a malformed date is ignored and reported."""
    due_before, error = None, None
    if args.get("due_before"):
        try:
            due_before = date.fromisoformat(args["due_before"])
        except ValueError:
            error = _("日期格式应为 YYYY-MM-DD")
    pick = {"dimension": DIMENSIONS, "industry": INDUSTRIES, "department": {p.code for p in PARTIES}}
    chosen = {k: args.get(k, "") if args.get(k, "") in allowed else "" for k, allowed in pick.items()}
    return inbox_service.InboxFilters(county=args.get("county", "")[:100], due_before=due_before,
                                      text=args.get("q", "")[:100], **chosen), error


@bp.get("/inbox")
@roles_required(*inbox_service.INBOX_ROLES)
def inbox():
    args = request.args.to_dict()
    filters, date_error = _filters(args)
    sort = args.get("sort", "due")
    if sort.removeprefix("-") not in inbox_service.SORTS:
        sort = "due"
    page = inbox_service.inbox_page(engine_context(), current_actor(), filters,
                                    request.args.get("page", 1, type=int), sort)
    return render_template("inbox/list.html", result=page, filters=filters, args=args, sort=sort,
                           date_error=date_error, names=Names(lang()), actor=current_actor(),
                           dimensions=DIMENSIONS, industries=INDUSTRIES, parties=PARTIES,
                           title=_("待办任务"))


def _render_task(task_id: str, *, errors: dict[str, str] | None = None, general: list[str] | None = None,
                 headline: str | None = None, values: Any = None, notice: str | None = None, status: int = 200):
    view = inbox_service.task_page(engine_context(), current_actor(), task_id)
    language = lang()
    fields = form_fields(view["form"], language, view["today"], view["case"]["notice_date"], view["deadline_fields"])
    return render_template(
        "inbox/task.html", task=view, fields=fields, errors=errors or {},
        heading=form_heading(view["form"], language),
        general=general or [], headline=headline, values=view["suggested"] if values is None else values, notice=notice,
        names=Names(language), lang=language,
        actor=current_actor(), title=step_label(view), party=party_name, dimensions=DIMENSIONS, industries=INDUSTRIES,
    ), status


def _closed_task(task_id: str, refusal: Conflict, typed: Mapping[str, str] | None = None):
    """The page of a task that closed meanwhile: why, links to its case and the inbox, and what the user typed
    (not saved) so nothing is lost."""
    closed = inbox_service.closed_task(engine_context(), current_actor(), task_id)
    data = _typed_data(closed["form"], typed or {})
    return render_template("inbox/closed.html", message=refusal.message(lang()), case_id=closed["case_id"],
                           typed=describe(closed["form"], data, lang()), title=_("任务已不在办理状态")), 409


def _typed_data(schema: Mapping[str, Any] | None, typed: Mapping[str, str]) -> dict[str, Any]:
    """The submitted strings as the form reads them; by their input names when the form is not known."""
    if schema:
        return parse_submission(schema, typed)[0]
    return {k: v for k, v in typed.items() if k != "csrf_token" and str(v).strip()}


def _refused(task_id: str, refusal: Conflict):
    """A submission refused as a conflict: the form again with the user's input and why while the task is open
    (someone else holds it), else the closed task's page."""
    try:
        return _render_task(task_id, notice=refusal.message(lang()), values=request.form, status=409)
    except Conflict:
        return _closed_task(task_id, refusal, request.form)


@bp.get("/tasks/<task_id>")
@roles_required()
def task(task_id: str):
    if annual.is_report_task(engine_context(), task_id):  # the annual report's tasks have their own page
        return redirect(url_for("annual.task", task_id=task_id))
    try:
        return _render_task(task_id)
    except Conflict as exc:
        return _closed_task(task_id, exc)


def _message(problem: Problem, language: str) -> str:
    return problem.message_en if language == "en" else problem.message_zh


@bp.post("/tasks/<task_id>")
@roles_required()
def complete(task_id: str):
    ctx, actor, language = engine_context(), current_actor(), lang()
    try:
        schema = inbox_service.task_schema(ctx, actor, task_id)
    except Conflict as exc:  # completed or closed meanwhile (a second tab, a deadline)
        return _closed_task(task_id, exc, request.form)
    data, unreadable = parse_submission(schema, request.form)
    try:
        tasks.complete_task(ctx, actor, task_id, data)
    except InvalidInput as exc:
        errors: dict[str, str] = {}
        general: list[str] = []
        for problem in [*unreadable, *exc.problems]:
            if problem.field and problem.field in (schema.get("properties") or {}):
                errors.setdefault(problem.field, _message(problem, language))
            else:
                general.append(_message(problem, language))
        return _render_task(task_id, errors=errors, general=general, headline=exc.message(language),
                            values=request.form, status=400)
    except Conflict as exc:
        return _refused(task_id, exc)
    flash(_("已提交"), "info")
    return redirect(url_for("inbox.inbox"))


def _back() -> str:
    target = request.form.get("next", "")
    return target if is_local_path(target) else url_for("inbox.inbox")


@bp.post("/tasks/<task_id>/claim")
@roles_required("staff", "enterprise")
def claim(task_id: str):
    try:
        tasks.claim_task(engine_context(), current_actor(), task_id)
    except Conflict as exc:
        flash(exc.message(lang()), "error")
    else:
        flash(_("已认领，同事将看到由您办理"), "info")
    return redirect(_back())


@bp.post("/tasks/<task_id>/release")
@roles_required(*inbox_service.INBOX_ROLES)
def release(task_id: str):
    try:
        tasks.release_task(engine_context(), current_actor(), task_id)
    except Conflict as exc:
        flash(exc.message(lang()), "error")
    else:
        flash(_("已释放，任务退回部门待办"), "info")
    return redirect(_back())
