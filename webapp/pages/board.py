"""The supervisors' timer board: every running clock, charts, a deadline calendar, the daily digest, clock controls."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.clock import SHANGHAI, iso
from engine.errors import InvalidInput
from engine.parties import DIMENSIONS, PARTIES, PARTY_CODES, party_name
from engine.services import annual, timers
from engine.services import board as board_service
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required, xlsx_download

bp = Blueprint("board", __name__)

ADVANCE_CHOICES = ("P1D", "P7D", "P1M", "P3M", "P6M")


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filters() -> board_service.BoardFilter:
    """The board's filters from the query string (unknown values are ignored)."""
    department = request.args.get("department")
    dimension = request.args.get("dimension")
    return board_service.BoardFilter(
        department=department if department in PARTY_CODES else None,
        dimension=dimension if dimension in DIMENSIONS else None,
        day=_parse_day(request.args.get("day")),
    )


def _labels() -> dict[str, Any]:
    """Names for codes, in the page's language."""
    code = lang()
    return {
        "dept_name": lambda c: party_name(c, code),
        "dim_name": lambda c: (DIMENSIONS[c].name_en if code == "en" else DIMENSIONS[c].name_zh)
        if c in DIMENSIONS else c,
        "group_names": {"overdue": _("已逾期"), "week": _("7日内到期"), "month": _("30日内到期"),
                        "later": _("其他")},
        "lang": code,
        # Words of every board row, translated once per page: gettext per row costs more than the row itself
        # (a count of days once per number of days).
        "row_words": {"case": _("案件 %(id)s"), "days": cache(lambda n: ngettext("%(num)d 天", "%(num)d 天", n)),
                      "days_late": cache(lambda n: ngettext("逾期 %(num)d 天", "逾期 %(num)d 天", n)),
                      "overdue": _("已逾期"), "today": _("今日届满"), "expired": _("期限已届满"), "sep": _("、"),
                      "lead": _("牵头") + _("："), "unclaimed": _("未认领")},
    }


def _series(pairs: list[tuple[str, int]], name: Any) -> list[dict[str, Any]]:
    return [{"code": code, "name": name(code), "count": count} for code, count in pairs]


@bp.get("/board")
@roles_required("supervisor", "admin")
def board():
    filters = _filters()
    group = request.args.get("group")
    group = group if group in board_service.GROUPS else None
    page = request.args.get("page", type=int) or 1
    data = board_service.board(engine_context(), current_actor(), filters, group, page)
    labels = _labels()
    ctx = engine_context()
    return render_template(
        "board/board.html", title=_("计时看板"), board=data, filters=filters, group=group, page=page,
        row_limit=board_service.ROW_LIMIT, simulated=ctx.clock.simulated, now=data.window.now.astimezone(SHANGHAI),
        parties=[p for p in PARTIES], dimensions=DIMENSIONS, advance_choices=ADVANCE_CHOICES,
        annual_late=annual.unconfirmed_departments(ctx, current_actor()),
        charts={"department": _series(data.by_department, labels["dept_name"]),
                "dimension": _series(data.by_dimension, labels["dim_name"])},
        **labels)


@bp.get("/board/export.xlsx")
@roles_required("supervisor", "admin")
def export():
    return xlsx_download(board_service.export_workbook(engine_context(), current_actor(), _filters()),
                         "capexit-board.xlsx")


@bp.get("/board/data.json")
@roles_required("supervisor", "admin")
def data():
    counts = board_service.chart_data(engine_context(), current_actor())
    labels = _labels()
    counts["by_department"] = _series(counts["by_department"], labels["dept_name"])
    counts["by_dimension"] = _series(counts["by_dimension"], labels["dim_name"])
    return jsonify(counts)


@bp.post("/board/clock")
@roles_required("supervisor", "admin")
def advance():
    custom = (request.form.get("custom") or "").strip()
    by = custom or (request.form.get("by") or "").strip().replace("custom", "")
    to = (request.form.get("to") or "").strip()
    if not by and not to:
        flash(_("请选择前进的时长，或填写要调至的日期"), "error")
        return redirect(url_for("board.board"), 303)
    try:
        result = timers.advance_clock(engine_context(), current_actor(), by=by or None, to=None if by else to)
    except InvalidInput as exc:
        details = _("；").join(p.message_en if lang() == "en" else p.message_zh for p in exc.problems)
        flash(f"{exc.message(lang())}{_('：') + details if details else ''}", "error")
        return redirect(url_for("board.board"), 303)
    now = result["now"][:16].replace("T", " ")
    if result["fired"]:
        flash(_("模拟时钟已调至 %(now)s；到期计时器已触发 %(fired)d 个，涉及案件 %(cases)d 件。",
                now=now, fired=result["fired"], cases=result["cases"]), "success")
    else:
        flash(_("模拟时钟已调至 %(now)s；没有计时器到期。", now=now), "success")
    if result["report_started"]:
        flash(_("已启动 %(year)s 年度落后产能退出情况汇总，各有关部门开始确认本部门的关停退出清单。", year=result["report_started"]), "info")
    return redirect(url_for("board.board"), 303)


@bp.get("/board/digest")
@roles_required("supervisor", "admin")
def digest():
    window, sections = board_service.digest(engine_context(), current_actor())
    return render_template("board/digest.html", title=_("每日到期提醒"), window=window, sections=sections,
                           generated=iso(window.now)[:16].replace("T", " "), **_labels())
