"""Forms: the JSON Schema of each user task, stored as numbered versions; the newest one is in use.

Files in ``forms/`` are the seed: ``seed_directory`` (run by ``capexit init`` before the
processes are deployed) stores a file as a new version when its content was never stored
under its key. Process owners publish new versions in the browser or through the API
(``publish``); every check (``engine.form_rules``) runs first, and nothing is stored when one
fails. A user task names its form by key (``rectify.schema.json``); new cases and open tasks
alike use the latest version (Camunda's "latest" binding), and a completion records the
version it was checked against.

Who may call: ``publish`` and ``preview`` need an owner (``publish`` also the system at
``capexit init``); ``versions``, ``version`` and ``diff`` owners, supervisors and
administrators; ``current``, ``forms_list`` and ``latest`` are open (every task page shows its
form). Errors: ``InvalidInput`` with problems naming line, column and JSON path;
``PermissionDenied``; ``NotFound``; ``Conflict`` when another owner published the same form
at the same moment.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import form_diff, form_reads, form_rules
from engine.context import Actor, EngineContext
from engine.definitions import read_xml
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem, invalid
from engine.form_english import english_text
from engine.form_formats import FORMAT_CHECKER
from engine.models import Case, CaseStatus, Definition, FormVersion
from engine.services import audit
from engine.step_names import StepName, named

MAX_NOTE = 2000
SEED_NOTE = "由 forms/{name} 导入"
NEW_FORM = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "新表单",
  "description": "",
  "type": "object",
  "properties": {
    "opinion": {
      "type": "string",
      "title": "意见",
      "maxLength": 2000
    }
  },
  "required": ["opinion"],
  "additionalProperties": false
}
"""


@dataclass(frozen=True)
class FormSchema:
    """The version of a form in use: its schema and a compiled validator (shared: do not change them)."""

    key: str
    version: int
    schema: dict[str, Any]
    validator: jsonschema.protocols.Validator


@dataclass(frozen=True)
class FormSummary:
    """One form in the list: its latest version and the processes whose user tasks use it."""

    key: str
    title: str  # a ``StepName``: the Chinese title carrying the overlay's English one, if any
    version: int
    saved_at: datetime
    saved_by: str
    used_by: tuple[str, ...]  # process ids
    used_by_names: tuple[StepName, ...] = ()  # their names, in the same order


@dataclass(frozen=True)
class VersionInfo:
    """One stored version of a form, without its text."""

    key: str
    version: int
    title: str  # a ``StepName``, as ``FormSummary.title``
    saved_at: datetime
    saved_by: str
    note: str
    sha256: str
    latest: bool

    def as_dict(self) -> dict[str, Any]:
        """For JSON."""
        return {"key": self.key, "version": self.version, "title": self.title, "saved_at": self.saved_at.isoformat(),
                "saved_by": self.saved_by, "note": self.note, "sha256": self.sha256, "latest": self.latest}


@dataclass(frozen=True)
class VersionDiff:
    """Two versions of one form and what changed between them."""

    key: str
    a: VersionInfo
    b: VersionInfo
    diff: form_diff.FormDiff


@dataclass(frozen=True)
class Preview:
    """A text being edited: its schema when it can be read (to render), and every problem found."""

    schema: dict[str, Any] | None
    problems: list[Problem]


# --- the form in use ----------------------------------------------------------------------------------------

_COMPILED: OrderedDict[tuple[str, int, str], FormSchema] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_COMPILED_SIZE = 512


def current(session: Session, key: str) -> FormSchema:
    """The latest version of a form with its validator (one indexed query; compiled once per version)."""
    row = session.execute(sa.select(FormVersion.id, FormVersion.version, FormVersion.sha256)
                          .where(FormVersion.key == key).order_by(FormVersion.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"表单 {key} 不存在", f"no form {key}")
    return _compiled(session, key, row.id, row.version, row.sha256)


def newest_of(key_column: Any) -> tuple[Any, Any, Any]:
    """Correlated subqueries for the id, version and digest of the newest version of the form named by
    ``key_column``, to read in another query (see ``tasks._open_task``); pass the three to ``compiled``."""
    def newest(column: Any) -> Any:
        return (sa.select(column).where(FormVersion.key == key_column).order_by(FormVersion.version.desc())
                .limit(1).scalar_subquery())

    return newest(FormVersion.id), newest(FormVersion.version), newest(FormVersion.sha256)


def compiled(session: Session, key: str, row_id: int | None, version: int | None, digest: str | None) -> FormSchema:
    """The form version read through ``newest_of``, with its validator (NotFound when there was none)."""
    if row_id is None or version is None or digest is None:
        raise NotFound(f"表单 {key} 不存在", f"no form {key}")
    return _compiled(session, key, row_id, version, digest)


def current_many(session: Session, keys: Iterable[str]) -> dict[str, FormSchema]:
    """The latest versions of several forms in one query (unknown keys are left out)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    newest = sa.select(FormVersion.key, sa.func.max(FormVersion.version).label("v")).where(
        FormVersion.key.in_(wanted)).group_by(FormVersion.key).subquery()
    rows = session.execute(sa.select(FormVersion.id, FormVersion.key, FormVersion.version, FormVersion.sha256).join(
        newest, sa.and_(FormVersion.key == newest.c.key, FormVersion.version == newest.c.v))).all()
    return {r.key: _compiled(session, r.key, r.id, r.version, r.sha256) for r in rows}


def _compiled(session: Session, key: str, row_id: int, version: int, digest: str) -> FormSchema:
    cache_key = (key, version, digest)  # the digest keeps two databases in one process apart
    with _COMPILED_LOCK:
        found = _COMPILED.get(cache_key)
        if found is not None:
            _COMPILED.move_to_end(cache_key)
            return found
    schema = json.loads(session.scalar(sa.select(FormVersion.schema).where(FormVersion.id == row_id)))
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    form = FormSchema(key, version, schema, validator)
    with _COMPILED_LOCK:
        _COMPILED[cache_key] = form
        while len(_COMPILED) > _COMPILED_SIZE:
            _COMPILED.popitem(last=False)
    return form


def known_keys(session: Session) -> set[str]:
    """Every form key with a stored version (user tasks may name these)."""
    return set(session.scalars(sa.select(FormVersion.key).distinct()))


def _latest_row(session: Session, key: str) -> FormVersion | None:
    return session.scalars(sa.select(FormVersion).where(FormVersion.key == key)
                           .order_by(FormVersion.version.desc()).limit(1)).first()


def _latest_rows(session: Session) -> list[FormVersion]:
    newest = sa.select(FormVersion.key, sa.func.max(FormVersion.version).label("v")).group_by(
        FormVersion.key).subquery()
    return list(session.scalars(sa.select(FormVersion).join(newest, sa.and_(
        FormVersion.key == newest.c.key, FormVersion.version == newest.c.v)).order_by(FormVersion.key)))


def _title(text: str) -> StepName:
    """A stored form's title ("" when it has none) with the English title of its overlay (``x-en``), if any."""
    try:
        schema = json.loads(text)
    except ValueError:
        return named("")
    title = schema.get("title") if isinstance(schema, dict) else None
    return named(title if isinstance(title, str) else "", english_text(schema, "title") or None)


def modeler_forms(session: Session) -> list[dict[str, str]]:
    """The forms a user task may name, with the titles of their latest versions (the modeler's choices)."""
    return [{"file": row.key, "title": _title(row.schema)} for row in _latest_rows(session)]


# --- what deployed processes read ---------------------------------------------------------------------------

_USES: dict[str, form_reads.DefinitionUse] = {}  # by the definition's SHA-256: texts never change


def _use(session: Session, definition_id: int, digest: str) -> form_reads.DefinitionUse:
    found = _USES.get(digest)
    if found is None:
        text = session.scalar(sa.select(Definition.bpmn).where(Definition.id == definition_id))
        found = form_reads.definition_use(read_xml(text.encode("utf-8")).getroot())
        if len(_USES) > 1024:
            _USES.clear()
        _USES[digest] = found
    return found


def _newest_definitions(*columns: Any) -> sa.Select:
    """``columns`` of the latest version of every deployed process."""
    newest = sa.select(Definition.process_id, sa.func.max(Definition.version).label("v")).group_by(
        Definition.process_id).subquery()
    return sa.select(*columns).join(newest, sa.and_(Definition.process_id == newest.c.process_id,
                                                    Definition.version == newest.c.v))


def _deployed_uses(session: Session) -> tuple[dict[str, form_reads.DefinitionUse], list[form_reads.DefinitionUse]]:
    """The latest version of every process (by process id), and every version a running case is on."""
    latest = session.execute(_newest_definitions(Definition.id, Definition.process_id, Definition.sha256)).all()
    running = session.execute(sa.select(Definition.id, Definition.sha256).where(Definition.id.in_(
        sa.select(Case.definition_id).where(Case.status == CaseStatus.OPEN).distinct()))).all()
    by_process = {r.process_id: _use(session, r.id, r.sha256) for r in latest}
    return by_process, [*by_process.values(), *(_use(session, r.id, r.sha256) for r in running)]


def reads_of(session: Session, key: str) -> list[form_reads.Read]:
    """What the deployed processes using a form (and the processes they call) read from case data."""
    by_process, uses = _deployed_uses(session)
    reads: dict[form_reads.Read, None] = {}
    for use in uses:
        if key not in use.forms:
            continue
        pending, seen = [use], set()
        while pending:
            item = pending.pop()
            reads.update(dict.fromkeys(item.reads))
            for called in item.calls:
                if called not in seen and called in by_process:
                    seen.add(called)
                    pending.append(by_process[called])
    return list(reads)


def used_by(session: Session) -> dict[str, tuple[str, ...]]:
    """For each form key, the processes whose latest version has a user task with it."""
    by_process, _ = _deployed_uses(session)
    out: dict[str, list[str]] = {}
    for process_id, use in sorted(by_process.items()):
        for key in use.forms:
            out.setdefault(key, []).append(process_id)
    return {k: tuple(v) for k, v in out.items()}


# --- checking and storing -----------------------------------------------------------------------------------

def _check(session: Session, key: Any, text: Any, *, seed: bool = False) -> tuple[dict | None, list[Problem]]:
    """Every rule; ``seed``: a file of the repository, whose fields may have types only a task's own page renders."""
    schema, located, problems = form_rules.check_text(key, text)
    if schema is not None and located is not None and not problems:
        previous = _latest_row(session, key)
        old = json.loads(previous.schema) if previous is not None else None
        problems = [*([] if seed else form_rules.widget_problems(old, schema, located)),
                    *form_rules.protected_problems(old, schema, located, reads_of(session, key))]
    return schema, problems


def check(ctx: EngineContext, key: Any, text: Any) -> list[Problem]:
    """Every publish-time check on a form's text, storing nothing; empty when it may be published."""
    with ctx.session_factory() as session:
        try:
            return _check(session, key, text)[1]
        finally:
            session.rollback()


def _owner_only(actor: Actor) -> None:
    if actor.role not in ("owner", "system"):
        raise PermissionDenied("只有流程管理员可以编辑表单", "only process owners may edit forms")


def _may_read(actor: Actor) -> None:
    if actor.role not in ("owner", "supervisor", "admin", "system"):
        raise PermissionDenied("只有流程管理员、监督人员和系统管理员可以查看表单版本",
                               "only process owners, supervisors and administrators may see form versions")


def preview(ctx: EngineContext, actor: Actor, key: Any, text: Any) -> Preview:
    """Check a text being edited without storing it: the schema to render (if it reads) and the problems."""
    _owner_only(actor)
    with ctx.session_factory() as session:
        try:
            schema, problems = _check(session, key, text)
        finally:
            session.rollback()
    return Preview(schema, problems)


def digest_of(schema: Any) -> str:
    """SHA-256 of a schema's canonical JSON: the same for texts that differ only in whitespace."""
    return hashlib.sha256(form_rules.canonical(schema).encode("utf-8")).hexdigest()


def _store(session: Session, actor: Actor, key: str, text: str, schema: dict, note: str,
           now: datetime) -> tuple[FormVersion, bool]:
    """Add a version unless the content equals the latest one; returns (row, stored)."""
    latest = _latest_row(session, key)
    digest = digest_of(schema)
    if latest is not None and latest.sha256 == digest:
        return latest, False
    row = FormVersion(key=key, version=(latest.version + 1) if latest else 1, schema=text, ui_schema=None,
                      sha256=digest, saved_by=actor.username, saved_at=now, note=note)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same key and version: another publish won the race (the transaction rolls back)
        raise Conflict("此表单刚刚由他人发布了新版本，请刷新后重试",
                       "someone else published a new version of this form meanwhile; reload and try again") from None
    audit.append(session, None, now, actor.username, "form_published", key=key, version=row.version, note=note)
    return row, True


def _refuse(problems: list[Problem]) -> InvalidInput:
    return InvalidInput("表单校验未通过，未发布", "the form failed its checks; nothing was published", problems)


def publish(ctx: EngineContext, actor: Actor, key: Any, text: Any, note: Any, *, new: bool = False) -> dict[str, Any]:
    """Check a form's text (or a schema object) and store it as the next version, used from then on.

    Returns ``{"key", "version", "unchanged"}``: ``unchanged`` when the content equals the latest
    version (no new version then; whitespace does not count). ``new=True`` refuses a key that exists.
    """
    _owner_only(actor)
    if not isinstance(note, str) or not note.strip():
        raise invalid("note", "请填写发布说明（修改了什么、依据什么）", "a note is required (what changed, and why)")
    if len(note) > MAX_NOTE:
        raise invalid("note", f"发布说明不能超过 {MAX_NOTE} 个字符", f"the note is over {MAX_NOTE} characters")
    if form_rules.key_problems(key):
        raise _refuse(form_rules.key_problems(key))
    if isinstance(text, dict):  # the API may send the schema itself
        text = json.dumps(text, ensure_ascii=False, indent=2) + "\n"
    text = text.replace("\r\n", "\n") if isinstance(text, str) else text
    with ctx.unit_of_work() as session:
        if new and _latest_row(session, key) is not None:
            raise invalid("key", f"表单 {key} 已存在，请打开它编辑", f"form {key} exists already; open it to edit it")
        schema, problems = _check(session, key, text)
        if problems or schema is None:
            raise _refuse(problems)
        row, stored = _store(session, actor, key, text, schema, note.strip(), ctx.now(session))
        return {"key": row.key, "version": row.version, "unchanged": not stored}


def seed_directory(ctx: EngineContext, session: Session, actor: Actor, folder: Path) -> list[FormVersion]:
    """Store each ``*.schema.json`` of a folder whose content was never stored under its key (idempotent)."""
    stored = []
    for path in sorted(folder.glob("*.schema.json")):
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        schema, problems = _check(session, path.name, text, seed=True)
        if problems or schema is None:
            raise InvalidInput(f"forms/{path.name} 校验未通过，未导入", f"forms/{path.name} failed its checks; it was "
                               "not stored", problems)
        digest = digest_of(schema)
        if session.scalar(sa.select(FormVersion.id).where(FormVersion.key == path.name,
                                                          FormVersion.sha256 == digest).limit(1)) is not None:
            continue
        row, _ = _store(session, actor, path.name, text, schema, SEED_NOTE.format(name=path.name), ctx.now(session))
        stored.append(row)
    return stored


# --- reading versions ---------------------------------------------------------------------------------------

def forms_list(ctx: EngineContext) -> list[FormSummary]:
    """Every form at its latest version, by key, with the processes that use it."""
    with ctx.unit_of_work() as session:
        users = used_by(session)
        names = {process_id: named(name or process_id, name_en) for process_id, name, name_en in session.execute(
            _newest_definitions(Definition.process_id, Definition.name, Definition.name_en))}
        return [FormSummary(r.key, _title(r.schema), r.version, r.saved_at, r.saved_by, users.get(r.key, ()),
                            tuple(names[p] for p in users.get(r.key, ()))) for r in _latest_rows(session)]


def _view(row: FormVersion, latest: bool = True) -> dict[str, Any]:
    return {"key": row.key, "version": row.version, "title": _title(row.schema), "schema": json.loads(row.schema),
            "text": row.schema, "saved_at": row.saved_at.isoformat(), "saved_by": row.saved_by, "note": row.note or "",
            "sha256": row.sha256, "latest": latest}


def latest(ctx: EngineContext, key: str) -> dict[str, Any]:
    """The latest version of a form: key, version, title, schema, text, who and when, note."""
    with ctx.unit_of_work() as session:
        row = _latest_row(session, key)
        if row is None:
            raise NotFound(f"表单 {key} 不存在", f"no form {key}")
        return _view(row)


def editor_source(ctx: EngineContext, actor: Actor, key: str) -> dict[str, Any]:
    """What the editor opens: the latest version's text (NotFound if the form does not exist)."""
    _owner_only(actor)
    return latest(ctx, key)


def _rows(session: Session, key: str) -> list[FormVersion]:
    rows = list(session.scalars(sa.select(FormVersion).where(FormVersion.key == key)
                                .order_by(FormVersion.version.desc())))
    if not rows:
        raise NotFound(f"表单 {key} 不存在", f"no form {key}")
    return rows


def _info(row: FormVersion, newest: int) -> VersionInfo:
    return VersionInfo(row.key, row.version, _title(row.schema), row.saved_at, row.saved_by, row.note or "",
                       row.sha256, row.version == newest)


def versions(ctx: EngineContext, actor: Actor, key: str) -> list[VersionInfo]:
    """Every version of a form, newest first."""
    _may_read(actor)
    with ctx.unit_of_work() as session:
        rows = _rows(session, key)
        return [_info(r, rows[0].version) for r in rows]


def version(ctx: EngineContext, actor: Actor, key: str, number: int) -> dict[str, Any]:
    """One version of a form with its text and schema."""
    _may_read(actor)
    with ctx.unit_of_work() as session:
        rows = {r.version: r for r in _rows(session, key)}
        if number not in rows:
            raise NotFound(f"表单 {key} 没有版本 {number}", f"form {key} has no version {number}")
        return _view(rows[number], number == max(rows))


def diff(ctx: EngineContext, actor: Actor, key: str, a: int, b: int) -> VersionDiff:
    """Compare version ``a`` of a form with version ``b`` (``b`` is the newer one, usually)."""
    _may_read(actor)
    with ctx.unit_of_work() as session:
        rows = {r.version: r for r in _rows(session, key)}
        for n in (a, b):
            if n not in rows:
                raise NotFound(f"表单 {key} 没有版本 {n}", f"form {key} has no version {n}")
        newest = max(rows)
        result = form_diff.diff(json.loads(rows[a].schema), json.loads(rows[b].schema))
        return VersionDiff(key, _info(rows[a], newest), _info(rows[b], newest), result)
