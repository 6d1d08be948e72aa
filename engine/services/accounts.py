"""Accounts: administrators list users, add them, name them, deactivate and reactivate them, reset passwords, keep
departments.

Who may call: administrators (and the system). Each change is one transaction that also appends an
audit event (``case_id`` None). Department codes are stable: names change, codes never; a department
is removed only while no user or case refers to it and it is not one of the parties of DOMAIN.md
(process lanes name those).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from engine.context import Actor, EngineContext
from engine.errors import InvalidInput, NotFound, PermissionDenied, Problem, invalid
from engine.models import ApiToken, Case, Department, User
from engine.parties import PARTY_CODES, party_order
from engine.services import users
from engine.services.instances import audit

DEPARTMENT_CODE = re.compile(r"[a-z0-9_]{2,32}")
# Parties that are not a place where staff work: enterprise tasks belong to enterprise accounts.
NO_STAFF_DEPARTMENTS = frozenset({"enterprise"})


def _admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise PermissionDenied("只有系统管理员可以管理用户和部门", "only administrators may manage users and departments")


class _JoinedContext:
    """Runs a service that opens its own unit of work inside the caller's transaction (one commit, one audit)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        yield self._session


@dataclass(frozen=True)
class NewUser:
    """What the add-user form asks for."""

    username: str
    role: str
    password: str
    department: str | None = None
    enterprise: str | None = None
    display_name: str | None = None


def _user_row(user: User, department: Department | None) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "department": user.department_code,
            "department_zh": department.name_zh if department else None,
            "department_en": department.name_en if department else None,
            "enterprise": user.enterprise_code, "active": user.active, "created_at": user.created_at}


def list_users(ctx: EngineContext, actor: Actor, *, role: str | None = None, query: str | None = None,
               active: bool | None = None) -> list[dict[str, Any]]:
    """Every account by username, optionally only one role, a name/code fragment, or active state."""
    _admin(actor)
    stmt = sa.select(User, Department).outerjoin(Department, Department.code == User.department_code)
    if role:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    if query:
        pattern = f"%{query.strip()}%"
        stmt = stmt.where(sa.or_(User.username.ilike(pattern), User.display_name.ilike(pattern),
                                 User.enterprise_code.ilike(pattern),
                                 User.department_code.ilike(pattern), Department.name_zh.ilike(pattern)))
    with ctx.unit_of_work() as session:
        return [_user_row(u, d) for u, d in session.execute(stmt.order_by(User.username))]


def get_user(ctx: EngineContext, actor: Actor, user_id: int) -> dict[str, Any]:
    """One account, or NotFound."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在", "no such user")
        return _user_row(user, session.get(Department, user.department_code) if user.department_code else None)


def create_user(ctx: EngineContext, actor: Actor, new: NewUser) -> int:
    """Add an account through ``users.add_user`` (which validates); refuses a taken username. Returns its id."""
    _admin(actor)
    if new.role == "staff" and new.department in NO_STAFF_DEPARTMENTS:
        raise invalid("department", "企业不是政府部门，企业账号请选择“企业用户”角色",
                      "the enterprise is not a department: choose the enterprise role")
    with ctx.unit_of_work() as session:
        taken = session.scalar(sa.select(User.id).where(User.username == new.username)) is not None
        taken_problem = Problem("用户名已存在", "this username is taken", field="username")
        try:
            user = users.add_user(_JoinedContext(session), new.username, new.role, new.password,  # type: ignore[arg-type]
                                  department=new.department or None, enterprise=new.enterprise or None,
                                  display_name=new.display_name)
        except InvalidInput as exc:
            if taken:
                exc.problems.insert(0, taken_problem)
            raise
        if taken:  # add_user would have reset the existing account; raising rolls that back
            raise InvalidInput("用户信息有误", "invalid user data", [taken_problem])
        session.flush()
        audit(session, None, ctx.now(session), actor.username, "user_added", username=user.username,
              display_name=user.display_name, role=user.role, department=user.department_code,
              enterprise=user.enterprise_code)
        return user.id


def rename_user(ctx: EngineContext, actor: Actor, user_id: int, display_name: str | None) -> str:
    """Set (or, when empty, clear) an account's real name, at most 50 characters; returns the username."""
    _admin(actor)
    problem = users.display_name_problem(display_name)
    if problem:
        raise InvalidInput("用户信息有误", "invalid user data", [problem])
    name = (display_name or "").strip() or None
    with ctx.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在", "no such user")
        if user.display_name != name:
            audit(session, None, ctx.now(session), actor.username, "user_renamed", username=user.username,
                  old=user.display_name, display_name=name)
            user.display_name = name
        return user.username


def set_active(ctx: EngineContext, actor: Actor, user_id: int, active: bool) -> str:
    """Deactivate (no sign-in, no API token) or reactivate an account; nobody deactivates themselves."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在", "no such user")
        if not active and user.username == actor.username:
            raise InvalidInput("不能停用自己的账号", "you cannot deactivate your own account")
        if user.active != active:
            user.active = active
            audit(session, None, ctx.now(session), actor.username,
                  "user_reactivated" if active else "user_deactivated", username=user.username)
        return user.username


def reset_password(ctx: EngineContext, actor: Actor, user_id: int, password: str) -> str:
    """Give an account a new password and revoke its API tokens; returns the username."""
    _admin(actor)
    if not 8 <= len(password or "") <= 200:
        raise invalid("password", "密码应为 8 到 200 个字符", "the password needs 8 to 200 characters")
    with ctx.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在", "no such user")
        user.password_hash = generate_password_hash(password)
        session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))
        audit(session, None, ctx.now(session), actor.username, "user_password_reset", username=user.username)
        return user.username


def list_departments(ctx: EngineContext, actor: Actor) -> list[dict[str, Any]]:
    """Every department (the parties in DOMAIN.md's order, then others by code), with how many accounts and
    cases refer to it and whether it may be removed."""
    _admin(actor)
    user_counts = sa.select(User.department_code, sa.func.count()).group_by(User.department_code)
    case_counts = sa.select(Case.lead_department, sa.func.count()).group_by(Case.lead_department)
    with ctx.unit_of_work() as session:
        n_users = dict(session.execute(user_counts).all())
        n_cases = dict(session.execute(case_counts).all())
        out = []
        for dept in sorted(session.scalars(sa.select(Department)), key=lambda d: party_order(d.code)):
            builtin = dept.code in PARTY_CODES
            count_u, count_c = n_users.get(dept.code, 0), n_cases.get(dept.code, 0)
            out.append({"code": dept.code, "name_zh": dept.name_zh, "name_en": dept.name_en, "builtin": builtin,
                        "users": count_u, "cases": count_c, "removable": not builtin and not count_u and not count_c,
                        "staff": dept.code not in NO_STAFF_DEPARTMENTS})
        return out


def _names(name_zh: str, name_en: str) -> tuple[str, str]:
    name_zh, name_en = (name_zh or "").strip(), (name_en or "").strip()
    problems = []
    if not name_zh or len(name_zh) > 100:
        problems.append(Problem("请填写中文名称（不超过 100 字）", "Chinese name: 1-100 characters", field="name_zh"))
    if not name_en or len(name_en) > 200:
        problems.append(Problem("请填写英文名称（不超过 200 字符）", "English name: 1-200 characters", field="name_en"))
    if problems:
        raise InvalidInput("部门信息有误", "invalid department data", problems)
    return name_zh, name_en


def _name_clash(session: Session, name_zh: str, code: str | None) -> None:
    other = session.scalar(sa.select(Department.code).where(Department.name_zh == name_zh, Department.code != code))
    if other is not None:
        raise invalid("name_zh", f"中文名称已被部门 {other} 使用", f"department {other} already has this name")


def add_department(ctx: EngineContext, actor: Actor, code: str, name_zh: str, name_en: str) -> None:
    """Register a department; its code (2-32 lowercase letters, digits, _) never changes afterwards."""
    _admin(actor)
    code = (code or "").strip()
    problems = []
    if not DEPARTMENT_CODE.fullmatch(code):
        problems.append(Problem("部门代码应为 2 到 32 个小写字母、数字或下划线",
                                "code: 2-32 lowercase letters, digits or underscores", field="code"))
    try:
        name_zh, name_en = _names(name_zh, name_en)
    except InvalidInput as exc:
        problems.extend(exc.problems)
    if problems:
        raise InvalidInput("部门信息有误", "invalid department data", problems)
    with ctx.unit_of_work() as session:
        if session.get(Department, code) is not None:
            raise invalid("code", "部门代码已存在", "this code is taken")
        _name_clash(session, name_zh, None)
        session.add(Department(code=code, name_zh=name_zh, name_en=name_en))
        audit(session, None, ctx.now(session), actor.username, "department_added", code=code, name_zh=name_zh,
              name_en=name_en)


def get_department(ctx: EngineContext, actor: Actor, code: str) -> dict[str, str]:
    """One department's code and names, or NotFound."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        dept = session.get(Department, code)
        if dept is None:
            raise NotFound("部门不存在", "no such department")
        return {"code": dept.code, "name_zh": dept.name_zh, "name_en": dept.name_en}


def rename_department(ctx: EngineContext, actor: Actor, code: str, name_zh: str, name_en: str) -> None:
    """Change a department's Chinese and English names (the code stays)."""
    _admin(actor)
    name_zh, name_en = _names(name_zh, name_en)
    with ctx.unit_of_work() as session:
        dept = session.get(Department, code)
        if dept is None:
            raise NotFound("部门不存在", "no such department")
        _name_clash(session, name_zh, code)
        if (dept.name_zh, dept.name_en) != (name_zh, name_en):
            audit(session, None, ctx.now(session), actor.username, "department_renamed", code=code,
                  old_zh=dept.name_zh, old_en=dept.name_en, name_zh=name_zh, name_en=name_en)
            dept.name_zh, dept.name_en = name_zh, name_en


def remove_department(ctx: EngineContext, actor: Actor, code: str) -> None:
    """Remove a department added by mistake: not a party of DOMAIN.md, no accounts, no cases."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        dept = session.get(Department, code)
        if dept is None:
            raise NotFound("部门不存在", "no such department")
        if code in PARTY_CODES:
            raise InvalidInput("法定参与部门不能删除", "the parties of the procedures cannot be removed")
        used = session.scalar(sa.select(sa.func.count()).select_from(User).where(User.department_code == code))
        cases = session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.lead_department == code))
        if used or cases:
            raise InvalidInput("该部门仍有用户或案件，不能删除", "the department still has users or cases")
        session.delete(dept)
        audit(session, None, ctx.now(session), actor.username, "department_removed", code=code,
              name_zh=dept.name_zh)
