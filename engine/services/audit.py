"""The audit trail: append events to a per-case hash chain, and verify the chains.

Who may call: ``append`` is for the engine's services, inside their unit of work;
``verify`` for administrators and the CLI (``capexit audit verify``).
Each event's hash covers its content and the previous event's hash in the same chain
(the case's, or the chain of events without a case). Appends to one chain are
serialized: on PostgreSQL by locking the case row (or an advisory lock for the global
chain), unless the transaction already holds it (``hold_case``); on SQLite by the
database's single writer, whose lock the transaction takes before it reads the chain's
end (SQLite's driver begins a transaction only at its first write: a read before it
would see a chain end another writer could extend before this one's insert).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.models import AuditEvent, Case

GLOBAL_CHAIN_LOCK = 727001


def event_hash(prev_hash: str, case_id: int | None, at: datetime, actor: str, action: str, task_id: str | None,
               detail: str) -> str:
    """SHA-256 over the previous hash and the event's content (canonical JSON)."""
    body = json.dumps([prev_hash, case_id, at.isoformat(), actor, action, task_id, detail], ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_held_chains(session: Session, _transaction: Any) -> None:
    """What a transaction held (rows, chain ends) ends with it (a savepoint's end forgets too: safe, one more read)."""
    session.info.pop("held_cases", None)
    session.info.pop("sqlite_write_lock", None)
    session.info.pop("chain_heads", None)
    session.info.pop("chains_read", None)


def hold_case(session: Session, case_id: int) -> None:
    """Note that this transaction holds the case's row (written, or locked for update), so no one else can
    write it or append to its chain until the transaction ends: the chain needs no lock of its own."""
    session.info.setdefault("held_cases", set()).add(case_id)


def hold_chain(session: Session, case_id: int) -> None:
    """Take the case's chain for the rest of the transaction (the row lock, or SQLite's write lock), so what the
    transaction reads of its events after this stays true until it ends: no one else can append meanwhile."""
    _lock_chain(session, case_id)
    hold_case(session, case_id)


def _lock_chain(session: Session, case_id: int | None) -> None:
    if case_id in session.info.get("held_cases", ()):  # written (SQLite) or locked (PostgreSQL) already
        return
    if session.bind.dialect.name == "sqlite":
        if not session.info.get("sqlite_write_lock"):
            session.execute(_TAKE_SQLITE_WRITE_LOCK)  # begins the transaction with the database's write lock
            session.info["sqlite_write_lock"] = True
        return
    if case_id is None:
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_CHAIN_LOCK})
    else:
        session.execute(sa.select(Case.id).where(Case.id == case_id).with_for_update())


# Built once: constructing a statement costs more than running it.
_TAKE_SQLITE_WRITE_LOCK = sa.update(Case.__table__).where(sa.false()).values(version=Case.__table__.c.version)
_CASE_CHAIN_END = (sa.select(AuditEvent.hash).where(AuditEvent.case_id == sa.bindparam("case_id"))
                   .order_by(AuditEvent.id.desc()).limit(1))
_GLOBAL_CHAIN_END = sa.select(AuditEvent.hash).where(AuditEvent.case_id.is_(None)).order_by(AuditEvent.id.desc()).limit(1)
_INSERT_EVENT = sa.insert(AuditEvent)
_CASE_CHAIN = (sa.select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.detail, AuditEvent.hash)
               .where(AuditEvent.case_id == sa.bindparam("case_id")).order_by(AuditEvent.id))


@dataclass(frozen=True)
class Entry:
    """One event of a case's history as the case view shows it, with its hash."""

    at: datetime
    actor: str
    action: str
    detail: str
    hash: str


def read_chain(session: Session, case_id: int) -> list[Entry]:
    """The case's whole chain, read once by a transaction that holds the case, then kept current by its appends.

    For a unit of work that will answer with the case's history: the read also gives the chain's end, so the
    appends need no read of their own. ``known_chain`` returns it until the transaction ends.
    """
    chains = session.info.setdefault("chains_read", {})
    if case_id not in chains:
        _lock_chain(session, case_id)
        entries = chain(session, case_id)
        chains[case_id] = entries
        session.info.setdefault("chain_heads", {})[case_id] = entries[-1].hash if entries else ""
    return chains[case_id]


@dataclass(frozen=True)
class ExpiredDeadline:
    """The period a case's deadline timer closed, as its ``timer_fired`` event recorded it."""

    last_day: str
    rule: str | None
    rule_en: str | None


def expired_deadlines(session: Session, case_ids: list[int]) -> dict[int, ExpiredDeadline]:
    """For each of the cases with a fired deadline timer, the period the last one closed (the board and the case list
    show it once the case has moved on, when no period runs any more)."""
    found: dict[int, ExpiredDeadline] = {}
    ids = sorted(set(case_ids))
    for first in range(0, len(ids), 500):
        for case_id, detail in session.execute(
                sa.select(AuditEvent.case_id, AuditEvent.detail)
                .where(AuditEvent.case_id.in_(ids[first:first + 500]), AuditEvent.action == "timer_fired")
                .order_by(AuditEvent.id)):
            data = json.loads(detail)
            if isinstance(data.get("deadline"), str):
                found[case_id] = ExpiredDeadline(data["deadline"], data.get("rule"), data.get("rule_en"))
    return found


def chain(session: Session, case_id: int) -> list[Entry]:
    """The case's events in order, with their hashes, as stored (a plain read: no lock, nothing kept)."""
    return [Entry(*row) for row in session.connection().execute(_CASE_CHAIN, {"case_id": case_id})]


def known_chain(session: Session, case_id: int) -> list[Entry] | None:
    """The case's chain as ``read_chain`` read it in this transaction (with the appends since), or None."""
    return session.info.get("chains_read", {}).get(case_id)


def append(session: Session, case_id: int | None, at: datetime, actor: str, action: str, *,
           task_id: str | None = None, **detail: Any) -> str:
    """Append one event to its chain in the caller's transaction; returns the event's hash."""
    at = at.astimezone(UTC)  # hashed as stored: verify recomputes it from the stored (UTC) instant
    _lock_chain(session, case_id)
    conn = session.connection()
    heads = session.info.setdefault("chain_heads", {})  # this transaction's own appends: it holds their chains
    prev = heads.get(case_id)
    if prev is None and case_id is None:
        prev = conn.execute(_GLOBAL_CHAIN_END).scalar() or ""
    elif prev is None:
        prev = conn.execute(_CASE_CHAIN_END, {"case_id": case_id}).scalar() or ""
    text = json.dumps(detail, ensure_ascii=False, default=str)
    digest = event_hash(prev, case_id, at, actor, action, task_id, text)
    conn.execute(_INSERT_EVENT, {"case_id": case_id, "at": at, "actor": actor, "action": action, "task_id": task_id,
                                 "detail": text, "prev_hash": prev, "hash": digest})
    heads[case_id] = digest
    read = known_chain(session, case_id) if case_id is not None else None
    if read is not None:
        read.append(Entry(at, actor, action, text, digest))
    return digest


@dataclass(frozen=True)
class ChainBreak:
    """An event whose stored hash or link does not match the chain."""

    case_id: int | None
    event_id: int
    reason: str


def verify(ctx: EngineContext) -> tuple[int, list[ChainBreak]]:
    """Recompute every chain; returns (events checked, breaks found)."""
    breaks: list[ChainBreak] = []
    checked = 0
    last: dict[int | None, str] = {}
    with ctx.unit_of_work() as session:
        rows = session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars()
        for event in rows:
            checked += 1
            prev = last.get(event.case_id, "")
            if event.prev_hash != prev:
                breaks.append(ChainBreak(event.case_id, event.id, "link to the previous event does not match "
                                         "(an event was removed, inserted or reordered)"))
            expected = event_hash(event.prev_hash, event.case_id, event.at, event.actor, event.action,
                                  event.task_id, event.detail)
            if event.hash != expected:
                breaks.append(ChainBreak(event.case_id, event.id, "content does not match its hash (changed)"))
            last[event.case_id] = event.hash
    return checked, breaks
