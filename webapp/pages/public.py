"""Public pages, no sign-in (to be filled in)."""

from flask import Blueprint, render_template
from flask_babel import gettext as _

bp = Blueprint("public", __name__)


@bp.get("/public")
def public():
    return render_template("placeholder.html", title=_("公示"))
