"""Intake: turn the fields of a finding (typed in a form or read from a spreadsheet row) into a case.

The fields are plain strings keyed by ``FIELDS``; industry, dimension and lead department
may be given as codes or as their Chinese (or English) names. ``check_values`` reports
every problem at once, each naming its field the way ``cases.start_case`` does
(``enterprise.credit_code``, ``dimension``, ``finding.standard`` ...), so a form or a
preview can show it next to the right input before anything is created. A registered
enterprise's details come from the register (``enterprises``): empty fields are taken from
it and a differing field is a problem naming it, never a change to the register. An enterprise
that has an open case of the dimension gets no second one (``dimension`` names the running case):
the cases this module opens carry ``running="refuse"``, which ``cases.start_case`` checks in its
transaction.
Who may call: staff of a department that may lead some dimension, and administrators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.context import Actor, EngineContext
from engine.credit_code import CreditCodeError, validate_credit_code
from engine.errors import InvalidInput, PermissionDenied, Problem, invalid
from engine.models import Case, CaseStatus, Enterprise
from engine.parties import DIMENSIONS, INDUSTRIES, PARTIES, default_lead, party_name
from engine.permissions import may_open_case
from engine.services import cases, enterprises
from engine.services.enterprises import COUNTIES

SOLID_WASTE_LABELS = ("环保（固体废物）", "环保(固体废物)", "固体废物", "solid_waste", "environmental/solid_waste")

# field key -> (Chinese label, English label as the intake page names the field, engine field path, maximum length)
FIELDS: dict[str, tuple[str, str, str, int]] = {
    "name": ("企业名称", "enterprise name", "enterprise.name", 200),
    "credit_code": ("统一社会信用代码", "unified social credit code", "enterprise.credit_code", 40),
    "county": ("县市区", "county/district", "enterprise.county", 100),
    "industry": ("行业", "industry", "enterprise.industry", 50),
    "address": ("地址", "address", "enterprise.address", 300),
    "dimension": ("类别", "category", "dimension", 50),
    "lead_department": ("牵头部门", "lead department", "lead_department", 100),
    "standard": ("违反的标准或目录条目", "standard or catalogue item violated", "finding.standard", 500),
    "evidence": ("证据", "evidence", "finding.evidence", 2000),
    "measured_values": ("实测值", "measured values", "finding.measured_values", 1000),
    "equipment": ("涉及设备", "equipment concerned", "finding.equipment", 300),
    "capacity_tpy": ("产能（吨/年）", "capacity (tonnes per year)", "finding.capacity_tpy", 30),
}
REQUIRED = ("name", "credit_code", "county", "industry", "dimension", "standard")
REGISTERED = ("name", "county", "industry")  # required of a new enterprise only: a registered one's come from the register
FINDING_KEYS = ("standard", "evidence", "measured_values", "equipment", "capacity_tpy")


@dataclass
class CheckedCase:
    """The outcome of checking one set of fields: the request when valid, else the problems."""

    request: cases.NewCase | None
    problems: list[Problem] = field(default_factory=list)
    lead_department: str | None = None


def lead_departments() -> tuple[str, ...]:
    """Every department that may lead some dimension, in the order of DOMAIN.md."""
    leads = {code for dim in DIMENSIONS.values() for code in dim.leads}
    return tuple(p.code for p in PARTIES if p.code in leads)


def allowed_dimensions(actor: Actor) -> list[str]:
    """The dimensions the actor may open cases of; PermissionDenied when there is none."""
    if actor.role in ("admin", "system"):
        return list(DIMENSIONS)
    allowed = [code for code, dim in DIMENSIONS.items() if actor.role == "staff" and actor.department in dim.leads]
    if not allowed:
        raise PermissionDenied("只有可牵头某一类别的部门工作人员才能立案",
                               "only staff of a department that may lead some dimension can open cases")
    return allowed


def _resolve(value: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """The code whose code or one of whose names equals value (case-insensitive), or None."""
    wanted = value.strip().lower()
    for code, names in table.items():
        if wanted == code.lower() or wanted in (n.lower() for n in names):
            return code
    return None


_INDUSTRY_NAMES = {code: names for code, names in INDUSTRIES.items()}
_DIMENSION_NAMES = {code: (d.name_zh, d.name_en) for code, d in DIMENSIONS.items()}
_DEPARTMENT_NAMES = {p.code: (p.name_zh, p.name_zh.removeprefix("市"), p.name_en) for p in PARTIES}


def _problem(key: str, zh: str, en: str) -> Problem:
    return Problem(zh, en, field=FIELDS[key][2])


def _capacity(raw: str) -> float | int | None:
    """Tonnes per year as a number (thousands separators allowed), None when unreadable or negative."""
    try:
        number = float(raw.replace(",", "").replace("，", ""))
    except ValueError:
        return None
    if number < 0 or number != number or number == float("inf"):
        return None
    return int(number) if number.is_integer() else number


def check_values(actor: Actor, values: dict[str, str], solid_waste: bool = False,
                 register: dict[str, dict[str, str]] | None = None) -> CheckedCase:
    """Check a finding's fields; returns the ``NewCase`` to start, or every problem found.

    ``register`` holds the registered details of known credit codes (``enterprises.registered``): for
    a registered enterprise the empty fields are taken from it and a differing one is a problem.
    """
    v = {key: str(values.get(key) or "").strip() for key in FIELDS}
    known = (register or {}).get(valid_code(v["credit_code"]))
    problems = [_problem(k, f"请填写{FIELDS[k][0]}", f"{FIELDS[k][1]} is required") for k in REQUIRED
                if not v[k] and not (known and k in REGISTERED)]
    problems += [_problem(k, f"{FIELDS[k][0]}过长（不超过{FIELDS[k][3]}字）",
                          f"{FIELDS[k][1]} is too long (at most {FIELDS[k][3]} characters)")
                 for k in FIELDS if len(v[k]) > FIELDS[k][3]]
    code = v["credit_code"]
    if code:
        try:
            code = validate_credit_code(code)
        except CreditCodeError as exc:
            problems.append(_problem("credit_code", exc.message_zh, exc.message_en))
    if v["county"] and v["county"] not in COUNTIES:
        problems.append(_problem("county", f"未知的县市区“{v['county']}”，应为：{'、'.join(COUNTIES)}",
                                 f"unknown county/district {v['county']!r}; one of {', '.join(COUNTIES)}"))
    industry = _resolve(v["industry"], _INDUSTRY_NAMES) if v["industry"] else None
    if v["industry"] and industry is None:
        allowed = "、".join(n[0] for n in INDUSTRIES.values())
        problems.append(_problem("industry", f"未知的行业“{v['industry']}”，应为：{allowed}",
                                 f"unknown industry {v['industry']!r}; one of {', '.join(INDUSTRIES)}"))
    enterprise = {"name": v["name"], "credit_code": code, "county": v["county"], "industry": industry,
                  "address": v["address"]}
    if known:
        merged, conflicts = enterprises.reconcile(known, enterprise)
        problems += conflicts
        enterprise, industry = {**enterprise, **merged}, merged["industry"]
    dimension = dimension_of(v["dimension"])
    if _is_solid_waste(v["dimension"]):
        solid_waste = True
    if v["dimension"] and dimension is None:
        allowed = "、".join(d.name_zh for d in DIMENSIONS.values())
        problems.append(_problem("dimension", f"未知的类别“{v['dimension']}”，应为：{allowed}",
                                 f"unknown category {v['dimension']!r}; one of {', '.join(DIMENSIONS)}"))
    if solid_waste and dimension not in (None, "environmental"):
        problems.append(Problem("固体废物限期治理仅适用于环保类", "solid waste treatment applies to the environmental "
                                "category only", field="finding.solid_waste"))
    lead = _resolve(v["lead_department"], _DEPARTMENT_NAMES) if v["lead_department"] else None
    if v["lead_department"] and lead is None:
        problems.append(_problem("lead_department", f"未知的部门“{v['lead_department']}”",
                                 f"unknown department {v['lead_department']!r}"))
    if dimension and (lead or not v["lead_department"]):
        lead = lead or default_lead(dimension, industry or "other")
        leads = DIMENSIONS[dimension].leads
        if lead not in leads:
            problems.append(_problem(
                "lead_department", f"{party_name(lead)}不能牵头{DIMENSIONS[dimension].name_zh}类案件，可牵头部门："
                f"{'、'.join(party_name(c) for c in leads)}",
                f"{party_name(lead, 'en')} may not lead {DIMENSIONS[dimension].name_en.lower()} cases; allowed: "
                f"{', '.join(party_name(c, 'en') for c in leads)}"))
        else:
            try:
                may_open_case(actor, dimension, lead)
            except PermissionDenied:
                problems.append(_problem("dimension", f"您所在部门不能办理{DIMENSIONS[dimension].name_zh}类案件",
                                         f"your department may not open {DIMENSIONS[dimension].name_en.lower()} cases"))
    finding: dict[str, object] = {k: v[k] for k in FINDING_KEYS if v[k]}
    if v["capacity_tpy"]:
        capacity = _capacity(v["capacity_tpy"])
        if capacity is None:
            problems.append(_problem("capacity_tpy", "产能应为不小于 0 的数字（吨/年）",
                                     "capacity must be a number of tonnes per year, 0 or more"))
        finding["capacity_tpy"] = capacity
    if solid_waste:
        finding["solid_waste"] = True
    if problems:
        return CheckedCase(None, problems, lead)
    request = cases.NewCase(dimension=str(dimension), lead_department=lead, finding=finding, enterprise=enterprise,
                            running="refuse")
    return CheckedCase(request, [], lead)


def valid_code(raw: str) -> str:
    """The credit code normalised as it is stored (upper case), or "" when it is not valid."""
    try:
        return validate_credit_code(raw) if raw else ""
    except CreditCodeError:
        return ""


def _is_solid_waste(text: str) -> bool:
    return text.strip().lower() in (label.lower() for label in SOLID_WASTE_LABELS)


def dimension_of(text: str) -> str | None:
    """The dimension code a cell or form field names (code, Chinese or English name, a solid waste label), or None."""
    text = text.strip()
    if not text:
        return None
    return "environmental" if _is_solid_waste(text) else _resolve(text, _DIMENSION_NAMES)


def case_key(values: dict[str, str]) -> tuple[str, str, str] | None:
    """What names a finding (DOMAIN.md: one case per finding, a line, a furnace, a product): the normalised credit
    code, the dimension and the equipment concerned (``cases.finding_key``); None when the code or the dimension
    is missing or invalid.

    Intake opens no case beside an open one of the same key (``cases.running_cases``), and two rows of one
    import may not share one; another line of the same enterprise is another finding.
    """
    code, dimension = valid_code(str(values.get("credit_code") or "").strip()), dimension_of(
        str(values.get("dimension") or ""))
    return (code, dimension, cases.finding_key(values.get("equipment"))) if code and dimension else None


def open_case(ctx: EngineContext, actor: Actor, values: dict[str, str], solid_waste: bool = False) -> int:
    """Check the fields against the register and start the case (``cases.start_case``); InvalidInput lists every problem."""
    register = enterprises.registered_for(ctx, [str(values.get("credit_code") or "")])
    checked = check_values(actor, values, solid_waste, register)
    if checked.request is None:
        raise InvalidInput("立案信息有误，请按提示修改", "the case data is invalid; see the fields marked",
                           checked.problems)
    return cases.start_case(ctx, actor, checked.request)


def lookup_enterprise(ctx: EngineContext, actor: Actor, code: str) -> dict[str, Any] | None:
    """A known enterprise's fields and case counts by credit code (None if unknown); InvalidInput for a bad code."""
    allowed_dimensions(actor)
    try:
        code = validate_credit_code(code)
    except CreditCodeError as exc:
        raise invalid("enterprise.credit_code", exc.message_zh, exc.message_en) from None
    with ctx.unit_of_work() as session:
        row = session.get(Enterprise, code)
        if row is None:
            return None
        counts = dict(session.execute(sa.select(Case.status, sa.func.count()).where(Case.enterprise_code == code)
                                      .group_by(Case.status)).all())
        return {"credit_code": row.credit_code, "name": row.name, "county": row.county, "industry": row.industry,
                "address": row.address, "open_cases": counts.get(CaseStatus.OPEN, 0),
                "all_cases": sum(counts.values())}
