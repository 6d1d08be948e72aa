"""API routes: each parses input, calls one engine service, and returns JSON."""

from __future__ import annotations

from flask import g, request

from engine.errors import InvalidInput, PermissionDenied
from engine.permissions import may_deploy
from engine.services import cases, deployments, inbox, reports, tasks, timers, users
from webapp.api import api, authenticated, error_response, json_body, language, request_json
from webapp.extensions import engine_context
from webapp.login_limits import limiter
from webapp.pages import xlsx_download
from webapp.pages.forms import parse_submission


@api.post("/auth/token")
def issue_token():
    body = json_body()
    ctx = engine_context()
    username, address = str(body.get("username", "")), request.remote_addr or "?"
    wait = limiter().wait_seconds(username, address)
    if wait:
        return error_response(429, f"Too many failed sign-ins; try again in {(wait + 59) // 60} minutes"
                              if language() == "en" else f"登录失败次数过多，请 {(wait + 59) // 60} 分钟后再试")
    try:
        user = users.authenticate(ctx, username, body.get("password", ""))
    except PermissionDenied:
        limiter().failed(username, address)
        raise
    limiter().succeeded(username)
    return {"token": users.issue_token(ctx, user), "role": user.role}


@api.post("/cases")
@authenticated
def open_case():
    body = json_body()
    request_ = cases.NewCase(
        dimension=str(body.get("dimension") or ""), enterprise=body.get("enterprise") or {},
        finding=body.get("finding") or {}, lead_department=body.get("lead_department"),
        differing="record",  # an outside system's finding is never lost over the register's spelling
    )
    ctx = engine_context()
    case_id = cases.start_case(ctx, g.actor, request_)
    return _with_names(cases.get_case(ctx, g.actor, case_id)), 201


def _with_names(case: dict) -> dict:
    """The case view with each person's real name next to their username (``actor_name`` in the history,
    ``claimed_by_name`` on open tasks; null when the account has none): one read of the names."""
    names = users.display_names(engine_context())
    for event in case["history"]:
        event["actor_name"] = names.get(event["actor"])
    for task in case["open_tasks"]:
        task["claimed_by_name"] = names.get(task["claimed_by"]) if task.get("claimed_by") else None
    return case


@api.get("/cases/<int:case_id>")
@authenticated
def show_case(case_id: int):
    return _with_names(cases.get_case(engine_context(), g.actor, case_id))


@api.get("/tasks")
@authenticated
def list_tasks():
    return tasks.list_tasks(engine_context(), g.actor)


@api.get("/tasks/<task_id>")
@authenticated
def show_task(task_id: str):
    return tasks.get_task(engine_context(), g.actor, task_id)


@api.post("/tasks/<task_id>/complete")
@authenticated
def complete_task(task_id: str):
    ctx = engine_context()
    if request.is_json:
        data = request_json()
    else:  # a form post: typed by the task's schema, as the task page does
        data, problems = parse_submission(inbox.task_schema(ctx, g.actor, task_id), request.form)
        if problems:
            raise InvalidInput("表单填写有误", "the form has errors", problems)
    if not isinstance(data, dict):
        raise InvalidInput("表单数据应为 JSON 对象", "form data must be a JSON object")
    # the case, read in the same transaction
    return _with_names(tasks.complete_task(ctx, g.actor, task_id, data, answer=cases.case_view))


@api.get("/timers")
@authenticated
def list_timers():
    return timers.list_timers(engine_context(), g.actor)


@api.post("/clock/advance")
@authenticated
def advance_clock():
    if g.actor.role not in ("supervisor", "admin"):
        raise PermissionDenied("只有监督人员或管理员可以调整模拟时钟", "only supervisors or admins move the clock")
    body = json_body()
    return timers.advance_clock(engine_context(), g.actor, by=body.get("by"), to=body.get("to"))


@api.post("/definitions")
@authenticated
def deploy_definition():
    may_deploy(g.actor)
    return deployments.deploy_upload(engine_context(), g.actor, request.get_data(), request.args.get("note", "")), 201


@api.get("/definitions/<process_id>")
@authenticated
def show_definition(process_id: str):
    return deployments.definition_view(engine_context(), process_id)


@api.get("/reports/annual/<int:year>.xlsx")
@authenticated
def annual_report(year: int):
    content = reports.annual_workbook(engine_context(), g.actor, year)
    return xlsx_download(content, f"capexit-annual-{year}.xlsx")
