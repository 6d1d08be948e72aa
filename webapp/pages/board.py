"""The supervisors' timer board (to be filled in)."""

from flask import Blueprint, render_template

from webapp.pages import roles_required

bp = Blueprint("board", __name__)


@bp.get("/board")
@roles_required("supervisor", "admin")
def board():
    return render_template("placeholder.html", title="计时看板")
