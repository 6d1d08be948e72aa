"""The case page: deadline and its rule, open tasks, history, diagram data; the case's BPMN; who may see it."""

from __future__ import annotations

import json
import re

import pytest

from engine.services import attachments, case_detail, timers
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, actor
from tests.test_english import compiled  # noqa: F401  (a fixture)


def _diagram_ids(html: str, name: str) -> list[str]:
    match = re.search(rf"data-{name}='([^']*)'", html)
    assert match, f"no data-{name} on the diagram container"
    return json.loads(match.group(1))


def test_page_shows_deadline_rule_open_tasks_history_and_diagram(login_as, client, make_case, ctx):
    case_id = make_case("energy_use", industry="flat_glass",  # flat glass: no C-3.3 price task runs alongside
                        finding={"standard": "GB 21256-2013", "evidence": "现场检查记录"})
    login_as("staff", department="industry")
    answer = client.get(f"/cases/{case_id}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "2026-09-02" in html                       # six months from 2 March 2026
    rule = case_detail.case_detail(ctx, actor("supervisor"), case_id)["deadline_rule"]
    assert rule and rule in html
    assert "剩余 184 天" in html
    assert "办理中" in html and "市工业和信息化局" in html and "GB 21256-2013" in html
    assert 'data-key="rectify"' in html and "企业整改" in html
    assert "/tasks/" not in html                      # the enterprise works rectify, not this department
    assert "立案" in html and "2026-03-02 09:00" in html
    assert 'class="diagram case-diagram"' in html and f'data-xml-url="/cases/{case_id}/diagram.bpmn"' in html
    assert _diagram_ids(html, "current") == ["rectify", "rectify_deadline"]  # the task and its running clock
    assert "notice" in _diagram_ids(html, "completed")
    assert "流程图需要启用 JavaScript" in html            # the text the page shows without scripts
    assert 'id="current-steps"' in html and 'data-element="rectify"' in html


def test_history_names_the_period_a_fired_timer_closed(login_as, client, make_case, ctx):
    case_id = make_case("energy_use", industry="flat_glass")
    rule = case_detail.case_detail(ctx, actor("supervisor"), case_id)["deadline_rule"]
    assert timers.advance_clock(ctx, actor("supervisor"), by="P7M")["fired"] == 1
    login_as("supervisor")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    row = html[html.index('data-action="timer_fired"'):]
    row = row[:row.index("</tr>")]
    assert "届满的期限：2026-09-02" in row and rule in row


@pytest.mark.parametrize(("role", "whom"), [("staff", {"department": "industry"}), ("supervisor", {}),
                                           ("enterprise", {"enterprise": ENTERPRISE_A})])
def test_open_tasks_name_their_steps_without_task_keys(login_as, client, make_case, role, whom):
    """Whoever reads the case, an open task reads as its step's name: the key stays on the row (``data-key``)."""
    case_id = make_case("energy_use", industry="steel")  # steel: the C-3.3 price task runs alongside
    login_as(role, **whom)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    tasks = page[page.index('id="tasks"'):]
    tasks = tasks[:tasks.index("</section>")]
    assert 'data-key="set_differential_price"' in tasks and 'data-key="rectify"' in tasks
    shown = re.sub(r"<[^>]+>", " ", tasks)
    assert "执行差别化电价水价" in shown and "企业整改" in shown
    assert "set_differential_price" not in shown and "rectify" not in shown


def test_enterprise_sees_its_task_link_and_its_case(login_as, client, make_case):
    case_id = make_case("energy_use", enterprise=ENTERPRISE_A)
    login_as("enterprise", enterprise=ENTERPRISE_A)
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert re.search(r'href="/tasks/[0-9a-f-]{36}"', html)


def test_history_shows_completed_form_data_and_the_extended_deadline(login_as, client, make_case, work):
    case_id = make_case("energy_use", industry="flat_glass")
    work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备采购周期长"})
    work(case_id, "review_extension", {"approved": True, "opinion": "同意延期两个月"})
    login_as("supervisor")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "办理：企业整改" in html and "办理：审核延期申请" in html
    assert "申请延期" in html and "设备采购周期长" in html and "同意延期两个月" in html
    assert "2026-11-02" in html                       # extension adds to the original deadline
    assert _diagram_ids(html, "current") == ["rectify", "rectify_deadline"]
    completed = _diagram_ids(html, "completed")
    assert "review_extension" in completed and "rectify" not in completed  # rectify is current again
    assert "（2 次）" not in html and "企业整改" in html


def test_overdue_case_shows_flag_timer_and_government_step(login_as, client, make_case, ctx):
    case_id = make_case("energy_use", industry="flat_glass")
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")
    login_as("supervisor")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "是，法定期限已届满" in html
    assert "期限届满：整改期限届满" in html
    assert _diagram_ids(html, "current") == ["government_approval"]
    assert "rectify_deadline" in _diagram_ids(html, "completed")


def _deadline_card(html: str) -> str:
    start = html.index('id="h-deadline"')
    return html[start:html.index("</section>", start)]


@pytest.mark.usefixtures("compiled")
def test_an_overdue_case_names_the_period_that_ran_out_when_none_runs(login_as, client, make_case, ctx):
    """The six months ran out and the case went on to the government's approval: the deadline card shows that
    period's last day, its rule and how long ago it ended, not "no legal deadline is running" beside "overdue"."""
    case_id = make_case("energy_use", industry="flat_glass")
    view = case_detail.case_detail(ctx, actor("supervisor"), case_id)
    login_as("supervisor")
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-03T09:00:00+08:00")  # the last day was 09-02
    card = _deadline_card(client.get(f"/cases/{case_id}").get_data(as_text=True))
    assert "2026-09-02" in card and "已逾期 1 天" in card and view["deadline_rule"] in card
    assert "当前无计时中的法定期限" not in card and "是，法定期限已届满" in card
    timers.advance_clock(ctx, actor("supervisor"), by="P1M")
    card = _deadline_card(client.get(f"/cases/{case_id}?lang=en").get_data(as_text=True))
    assert "2026-09-02" in card and "31 days overdue" in card and view["deadline_rule_en"] in card
    assert "Last day of the period that ran out" in card and "No legal deadline is currently running" not in card


@pytest.mark.usefixtures("compiled")
def test_days_left_are_counted_in_the_singular_and_the_plural_in_english(login_as, client, make_case, ctx):
    case_id = make_case("energy_use", industry="flat_glass")
    login_as("supervisor")
    assert "184 days left" in _deadline_card(client.get(f"/cases/{case_id}?lang=en").get_data(as_text=True))
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-01T09:00:00+08:00")
    card = _deadline_card(client.get(f"/cases/{case_id}?lang=en").get_data(as_text=True))
    assert "1 day left" in card and "day(s)" not in card


def test_a_period_that_ran_out_under_review_is_not_called_both_overdue_and_not(login_as, client, make_case, ctx,
                                                                               work):
    """The department still reviews an extension request when the six months end: the page calls the case overdue, as
    the board and the statistics do, and says it moves on once the review is done, not "overdue: no" beside
    "1 day overdue"."""
    case_id = make_case("energy_use", industry="flat_glass")
    work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "设备供货周期长"})
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-04T09:00:00+08:00")
    login_as("supervisor")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert re.search(r"已逾期 \d+ 天", html)
    assert re.search(r'是否逾期：<span class="badge due-late">是，法定期限已届满</span> <span class="muted">当前步骤办结后依法'
                     r'转入后续程序</span>', html)
    assert re.search(r'<h1 class="case-title">.*?<span class="badge due-late">逾期</span>\s*</h1>', html, re.S)


def test_call_activity_is_current_while_its_subprocess_runs(login_as, client, make_case, ctx, work):
    case_id = make_case("energy_use", industry="flat_glass")
    timers.advance_clock(ctx, actor("supervisor"), by="P7M")
    work(case_id, "government_approval", {"approved": True, "opinion": "同意关停"})
    work(case_id, "close_order", {"order_no": "济工信〔2026〕1号", "order_date": "2026-10-02", "grounds": "逾期未整改"})
    login_as("supervisor")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert _diagram_ids(html, "current") == ["closure"]
    assert "关停后续措施：登记退出产能" in html
    assert "record_exit" not in _diagram_ids(html, "completed")


def test_diagram_route_serves_the_pinned_bpmn(login_as, client, make_case, ctx):
    case_id = make_case("energy_use")
    login_as("staff", department="environment")
    answer = client.get(f"/cases/{case_id}/diagram.bpmn")
    assert answer.status_code == 200
    assert answer.mimetype == "application/xml"
    assert answer.get_data(as_text=True) == case_detail.case_bpmn(ctx, actor("supervisor"), case_id)
    assert 'id="rectify"' in answer.get_data(as_text=True)


def test_other_enterprise_gets_404(login_as, client, make_case, ctx):
    case_id = make_case("energy_use", enterprise=ENTERPRISE_A)
    document = attachments.add_attachment(ctx, actor("staff", "industry"), case_id, "a.pdf", b"%PDF-1.7\n")
    login_as("enterprise", enterprise=ENTERPRISE_B)
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert client.get(f"/cases/{case_id}/diagram.bpmn").status_code == 404
    assert client.get(f"/cases/{case_id}/attachments/{document.id}").status_code == 404


def test_unknown_case_is_404_and_sign_in_is_required(login_as, client, make_case):
    case_id = make_case("energy_use")
    assert client.get(f"/cases/{case_id}").status_code == 302
    login_as("supervisor")
    assert client.get("/cases/9999").status_code == 404


def test_the_case_page_and_the_task_page_name_each_recorded_action_alike(login_as, client, make_case, ctx):
    from engine.services import cases, tasks
    from webapp.pages.history import ACTIONS

    case_id = make_case("energy_use", industry="flat_glass")
    rectify = next(t for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"])
    firm = actor("enterprise", enterprise=ENTERPRISE_A)
    tasks.claim_task(ctx, firm, rectify["id"])
    tasks.release_task(ctx, firm, rectify["id"])
    login_as("supervisor")

    def actions(html: str) -> list[str]:
        history = html[html.index('id="h-history"'):]
        return [re.sub(r"<[^>]+>", "", cell).strip()
                for cell in re.findall(r"<tr[^>]*>\s*<td[^>]*>[^<]*</td>\s*<td>[^<]*</td>\s*<td>(.*?)</td>", history, re.S)]

    on_case = actions(client.get(f"/cases/{case_id}").get_data(as_text=True))
    on_task = actions(client.get(f"/tasks/{rectify['id']}").get_data(as_text=True))
    words = [str(ACTIONS[a]) for a in ("case_opened", "task_claimed", "task_released")]
    assert [a.split("：")[0] for a in on_case] == [a.split("：")[0] for a in on_task] == words


def test_history_shows_submitted_data_as_the_task_page_does(login_as, client, make_case, work):
    case_id = make_case("phase_out")
    work(case_id, "screen_item", {"catalogue_item": "淘汰类 钢铁 第1项", "exit_method": "close_enterprise",
                                  "exit_deadline": "2026-08-15"})
    login_as("supervisor")
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    shown = html[html.index('id="h-history"'):]
    assert "关停、停业、关闭、取缔整个企业" in shown and "close_enterprise" not in shown
    assert "<dt>退出方式</dt>" in shown
    english = client.get(f"/cases/{case_id}?lang=en").get_data(as_text=True)
    shown = english[english.index('id="h-history"'):]
    assert "<dt>Method of exit</dt>" in shown and "Close, cease business, shut down or ban the whole enterprise" in shown
    assert "退出方式" not in shown and "close_enterprise" not in shown
