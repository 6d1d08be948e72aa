"""Administration: user accounts, departments and the rest-day calendar (administrators only).

The enterprise register views live in ``webapp.pages.admin_enterprises`` on the same blueprint.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.clock import SHANGHAI
from engine.errors import InvalidInput, invalid
from engine.parties import ROLES
from engine.services import accounts, rest_days
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
ACTIVE_FILTER = {"active": True, "inactive": False}


def _errors(exc: InvalidInput) -> dict[str | None, list[str]]:
    """The problems of a refused form by field name (``None``: about the whole form)."""
    out: dict[str | None, list[str]] = {}
    for problem in exc.problems:
        out.setdefault(problem.field, []).append(problem.message_en if lang() == "en" else problem.message_zh)
    if not exc.problems:
        out[None] = [exc.message(lang())]
    return out


def _flash_refusal(exc: InvalidInput) -> None:
    for messages in _errors(exc).values():
        for message in messages:
            flash(message, "error")


# --- users -----------------------------------------------------------------------------------------------


def _users_page(form: dict | None = None, errors: dict | None = None, status: int = 200):
    ctx, actor = engine_context(), current_actor()
    role = request.args.get("role") if request.args.get("role") in ROLES else None
    state = request.args.get("state", "")
    query = request.args.get("q", "").strip()[:64]
    rows = accounts.list_users(ctx, actor, role=role, query=query or None, active=ACTIVE_FILTER.get(state))
    departments = [d for d in accounts.list_departments(ctx, actor) if d["staff"]]
    return render_template("admin/users.html", users=rows, departments=departments, roles=ROLES,
                           filters={"role": role or "", "state": state, "q": query}, form=form or {},
                           errors=errors or {}, lang=lang()), status


@bp.get("/users")
@roles_required("admin")
def users():
    return _users_page()


@bp.post("/users")
@roles_required("admin")
def add_user():
    form = {key: request.form.get(key, "").strip()
            for key in ("username", "display_name", "role", "department", "enterprise")}
    new = accounts.NewUser(form["username"], form["role"], request.form.get("password", ""),
                           form["department"] or None, form["enterprise"].upper() or None, form["display_name"] or None)
    try:
        accounts.create_user(engine_context(), current_actor(), new)
    except InvalidInput as exc:
        return _users_page(form, _errors(exc), 400)
    flash(_("已添加用户 %(name)s", name=new.username), "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/deactivate")
@roles_required("admin")
def deactivate(user_id: int):
    try:
        name = accounts.set_active(engine_context(), current_actor(), user_id, False)
    except InvalidInput as exc:
        _flash_refusal(exc)
    else:
        flash(_("已停用用户 %(name)s：该用户不能再登录", name=name), "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reactivate")
@roles_required("admin")
def reactivate(user_id: int):
    name = accounts.set_active(engine_context(), current_actor(), user_id, True)
    flash(_("已启用用户 %(name)s", name=name), "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/name", methods=["GET", "POST"])
@roles_required("admin")
def rename_user(user_id: int):
    ctx, actor = engine_context(), current_actor()
    user = accounts.get_user(ctx, actor, user_id)
    errors: dict = {}
    if request.method == "POST":
        user["display_name"] = request.form.get("display_name", "").strip()
        try:
            accounts.rename_user(ctx, actor, user_id, user["display_name"])
        except InvalidInput as exc:
            errors = _errors(exc)
        else:
            flash(_("已更新用户 %(name)s 的姓名", name=user["username"]), "info")
            return redirect(url_for("admin.users"))
    return render_template("admin/name.html", user=user, errors=errors, lang=lang()), (400 if errors else 200)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required("admin")
def reset_password(user_id: int):
    ctx, actor = engine_context(), current_actor()
    user = accounts.get_user(ctx, actor, user_id)
    errors: dict = {}
    if request.method == "POST":
        password, confirm = request.form.get("password", ""), request.form.get("confirm", "")
        try:
            if password != confirm:
                raise invalid("confirm", "两次输入的密码不一致", "the passwords differ")
            accounts.reset_password(ctx, actor, user_id, password)
        except InvalidInput as exc:
            errors = _errors(exc)
        else:
            flash(_("已重置用户 %(name)s 的密码，请将新密码当面或通过安全渠道告知本人", name=user["username"]), "info")
            return redirect(url_for("admin.users"))
    return render_template("admin/password.html", user=user, errors=errors, lang=lang()), (400 if errors else 200)


# --- departments -----------------------------------------------------------------------------------------


def _departments_page(form: dict | None = None, errors: dict | None = None, status: int = 200):
    rows = accounts.list_departments(engine_context(), current_actor())
    return render_template("admin/departments.html", departments=rows, form=form or {}, errors=errors or {},
                           lang=lang()), status


@bp.get("/departments")
@roles_required("admin")
def departments():
    return _departments_page()


@bp.post("/departments")
@roles_required("admin")
def add_department():
    form = {key: request.form.get(key, "").strip() for key in ("code", "name_zh", "name_en")}
    try:
        accounts.add_department(engine_context(), current_actor(), form["code"], form["name_zh"], form["name_en"])
    except InvalidInput as exc:
        return _departments_page(form, _errors(exc), 400)
    flash(_("已添加部门 %(code)s", code=form["code"]), "info")
    return redirect(url_for("admin.departments"))


@bp.route("/departments/<code>", methods=["GET", "POST"])
@roles_required("admin")
def rename_department(code: str):
    ctx, actor = engine_context(), current_actor()
    department = accounts.get_department(ctx, actor, code)
    errors: dict = {}
    if request.method == "POST":
        department.update({key: request.form.get(key, "").strip() for key in ("name_zh", "name_en")})
        try:
            accounts.rename_department(ctx, actor, code, department["name_zh"], department["name_en"])
        except InvalidInput as exc:
            errors = _errors(exc)
        else:
            flash(_("已更新部门 %(code)s 的名称", code=code), "info")
            return redirect(url_for("admin.departments"))
    return render_template("admin/department.html", department=department, errors=errors), (400 if errors else 200)


@bp.post("/departments/<code>/remove")
@roles_required("admin")
def remove_department(code: str):
    try:
        accounts.remove_department(engine_context(), current_actor(), code)
    except InvalidInput as exc:
        _flash_refusal(exc)
    else:
        flash(_("已删除部门 %(code)s", code=code), "info")
    return redirect(url_for("admin.departments"))


# --- rest-day calendar -----------------------------------------------------------------------------------


def _calendar_page(form: dict | None = None, errors: dict | None = None, status: int = 200,
                   year: int | None = None):
    ctx = engine_context()
    raw_year = request.args.get("year", "")
    if raw_year and not raw_year.isdigit():
        raise invalid("year", "年份应为数字", "the year must be a number")
    overview = rest_days.year_overview(ctx, year or (int(raw_year) if raw_year else ctx.today().year))
    return render_template("admin/calendar.html", overview=overview, corrections=rest_days.list_rest_days(ctx),
                           form=form or {"kind": "rest"}, errors=errors or {}, lang=lang(), tz=SHANGHAI), status


def _parse_day(raw: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise invalid("day", "请填写日期（YYYY-MM-DD）", "enter a date (YYYY-MM-DD)") from None
    if not rest_days.MIN_YEAR <= day.year <= rest_days.MAX_YEAR:
        raise invalid("day", f"日期应在 {rest_days.MIN_YEAR} 到 {rest_days.MAX_YEAR} 年之间",
                      f"the date must fall in {rest_days.MIN_YEAR}-{rest_days.MAX_YEAR}")
    return day


@bp.get("/calendar")
@roles_required("admin")
def calendar():
    return _calendar_page()


@bp.post("/calendar")
@roles_required("admin")
def add_correction():
    form = {key: request.form.get(key, "").strip() for key in ("day", "kind", "note")}
    try:
        day = _parse_day(form["day"])
        if form["kind"] not in ("working", "rest"):
            raise invalid("kind", "请选择工作日或休息日", "choose working day or rest day")
        moved = rest_days.set_rest_day(engine_context(), current_actor(), day, working=form["kind"] == "working",
                                       note=form["note"])
    except InvalidInput as exc:
        return _calendar_page(form, _errors(exc), 400)
    flash(ngettext("已保存更正：%(day)s 设为%(kind)s。此后计算的期限按更正后的日历；正在计时的期限中有 %(num)d 件案件据此重新计算。",
                   "已保存更正：%(day)s 设为%(kind)s。此后计算的期限按更正后的日历；正在计时的期限中有 %(num)d 件案件据此重新计算。",
                   len(moved), day=day.isoformat(), kind=_("工作日") if form["kind"] == "working" else _("休息日")),
          "info")
    return redirect(url_for("admin.calendar", year=day.year))


@bp.post("/calendar/<int:year>/entered")
@roles_required("admin")
def enter_arrangements(year: int):
    form = {"notice": request.form.get("notice", "").strip(), "kind": "rest"}
    try:
        moved = rest_days.enter_arrangements(engine_context(), current_actor(), year, form["notice"])
    except InvalidInput as exc:
        return _calendar_page(form, _errors(exc), 400, year=year)
    flash(ngettext("已确认 %(year)s 年放假安排录入完毕；正在计时的期限中有 %(num)d 件案件据此重新计算。",
                   "已确认 %(year)s 年放假安排录入完毕；正在计时的期限中有 %(num)d 件案件据此重新计算。", len(moved), year=year), "info")
    return redirect(url_for("admin.calendar", year=year))


@bp.post("/calendar/<int:year>/entered/withdraw")
@roles_required("admin")
def withdraw_arrangements(year: int):
    moved = rest_days.withdraw_arrangements(engine_context(), current_actor(), year)
    flash(ngettext("已撤回 %(year)s 年放假安排的录入；正在计时的期限中有 %(num)d 件案件据此重新计算。",
                   "已撤回 %(year)s 年放假安排的录入；正在计时的期限中有 %(num)d 件案件据此重新计算。", len(moved), year=year), "info")
    return redirect(url_for("admin.calendar", year=year))


@bp.post("/calendar/<day>/remove")
@roles_required("admin")
def remove_correction(day: str):
    parsed = _parse_day(day)
    moved = rest_days.clear_rest_day(engine_context(), current_actor(), parsed)
    flash(ngettext("已删除 %(day)s 的更正，恢复按国务院公布的安排计算；正在计时的期限中有 %(num)d 件案件据此重新计算。",
                   "已删除 %(day)s 的更正，恢复按国务院公布的安排计算；正在计时的期限中有 %(num)d 件案件据此重新计算。", len(moved),
                   day=parsed.isoformat()), "info")
    return redirect(url_for("admin.calendar", year=parsed.year))


from webapp.pages import admin_enterprises  # noqa: E402,F401  (registers the enterprise register views on ``bp``)
