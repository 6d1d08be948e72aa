"""Administration (to be filled in)."""

from flask import Blueprint, render_template

from webapp.pages import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@roles_required("admin")
def users():
    return render_template("placeholder.html", title="用户管理")
