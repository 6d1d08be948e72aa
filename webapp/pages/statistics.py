"""Statistics for supervisors: the year's cases opened, rectified and exited, as tables, charts, JSON and Excel."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _

from engine.parties import DIMENSIONS, INDUSTRIES, party_name
from engine.services import statistics as statistics_service
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required, xlsx_download

bp = Blueprint("statistics", __name__)

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _filters() -> statistics_service.StatisticsFilter:
    """The filters from the query string (no year: the clock's year; an unknown dimension is ignored)."""
    dimension = request.args.get("dimension")
    return statistics_service.StatisticsFilter(
        year=request.args.get("year", type=int), dimension=dimension if dimension in DIMENSIONS else None,
        county=(request.args.get("county") or "").strip()[:100] or None)


def _namer(breakdown: str) -> Any:
    """A function naming a row key of ``breakdown`` in the page's language."""
    en = lang() == "en"
    if breakdown == "month":
        return lambda key: MONTHS_EN[key - 1] if en else _("%(m)d月", m=key)
    if breakdown == "dimension":
        return lambda key: (DIMENSIONS[key].name_en if en else DIMENSIONS[key].name_zh) if key in DIMENSIONS else key
    if breakdown == "industry":
        return lambda key: INDUSTRIES[key][1 if en else 0] if key in INDUSTRIES else key
    if breakdown == "county":
        return lambda key: key or _("（未填写）")
    return lambda key: party_name(key, lang())


def _rows(data: statistics_service.Statistics) -> dict[str, list[dict[str, Any]]]:
    """Each breakdown's rows as plain data with their display names."""
    return {b: [{"code": row.key, "name": _namer(b)(row.key), **row.as_dict()} for row in rows]
            for b, rows in data.breakdowns.items()}


def _load() -> statistics_service.Statistics:
    return statistics_service.statistics(engine_context(), current_actor(), _filters())


@bp.get("/statistics")
@roles_required("supervisor", "admin")
def statistics():
    data = _load()
    en = lang() == "en"
    return render_template(
        "statistics/statistics.html", title=_("统计分析"), data=data, rows=_rows(data), total=data.total.as_dict(),
        dimensions=[(code, d.name_en if en else d.name_zh) for code, d in DIMENSIONS.items()],
        titles={"month": _("按月份"), "dimension": _("按类别"), "industry": _("按行业"), "county": _("按县市区"),
                "department": _("按牵头部门")},
        headings={"month": _("月份"), "dimension": _("类别"), "industry": _("行业"), "county": _("县市区"),
                  "department": _("牵头部门")},
        query={"year": data.filters.year, "dimension": data.filters.dimension, "county": data.filters.county})


@bp.get("/statistics/data.json")
@roles_required("supervisor", "admin")
def data():
    figures = _load()
    f = figures.filters
    return jsonify({"filters": {"year": f.year, "dimension": f.dimension, "county": f.county},
                    "today": figures.today.isoformat(), "total": figures.total.as_dict(), **_rows(figures)})


@bp.get("/statistics/export.xlsx")
@roles_required("supervisor", "admin")
def export():
    figures = _load()
    name = f"statistics-{figures.filters.year}.xlsx"
    return xlsx_download(statistics_service.workbook(figures), name)
