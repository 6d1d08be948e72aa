"""Public pages, no sign-in (to be filled in)."""

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.get("/public")
def public():
    return render_template("placeholder.html", title="公示")
