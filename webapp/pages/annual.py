"""The annual exit report (C-4.2, C-4.3): its printable official table and workbook, and its three task pages.

A published report is public (no sign-in); drafts and preliminary compilations are for
staff, supervisors, owners and administrators (the engine decides). The inbox sends the
report's tasks here: the department's closures are shown read-only with rows for
corrections, the draft report is shown to ``industry`` and to the government.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.clock import SHANGHAI
from engine.context import Actor
from engine.errors import Conflict, InvalidInput
from engine.parties import DIMENSIONS, INDUSTRIES, party_name
from engine.services import annual, reports, tasks
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required, step_label, xlsx_download
from webapp.pages.forms import form_heading

bp = Blueprint("annual", __name__)

CORRECTION_ROWS = 5
FIELD_NAMES = {"equipment": _l("退出设备"), "capacity_tpy": _l("退出产能（吨/年）"), "exit_date": _l("退出日期"),
               "county": _l("县市区"), "industry": _l("行业"), "exclude": _l("不计入本年度")}


def _viewer() -> Actor | None:
    return current_actor() if current_user.is_authenticated else None


def _names() -> dict[str, Any]:
    en = lang() == "en"
    return {"industry_name": lambda c: INDUSTRIES[c][1 if en else 0] if c in INDUSTRIES else c,
            "dimension_name": lambda c: (DIMENSIONS[c].name_en if en else DIMENSIONS[c].name_zh)
            if c in DIMENSIONS else c,
            "party": lambda c: party_name(c, "en" if en else "zh"), "lang": lang(),
            "field_names": {k: str(v) for k, v in FIELD_NAMES.items()}}


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        abort(404)
    return year


@bp.get("/reports/annual")
def index():
    return render_template("annual/index.html", reports=annual.all_reports(engine_context(), _viewer()),
                           title=_("年度落后产能退出情况"), tz=SHANGHAI, **_names())


@bp.get("/reports/annual/<int:year>")
def report(year: int):
    view = annual.report_view(engine_context(), _viewer(), _year(year))
    day = view["published_at"].astimezone(SHANGHAI).date().isoformat() if view["published_at"] else ""
    return render_template("annual/report.html", report=view, title=reports.title_of(view)[0], published_day=day,
                           **_names())


@bp.get("/reports/annual/<int:year>.xlsx")
def workbook(year: int):
    view = annual.report_view(engine_context(), _viewer(), _year(year))
    name = f"capexit-annual-{year}{'' if view['status'] == 'published' else '-preliminary'}.xlsx"
    return xlsx_download(reports.workbook(view), name)


def _render_task(task_id: str, *, values: Any = None, errors: list[str] | None = None, headline: str | None = None,
                 status: int = 200):
    view = annual.task_context(engine_context(), current_actor(), task_id)
    return render_template("annual/task.html", task=view, values=values, errors=errors or [], headline=headline,
                           rows=CORRECTION_ROWS, heading=form_heading(view["form"], lang()), title=step_label(view),
                           **_names()), status


@bp.get("/reports/annual/tasks/<task_id>")
@roles_required()
def task(task_id: str):
    return _render_task(task_id)


def _submitted(key: str) -> dict[str, Any]:
    """The form data of a report task: the contract's field names; corrections from the table's rows."""
    form = request.form
    if key == "confirm_closures":
        corrections = []
        for case_id, field, value, reason in zip(form.getlist("case_id"), form.getlist("field"),
                                                 form.getlist("value"), form.getlist("reason"), strict=False):
            if not (case_id.strip() or value.strip() or reason.strip()):
                continue
            item: dict[str, Any] = {"case_id": int(case_id) if case_id.strip().isdigit() else case_id.strip(),
                                    "field": field, "reason": reason.strip()}
            if value.strip():
                item["value"] = value.strip()
            corrections.append(item)
        data: dict[str, Any] = {"corrections": corrections}
        if form.get("confirmed") == "true":
            data["confirmed"] = True
        if form.get("confirm_note", "").strip():
            data["confirm_note"] = form["confirm_note"].strip()
        return data
    if key == "aggregate_report":
        return {"summary": form.get("summary", "").strip()} if form.get("summary", "").strip() else {}
    data = {"opinion": form.get("opinion", "").strip()} if form.get("opinion", "").strip() else {}
    if form.get("approved") in ("true", "false"):
        data["approved"] = form["approved"] == "true"
    return data


@bp.post("/reports/annual/tasks/<task_id>")
@roles_required()
def complete(task_id: str):
    ctx, actor, language = engine_context(), current_actor(), lang()
    view = annual.task_context(ctx, actor, task_id)
    try:
        tasks.complete_task(ctx, actor, task_id, _submitted(view["key"]))
    except InvalidInput as exc:
        messages = [p.message_en if language == "en" else p.message_zh for p in exc.problems]
        return _render_task(task_id, values=request.form, errors=messages, headline=exc.message(language), status=400)
    except Conflict as exc:
        return _render_task(task_id, values=request.form, headline=exc.message(language), status=409)
    flash(_("已提交"), "info")
    return redirect(url_for("inbox.inbox"))
