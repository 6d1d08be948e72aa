"""Process versions for owners, supervisors and administrators: versions, diffs, and migrating running cases."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.clock import SHANGHAI
from engine.errors import Conflict, InvalidInput
from engine.services import migration, versions
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required, sentence

bp = Blueprint("processes", __name__, url_prefix="/processes")

READERS = ("owner", "supervisor", "admin")
MIGRATORS = ("owner", "admin")
ELEMENT_TYPES = {
    "process": ("流程", "process"), "lane": ("泳道", "lane"), "userTask": ("用户任务", "user task"),
    "manualTask": ("人工任务", "manual task"), "task": ("任务", "task"), "sequenceFlow": ("连线", "sequence flow"),
    "exclusiveGateway": ("排他网关", "exclusive gateway"), "parallelGateway": ("并行网关", "parallel gateway"),
    "inclusiveGateway": ("包容网关", "inclusive gateway"), "eventBasedGateway": ("事件网关", "event gateway"),
    "startEvent": ("开始事件", "start event"), "endEvent": ("结束事件", "end event"),
    "boundaryEvent": ("边界事件", "boundary event"), "intermediateCatchEvent": ("中间捕获事件", "catching event"),
    "intermediateThrowEvent": ("中间抛出事件", "throwing event"), "callActivity": ("调用活动", "call activity"),
    "subProcess": ("子流程", "subprocess"), "textAnnotation": ("注释", "annotation"),
    "association": ("关联", "association"),
}


def _labels() -> dict:
    code = lang()
    pick = 1 if code == "en" else 0
    return {
        "lang": code, "tz": SHANGHAI,
        "kind": lambda tag: ELEMENT_TYPES.get(tag, (tag, tag))[pick],
        "aspect": lambda name: versions.ASPECT_LABELS.get(name, (name, name))[pick],
        "reason": lambda problem: sentence(problem.message_en) if code == "en" else problem.message_zh,
    }


@bp.get("")
@roles_required(*READERS)
def index():
    summaries = versions.list_processes(engine_context(), current_actor())
    return render_template("processes/list.html", processes=summaries, **_labels())


def _render_process(process_id: str, error: Exception | None = None, status: int = 200):
    ctx, actor = engine_context(), current_actor()
    rows = versions.list_versions(ctx, actor, process_id)
    candidates = migration.migration_candidates(ctx, actor, process_id)
    called_by = versions.called_by(ctx, actor, process_id)
    page = render_template("processes/process.html", process_id=process_id, versions=rows, candidates=candidates,
                           called_by=called_by, may_migrate=current_user.role in MIGRATORS, error=error,
                           **_labels())
    return page, status


@bp.get("/<process_id>")
@roles_required(*READERS)
def process(process_id: str):
    return _render_process(process_id)


@bp.get("/<process_id>/v<int:version>.bpmn")
@roles_required(*READERS)
def bpmn(process_id: str, version: int):
    row = versions.get_version(engine_context(), current_actor(), process_id, version)
    response = Response(row["bpmn"], mimetype="application/xml")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{process_id}-v{version}.bpmn"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/<process_id>/diff")
@roles_required(*READERS)
def diff(process_id: str):
    ctx, actor = engine_context(), current_actor()
    rows = versions.list_versions(ctx, actor, process_id)
    numbers = [r.version for r in rows]
    b = request.args.get("b", type=int) or numbers[0]
    a = request.args.get("a", type=int) or max(1, b - 1)
    result = versions.diff_versions(ctx, actor, process_id, a, b)
    return render_template("processes/diff.html", process_id=process_id, result=result, numbers=numbers,
                           **_labels())


@bp.post("/<process_id>/cases/<int:case_id>/migrate")
@roles_required(*MIGRATORS)
def migrate(process_id: str, case_id: int):
    try:
        done = migration.migrate_case_to_version(
            engine_context(), current_actor(), case_id, request.form.get("version", type=int),
            request.form.get("note", "").strip(), expected_version=request.form.get("case_version", type=int),
            process_id=process_id)
    except InvalidInput as exc:
        return _render_process(process_id, exc, 400)
    except Conflict as exc:
        return _render_process(process_id, exc, 409)
    flash(_("案件 %(case)s 已从 v%(old)s 迁移到 v%(new)s", case=case_id, old=done["from_version"],
            new=done["to_version"]), "info")
    return redirect(url_for(".process", process_id=process_id, _anchor="migration"), 303)
