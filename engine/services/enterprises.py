"""Enterprises: the register of regulated enterprises, read and reconciled with intake, corrected by administrators.

The register changes in two ways only. An intake of an unknown credit code registers the
enterprise (``register``); an administrator corrects a registered enterprise's details
(``correct_enterprise``, one transaction, an audit event ``enterprise_corrected`` with the old
and new values and the grounds on each of its cases' chains and one without a case, which
``corrections`` reads back). An intake of a known code never rewrites it: a
field the intake leaves empty is taken from the register, a field that differs (surrounding
whitespace aside) is refused with a problem naming the field, the registered value and the
submitted one (``conflicts``), so the earlier cases of the enterprise keep their details.
A field the register holds empty may be completed by an intake; that is audited
(``enterprise_completed``).
Who may call: ``register`` and ``conflicts`` run inside intake (``cases.start_case``,
``intake``); ``list_enterprises``, ``get_enterprise``, ``correct_enterprise`` and ``corrections``
are for administrators. Errors: ``InvalidInput`` (400) naming the field, ``PermissionDenied`` (403),
``NotFound`` (404).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.credit_code import CreditCodeError, validate_credit_code
from engine.errors import InvalidInput, NotFound, PermissionDenied, Problem
from engine.models import AuditEvent, Case, CaseStatus, Enterprise
from engine.parties import INDUSTRIES
from engine.services.audit import hold_case
from engine.services.instances import audit

COUNTIES: tuple[str, ...] = (
    "任城区", "兖州区", "曲阜市", "邹城市", "微山县", "鱼台县", "金乡县", "嘉祥县", "汶上县", "泗水县", "梁山县",
    "济宁高新区", "太白湖新区", "济宁经济技术开发区",
)
# registered field -> (Chinese label, English label, maximum length), in the order problems are listed
DETAILS: dict[str, tuple[str, str, int]] = {
    "name": ("企业名称", "name", 200), "industry": ("行业", "industry", 32),
    "county": ("县市区", "county/district", 100), "address": ("地址", "address", 300),
}
LIST_LIMIT = 200


def _clean(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def details_of(row: Enterprise) -> dict[str, str]:
    """A register row as plain fields."""
    return {"credit_code": row.credit_code, "name": row.name, "industry": row.industry, "county": row.county or "",
            "address": row.address or ""}


def registered(session: Session, codes: Iterable[str]) -> dict[str, dict[str, str]]:
    """The registered details of those credit codes that are registered (one query), by code."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.scalars(sa.select(Enterprise).where(Enterprise.credit_code.in_(wanted)))
    return {row.credit_code: details_of(row) for row in rows}


def registered_for(ctx: EngineContext, raw_codes: Iterable[str]) -> dict[str, dict[str, str]]:
    """Like ``registered`` for codes as typed (invalid ones are skipped), in its own read."""
    codes = set()
    for raw in raw_codes:
        try:
            codes.add(validate_credit_code(str(raw or "")))
        except CreditCodeError:
            continue
    if not codes:
        return {}
    with ctx.unit_of_work() as session:
        return registered(session, codes)


def _shown(key: str, value: str, lang: str) -> str:
    """A value as a refusal's sentence names it (an industry by its name, in lower case inside an English one)."""
    if key == "industry" and value in INDUSTRIES:
        return INDUSTRIES[value][1].lower() if lang == "en" else INDUSTRIES[value][0]
    return value


def _head(known: dict[str, str], line: int | None, key: str) -> tuple[str, str]:
    """Where the values compared with come from: the register, or an earlier row of the same import; with the
    industry unless the refused field is the industry (its sentence names it)."""
    name = known["name"]
    zh_industry, en_industry = _shown("industry", known["industry"], "zh"), _shown("industry", known["industry"], "en")
    zh_tail, en_tail = ("", "") if key == "industry" else (f"（行业：{zh_industry}）", f" (industry: {en_industry})")
    if line is None:
        return (f"该统一社会信用代码已登记为「{name}」{zh_tail}", f"this credit code is registered as “{name}”{en_tail}")
    return (f"第 {line} 行已为该统一社会信用代码填写「{name}」{zh_tail}", f"row {line} gives this credit code as “{name}”{en_tail}")


def conflict(key: str, known: dict[str, str], given: str, line: int | None = None) -> Problem:
    """The refusal of one field that differs from the register: the field, the registered and the given value."""
    zh_label, en_label, _limit = DETAILS[key]
    head_zh, head_en = _head(known, line, key)
    if key == "name":
        zh, en = f"{head_zh}，与填写的「{given}」不一致", f"{head_en}, not “{given}”"
    else:
        had, source_zh, source_en = known[key], ("登记的" if line is None else "所填"), ("registered " if line is None else "")
        zh = f"{head_zh}，{source_zh}{zh_label}为「{_shown(key, had, 'zh')}」，与填写的「{_shown(key, given, 'zh')}」不一致"
        en = f"{head_en}; its {source_en}{en_label} is “{_shown(key, had, 'en')}”, not “{_shown(key, given, 'en')}”"
    return Problem(f"{zh}；如需更正企业信息，请由管理员更正",
                   f"{en}; an administrator corrects the register if it is wrong", field=f"enterprise.{key}")


def reconcile(known: dict[str, str], given: dict[str, Any],
              line: int | None = None) -> tuple[dict[str, str], list[Problem]]:
    """The intake's enterprise with empty fields taken from the register, and a problem per field that differs.

    A field the register holds empty keeps the intake's value (a completion, see ``register``).
    ``line``: the values compared with are an earlier row of an import, not the register.
    """
    merged = dict(known)
    problems = []
    for key in DETAILS:
        value = _clean(given.get(key))
        if not value:
            continue
        if known[key] and value != known[key].strip():
            problems.append(conflict(key, known, value, line))
        elif not known[key]:
            merged[key] = value
    return merged, problems


def _insert(session: Session, enterprise: dict[str, str]) -> bool:
    """Insert a new enterprise row; False when a concurrent intake registered it first (its row is kept)."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    result = session.execute(insert(Enterprise).values(**enterprise).on_conflict_do_nothing(
        index_elements=[Enterprise.credit_code]))
    return bool(result.rowcount)


DIFFERING = ("refuse", "record")  # what an intake whose details differ from the register gets


def register(session: Session, given: dict[str, Any], at: datetime, actor: str, *, differing: str = "refuse"
             ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The enterprise of an intake, registered when its code is new, and how the intake differs from the register.

    ``given`` holds a valid ``credit_code``; ``name``, ``industry`` (a code), ``county`` and ``address``
    may be empty. A new enterprise needs a name; its industry defaults to ``other``.

    A field that differs from the register is refused (InvalidInput, nothing written) when ``differing`` is
    ``refuse``: the intake page and the import, whose users see the register. With ``record`` (a machine client
    of the API, which must never lose a finding over a spelling), the case follows the details as given, the
    register keeps its own, and the differences come back ({field: {"registered", "given"}}) for the case's
    history.
    """
    code = given["credit_code"]
    row = session.get(Enterprise, code)
    if row is None:
        if not _clean(given.get("name")):
            raise InvalidInput("立案信息有误", "the case data is invalid", [Problem(
                "企业名称必填（不超过200字）", "enterprise name is required (at most 200 characters)",
                field="enterprise.name")])
        new = {"credit_code": code, "industry": _clean(given.get("industry")) or "other",
               **{k: _clean(given.get(k)) for k in ("name", "county", "address")}}
        if _insert(session, new):
            return new, {}
        row = session.get(Enterprise, code)  # a concurrent intake registered it first: compare with that
    known = details_of(row)
    merged, problems = reconcile(known, given)
    if problems and differing != "record":
        raise InvalidInput("企业信息与登记信息不一致", "the enterprise details differ from the register", problems)
    completed = {k: merged[k] for k in DETAILS if merged[k] != known[k]}
    if completed:
        for key, value in completed.items():
            setattr(row, key, value)
        audit(session, None, at, actor, "enterprise_completed", credit_code=code, fields=completed)
    differing_keys = [p.field.removeprefix("enterprise.") for p in problems]
    differences = {k: {"registered": known[k], "given": _clean(given.get(k))} for k in differing_keys}
    return {**merged, **{k: d["given"] for k, d in differences.items()}}, differences


# --- administrators ----------------------------------------------------------------------------------------


def _admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise PermissionDenied("只有系统管理员可以更正企业登记信息", "only administrators may correct the enterprise register")


def list_enterprises(ctx: EngineContext, actor: Actor, query: str | None = None) -> list[dict[str, Any]]:
    """Registered enterprises by name (at most ``LIST_LIMIT``), optionally matching a name or code fragment."""
    _admin(actor)
    counts = (sa.select(Case.enterprise_code, sa.func.count().label("all_cases"),
                        sa.func.count().filter(Case.status == CaseStatus.OPEN).label("open_cases"))
              .group_by(Case.enterprise_code).subquery())
    stmt = sa.select(Enterprise, counts.c.all_cases, counts.c.open_cases).outerjoin(
        counts, counts.c.enterprise_code == Enterprise.credit_code)
    if query and query.strip():
        pattern = f"%{query.strip()}%"
        stmt = stmt.where(sa.or_(Enterprise.name.ilike(pattern), Enterprise.credit_code.ilike(pattern)))
    with ctx.unit_of_work() as session:
        rows = session.execute(stmt.order_by(Enterprise.name, Enterprise.credit_code).limit(LIST_LIMIT)).all()
        return [details_of(row) | {"all_cases": all_cases or 0, "open_cases": open_cases or 0}
                for row, all_cases, open_cases in rows]


def get_enterprise(ctx: EngineContext, actor: Actor, code: str) -> dict[str, str]:
    """One registered enterprise's details, or NotFound."""
    _admin(actor)
    with ctx.unit_of_work() as session:
        row = session.get(Enterprise, str(code or "").strip().upper())
        if row is None:
            raise NotFound("该企业未登记", "no such enterprise in the register")
        return details_of(row)


def _checked_changes(changes: dict[str, Any], before: dict[str, str], reason: str) -> dict[str, list[str]]:
    """The fields that change as ``{field: [old, new]}``, each validated like intake; InvalidInput lists every problem.

    A field given unchanged is not checked again (a county the register holds outside today's list stays).
    """
    problems = [Problem(f"不能更正的字段 {key}", f"{key} cannot be corrected", field=key)
                for key in changes if key not in DETAILS]
    changed = {key: [before[key], _clean(changes[key])] for key in DETAILS
               if key in changes and _clean(changes[key]) != before[key]}
    for key, (_old, value) in changed.items():
        zh_label, en_label, limit = DETAILS[key]
        if len(value) > limit:
            problems.append(Problem(f"{zh_label}过长（不超过{limit}字）", f"{en_label} is too long (at most {limit})",
                                    field=key))
    new = {key: value for key, (_old, value) in changed.items()}
    if "name" in new and not new["name"]:
        problems.append(Problem("请填写企业名称", "the enterprise name is required", field="name"))
    if "county" in new and new["county"] not in COUNTIES:
        problems.append(Problem(f"未知的县市区“{new['county']}”，应为：{'、'.join(COUNTIES)}",
                                f"unknown county/district {new['county']!r}; one of {', '.join(COUNTIES)}",
                                field="county"))
    if "industry" in new and new["industry"] not in INDUSTRIES:
        problems.append(Problem(f"未知的行业 {new['industry']!r}，应为 {'、'.join(INDUSTRIES)} 之一",
                                f"unknown industry {new['industry']!r}; one of {', '.join(INDUSTRIES)}",
                                field="industry"))
    if changed and (not reason.strip() or len(reason.strip()) > 500):
        problems.append(Problem("请填写更正依据（不超过500字），如营业执照变更登记", "give the grounds for the correction "
                                "(at most 500 characters), e.g. the amended business licence", field="reason"))
    if problems:
        raise InvalidInput("企业信息更正有误", "the correction is invalid", problems)
    return changed


def _held_case_ids(session: Session, code: str) -> list[int]:
    """The ids of the enterprise's cases, open and closed, with their chains held for this transaction's appends.

    On PostgreSQL one query locks their rows in id order (``hold_case``: the appends need no lock of their own);
    on SQLite each append takes the database's write lock as usual.
    """
    case_ids = list(session.scalars(sa.select(Case.id).where(Case.enterprise_code == code).order_by(Case.id)
                                    .with_for_update()))
    if session.bind.dialect.name == "postgresql":
        for case_id in case_ids:
            hold_case(session, case_id)
    return case_ids


def correct_enterprise(ctx: EngineContext, actor: Actor, code: str, changes: dict[str, Any],
                       reason: str = "") -> dict[str, list[str]]:
    """Correct a registered enterprise's name, industry, county or address on stated grounds (administrators).

    ``changes`` maps fields of ``DETAILS`` to their corrected values; the credit code never changes.
    The fields that change are validated like intake and the grounds (``reason``) are required.
    One transaction: the row, one ``enterprise_corrected`` audit event on each of the enterprise's cases
    (open and closed: their history says their details changed after the fact, and how) and one
    case-less one, the register's own trail (``corrections``; it exists also when the enterprise has no
    case), with each changed field's old and new value, the grounds and, case-less, the ids of the cases.
    Returns ``{field: [old, new]}``; empty when nothing differed (then nothing is written).
    """
    _admin(actor)
    with ctx.unit_of_work() as session:
        row = session.get(Enterprise, str(code or "").strip().upper())
        if row is None:
            raise NotFound("该企业未登记", "no such enterprise in the register")
        changed = _checked_changes(changes if isinstance(changes, dict) else {}, details_of(row), reason or "")
        if not changed:
            return {}
        for key, (_old, new) in changed.items():
            setattr(row, key, new)
        case_ids, at = _held_case_ids(session, row.credit_code), ctx.now(session)
        event = {"credit_code": row.credit_code, "changes": changed, "reason": reason.strip()}
        for case_id in case_ids:
            audit(session, case_id, at, actor.username, "enterprise_corrected", **event)
        audit(session, None, at, actor.username, "enterprise_corrected", **event, cases=case_ids)
        return changed


def corrections(ctx: EngineContext, actor: Actor, code: str) -> list[dict[str, Any]]:
    """The corrections of a registered enterprise, newest first, from the register's trail (one query): each with
    ``at`` (Beijing time), ``actor``, ``changes`` ({field: [old, new]}) and ``reason``."""
    _admin(actor)
    code = str(code or "").strip().upper()
    with ctx.unit_of_work() as session:
        rows = session.execute(sa.select(AuditEvent.at, AuditEvent.actor, AuditEvent.detail).where(
            AuditEvent.case_id.is_(None), AuditEvent.action == "enterprise_corrected",
            AuditEvent.detail.contains(json.dumps({"credit_code": code}, ensure_ascii=False)[1:-1]))
            .order_by(AuditEvent.id.desc())).all()
    found = []
    for at, who, text in rows:
        detail = json.loads(text)
        if detail.get("credit_code") == code:  # the text search is a filter; the detail decides
            found.append({"at": at.astimezone(SHANGHAI), "actor": who, "changes": detail.get("changes") or {},
                          "reason": detail.get("reason") or ""})
    return found
