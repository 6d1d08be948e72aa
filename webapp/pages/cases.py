"""Case pages (to be filled in)."""

from flask import Blueprint, render_template

from webapp.pages import roles_required

bp = Blueprint("cases", __name__)


@bp.get("/cases")
@roles_required()
def case_list():
    return render_template("placeholder.html", title="案件")
