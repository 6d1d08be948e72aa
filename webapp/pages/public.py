"""Public pages, no sign-in: current announcements (C-2.5, C-3.8), withdrawn ones, the annual report.

Anonymous answers carry no cookie and are cacheable (``Cache-Control: public``, an ETag);
a signed-in viewer's page (it holds CSRF tokens and withdraw forms) is private. The
withdraw route is for staff of the case's lead department and administrators.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.clock import SHANGHAI
from engine.errors import InvalidInput
from engine.services import announcements, annual
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required

bp = Blueprint("public", __name__)

PUBLIC_MAX_AGE = 60


def _cacheable(response, signed_in: bool, page: bool = False):
    """Public, revalidated by ETag, for anonymous viewers; private and uncached otherwise."""
    if signed_in:
        response.headers["Cache-Control"] = "private, no-store"
        return response
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    if page:  # the language comes from ?lang=, the session cookie or Accept-Language
        response.vary.update(("Accept-Language", "Cookie"))
    response.add_etag()
    return response.make_conditional(request)


def _render(error: InvalidInput | None = None, error_for: int | None = None, reason: str = "", status: int = 200):
    signed_in = current_user.is_authenticated
    board = announcements.public_board(engine_context(), current_actor() if signed_in else None)
    html = render_template("public/public.html", board=board, lang=lang(),
                           annual_report=annual.published_reports(engine_context()), tz=SHANGHAI, error=error, error_for=error_for, reason=reason,
                           min_reason=announcements.MIN_REASON, max_reason=announcements.MAX_REASON)
    response = make_response(html, status)
    return _cacheable(response, signed_in, page=True) if status == 200 else response


@bp.get("/public")
def public():
    return _render()


@bp.get("/public/announcements.json")
def announcements_json():
    items = [a.as_json() for a in announcements.current_list(engine_context())]
    response = jsonify({"announcements": items, "count": len(items)})
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _cacheable(response, signed_in=False)


@bp.post("/announcements/<int:announcement_id>/withdraw")
@roles_required()
def withdraw(announcement_id: int):
    reason = request.form.get("reason", "")
    try:
        announcements.withdraw(engine_context(), current_actor(), announcement_id, reason)
    except InvalidInput as exc:
        return _render(error=exc, error_for=announcement_id, reason=reason, status=400)
    flash(_("公告已撤回，撤回理由已公示"), "info")
    return redirect(url_for(".public", _anchor="withdrawn"))
