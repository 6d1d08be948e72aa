"""Case pages: the filtered list and its Excel export, the intake form with the enterprise lookup.

The bulk import views live in ``webapp.pages.cases_import`` on the same blueprint; the
case page itself (``/cases/<id>``) is ``webapp.pages.case_page``.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, PermissionDenied, Problem
from engine.parties import DIMENSIONS, default_lead
from engine.services import case_list as listing
from engine.services import enterprises, intake
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required, xlsx_download

bp = Blueprint("cases", __name__)

INTAKE_ROLES = ("staff", "admin")
FIELD_OF_PATH = {path: key for key, (_zh, _en, path, _n) in intake.FIELDS.items()} | {
    "finding.solid_waste": "solid_waste", "finding": "standard"}


def _filters() -> listing.CaseFilter:
    args = request.args
    page = args.get("page", "1")
    return listing.CaseFilter(
        status=args.get("status", ""), dimension=args.get("dimension", ""), industry=args.get("industry", ""),
        county=args.get("county", ""), lead_department=args.get("lead", ""), text=args.get("q", ""),
        page=int(page) if page.isdigit() and len(page) < 7 else 1)


@bp.get("/cases")
@roles_required()
def case_list():
    actor = current_actor()
    result = listing.list_cases(engine_context(), actor, _filters())
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    may_open = actor.role in INTAKE_ROLES and _may_intake()
    return render_template("cases/list.html", result=result, names=listing.labels(lang()), lang=lang(), query=query,
                           counties=intake.COUNTIES, leads=intake.lead_departments(), may_open=may_open)


@bp.get("/cases/export.xlsx")
@roles_required()
def case_export():
    return xlsx_download(listing.export_workbook(engine_context(), current_actor(), _filters()), "capexit-cases.xlsx")


def _may_intake() -> bool:
    try:
        intake.allowed_dimensions(current_actor())
    except PermissionDenied:
        return False
    return True


REGISTERED_FIELDS = ("name", "county", "industry", "address")  # the register's, never the intake's to change


def _render_intake(values: dict[str, str], errors: dict[str, list[str]] | None = None, status: int = 200,
                   lookup: dict | None = None, lookup_code: str = "", lookup_error: str = ""):
    """The intake page; an enterprise the register knows shows its registered details, which cannot be edited."""
    dimensions = intake.allowed_dimensions(current_actor())
    code = intake.valid_code(values.get("credit_code", "").strip())
    registered = enterprises.registered_for(engine_context(), [code]).get(code) if code else None
    if registered:
        values = {**values, "credit_code": code, **{k: registered.get(k) or "" for k in REGISTERED_FIELDS}}
    names = listing.labels(lang())
    proposal = {d: {"default": default_lead(d, "other"), "coal": default_lead(d, "coal"),
                    "leads": DIMENSIONS[d].leads} for d in dimensions}
    return render_template(
        "cases/intake.html", values=values, errors=errors or {}, dimensions=dimensions, names=names,
        proposal=proposal, counties=intake.COUNTIES, leads=intake.lead_departments(), lookup=lookup,
        lookup_code=lookup_code, lookup_error=lookup_error, solid_waste=values.get("solid_waste") == "1",
        registered=bool(registered),
    ), status


def _errors(problems: list[Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(FIELD_OF_PATH.get(p.field or "", "_general"), []).append(
            p.message_en if lang() == "en" else p.message_zh)
    return out


@bp.get("/cases/new")
@roles_required(*INTAKE_ROLES)
def intake_form():
    return _render_intake({k: request.args.get(k, "") for k in ("dimension", "credit_code")})


@bp.post("/cases/new")
@roles_required(*INTAKE_ROLES)
def intake_submit():
    values = {key: request.form.get(key, "") for key in intake.FIELDS}
    values["solid_waste"] = "1" if request.form.get("solid_waste") else ""
    try:
        case_id = intake.open_case(engine_context(), current_actor(), values, solid_waste=bool(values["solid_waste"]))
    except InvalidInput as exc:
        errors = _errors(exc.problems) or {"_general": [exc.message(lang())]}
        return _render_intake(values, errors, 400)
    flash(_("已立案，案件编号 %(id)s", id=case_id), "info")
    return redirect(url_for("case_page.case", case_id=case_id))


@bp.get("/cases/enterprise-lookup")
@roles_required(*INTAKE_ROLES)
def enterprise_lookup():
    code = request.args.get("code", "").strip()[:40]
    values = {"credit_code": code, "dimension": request.args.get("dimension", "")}
    try:
        found = intake.lookup_enterprise(engine_context(), current_actor(), code)
    except InvalidInput as exc:
        message = exc.problems[0].message_en if lang() == "en" else exc.problems[0].message_zh
        return _render_intake(values, lookup_code=code, lookup_error=message, status=400)
    if found:
        values.update({k: found[k] or "" for k in ("credit_code", "name", "county", "industry", "address")})
    return _render_intake(values, lookup=found or {"missing": True}, lookup_code=code)


from webapp.pages import cases_import  # noqa: E402,F401  (registers the import views on ``bp``)
