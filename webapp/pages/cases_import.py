"""Bulk intake pages (C-4.1): upload an .xlsx, preview every row with its errors, confirm, see the result.

Nothing is created before the confirm step. The parsed upload is kept as a batch file in
the instance folder, bound to the user; with JavaScript the rows are created in chunks
through a JSON endpoint (a progress bar), without it one POST creates them all.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import ngettext

from engine.errors import InvalidInput
from engine.services import bulk_import, intake
from engine.services import case_list as listing
from webapp.extensions import engine_context
from webapp.pages import XLSX, current_actor, lang, roles_required, xlsx_download
from webapp.pages.cases import INTAKE_ROLES, bp

MAX_UPLOAD = 5 * 1024 * 1024
CHUNK = 5
# Browsers send the registered type; some send a generic one when the system does not know .xlsx.
ACCEPTED_TYPES = (XLSX, "application/octet-stream", "application/zip", "application/x-zip-compressed", "")


def _folder() -> Path:
    return Path(current_app.config.get("CAPEXIT_IMPORT_DIR") or Path(current_app.instance_path) / "imports")


def _upload_page(error: str = "", status: int = 200):
    intake.allowed_dimensions(current_actor())
    return render_template("cases/import.html", error=error, max_mb=MAX_UPLOAD // (1024 * 1024)), status


def _read_upload() -> tuple[str, bytes]:
    """The uploaded file's name and bytes, or InvalidInput saying why it is refused."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("请选择要导入的 .xlsx 文件", "choose an .xlsx file to import")
    if not upload.filename.lower().endswith(".xlsx") or upload.mimetype not in ACCEPTED_TYPES:
        raise InvalidInput("只接受 Excel 工作簿（.xlsx）；.xls、.csv 等格式请先在 Excel 中另存为 .xlsx",
                           "only Excel workbooks (.xlsx) are accepted; save .xls or .csv files as .xlsx first")
    data = upload.stream.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"文件超过 {MAX_UPLOAD // (1024 * 1024)} MB 上限",
                           f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    if not data.startswith(b"PK\x03\x04"):
        raise InvalidInput("文件不是有效的 Excel 工作簿（.xlsx）", "the file is not a valid Excel workbook (.xlsx)")
    return upload.filename, data


@bp.get("/cases/import")
@roles_required(*INTAKE_ROLES)
def import_upload():
    return _upload_page()


@bp.post("/cases/import")
@roles_required(*INTAKE_ROLES)
def import_receive():
    intake.allowed_dimensions(current_actor())
    try:
        filename, data = _read_upload()
        rows = bulk_import.read_workbook(data)
    except InvalidInput as exc:
        return _upload_page(exc.message(lang()), 400)
    token = bulk_import.save_batch(_folder(), current_actor().username, filename, rows)
    return redirect(url_for("cases.import_preview", token=token))


@bp.get("/cases/import/template.xlsx")
@roles_required(*INTAKE_ROLES)
def import_template():
    return xlsx_download(bulk_import.template_workbook(), "capexit-import-template.xlsx")


@bp.get("/cases/import/<token>")
@roles_required(*INTAKE_ROLES)
def import_preview(token: str):
    batch = bulk_import.load_batch(_folder(), current_actor().username, token)
    if batch["results"]:
        return redirect(url_for("cases.import_result", token=token))
    checks = bulk_import.check_rows(engine_context(), current_actor(), batch["rows"])
    labels = {path: (zh, en) for _key, (zh, en, path, _n) in intake.FIELDS.items()}
    return render_template("cases/import_preview.html", token=token, checks=checks, filename=batch["filename"],
                           valid=sum(1 for c in checks if c.valid), names=listing.labels(lang()),
                           labels=labels, headings=bulk_import.HEADINGS, chunk=CHUNK)


@bp.post("/cases/import/<token>/confirm")
@roles_required(*INTAKE_ROLES)
def import_confirm(token: str):
    bulk_import.create_from_batch(engine_context(), current_actor(), _folder(), token)
    return redirect(url_for("cases.import_result", token=token))


@bp.post("/cases/import/<token>/chunk")
@roles_required(*INTAKE_ROLES)
def import_chunk(token: str):
    done = bulk_import.create_from_batch(engine_context(), current_actor(), _folder(), token, limit=CHUNK)
    return jsonify({"total": done["total"], "done": done["done"], "finished": done["finished"],
                    "created": len(done["created"]), "failed": len(done["failed"]),
                    "result_url": url_for("cases.import_result", token=token)})


@bp.get("/cases/import/<token>/result")
@roles_required(*INTAKE_ROLES)
def import_result(token: str):
    batch = bulk_import.load_batch(_folder(), current_actor().username, token)
    done = bulk_import.progress(batch)
    if not done["finished"]:
        message = ngettext("还有 %(num)s 行尚未处理", "还有 %(num)s 行尚未处理", done["total"] - done["done"])
    else:
        message = ""
    return render_template("cases/import_result.html", token=token, done=done, filename=batch["filename"],
                           rows={r["line"]: r["values"] for r in batch["rows"]}, message=message,
                           labels={path: (zh, en) for _key, (zh, en, path, _n) in intake.FIELDS.items()})
