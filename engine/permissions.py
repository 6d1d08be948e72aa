"""Who may do what (DESIGN.md, contract): one function per question, no database access."""

from __future__ import annotations

from engine.context import Actor
from engine.errors import NotFound, PermissionDenied
from engine.parties import DIMENSIONS


def may_open_cases(actor: Actor) -> None:
    """Only staff (and admins) open cases at all; checked before the case data, so others learn nothing from it."""
    if actor.role not in ("staff", "admin", "system"):
        raise PermissionDenied(
            "只有可牵头该类别的部门工作人员才能立案",
            "only staff of a department that may lead this dimension can open its cases",
        )


def may_open_case(actor: Actor, dimension: str, lead_department: str) -> None:
    """Staff of a department that may lead the dimension open its cases (admins too)."""
    may_open_cases(actor)
    if actor.role == "admin" or actor.role == "system":
        return
    if actor.department not in DIMENSIONS[dimension].leads:
        raise PermissionDenied(
            "只有可牵头该类别的部门工作人员才能立案",
            "only staff of a department that may lead this dimension can open its cases",
        )


def may_read_case(actor: Actor, enterprise_code: str) -> None:
    """Enterprise users read only their own enterprise's cases; everyone else reads all."""
    if actor.role == "enterprise" and actor.enterprise_code != enterprise_code:
        raise NotFound("案件不存在", "no such case")


def may_work_task(actor: Actor, task_department: str, enterprise_code: str) -> None:
    """Staff work their department's lanes; enterprise users their own enterprise's tasks."""
    if actor.role == "enterprise":
        if actor.enterprise_code != enterprise_code:
            raise NotFound("任务不存在", "no such task")
        if task_department == "enterprise":
            return
    elif actor.role == "staff" and actor.department == task_department and task_department != "enterprise":
        return
    raise PermissionDenied("这不是您所在部门的任务", "this task belongs to another department's lane")


def may_deploy(actor: Actor) -> None:
    """Process owners deploy definitions."""
    if actor.role not in ("owner", "system"):
        raise PermissionDenied("只有流程管理员可以部署流程", "only process owners may deploy definitions")


def may_supervise(actor: Actor) -> None:
    """Supervisors (and admins) watch every clock."""
    if actor.role not in ("supervisor", "admin"):
        raise PermissionDenied("只有监督人员可以查看全部计时器", "only supervisors may list all timers")
