"""The case page: status, deadline and its rule, open tasks, history, documents and the BPMN diagram."""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from engine.clock import SHANGHAI
from engine.errors import InvalidInput, invalid
from engine.parties import DIMENSIONS, INDUSTRIES, party_name
from engine.services import attachments, case_detail
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required

bp = Blueprint("case_page", __name__)

def _render(case_id: int, upload_error: InvalidInput | None = None, status: int = 200):
    view = case_detail.case_detail(engine_context(), current_actor(), case_id)
    page = render_template(
        "case/page.html", case=view, upload_error=upload_error, lang=lang(), party=party_name,
        tz=SHANGHAI, dimensions=DIMENSIONS, industries=INDUSTRIES, max_label=attachments.MAX_LABEL,
        allowed_label=attachments.ALLOWED_LABEL_EN if lang() == "en" else attachments.ALLOWED_LABEL, accept=",".join(f".{ext}" for ext in attachments.FILE_TYPES))
    return page, status


@bp.get("/cases/<int:case_id>")
@roles_required()
def case(case_id: int):
    return _render(case_id)


@bp.get("/cases/<int:case_id>/diagram.bpmn")
@roles_required()
def diagram_xml(case_id: int):
    text = case_detail.case_bpmn(engine_context(), current_actor(), case_id)
    response = Response(text, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/cases/<int:case_id>/attachments")
@roles_required()
def upload(case_id: int):
    upload_file = request.files.get("file")
    filename = upload_file.filename if upload_file else ""
    data = upload_file.read() if upload_file else b""
    try:
        info = attachments.add_attachment(engine_context(), current_actor(), case_id, filename or "", data,
                                          task_key=request.form.get("task_key") or None)
    except InvalidInput as exc:
        return _render(case_id, upload_error=exc, status=400)
    flash(_("已上传附件：%(name)s", name=info.filename), "info")
    return redirect(url_for(".case", case_id=case_id, _anchor="documents"))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    case_id = (request.view_args or {}).get("case_id")
    if case_id is None or request.endpoint != "case_page.upload" or not current_user.is_authenticated:
        return render_template("errors/problem.html", error=None, status=413, path=request.path), 413
    error = invalid("file", f"文件超过 {attachments.MAX_LABEL} 的大小限制，未上传",
                    f"the file is over the {attachments.MAX_LABEL} limit; nothing was uploaded")
    return _render(case_id, upload_error=error, status=413)


@bp.get("/cases/<int:case_id>/attachments/<int:attachment_id>")
@roles_required()
def download(case_id: int, attachment_id: int):
    document = attachments.get_attachment(engine_context(), current_actor(), attachment_id)
    if document.info.case_id != case_id:
        abort(404)
    response = send_file(io.BytesIO(document.content), mimetype=document.info.content_type, as_attachment=True,
                         download_name=document.info.filename, etag=document.info.sha256,
                         last_modified=document.info.uploaded_at)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
