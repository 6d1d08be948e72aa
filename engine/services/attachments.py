"""Attachments: documents uploaded to a case (evidence, reports, decisions), kept in the database.

Who may call: ``add_attachment`` needs an actor who may read the case and takes part in
it: the case's enterprise, or staff of its lead department or of a department that has
or had a task in it. Supervisors, owners and admins read only. Reads follow
``may_read_case`` (enterprise users see only their own cases).
Limits: 10 MB per file; PDF, JPEG, PNG, DOCX, XLSX or ZIP, checked by extension *and*
by the file's leading bytes (and, for DOCX/XLSX, by the package's word/ or xl/ folder).
Errors: ``InvalidInput`` (400) naming the limit, ``PermissionDenied`` (403), ``NotFound`` (404).
The upload and its ``attachment_added`` audit event are one transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, undefer

from engine.context import Actor, EngineContext
from engine.errors import NotFound, PermissionDenied, invalid
from engine.models import Attachment, AuditEvent, Case, OpenTask
from engine.permissions import may_read_case
from engine.services import instances
from engine.step_names import StepName, named

MAX_BYTES = 10 * 1024 * 1024
MAX_LABEL = "10 MB"
ALLOWED_LABEL = "PDF、JPEG、PNG、DOCX、XLSX、ZIP"
ALLOWED_LABEL_EN = "PDF, JPEG, PNG, DOCX, XLSX, ZIP"

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# extension -> (content type, leading bytes it must start with, folder an Office package must hold)
FILE_TYPES: dict[str, tuple[str, tuple[bytes, ...], str | None]] = {
    "pdf": ("application/pdf", (b"%PDF-",), None),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",), None),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",), None),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",), None),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP_MAGIC,
             "word/"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP_MAGIC, "xl/"),
    "zip": ("application/zip", _ZIP_MAGIC, None),
}


@dataclass(frozen=True)
class AttachmentInfo:
    """An attachment's metadata as lists show it."""

    id: int
    case_id: int
    task_key: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment with its bytes, for download."""

    info: AttachmentInfo
    content: bytes


def _info(row: Attachment) -> AttachmentInfo:
    return AttachmentInfo(row.id, row.case_id, row.task_key, row.filename, row.content_type, row.size, row.sha256,
                          row.uploaded_by, row.uploaded_at)


def safe_filename(name: str) -> str:
    """The file's own name without folders, control or reserved characters (Chinese is kept)."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*;]', "_", name).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 190] + dot + ext[:9]) if dot else name[:200]
    return name


def check_file(filename: str, data: bytes) -> str:
    """The content type of an acceptable upload, or InvalidInput naming the limit that was broken."""
    if not filename:
        raise invalid("file", "请选择要上传的文件", "choose a file to upload")
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    if ext not in FILE_TYPES:
        shown = f"“.{ext}”" if ext else "（无扩展名）"
        raise invalid("file", f"不支持的文件类型{shown}：仅可上传 {ALLOWED_LABEL} 格式的文件",
                      f"file type {'.' + ext if ext else '(none)'} is not accepted: only {ALLOWED_LABEL_EN}")
    if len(data) > MAX_BYTES:
        raise invalid("file", f"文件超过 {MAX_LABEL} 的大小限制（本文件 {len(data) / 1048576:.1f} MB）",
                      f"the file is over the {MAX_LABEL} limit ({len(data) / 1048576:.1f} MB)")
    if not data:
        raise invalid("file", "文件为空，请重新选择", "the file is empty")
    content_type, magic, folder = FILE_TYPES[ext]
    if not data.startswith(magic) or (folder and not _zip_holds(data, folder)):
        raise invalid("file", f"文件内容与扩展名“.{ext}”不符：仅可上传真实的 {ALLOWED_LABEL} 文件",
                      f"the file's content is not a real .{ext} file: only {ALLOWED_LABEL_EN} are accepted")
    return content_type


def _zip_holds(data: bytes, folder: str) -> bool:
    """Whether the ZIP's directory lists a member under ``folder`` (nothing is decompressed)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return any(name.startswith(folder) for name in package.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _case(session: Session, actor: Actor, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在", "no such case")
    may_read_case(actor, case.enterprise_code)
    return case


def case_task_keys(session: Session, case_id: int, actor: Actor | None = None) -> dict[str, StepName]:
    """Task keys an attachment may name: the case's open and completed tasks, key -> name (with its English
    name); for an enterprise ``actor``, only the enterprise's own tasks (staff of the case's departments may
    file a document under any step, e.g. a report received on paper)."""
    only = "enterprise" if actor is not None and actor.role == "enterprise" else None
    keys: dict[str, StepName] = {}
    for detail in session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.case_id == case_id, AuditEvent.action == "task_completed").order_by(AuditEvent.id)):
        data = json.loads(detail or "{}")
        if data.get("key") and only in (None, data.get("department")):
            keys[data["key"]] = named(data.get("name") or data["key"], data.get("name_en"))
    for key, name, name_en, department in session.execute(
            sa.select(OpenTask.key, OpenTask.name, OpenTask.name_en, OpenTask.department)
            .where(OpenTask.case_id == case_id)):
        if only in (None, department):
            keys[key] = named(name, name_en)
    return keys


def _case_departments(session: Session, case: Case) -> set[str]:
    departments = {case.lead_department}
    departments.update(session.scalars(sa.select(OpenTask.department).where(OpenTask.case_id == case.id)))
    for detail in session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.case_id == case.id, AuditEvent.action == "task_completed")):
        departments.add(json.loads(detail or "{}").get("department"))
    return departments


def may_attach(session: Session, actor: Actor, case: Case) -> bool:
    """Whether the actor takes part in the case (its enterprise, or staff of an involved department)."""
    if actor.role == "enterprise":
        return actor.enterprise_code == case.enterprise_code
    return actor.role == "staff" and actor.department in _case_departments(session, case)


def add_attachment(ctx: EngineContext, actor: Actor, case_id: int, filename: str, data: bytes,
                   task_key: str | None = None) -> AttachmentInfo:
    """Check and store an uploaded file on a case, audited as ``attachment_added``."""
    name = safe_filename(filename)
    with ctx.unit_of_work() as session:
        case = _case(session, actor, case_id)
        if not may_attach(session, actor, case):
            raise PermissionDenied("只有本案企业或参与办理的部门工作人员可以上传附件",
                                   "only the case's enterprise or staff of a department in the case may upload")
        content_type = check_file(name, data)
        task_key = task_key or None
        if task_key is not None and task_key not in case_task_keys(session, case_id, actor):
            raise invalid("task_key", "所选任务不属于本案或不由您办理", "that task is not part of this case, or not yours")
        now = ctx.now(session)
        row = Attachment(case_id=case_id, task_key=task_key, filename=name, content_type=content_type,
                         size=len(data), sha256=hashlib.sha256(data).hexdigest(), content=data,
                         uploaded_by=actor.username, uploaded_at=now)
        session.add(row)
        session.flush()
        instances.audit(session, case_id, now, actor.username, "attachment_added", attachment_id=row.id,
                        filename=name, size=row.size, sha256=row.sha256, task_key=task_key)
        return _info(row)


def attachment_rows(session: Session, case_id: int) -> list[AttachmentInfo]:
    """A case's attachments, oldest first, without their content (inside the caller's transaction)."""
    query = sa.select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)
    return [_info(row) for row in session.scalars(query)]


def list_attachments(ctx: EngineContext, actor: Actor, case_id: int) -> list[AttachmentInfo]:
    """The attachments of a case the actor may read."""
    with ctx.unit_of_work() as session:
        _case(session, actor, case_id)
        return attachment_rows(session, case_id)


def get_attachment(ctx: EngineContext, actor: Actor, attachment_id: int) -> AttachmentFile:
    """One attachment with its bytes, if the actor may read its case."""
    with ctx.unit_of_work() as session:
        row = session.scalar(sa.select(Attachment).options(undefer(Attachment.content))
                             .where(Attachment.id == attachment_id))
        if row is None:
            raise NotFound("附件不存在", "no such attachment")
        case = session.get(Case, row.case_id)
        try:
            may_read_case(actor, case.enterprise_code)
        except NotFound:
            raise NotFound("附件不存在", "no such attachment") from None
        return AttachmentFile(_info(row), row.content)

