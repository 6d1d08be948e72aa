"""Task forms for process owners: the list, an editor with a live preview and checks, publishing, versions and diffs.

The preview is the task page's own renderer (``webapp.pages.forms.form_fields`` and the
``field_input`` macro), so an owner sees exactly what staff will see. Supervisors and
administrators read the list and the versions; only owners edit and publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from engine.clock import SHANGHAI
from engine.errors import Conflict, InvalidInput, Problem
from engine.form_diff import ASPECT_LABELS
from engine.services import forms
from webapp.api import request_json
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required
from webapp.pages.forms import form_fields, form_heading

bp = Blueprint("form_editor", __name__, url_prefix="/forms")

READERS = ("owner", "supervisor", "admin")
EDITORS = ("owner",)


def _labels() -> dict[str, Any]:
    code = lang()
    pick = 1 if code == "en" else 0
    return {"lang": code, "tz": SHANGHAI, "aspect": lambda name: ASPECT_LABELS.get(name, (name, name))[pick],
            "message": lambda problem: problem.message_en if code == "en" else problem.message_zh}


def _preview_html(schema: dict | None) -> Markup | None:
    """The form as the task page renders it, or None when the schema cannot be rendered."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        return None
    try:
        fields = form_fields(schema, lang(), engine_context().today())
    except (AttributeError, TypeError, ValueError):  # a schema with problems may not have the shapes it expects
        return None
    heading = form_heading(schema, lang())
    return Markup(render_template("form_editor/_preview.html", heading=heading, fields=fields))  # noqa: S704 (rendered, escaped)


def _editor(key: str, text: str, *, new: bool, version: int | None = None, note: str = "",
            error: InvalidInput | Conflict | None = None, checked: bool = False, status: int = 200):
    preview = forms.preview(engine_context(), current_actor(), key, text)
    problems: list[Problem] = [p for p in (error.problems if error is not None else []) if p not in preview.problems]
    problems += preview.problems
    page = render_template("form_editor/edit.html", key=key, text=text, new=new, version=version, note=note,
                           error=error, problems=problems, checked=checked, preview=_preview_html(preview.schema),
                           title=_("新建表单") if new else key, **_labels())
    return page, status


@bp.get("")
@roles_required(*READERS)
def index():
    rows = forms.forms_list(engine_context())
    return render_template("form_editor/list.html", forms=rows, may_edit=current_user.role in EDITORS,
                           title=_("表单管理"), **_labels())


@bp.get("/new")
@roles_required(*EDITORS)
def new():
    return _editor(request.args.get("key", "")[:100], forms.NEW_FORM, new=True)


@bp.post("/new")
@roles_required(*EDITORS)
def create():
    return _publish(request.form.get("key", "").strip(), new=True)


@bp.post("/preview")
@roles_required(*EDITORS)
def preview():
    try:
        body = request_json()
    except InvalidInput as exc:
        return jsonify(message=exc.message(lang()), errors=[p.as_dict(lang()) for p in exc.problems]), 400
    if not isinstance(body, dict):
        return jsonify(message=_("请求应为 JSON 对象"), errors=[]), 400
    found = forms.preview(engine_context(), current_actor(), body.get("key"), body.get("text"))
    code = lang()
    return jsonify(valid=not found.problems, html=_preview_html(found.schema),
                   errors=[p.as_dict(code) for p in found.problems])


@bp.get("/<key>")
@roles_required(*EDITORS)
def edit(key: str):
    ctx, actor = engine_context(), current_actor()
    source = forms.editor_source(ctx, actor, key)
    base = request.args.get("from", type=int)
    text = forms.version(ctx, actor, key, base)["text"] if base else source["text"]
    return _editor(key, text, new=False, version=source["version"])


@bp.post("/<key>")
@roles_required(*EDITORS)
def publish(key: str):
    forms.editor_source(engine_context(), current_actor(), key)  # 404 for a form that does not exist
    return _publish(key, new=False)


def _publish(key: str, *, new: bool):
    ctx, actor = engine_context(), current_actor()
    text, note = request.form.get("text", ""), request.form.get("note", "")
    version = None if new else forms.latest(ctx, key)["version"]
    if request.form.get("action") == "check":  # without JavaScript: check and preview, store nothing
        return _editor(key, text, new=new, version=version, note=note, checked=True)
    try:
        done = forms.publish(ctx, actor, key, text, note, new=new)
    except (InvalidInput, Conflict) as exc:
        return _editor(key, text, new=new, version=version, note=note, error=exc,
                       status=409 if isinstance(exc, Conflict) else 400)
    if done["unchanged"]:
        flash(_("内容与当前第 %(version)s 版相同，未生成新版本", version=done["version"]), "info")
    else:
        flash(_("已发布为第 %(version)s 版；新案件和办理中的任务从现在起使用此版本", version=done["version"]), "info")
    return redirect(url_for(".versions", key=done["key"]), 303)


@bp.get("/<key>/versions")
@roles_required(*READERS)
def versions(key: str):
    ctx, actor = engine_context(), current_actor()
    rows = forms.versions(ctx, actor, key)
    numbers = [r.version for r in rows]
    result = None
    if len(numbers) > 1:
        b = request.args.get("b", type=int) or numbers[0]
        a = request.args.get("a", type=int) or max(1, b - 1)
        result = forms.diff(ctx, actor, key, a, b)
    return render_template("form_editor/versions.html", key=key, versions=rows, numbers=numbers, result=result,
                           may_edit=current_user.role in EDITORS, title=_("表单版本"), **_labels())


@bp.get("/<key>/v<int:number>")
@roles_required(*READERS)
def version(key: str, number: int):
    found = forms.version(engine_context(), current_actor(), key, number)
    return render_template("form_editor/version.html", key=key, found=found, preview=_preview_html(found["schema"]),
                           saved_at=datetime.fromisoformat(found["saved_at"]),
                           may_edit=current_user.role in EDITORS, title=_("表单版本"), **_labels())
