"""Attachments: type and size limits, who may upload, the audit event, listing and download."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.models import Attachment, AuditEvent
from engine.services import attachments
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, actor, csrf_from

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _count(ctx) -> int:
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Attachment))


def _docx(main_part: str = "word/document.xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(main_part, "<w:document/>")
    return buffer.getvalue()


def _upload(client, case_id: int, filename: str, data: bytes, task_key: str = ""):
    """POST the upload form; the body is encoded in memory (the test client's own spools to an unclosed file)."""
    token = csrf_from(client.get(f"/cases/{case_id}").get_data(as_text=True))
    boundary, body = encode_multipart(MultiDict({
        "csrf_token": token, "task_key": task_key, "file": FileStorage(io.BytesIO(data), filename=filename)}))
    return client.post(f"/cases/{case_id}/attachments", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


# --- engine service -------------------------------------------------------------------------------------------

def test_service_stores_lists_and_returns_the_same_bytes_with_an_audit_event(ctx, make_case):
    case_id = make_case("energy_use")
    staff = actor("staff", "industry")
    info = attachments.add_attachment(ctx, staff, case_id, "../../整改报告.pdf", PDF, task_key="rectify")
    assert info.filename == "整改报告.pdf" and info.content_type == "application/pdf" and info.size == len(PDF)
    assert [a.id for a in attachments.list_attachments(ctx, actor("supervisor"), case_id)] == [info.id]
    assert attachments.get_attachment(ctx, actor("enterprise", enterprise=ENTERPRISE_A), info.id).content == PDF
    with ctx.unit_of_work() as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attachment_added")).one()
        assert event.case_id == case_id and event.actor == staff.username and "整改报告.pdf" in event.detail


def test_service_checks_who_may_upload_and_read(ctx, make_case):
    case_id = make_case("energy_use", enterprise=ENTERPRISE_A)
    with pytest.raises(PermissionDenied):
        attachments.add_attachment(ctx, actor("supervisor"), case_id, "a.pdf", PDF)
    with pytest.raises(PermissionDenied):
        attachments.add_attachment(ctx, actor("staff", "finance"), case_id, "a.pdf", PDF)  # not in this case
    with pytest.raises(NotFound):
        attachments.add_attachment(ctx, actor("enterprise", enterprise=ENTERPRISE_B), case_id, "a.pdf", PDF)
    info = attachments.add_attachment(ctx, actor("enterprise", enterprise=ENTERPRISE_A), case_id, "a.pdf", PDF)
    with pytest.raises(NotFound):
        attachments.get_attachment(ctx, actor("enterprise", enterprise=ENTERPRISE_B), info.id)
    with pytest.raises(InvalidInput):
        attachments.add_attachment(ctx, actor("staff", "industry"), case_id, "a.pdf", PDF, task_key="no_such_step")


@pytest.mark.parametrize(("filename", "data", "accepted"), [
    ("scan.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 20, True),
    ("photo.PNG", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, True),
    ("report.docx", _docx(), True),
    ("sheet.xlsx", _docx("xl/workbook.xml"), True),
    ("bundle.zip", _docx("anything.txt"), True),
    ("report.docx", _docx("anything.txt"), False),    # a ZIP, but not a Word document
    ("photo.png", PDF, False),
    ("notes.txt", b"plain text", False),
    ("noextension", PDF, False),
    ("empty.pdf", b"", False),
])
def test_type_is_checked_by_extension_and_content(filename, data, accepted):
    if accepted:
        assert attachments.check_file(filename, data)
    else:
        with pytest.raises(InvalidInput):
            attachments.check_file(filename, data)


def test_safe_filename_keeps_chinese_and_drops_folders_and_controls():
    assert attachments.safe_filename("C:\\temp\\..\\整改 报告.pdf") == "整改 报告.pdf"
    assert attachments.safe_filename('a"b\r\n<c>.pdf') == "a_b_c_.pdf"
    assert len(attachments.safe_filename("长" * 300 + ".pdf")) <= 200


# --- pages -----------------------------------------------------------------------------------------------------

def test_upload_is_listed_and_downloads_the_same_bytes(login_as, client, make_case, ctx):
    case_id = make_case("energy_use")
    login_as("staff", department="industry")
    answer = _upload(client, case_id, "整改验收报告.pdf", PDF, task_key="rectify")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/cases/{case_id}#documents")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "整改验收报告.pdf" in html and "上传附件" in html
    with ctx.unit_of_work() as session:
        attachment_id = session.scalar(sa.select(Attachment.id))
    assert f'href="/cases/{case_id}/attachments/{attachment_id}"' in html
    download = client.get(f"/cases/{case_id}/attachments/{attachment_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/cases/{case_id + 1}/attachments/{attachment_id}").status_code == 404


def test_enterprise_uploads_to_its_own_case_only(login_as, client, make_case, ctx):
    own = make_case("energy_use", enterprise=ENTERPRISE_A)
    other = make_case("energy_use", enterprise=ENTERPRISE_B)
    login_as("enterprise", enterprise=ENTERPRISE_A)
    assert _upload(client, own, "证明.pdf", PDF).status_code == 302
    token = csrf_from(client.get(f"/cases/{own}").get_data(as_text=True))
    refused = client.post(f"/cases/{other}/attachments", content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(PDF), "x.pdf")})
    assert refused.status_code == 404
    assert _count(ctx) == 1


def test_an_enterprise_files_documents_under_its_own_steps_only(login_as, client, make_case, ctx):
    """The rectification is the enterprise's step; the price measure and the extension review are departments'."""
    case_id = make_case("energy_use", enterprise=ENTERPRISE_A)  # steel: rectify and set_differential_price open
    login_as("enterprise", enterprise=ENTERPRISE_A)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    choices = re.findall(r'<option value="([a-z_]+)"', page[page.index('id="task_key"'):])
    assert choices == ["rectify"]
    assert _upload(client, case_id, "整改方案.pdf", PDF, task_key="rectify").status_code == 302
    refused = _upload(client, case_id, "电价.pdf", PDF, task_key="set_differential_price")
    assert refused.status_code == 400 and "所选任务不属于本案或不由您办理" in refused.get_data(as_text=True)
    assert _count(ctx) == 1


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, "不支持的文件类型“.exe”"),
    ("renamed.pdf", b"MZ\x90\x00" + b"\x00" * 100, "文件内容与扩展名“.pdf”不符"),
    ("huge.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024 - 4), "文件超过 10 MB 的大小限制"),
])
def test_refused_uploads_name_the_limit_and_store_nothing(login_as, client, make_case, ctx, filename, data,
                                                          message):
    case_id = make_case("energy_use")
    login_as("staff", department="industry")
    answer = _upload(client, case_id, filename, data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert message in html and "PDF、JPEG、PNG、DOCX、XLSX、ZIP" in html and "10 MB" in html
    assert _count(ctx) == 0


def test_request_over_the_size_limit_is_refused_with_the_limit(login_as, client, make_case, ctx):
    case_id = make_case("energy_use")
    login_as("staff", department="industry")
    answer = _upload(client, case_id, "huge.pdf", b"%PDF-" + b"0" * (12 * 1024 * 1024))
    assert answer.status_code == 413
    assert "文件超过 10 MB 的大小限制" in answer.get_data(as_text=True)
    assert _count(ctx) == 0


def test_supervisor_cannot_upload(login_as, client, make_case, ctx):
    case_id = make_case("energy_use")
    login_as("supervisor")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'name="file"' not in page
    answer = client.post(f"/cases/{case_id}/attachments", content_type="multipart/form-data",
                         data={"csrf_token": csrf_from(page), "file": (io.BytesIO(PDF), "a.pdf")})
    assert answer.status_code == 403
    assert _count(ctx) == 0


def test_upload_without_csrf_token_is_refused(login_as, client, make_case, ctx):
    case_id = make_case("energy_use")
    login_as("staff", department="industry")
    answer = client.post(f"/cases/{case_id}/attachments", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(PDF), "a.pdf")})
    assert answer.status_code == 400
    assert _count(ctx) == 0
