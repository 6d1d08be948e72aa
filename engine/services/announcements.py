"""Public announcements: sealed equipment under public supervision (C-2.5) and credit listings (C-3.8).

The engine writes an announcement when a step that publishes completes, in the same
transaction as the step (``on_task_completed``, called by ``tasks._complete``):

- technology ``publish_announcement``: kind ``sealed_equipment``; the subject names the
  sealed equipment (the ``assess_dismantling`` form's ``equipment``) and the enterprise's
  public commitment (``public_commitment.commitment``); published on the form's
  ``published_on``; the deadline is the legal last day for dismantling (the
  ``dismantle_deadline`` moved past rest days, Civil Code art. 203, as the timer runs);
- closure measures ``credit_listing`` with ``published`` true: kind ``credit_listing``,
  "未按期完成落后产能退出" and the platforms, published on ``listed_on``.

What is public: the enterprise's name and unified social credit code (a legal person's,
public by law), what was sealed or listed, dates and the announcement's address. Never
who entered it, contact persons or evidence texts. A withdrawal keeps the row with who,
when and why; the public page lists it under "已撤回" with its date and reason.

Who may call: ``on_task_completed`` is for ``tasks`` only; ``public_board`` and
``current_list`` for anyone (no sign-in); ``withdraw`` for staff of the case's lead
department and administrators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.clock import SHANGHAI
from engine.context import Actor, EngineContext
from engine.deadlines import deadline_on
from engine.errors import Conflict, NotFound, PermissionDenied, invalid
from engine.form_formats import is_web_address
from engine.models import Announcement, AuditEvent, Case, Enterprise
from engine.services import instances
from engine.services.rest_days import stored_calendar

SEALED_EQUIPMENT = "sealed_equipment"
CREDIT_LISTING = "credit_listing"
KINDS: dict[str, dict[str, str]] = {
    SEALED_EQUIPMENT: {"clause": "C-2.5", "name_zh": "封存设备公告", "name_en": "sealed equipment"},
    CREDIT_LISTING: {"clause": "C-3.8", "name_zh": "信用惩戒公布", "name_en": "credit listing"},
}
CREDIT_LISTING_GROUND = "未按期完成落后产能退出"
MIN_REASON = 4
MAX_REASON = 1000
LIST_LIMIT = 500
WITHDRAWN_LIMIT = 200


@dataclass(frozen=True)
class PublicAnnouncement:
    """One announcement as the public sees it: no user names, no evidence texts."""

    id: int
    kind: str
    enterprise_name: str
    credit_code: str
    subject: str
    published_on: date
    deadline: date | None
    url: str | None
    withdrawn_on: date | None = None
    withdraw_reason: str | None = None

    @property
    def clause(self) -> str:
        """The clause of DOMAIN.md the announcement rests on."""
        return KINDS.get(self.kind, {}).get("clause", "")

    @property
    def link(self) -> str | None:
        """The announcement's web address when it is an http(s) one with a host (never a script URL, whatever older
        data holds)."""
        url = (self.url or "").strip()
        return url if is_web_address(url) else None

    def as_json(self) -> dict[str, Any]:
        """The portal's JSON form (dates as ``YYYY-MM-DD``)."""
        kind = KINDS.get(self.kind, {})
        out = {"id": self.id, "kind": self.kind, "kind_name": kind.get("name_zh", self.kind),
               "clause": self.clause, "enterprise_name": self.enterprise_name, "credit_code": self.credit_code,
               "subject": self.subject, "published_on": self.published_on.isoformat(),
               "deadline": self.deadline.isoformat() if self.deadline else None, "url": self.link}
        if self.withdrawn_on is not None:
            out["withdrawn_on"] = self.withdrawn_on.isoformat()
            out["withdraw_reason"] = self.withdraw_reason
        return out


@dataclass
class PublicBoard:
    """The public page: current announcements, withdrawn ones, and which of them the viewer may withdraw."""

    current: list[PublicAnnouncement]
    withdrawn: list[PublicAnnouncement]
    withdrawable: set[int] = field(default_factory=set)


# ---------------------------------------------------------------------------------------------
# Created by the engine when a publishing step completes
# ---------------------------------------------------------------------------------------------


def on_task_completed(session: Session, case: Case, key: str, data: dict[str, Any], workflow: Any,
                      now: datetime, actor: Actor) -> Announcement | None:
    """Write the announcement a just-completed step publishes, if any (caller's transaction)."""
    if key == "publish_announcement":
        fields = _sealed_equipment(session, case, data, workflow)
    elif key == "credit_listing" and data.get("published") is True:
        fields = {"kind": CREDIT_LISTING, "published_on": date.fromisoformat(data["listed_on"]), "deadline": None,
                  "url": None, "subject": f"{CREDIT_LISTING_GROUND}；纳入：{str(data.get('platforms', '')).strip()}"}
    else:
        return None
    enterprise = session.get(Enterprise, case.enterprise_code)
    row = Announcement(case_id=case.id, enterprise_name=enterprise.name if enterprise else "",
                       credit_code=case.enterprise_code, created_by=actor.username, created_at=now, **fields)
    session.add(row)
    session.flush()
    instances.audit(session, case.id, now, actor.username, "announcement_published", announcement_id=row.id,
                    kind=row.kind, published_on=row.published_on.isoformat(),
                    deadline=row.deadline.isoformat() if row.deadline else None)
    return row


def _sealed_equipment(session: Session, case: Case, data: dict[str, Any], workflow: Any) -> dict[str, Any]:
    """C-2.5: what was sealed, the enterprise's commitment and the legal dismantling deadline."""
    equipment = _earlier_field(session, case.id, workflow, "assess_dismantling", "equipment")
    commitment = _earlier_field(session, case.id, workflow, "public_commitment", "commitment")
    raw_deadline = _earlier_field(session, case.id, workflow, "assess_dismantling", "dismantle_deadline")
    parts = []
    if equipment:
        parts.append(f"封存主体设备：{str(equipment).strip()}")
    if commitment:
        parts.append(f"企业公开承诺：{str(commitment).strip()}")
    deadline = None
    if raw_deadline:
        deadline = deadline_on(date.fromisoformat(str(raw_deadline)), stored_calendar(session),
                               source="认定拆除条件").last_day
    return {"kind": SEALED_EQUIPMENT, "subject": "。".join(parts) or "封存主体设备",
            "published_on": date.fromisoformat(data["published_on"]), "deadline": deadline,
            "url": data.get("url") or None}


def _earlier_field(session: Session, case_id: int, workflow: Any, step: str, name: str) -> Any:
    """A field of an earlier step's form: from the audit trail (the step's last completion), else the instance."""
    events = session.scalars(sa.select(AuditEvent.detail).where(
        AuditEvent.case_id == case_id, AuditEvent.action == "task_completed").order_by(AuditEvent.id.desc()))
    for detail in events:
        try:
            event = json.loads(detail)
        except ValueError:
            continue
        if event.get("key") == step and isinstance(event.get("data"), dict):
            if name in event["data"]:
                return event["data"][name]
            break
    done = workflow.get_tasks(state=TaskState.COMPLETED, spec_name=step) if workflow is not None else []
    for task in sorted(done, key=lambda t: t.last_state_change, reverse=True):
        if name in task.data:
            return task.data[name]
    return None


# ---------------------------------------------------------------------------------------------
# Reading (no sign-in)
# ---------------------------------------------------------------------------------------------


def _public(row: Announcement) -> PublicAnnouncement:
    withdrawn_on = row.withdrawn_at.astimezone(SHANGHAI).date() if row.withdrawn_at else None
    return PublicAnnouncement(row.id, row.kind, row.enterprise_name, row.credit_code, row.subject, row.published_on,
                              row.deadline, row.url, withdrawn_on, row.withdraw_reason if withdrawn_on else None)


def _current_query(limit: int) -> sa.Select:
    return (sa.select(Announcement).where(Announcement.withdrawn_at.is_(None))
            .order_by(Announcement.published_on.desc(), Announcement.id.desc()).limit(limit))


def current_list(ctx: EngineContext, limit: int = LIST_LIMIT) -> list[PublicAnnouncement]:
    """Announcements in force, newest first (anyone may read)."""
    with ctx.unit_of_work() as session:
        return [_public(row) for row in session.scalars(_current_query(limit))]


def public_board(ctx: EngineContext, actor: Actor | None = None) -> PublicBoard:
    """The public page's content; with a signed-in actor, also the ids they may withdraw."""
    with ctx.unit_of_work() as session:
        current_rows = list(session.scalars(_current_query(LIST_LIMIT)))
        withdrawn_rows = session.scalars(
            sa.select(Announcement).where(Announcement.withdrawn_at.is_not(None))
            .order_by(Announcement.withdrawn_at.desc(), Announcement.id.desc()).limit(WITHDRAWN_LIMIT))
        board = PublicBoard([_public(r) for r in current_rows], [_public(r) for r in withdrawn_rows])
        if actor is not None and current_rows:
            leads = dict(session.execute(sa.select(Case.id, Case.lead_department).where(
                Case.id.in_({r.case_id for r in current_rows}))).all())
            board.withdrawable = {r.id for r in current_rows if _may_withdraw(actor, leads.get(r.case_id))}
        return board


# ---------------------------------------------------------------------------------------------
# Withdrawal
# ---------------------------------------------------------------------------------------------


def _may_withdraw(actor: Actor, lead_department: str | None) -> bool:
    return actor.role == "admin" or (actor.role == "staff" and lead_department is not None and actor.department == lead_department)


def withdraw(ctx: EngineContext, actor: Actor, announcement_id: int, reason: str) -> PublicAnnouncement:
    """Withdraw a current announcement with a reason (4 characters at least); the row and its history stay.

    Errors: ``NotFound`` (no such announcement), ``PermissionDenied`` (not staff of the case's
    lead department nor an administrator), ``InvalidInput`` on ``reason``, ``Conflict`` if
    it was already withdrawn.
    """
    with ctx.unit_of_work() as session:
        row = session.get(Announcement, announcement_id)
        if row is None:
            raise NotFound("公告不存在", "no such announcement")
        case = session.get(Case, row.case_id)
        if not _may_withdraw(actor, case.lead_department if case else None):
            raise PermissionDenied("只有案件牵头部门的工作人员或系统管理员可以撤回公告",
                                   "only staff of the case's lead department or administrators may withdraw it")
        text = (reason or "").strip() if isinstance(reason, str) else ""
        if len(text) < MIN_REASON:
            raise invalid("reason", f"请填写撤回理由（至少 {MIN_REASON} 个字）",
                          f"give the reason for the withdrawal (at least {MIN_REASON} characters)")
        if len(text) > MAX_REASON:
            raise invalid("reason", f"撤回理由不能超过 {MAX_REASON} 个字",
                          f"the reason may be at most {MAX_REASON} characters")
        if row.withdrawn_at is not None:
            raise Conflict("该公告已撤回", "this announcement was already withdrawn")
        now = ctx.now(session)
        row.withdrawn_at, row.withdrawn_by, row.withdraw_reason = now, actor.username, text
        instances.audit(session, row.case_id, now, actor.username, "announcement_withdrawn",
                        announcement_id=row.id, kind=row.kind, reason=text)
        session.flush()
        return _public(row)
