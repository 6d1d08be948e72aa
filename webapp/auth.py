"""Sign-in for people: Flask-Login sessions, the login and logout views, landing pages by role."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.context import Actor
from engine.errors import PermissionDenied
from engine.models import User
from engine.services import tasks, users
from webapp.extensions import engine_context
from webapp.login_limits import limiter

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

LANDING = {"staff": "inbox.inbox", "enterprise": "cases.case_list", "supervisor": "board.board",
           "owner": "cases.case_list", "admin": "admin.users"}


@dataclass
class WebUser(UserMixin):
    """The signed-in person, as Flask-Login needs it."""

    id: int
    username: str
    role: str
    department: str | None
    enterprise_code: str | None
    fingerprint: str = ""

    def get_id(self) -> str:
        """The session's user id, bound to the password: a reset signs every session out."""
        return f"{self.id}.{self.fingerprint}"

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.department, self.enterprise_code)


def _web_user(user: User) -> WebUser:
    return WebUser(user.id, user.username, user.role, user.department_code, user.enterprise_code,
                   users.session_fingerprint(user))


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    number, _, fingerprint = user_id.partition(".")
    with engine_context().unit_of_work() as session:
        user = session.get(User, int(number)) if number.isdigit() else None
        if user is None or not user.active or users.session_fingerprint(user) != fingerprint:
            return None
        return _web_user(user)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def is_local_path(target: str) -> bool:
    """A path on this site: one leading slash, no backslash or control character a browser would drop into ``//``."""
    return target.startswith("/") and not target.startswith("//") and "\\" not in target and target.isprintable()


def landing_url(user: WebUser) -> str:
    """Where a user lands after signing in: an enterprise with a step to take lands on its inbox."""
    if user.role == "enterprise" and tasks.list_tasks(engine_context(), user.actor, limit=1):
        return url_for("inbox.inbox")
    return url_for(LANDING.get(user.role, "cases.case_list"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        address = request.remote_addr or "?"
        wait = limiter().wait_seconds(form.username.data, address)
        if wait:
            flash(_("登录失败次数过多，请 %(m)s 分钟后再试", m=(wait + 59) // 60), "error")
            return render_template("login.html", form=form), 429
        try:
            user = users.authenticate(engine_context(), form.username.data, form.password.data)
        except PermissionDenied:
            limiter().failed(form.username.data, address)
            flash(_("用户名或密码错误"), "error")
            return render_template("login.html", form=form), 401
        limiter().succeeded(form.username.data)
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME (8 hours)
        login_user(_web_user(user))
        target = request.args.get("next", "")
        if not is_local_path(target):
            target = landing_url(current_user)
        return redirect(target)
    return render_template("login.html", form=form), (400 if form.is_submitted() else 200)


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Register the login manager and the sign-in views."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    app.register_blueprint(bp)
