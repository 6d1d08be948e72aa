"""Users: accounts with hashed passwords, departments, and bearer tokens for the API.

Who may call: ``add_user`` is for administrators and the CLI; ``authenticate`` and
``issue_token`` for anyone with the password; ``actor_for_token`` for the API layer; ``display_names``
and ``with_name`` for anyone who shows who acted (records name the official, not only the login).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.context import Actor, EngineContext
from engine.credit_code import CreditCodeError, validate_credit_code
from engine.errors import InvalidInput, PermissionDenied, Problem
from engine.models import ApiToken, Department, User
from engine.parties import PARTIES, ROLES

TOKEN_LIFETIME = timedelta(hours=12)
DISPLAY_NAME_MAX = 50
_DUMMY_HASH = generate_password_hash("capexit-timing-guard")


def register_departments(session: Session) -> None:
    """Insert the parties of DOMAIN.md that are missing (idempotent; an administrator's renames stay)."""
    for party in PARTIES:
        if session.get(Department, party.code) is None:
            session.add(Department(code=party.code, name_zh=party.name_zh, name_en=party.name_en))


def display_name_problem(display_name: str | None) -> Problem | None:
    """What is wrong with a real name (field ``display_name``), or None: at most 50 characters, one line."""
    name = (display_name or "").strip()
    if len(name) > DISPLAY_NAME_MAX or not name.isprintable():
        return Problem(f"姓名不超过 {DISPLAY_NAME_MAX} 个字，且不含换行等控制字符",
                       f"the name takes at most {DISPLAY_NAME_MAX} characters on one line", field="display_name")
    return None


def add_user(ctx: EngineContext, username: str, role: str, password: str, *, department: str | None = None,
             enterprise: str | None = None, display_name: str | None = None) -> User:
    """Create an account (or reset an existing one's role and password).

    Only staff have a department and only enterprise users a credit code: either given for
    another role is refused (400 naming the field), never dropped silently. ``display_name`` is the
    person's real name (at most 50 characters); empty or None leaves an existing account's name as it is.
    """
    problems = [problem for problem in [display_name_problem(display_name)] if problem]
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        problems.append(Problem("用户名应为 1 到 64 个字母、数字或 _-.", "username: 1-64 letters, digits or _-.",
                                field="username"))
    if role not in ROLES:
        problems.append(Problem(f"角色应为 {'、'.join(ROLES)} 之一", f"role must be one of {', '.join(ROLES)}",
                                field="role"))
    if len(password or "") < 8:
        problems.append(Problem("密码至少 8 位", "password needs at least 8 characters", field="password"))
    if role == "staff" and not department:
        problems.append(Problem("工作人员必须指定部门", "staff need a department", field="department"))
    if role == "staff" and department == "enterprise":
        problems.append(Problem("企业用户请选择“企业”角色并填写统一社会信用代码",
                                "enterprise users take the enterprise role with a credit code", field="department"))
    if department and role in ROLES and role != "staff":
        problems.append(Problem("只有部门工作人员填写所属部门，其他角色请不要填写",
                                "only staff have a department: leave it empty for this role", field="department"))
    if enterprise and role in ROLES and role != "enterprise":
        problems.append(Problem("只有企业用户填写统一社会信用代码，其他角色请不要填写",
                                "only enterprise users have a credit code: leave it empty for this role",
                                field="enterprise"))
    if role == "enterprise":
        try:
            enterprise = validate_credit_code(enterprise or "")
        except CreditCodeError as exc:
            problems.append(Problem(exc.message_zh, exc.message_en, field="enterprise"))
    if problems:
        raise InvalidInput("用户信息有误", "invalid user data", problems)
    with ctx.unit_of_work() as session:
        if department and session.get(Department, department) is None:
            raise InvalidInput("部门不存在", "no such department",
                               [Problem(f"未知部门 {department}", f"unknown department {department}", field="department")])
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = User(username=username, created_at=datetime.now(UTC))
            session.add(user)
        user.role, user.password_hash = role, generate_password_hash(password)
        user.department_code = department if role == "staff" else None
        user.enterprise_code = enterprise if role == "enterprise" else None
        user.active = True
        user.display_name = (display_name or "").strip() or user.display_name
        return user


def display_names(ctx: EngineContext) -> dict[str, str]:
    """Username → real name of every account that has one, in one read (the users table is small)."""
    with ctx.reading() as session:
        rows = session.execute(sa.select(User.username, User.display_name).where(User.display_name.is_not(None)))
        return {username: name for username, name in rows}


def with_name(username: str, names: Mapping[str, str], pattern: str = "{name}（{username}）") -> str:
    """How records show a person: 王明（industry_staff） when ``names`` (``display_names``) has a real name for
    ``username``, else the username alone; the engine's own steps are 系统."""
    if username == "system":
        return "系统"
    name = names.get(username)
    return pattern.format(name=name, username=username) if name else username


def session_fingerprint(user: User) -> str:
    """Changes when the password changes, so signed-in sessions end with a password reset."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def actor_of(user: User) -> Actor:
    """The engine's view of a signed-in user."""
    return Actor(user.username, user.role, user.department_code, user.enterprise_code)


def authenticate(ctx: EngineContext, username: str, password: str) -> User:
    """The active user with this password, or PermissionDenied (same answer for every failure)."""
    with ctx.unit_of_work() as session:
        user = session.scalar(sa.select(User).where(User.username == str(username or "")))
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, str(password or ""))
        if user is None or not ok or not user.active:
            raise PermissionDenied("用户名或密码错误", "wrong username or password")
        return user


def issue_token(ctx: EngineContext, user: User) -> str:
    """A new bearer token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with ctx.unit_of_work() as session:
        session.add(ApiToken(token_hash=hashlib.sha256(token.encode()).hexdigest(), user_id=user.id,
                             created_at=now, expires_at=now + TOKEN_LIFETIME))
    return token


# Built once, and columns rather than the user entity: every API request runs it.
_TOKEN_OWNER = (sa.select(User.username, User.role, User.department_code, User.enterprise_code, User.active,
                          ApiToken.expires_at)
                .join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == sa.bindparam("digest")))


def actor_for_token(ctx: EngineContext, token: str) -> Actor | None:
    """The actor a valid, unexpired token belongs to, or None."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with ctx.reading() as session:
        row = session.connection().execute(_TOKEN_OWNER, {"digest": digest}).first()
    if row is None or row.expires_at < datetime.now(UTC) or not row.active:
        return None
    return Actor(row.username, row.role, row.department_code, row.enterprise_code)


def require_role(actor: Actor, *roles: str) -> None:
    """PermissionDenied unless the actor has one of the roles."""
    if actor.role not in roles:
        raise PermissionDenied("无权执行此操作", "you may not do this")
