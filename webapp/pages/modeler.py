"""The modeler (process owners): edit a deployed process in bpmn-js, save drafts, check, deploy a new version."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.clock import SHANGHAI
from engine.errors import DefinitionInvalid, InvalidInput
from engine.services import drafts
from webapp.api import request_json
from webapp.extensions import engine_context
from webapp.pages import current_actor, lang, roles_required, sentence

bp = Blueprint("modeler", __name__, url_prefix="/modeler")


def _errors(exc: InvalidInput | DefinitionInvalid) -> dict[str, Any]:
    code = lang()
    errors = [p.as_dict(code) for p in drafts.problems_of(exc)]
    for error in errors:  # each one is a line of the problem list
        error["message"] = sentence(error["message"])
    return {"message": sentence(exc.message(code)), "errors": errors}


def _labels() -> dict[str, Any]:
    """Texts the browser shows: the properties group, the page's messages, the live lint rules."""
    return {
        "group": _("办理规则"), "department": _("办理部门"), "departmentHelp": _("泳道中的任务由该部门办理"),
        "form": _("表单"), "rule": _("期限规则"), "ruleStatutory": _("法定期限：自通知次日起 N 个月"),
        "ruleField": _("表单中填写的日期"), "months": _("期限月数"), "monthsHelp": _("1 到 120 的整数"),
        "monthsInvalid": _("请填写 1 到 120 的整数"), "field": _("日期字段名"),
        "fieldHelp": _("前序表单中填写期限日期的字段，如 rectify_until"), "fieldInvalid": _("请填写字段名（字母、数字、下划线）"),
        "clause": _("依据条款"), "clauseHelp": _("如 C-2.2"), "choose": _("（请选择）"), "unknown": _("不在可选范围内"),
        "line": _("第 %(line)s 行"), "checking": _("正在检查……"), "valid": _("检查通过，可以部署"),
        "invalid": _("检查未通过，见下方问题列表"), "checkFailed": _("检查请求失败"), "saving": _("正在保存草稿……"),
        "draftSaved": _("草稿已保存（%(time)s）"), "saveFailed": _("草稿保存失败"), "deploying": _("正在部署……"),
        "deployed": _("已部署为第 %(version)s 版"), "unchanged": _("与当前第 %(version)s 版相同，未生成新版本"),
        "deployFailed": _("部署失败"), "noteRequired": _("请填写部署说明"),
        "confirmDeploy": _("部署后，新立案的案件按新版本办理；在办案件仍按原版本，可在版本页迁移。确定部署吗？"),
        "lint": {
            "noCode": _("不允许脚本任务、服务任务或业务规则任务"), "laneDepartment": _("泳道未指定已知部门"),
            "noForm": _("用户任务未指定表单"), "unknownForm": _("表单不存在"),
            "months": _("法定期限的月数应为 1 到 120 的整数"), "field": _("期限规则“表单日期”需要字段名"),
            "noRule": _("定时器未指定期限规则"),
            "parallelJoin": _("定时器与其任务直接流入同一并行汇聚网关，会使案件卡住：请先用排他网关合并"),
            "noStart": _("流程没有开始事件"), "disconnected": _("元素没有连线"),
            "unreachable": _("元素没有流入的连线，无法到达"), "dangling": _("元素没有流出的连线"),
        },
    }


@bp.get("/")
@roles_required("owner")
def index():
    rows = drafts.processes(engine_context(), current_actor())
    return render_template("modeler/index.html", title=_("流程建模"), processes=rows, tz=SHANGHAI)


@bp.get("/options.json")
@roles_required("owner")
def options():
    answer = drafts.modeler_options(engine_context(), lang())
    answer["labels"] = _labels()
    return jsonify(answer)


@bp.get("/<process_id>")
@roles_required("owner")
def edit(process_id: str):
    source = drafts.editor_source(engine_context(), current_actor(), process_id)
    return render_template("modeler/edit.html", title=_("流程建模"), source=source, tz=SHANGHAI)


@bp.get("/<process_id>/source.bpmn")
@roles_required("owner")
def source(process_id: str):
    """The owner's draft if there is one (unless ``?deployed=1``), else the latest deployed version."""
    found = drafts.editor_source(engine_context(), current_actor(), process_id)
    text = found.draft.bpmn if found.draft and not request.args.get("deployed") else found.bpmn
    response = Response(text, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<process_id>/draft")
@roles_required("owner")
def save_draft(process_id: str):
    try:
        body = request_json()
        if not isinstance(body, dict):
            return jsonify(message=_("请求应为 JSON 对象"), errors=[]), 400
        saved = drafts.save_draft(engine_context(), current_actor(), process_id, body.get("bpmn"),
                                  body.get("base_version"))
    except (InvalidInput, DefinitionInvalid) as exc:
        return jsonify(_errors(exc)), 400
    return jsonify(process_id=saved.process_id, saved_at=saved.saved_at.isoformat(), base_version=saved.base_version)


@bp.post("/<process_id>/draft/discard")
@roles_required("owner")
def discard_draft(process_id: str):
    if drafts.discard_draft(engine_context(), current_actor(), process_id):
        flash(_("草稿已丢弃，已打开当前部署的版本"), "info")
    return redirect(url_for(".edit", process_id=process_id))


@bp.post("/<process_id>/check")
@roles_required("owner")
def check(process_id: str):
    try:
        drafts.check_edit(engine_context(), current_actor(), process_id, request.get_data())
    except DefinitionInvalid as exc:
        return jsonify(valid=False, **_errors(exc))
    return jsonify(valid=True, message=_("检查通过，可以部署"), errors=[])


@bp.post("/<process_id>/deploy")
@roles_required("owner")
def deploy(process_id: str):
    try:
        body = request_json()
        if not isinstance(body, dict) or not isinstance(body.get("bpmn"), str):
            return jsonify(message=_("请求应为含 bpmn 和 note 的 JSON 对象"), errors=[]), 400
        answer = drafts.deploy_edit(engine_context(), current_actor(), process_id, body["bpmn"].encode("utf-8"),
                                    body.get("note"))
    except (InvalidInput, DefinitionInvalid) as exc:
        return jsonify(_errors(exc)), 400
    return jsonify(answer), 200 if answer["unchanged"] else 201
