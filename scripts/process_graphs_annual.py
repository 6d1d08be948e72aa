"""The annual exit report (C-4.2, C-4.3) as plain data, in the format of process_graphs.py.

Started by the app on 1 December (Asia/Shanghai) with ``report_year`` and ``departments``
(the departments that lead dimensions) in its data. ``confirm_closures`` is a parallel
multi-instance task: one instance per department (``inputDataItem`` ``department``); the
app routes each instance to ``task.data["department"]`` (property ``departmentFrom``) and
gives it the due date ``dueDate`` (month-day of ``report_year``). The lane holding it
(``industry``) is only where the diagram draws it.

build_processes.py imports LANES and PROCESSES from here: the processes of
process_graphs.py plus this one.
"""

from process_graphs import LANES as BASE_LANES
from process_graphs import PROCESSES as BASE_PROCESSES
from process_graphs import end, flow, start, task, xor

LANES = {**BASE_LANES, "industry": "市工业和信息化局"}

W = {
    "C-4.2": "市有关部门将……年度钢铁、煤炭、水泥、电解铝、平板玻璃等重点行业依法关闭退出的企业、设备和产能情况，函告市工业和信息化局，"
             "计入当年落后产能退出情况",
    "C-4.3": "市工业和信息化局汇总……年度落后产能退出情况，报经市政府同意后，报省有关部门，并在门户网站公告，接受社会监督",
}


def confirm(id, name, lane, clause):
    node = task(id, name, lane, clause, W[clause])
    node["props"].update({"departmentFrom": "department", "dueDate": "12-31"})
    node["multi"] = {"collection": "departments", "item": "department"}
    return node


def annual_task(id, name, lane, clause):
    """A user task whose form is ``annual_<id>.schema.json`` (its key, e.g. government_approval, is shared with
    the case processes, its wording is the report's)."""
    node = task(id, name, lane, clause, W[clause])
    node["props"]["formJsonSchemaFilename"] = f"annual_{id}.schema.json"
    return node


def published(id, name, lane):
    node = end(id, name, lane)
    node["props"] = {"reportStatus": "published", **node["props"]}
    return node


ANNUAL_REPORT = dict(
    id="annual_report", name="年度落后产能退出情况汇总报告", clauses="C-4.2 C-4.3",
    lanes=["industry", "government"],
    nodes=[start("report_start", "12月1日启动年度汇总", "industry"),
           confirm("confirm_closures", "确认本部门年度关停退出清单", "industry", "C-4.2"),
           xor("aggregate_merge", "industry"),
           task("aggregate_report", "汇总全市落后产能退出情况", "industry", "C-4.3", W["C-4.3"]),
           annual_task("government_approval", "审定年度报告", "government", "C-4.3"),
           xor("approval_result", "government", "是否审定通过"),
           published("report_published", "报告公布", "industry")],
    flows=[flow("report_start", "confirm_closures"),
           flow("confirm_closures", "aggregate_merge"),
           flow("aggregate_merge", "aggregate_report"),
           flow("aggregate_report", "government_approval"),
           flow("government_approval", "approval_result"),
           flow("approval_result", "report_published", "approved == True", name="审定通过"),
           flow("approval_result", "aggregate_merge", default=True, name="退回修改")])

PROCESSES = [*BASE_PROCESSES, ANNUAL_REPORT]
