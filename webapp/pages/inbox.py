"""The department inbox (to be filled in)."""

from flask import Blueprint, render_template

from webapp.pages import roles_required

bp = Blueprint("inbox", __name__)


@bp.get("/inbox")
@roles_required("staff", "enterprise", "supervisor", "admin")
def inbox():
    return render_template("placeholder.html", title="待办")
