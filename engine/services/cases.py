"""Cases: open one for a finding, and read one.

``start_case``: staff of a department that may lead the dimension (or an admin). The
notice date is the clock's today in Asia/Shanghai; the statutory deadline is computed
here (Civil Code arts. 201-203) and handed to the BPMN timer as ``deadline_at``.
Errors: ``InvalidInput`` (400) naming the field, ``PermissionDenied`` (403).
``running_cases`` and ``running_case_problem``: the open cases of one finding (an enterprise, a dimension and
the equipment concerned), which the intake page and the bulk import refuse to open a second one beside
(``NewCase.running``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import runner
from engine.clock import iso
from engine.context import Actor, EngineContext
from engine.credit_code import CreditCodeError, validate_credit_code
from engine.deadlines import deadline_for
from engine.errors import InvalidInput, NotFound, Problem
from engine.models import Case, CaseStatus, Enterprise, OpenTask
from engine.parties import DIMENSIONS, INDUSTRIES, default_lead
from engine.permissions import may_open_case, may_open_cases, may_read_case
from engine.services import audit, deployments, enterprises, instances


@dataclass(frozen=True)
class NewCase:
    """What a finding needs to become a case."""

    dimension: str
    enterprise: dict[str, Any]
    finding: dict[str, Any] = field(default_factory=dict)
    lead_department: str | None = None
    differing: str = "refuse"  # details that differ from the register: refused, or recorded (``enterprises.register``)
    running: str = "allow"  # an open case of the same finding: allowed (the API), or "refuse"d

FindingKey = tuple[str, str, str]  # credit code, dimension, equipment concerned (``finding_key``)


def finding_key(equipment: Any) -> str:
    """The equipment concerned as it names a finding: trimmed, inner spaces and letter case ignored."""
    return "".join(equipment.split()).lower() if isinstance(equipment, str) else ""


def same_finding(new: str, earlier: str) -> bool:
    """Whether a new finding of an enterprise and dimension may be the same as an earlier one (``finding_key``
    values): the same equipment, or a new one that names none, which cannot be told apart. A new finding that names
    its equipment is another one beside an earlier finding that named none (that one cannot be mended here)."""
    return new == earlier or not new


def running_cases(session: Session, keys: Iterable[FindingKey]) -> dict[FindingKey, list[int]]:
    """The open cases that may be each finding asked for (``same_finding``), for those that have some, ids
    ascending (one query)."""
    keys = set(keys)
    codes = {code for code, _dimension, _equipment in keys}
    if not codes:
        return {}
    found: dict[FindingKey, list[int]] = {}
    for case_id, code, dimension, finding in session.execute(
            sa.select(Case.id, Case.enterprise_code, Case.dimension, Case.finding).where(
                Case.status == CaseStatus.OPEN, Case.enterprise_code.in_(codes)).order_by(Case.id)):
        equipment = finding_key(json.loads(finding or "{}").get("equipment"))
        for key in keys:
            if key[:2] == (code, dimension) and same_finding(key[2], equipment):
                found.setdefault(key, []).append(case_id)
    return found


def running_case_problem(case_ids: list[int], equipment: str = "") -> Problem:
    """The refusal of a second open case of one finding, naming the running ones (field ``finding.equipment``)."""
    zh = "、".join(str(i) for i in case_ids)
    en = f"case {case_ids[0]}" if len(case_ids) == 1 else \
        f"cases {', '.join(str(i) for i in case_ids[:-1])} and {case_ids[-1]}"
    named = equipment.strip()
    if named:
        return Problem(f"该企业「{named}」已有办理中的同类案件（案件 {zh}）：同一发现不能重复立案",
                       f"the enterprise already has a running case of this category for {named} ({en}): one "
                       "finding cannot be opened twice", field="finding.equipment")
    return Problem(f"该企业已有办理中的同类案件（案件 {zh}），本次未写明涉及设备，无法与之区分：同一发现不能重复立案；"
                   "另一条生产线、另一台设备或另一种产品，请在“涉及设备”中写明",
                   f"the enterprise already has a running case of this category ({en}) and this finding names no "
                   "equipment, so it cannot be told apart: one finding cannot be opened twice; for another line, "
                   "furnace or product, name it under equipment concerned", field="finding.equipment")


def _validated(request: NewCase) -> dict[str, str]:
    """The request's shape checked before any reading; the enterprise's fields (empty ones stay empty)."""
    problems: list[Problem] = []
    if not isinstance(request.dimension, str) or request.dimension not in DIMENSIONS:
        problems.append(Problem(f"未知的类别 {request.dimension!r}，应为 {'、'.join(DIMENSIONS)} 之一",
                                f"unknown dimension {request.dimension!r}; one of {', '.join(DIMENSIONS)}",
                                field="dimension"))
    ent = request.enterprise if isinstance(request.enterprise, dict) else {}
    name = _text(ent.get("name"), 201)
    if len(name) > 200 or (ent.get("name") is not None and not isinstance(ent.get("name"), str)):
        problems.append(Problem("企业名称必填（不超过200字）", "enterprise name is required (at most 200 characters)",
                                field="enterprise.name"))
    code = ""
    try:
        code = validate_credit_code(str(ent.get("credit_code") or ""))
    except CreditCodeError as exc:
        problems.append(Problem(exc.message_zh, exc.message_en, field="enterprise.credit_code"))
    industry = ent.get("industry") or ""
    if industry and (not isinstance(industry, str) or industry not in INDUSTRIES):
        problems.append(Problem(f"未知的行业 {industry!r}，应为 {'、'.join(INDUSTRIES)} 之一",
                                f"unknown industry {industry!r}; one of {', '.join(INDUSTRIES)}",
                                field="enterprise.industry"))
    lead = request.lead_department
    if lead is not None and not isinstance(lead, str):
        problems.append(Problem("牵头部门应为部门代码", "lead_department must be a department code",
                                field="lead_department"))
    if not isinstance(request.finding, dict):
        problems.append(Problem("finding 应为对象", "finding must be an object", field="finding"))
    if problems:
        raise InvalidInput("立案信息有误", "the case data is invalid", problems)
    return {"credit_code": code, "name": name, "industry": str(industry),
            "county": _text(ent.get("county"), 100), "address": _text(ent.get("address"), 300)}


def _lead(request: NewCase, industry: str) -> str:
    """The lead department asked for, or the one DOMAIN.md proposes for the registered industry."""
    lead = request.lead_department or default_lead(request.dimension, industry)
    leads = DIMENSIONS[request.dimension].leads
    if lead not in leads:
        raise InvalidInput("立案信息有误", "the case data is invalid", [Problem(
            f"{lead!r} 不能牵头该类别，可牵头部门：{'、'.join(leads)}",
            f"{lead!r} may not lead this dimension; allowed: {', '.join(leads)}", field="lead_department")])
    return lead


def _refuse_running(session: Session, code: str, dimension: str, equipment: Any) -> None:
    """InvalidInput when the finding has an open case (the enterprise's row locked on PostgreSQL first)."""
    session.execute(sa.select(Enterprise.credit_code).where(Enterprise.credit_code == code).with_for_update())
    key = (code, dimension, finding_key(equipment))
    running = running_cases(session, [key]).get(key)
    if running:
        raise InvalidInput("立案信息有误", "the case data is invalid",
                           [running_case_problem(running, equipment if isinstance(equipment, str) else "")])


def _text(value: Any, limit: int) -> str:
    """A short free-text field: strings only, trimmed to ``limit``."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def start_case(ctx: EngineContext, actor: Actor, request: NewCase) -> int:
    """Open a case for a finding and run its procedure to the first task; returns the case id.

    The enterprise is read from the register (``enterprises.register``): an unknown credit code
    is registered, a known one's empty fields are taken from the register and a differing field
    is refused (400) with nothing changed, or, for ``differing="record"`` (the API), followed by this
    case while the register keeps its own, the differences in the ``case_opened`` event. The industry
    that drives the procedure (C-3.3) and proposes the lead department is the case's.
    With ``running="refuse"`` (the intake page, the bulk import) an enterprise that has an open case of
    the dimension gets a 400 naming it; the enterprise's row is locked first on PostgreSQL, so two
    concurrent intakes cannot both pass (SQLite lets one writer in at a time).
    """
    may_open_cases(actor)
    given = _validated(request)
    with ctx.unit_of_work() as session:
        now = ctx.now(session)
        enterprise, differences = enterprises.register(session, given, now, actor.username,
                                                       differing=request.differing)
        lead = _lead(request, enterprise["industry"])
        may_open_case(actor, request.dimension, lead)
        if request.running == "refuse":
            _refuse_running(session, enterprise["credit_code"], request.dimension, request.finding.get("equipment"))
        notice = ctx.today(session)
        definition = deployments.get_latest(session, request.dimension)
        called = deployments.resolve_called(session, definition)
        bundle = deployments.bundle_for_ids(ctx, session, deployments.bundle_key(definition, called))
        finding = request.finding or {}
        data: dict[str, Any] = {
            "dimension": request.dimension, "lead_department": lead, "industry": enterprise["industry"],
            "enterprise_name": enterprise["name"], "credit_code": enterprise["credit_code"],
            "notice_date": notice.isoformat(), "overdue": False,
            "solid_waste": bool(finding.get("solid_waste") or finding.get("kind") == "solid_waste"),
        }
        deadline = None
        statutory = bundle.statutory_timers()
        if statutory:
            deadline = deadline_for(notice, int(statutory[0]["months"]), ctx.calendar(session))
            data.update({"deadline_at": deadline.timer_value, "deadline_last_day": deadline.last_day.isoformat()})
        workflow = runner.start(bundle, data, now)
        if deadline is not None:
            instances.remember_deadline(workflow, deadline)
        case = Case(
            definition_id=definition.id, called_definitions=json.dumps([d.id for d in called]),
            dimension=request.dimension, enterprise_code=enterprise["credit_code"], lead_department=lead,
            status=CaseStatus.OPEN, notice_date=notice, finding=json.dumps(finding, ensure_ascii=False),
            state="", serializer_version="", created_at=now, updated_at=now,
        )
        instances.save(session, case, workflow, bundle, now)
        instances.audit(session, case.id, now, actor.username, "case_opened", dimension=request.dimension,
                        lead_department=lead, definition_version=definition.version,
                        deadline=case.deadline.isoformat() if case.deadline else None,
                        **({"enterprise_differs": differences} if differences else {}))
        return case.id


def get_case(ctx: EngineContext, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case as the contract shows it: status, deadline and rule, open tasks, history."""
    with ctx.unit_of_work() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("案件不存在", "no such case")
        may_read_case(actor, case.enterprise_code)
        return case_view(session, case)


# The case view's task read, built once (constructing a statement costs more than running it).
_CASE_TASKS = sa.select(OpenTask).where(OpenTask.case_id == sa.bindparam("case_id")).order_by(OpenTask.created_at)


def case_view(session: Session, case: Case, lang: str = "zh") -> dict[str, Any]:
    """Render a case row with its open tasks and history."""
    from engine.services.tasks import task_view

    enterprise = session.get(Enterprise, case.enterprise_code) if case.enterprise_code else None  # None: annual report
    tasks = instances.written_open_tasks(session, case.id)
    if tasks is None:
        tasks = session.scalars(_CASE_TASKS, {"case_id": case.id})
    events = audit.known_chain(session, case.id)
    if events is None:
        events = audit.chain(session, case.id)
    return {
        "id": case.id, "dimension": case.dimension, "status": case.status.value,
        "lead_department": case.lead_department,
        "enterprise": {"name": enterprise.name, "credit_code": enterprise.credit_code, "county": enterprise.county,
                       "industry": enterprise.industry} if enterprise else None,
        "notice_date": case.notice_date.isoformat(),
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "deadline_rule": case.deadline_rule, "deadline_rule_en": case.deadline_rule_en,
        "overdue": case.overdue, "finding": json.loads(case.finding or "{}"),
        "open_tasks": [task_view(t) for t in tasks],
        "history": [{"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": json.loads(e.detail)}
                    for e in events],
        "version": case.version,
    }

