"""What a case's history calls each recorded action: one list for the case page and the task page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

ACTIONS = {
    "case_opened": _l("立案并下达通知"), "task_completed": lazy_pgettext("history", "办理"), "task_claimed": _l("认领"),
    "task_released": _l("释放认领"), "timer_fired": _l("期限届满"), "case_compliant": _l("整改合格结案"),
    "case_exited": _l("关停退出结案"), "case_migrated": _l("迁移流程版本"), "attachment_added": _l("上传附件"),
    "announcement_published": _l("发布公告"), "announcement_withdrawn": _l("撤回公告"),
    "deadline_redated": _l("期限按更正后的休息日日历重新计算"),
    "enterprise_corrected": _l("企业登记信息已更正"),
    # the annual report's run (C-4.2, C-4.3)
    "report_started": _l("启动年度报告"), "report_reminder": _l("催报逾期未确认的部门"),
    "closures_confirmed": _l("确认关停退出清单"), "report_published": _l("发布年度报告"),
}
