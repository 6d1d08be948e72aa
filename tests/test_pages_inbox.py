"""The inbox and the task page: who sees what, filters, sorting, paging, claims, and forms from JSON Schema."""

from __future__ import annotations

import re

import pytest

from engine.services import cases, tasks, timers
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, actor, csrf_from

EXTENSION = {"outcome": "extension_requested", "extension_months": 2, "reason": "设备供货周期长"}


def open_task(ctx, case_id: int, key: str) -> dict:
    found = [t for t in cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"] if t["key"] == key]
    assert found, f"no open {key}"
    return found[0]


def task_ids(html: str) -> list[str]:
    return re.findall(r'data-task="([^"]+)"', html)


def field_block(html: str, name: str) -> str:
    """The rendered block of one form field."""
    start = html.index(f'id="field-{name}"')
    end = html.find('<div class="field', start + 1)
    return html[start:end if end != -1 else len(html)]


@pytest.fixture
def review_case(make_case, work, ctx):
    """An energy-use case (lead: industry) waiting for the department to review an extension request."""
    case_id = make_case("energy_use", industry="flat_glass")  # no C-3.3 price task beside it
    work(case_id, "rectify", EXTENSION)
    return case_id


# ---------------------------------------------------------------------------------------------
# The inbox
# ---------------------------------------------------------------------------------------------


def test_staff_see_only_their_departments_tasks(review_case, make_case, login_as, client, ctx):
    other = make_case("environmental", enterprise=ENTERPRISE_B)
    industry_task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="industry")
    html = client.get("/inbox").get_data(as_text=True)
    assert task_ids(html) == [industry_task["id"]]
    assert "审核延期申请" in html and "能耗" in html and f"/cases/{review_case}" in html
    assert open_task(ctx, other, "rectify")["id"] not in html


def test_enterprise_sees_its_own_tasks_only(make_case, login_as, client, ctx):
    mine = make_case("energy_use")
    theirs = make_case("environmental", enterprise=ENTERPRISE_B)
    login_as("enterprise", enterprise=ENTERPRISE_A)
    html = client.get("/inbox").get_data(as_text=True)
    assert task_ids(html) == [open_task(ctx, mine, "rectify")["id"]]
    assert open_task(ctx, theirs, "rectify")["id"] not in html
    assert 'id="f-dimension"' in html and 'id="f-county"' not in html and 'id="f-industry"' not in html  # all its own


def test_due_colours_and_counts(make_case, login_as, client, ctx):
    make_case("energy_use")  # due 2026-09-02
    login_as("enterprise", enterprise=ENTERPRISE_A)
    html = client.get("/inbox").get_data(as_text=True)
    assert "逾期 0 项" in html and "7日内到期 0 项" in html and "due-ok" in html
    timers.set_clock(ctx, actor("supervisor"), timers.parse_instant("2026-08-28T09:00:00+08:00"))
    html = client.get("/inbox").get_data(as_text=True)
    assert "7日内到期 1 项" in html and "due-soon" in html and "剩 5 天" in html


def test_a_task_of_an_overdue_case_counts_as_overdue_as_on_the_board(make_case, login_as, client, ctx):
    from engine.services import board

    late = make_case("energy_use", industry="flat_glass")
    make_case("energy_use", industry="flat_glass", enterprise=ENTERPRISE_B)
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-03T09:00:00+08:00")  # both periods ran out
    login_as("staff", department="government")
    html = client.get("/inbox").get_data(as_text=True)
    assert "逾期 2 项" in html and "7日内到期 0 项" in html
    row = next(r for r in re.findall(r"<tr class[^>]*>(.*?)</tr>", html, re.S) if f"/cases/{late}\"" in r)
    assert "案件已逾期" in row and "未设期限" not in row
    assert 'class="urgency-late"' in html
    held = dict(board.board(ctx, actor("supervisor")).by_department)["government"]
    assert held == 2  # the board's count of overdue items the department holds


def test_filters(make_case, login_as, client, ctx):
    energy = make_case("energy_use", industry="flat_glass")
    env = make_case("environmental", industry="cement", enterprise=ENTERPRISE_B)
    login_as("supervisor")
    ids = {c: open_task(ctx, c, "rectify")["id"] for c in (energy, env)}

    def listed(query: str) -> list[str]:
        return task_ids(client.get(f"/inbox?{query}").get_data(as_text=True))

    assert listed("dimension=environmental") == [ids[env]]
    assert listed("industry=flat_glass") == [ids[energy]]
    assert sorted(listed("county=任城区")) == sorted(ids.values())
    assert listed("county=兖州区") == []
    assert listed(f"q={env}") == [ids[env]]
    assert listed(f"q={ENTERPRISE_A[-6:].lower()}") == [ids[energy]]
    assert listed(f"q=企业{ENTERPRISE_B[-4:]}") == [ids[env]]
    assert listed("q=不存在的企业") == []
    assert sorted(listed("due_before=2026-12-31")) == sorted(ids.values())
    assert listed("due_before=2026-03-31") == []
    answer = client.get("/inbox?due_before=not-a-date&dimension=nonsense")
    assert answer.status_code == 200 and "日期格式应为" in answer.get_data(as_text=True)
    assert len(task_ids(answer.get_data(as_text=True))) == 2


def test_sorting(make_case, login_as, client, ctx):
    first = make_case("environmental")
    timers.advance_clock(ctx, actor("supervisor"), by="P1M")
    second = make_case("energy_use")
    login_as("enterprise", enterprise=ENTERPRISE_A)
    a, b = open_task(ctx, first, "rectify")["id"], open_task(ctx, second, "rectify")["id"]
    assert task_ids(client.get("/inbox").get_data(as_text=True)) == [a, b]
    assert task_ids(client.get("/inbox?sort=-due").get_data(as_text=True)) == [b, a]
    assert task_ids(client.get("/inbox?sort=-case").get_data(as_text=True)) == [b, a]
    assert task_ids(client.get("/inbox?sort=dimension").get_data(as_text=True)) == [b, a]  # energy_use < environmental
    assert task_ids(client.get("/inbox?sort=bogus").get_data(as_text=True)) == [a, b]


def test_pagination(make_case, login_as, client):
    for _ in range(27):
        make_case("energy_use")
    login_as("enterprise", enterprise=ENTERPRISE_A)
    first = client.get("/inbox").get_data(as_text=True)
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert len(task_ids(first)) == 25 and len(task_ids(second)) == 2
    assert not set(task_ids(first)) & set(task_ids(second))
    assert "共 27 项待办" in first and "第 1 / 2 页" in first and "page=2" in first
    assert task_ids(client.get("/inbox?page=99").get_data(as_text=True)) == task_ids(second)


def test_supervisor_sees_all_and_owner_has_no_inbox(review_case, make_case, login_as, client):
    make_case("quality", enterprise=ENTERPRISE_B)
    login_as("supervisor")
    html = client.get("/inbox").get_data(as_text=True)
    assert len(task_ids(html)) == 2 and "办理部门" in html
    assert len(task_ids(client.get("/inbox?department=industry").get_data(as_text=True))) == 1


def test_claim_and_release(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="industry")
    page = client.get("/inbox").get_data(as_text=True)
    answer = client.post(f"/tasks/{task['id']}/claim", data={"csrf_token": csrf_from(page), "next": "/inbox"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/inbox"
    assert open_task(ctx, review_case, "review_extension")["claimed_by"].startswith("web_staff")
    page = client.get("/inbox").get_data(as_text=True)
    assert "释放" in page and "已认领" in page
    client.post(f"/tasks/{task['id']}/release", data={"csrf_token": csrf_from(page)})
    assert open_task(ctx, review_case, "review_extension")["claimed_by"] is None


def test_claim_needs_csrf(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="industry")
    assert client.post(f"/tasks/{task['id']}/claim").status_code == 400
    assert open_task(ctx, review_case, "review_extension")["claimed_by"] is None


def test_task_held_by_a_colleague_cannot_be_completed(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    tasks.claim_task(ctx, actor("staff", "industry"), task["id"])
    login_as("staff", department="industry")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "该任务已由 staff_industry 认领办理" in html and 'type="submit" class="primary"' not in html
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(html), "approved": "true",
                                                       "opinion": "同意"})
    assert answer.status_code == 409 and "staff_industry" in answer.get_data(as_text=True)
    assert open_task(ctx, review_case, "review_extension")["id"] == task["id"]


# ---------------------------------------------------------------------------------------------
# The task page and its form
# ---------------------------------------------------------------------------------------------


def test_task_page_renders_the_schema(make_case, login_as, client, ctx):
    case_id = make_case("energy_use")
    task = open_task(ctx, case_id, "rectify")
    login_as("enterprise", enterprise=ENTERPRISE_A)
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    for name in ("outcome", "extension_months", "reason", "report"):
        assert f'name="{name}"' in html
    assert 'type="radio" name="outcome" value="rectified"' in html and "已完成整改，申请复查" in html
    assert re.search(r'name="extension_months" type="number"[^>]*min="1"[^>]*max="3"', html)
    assert "<textarea" in field_block(html, "reason") and "（选择「申请延长整改期限」时必填）" in html
    assert "依据C-2.1" in html and "2026-09-02" in html and "2026-03-02" in html
    assert "统一社会信用代码" in html and ENTERPRISE_A in html and "立案并下达通知" in html
    assert f"/cases/{case_id}" in html


def test_widgets_for_booleans_dates_numbers_and_urls(make_case, login_as, client, ctx):
    case_id = make_case("technology", industry="steel", lead="industry")
    key = open_task(ctx, case_id, "assess_dismantling")
    login_as("staff", department="industry")
    html = client.get(f"/tasks/{key['id']}").get_data(as_text=True)
    assert 'name="dismantlable" value="true"' in html and 'name="dismantlable" value="false"' in html
    assert 'name="dismantle_deadline" type="date"' in html
    assert "max=" not in field_block(html, "dismantle_deadline")  # a deadline lies ahead


@pytest.mark.parametrize(("dimension", "lead", "key", "name"), [
    ("safety", "emergency", "order_suspension", "rectify_until"),
    ("phase_out", "industry", "screen_item", "exit_deadline"),
    ("technology", "industry", "assess_dismantling", "dismantle_deadline"),
])
def test_a_date_that_sets_a_deadline_starts_tomorrow(make_case, login_as, client, ctx, dimension, lead, key, name):
    case_id = make_case(dimension, lead=lead)  # notice 2026-03-02
    timers.advance_clock(ctx, actor("supervisor"), by="P10D")
    task = open_task(ctx, case_id, key)
    login_as("staff", department=lead)
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    date_input = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    assert 'min="2026-03-13"' in date_input and "max=" not in date_input  # the server refuses 2026-03-12
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), name: "2026-03-12"})
    assert answer.status_code == 400 and "2026-03-12 应晚于今天" in field_block(answer.get_data(as_text=True), name)


def test_a_date_of_what_has_happened_lies_between_the_notice_and_today(make_case, login_as, client, ctx):
    from engine.services import timers

    case_id = make_case("quality", industry="flat_glass")  # notice 2026-03-02
    timers.advance_clock(ctx, actor("supervisor"), by="P10D")
    task = open_task(ctx, case_id, "order_stop")
    login_as("staff", department="market")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    date_input = re.search(r'<input[^>]*name="order_date"[^>]*>', page).group(0)
    assert 'min="2026-03-02"' in date_input and 'max="2026-03-12"' in date_input
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "order_no": "济市监停〔2026〕3号",
                                                       "order_date": "2026-03-01"})
    assert answer.status_code == 400
    assert "「责令日期」不能早于本案的通知日期（2026-03-02）" in field_block(answer.get_data(as_text=True), "order_date")


def test_a_date_of_what_has_happened_stops_at_today(make_case, login_as, client, ctx):
    case_id = make_case("quality", industry="flat_glass")
    task = open_task(ctx, case_id, "order_stop")
    login_as("staff", department="market")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(r'name="order_date" type="date"[^>]*max="2026-03-02"', page)  # the simulated clock's today
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "order_no": "济市监停〔2026〕3号",
                                                       "order_date": "2026-03-03"})
    assert answer.status_code == 400
    assert "「责令日期」不能晚于今天（2026-03-02）" in field_block(answer.get_data(as_text=True), "order_date")
    assert open_task(ctx, case_id, "order_stop")["id"] == task["id"]


def test_missing_opinion_is_shown_next_to_its_field(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    before = cases.get_case(ctx, actor("supervisor"), review_case)
    login_as("staff", department="industry")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "延期理由" in page and "设备供货周期长" in page  # the enterprise's request in the history
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "approved": "true"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "「审核意见」为必填项" in field_block(html, "opinion")
    assert 'value="true" checked' in field_block(html, "approved")
    after = cases.get_case(ctx, actor("supervisor"), review_case)
    assert after["version"] == before["version"] and after["deadline"] == before["deadline"]


def test_extension_of_four_months_is_refused_with_data_kept(make_case, login_as, client, ctx):
    case_id = make_case("energy_use")
    task = open_task(ctx, case_id, "rectify")
    login_as("enterprise", enterprise=ENTERPRISE_A)
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    answer = client.post(f"/tasks/{task['id']}", data={
        "csrf_token": csrf_from(page), "outcome": "extension_requested", "extension_months": "4",
        "reason": "设备供货周期长"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "不能大于 3" in field_block(html, "extension_months")
    assert 'value="4"' in field_block(html, "extension_months") and "设备供货周期长" in field_block(html, "reason")
    assert open_task(ctx, case_id, "rectify")["id"] == task["id"]
    answer = client.post(f"/tasks/{task['id']}", data={
        "csrf_token": csrf_from(page), "outcome": "extension_requested", "extension_months": "two"})
    html = answer.get_data(as_text=True)
    assert "「申请延期月数」应填写整数" in field_block(html, "extension_months")
    assert "「延期理由」为必填项" in field_block(html, "reason")


def test_errors_in_english(make_case, login_as, client, ctx):
    task = open_task(ctx, make_case("energy_use"), "rectify")
    login_as("enterprise", enterprise=ENTERPRISE_A)
    client.get("/lang/en")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    html = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "outcome": "extension_requested",
                                                     "extension_months": "2"}).get_data(as_text=True)
    assert "Reason for extension is required" in field_block(html, "reason")  # its English title, not its name


def test_successful_completion(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="industry")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "approved": "true",
                                                       "opinion": "同意延期2个月"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/inbox"
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "已提交" in inbox and task["id"] not in inbox
    case = cases.get_case(ctx, actor("supervisor"), review_case)
    assert case["deadline"] == "2026-11-02"
    assert case["history"][-1]["detail"]["data"] == {"approved": True, "opinion": "同意延期2个月"}
    again = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "approved": "true",
                                                      "opinion": "再次提交"})
    assert again.status_code == 409 and "已办结" in again.get_data(as_text=True)


def test_other_department_may_look_but_not_complete(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="environment")
    page = client.get(f"/tasks/{task['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "不能提交" in html and 'type="submit" class="primary"' not in html
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(html), "approved": "true",
                                                       "opinion": "越权"})
    assert answer.status_code == 403
    assert open_task(ctx, review_case, "review_extension")["id"] == task["id"]


def test_other_enterprise_gets_404(make_case, login_as, client, ctx):
    task = open_task(ctx, make_case("energy_use"), "rectify")
    login_as("enterprise", enterprise=ENTERPRISE_B)
    assert client.get(f"/tasks/{task['id']}").status_code == 404
    page = client.get("/inbox").get_data(as_text=True)
    assert client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page),
                                                     "outcome": "rectified"}).status_code == 404
    assert client.get("/tasks/no-such-task").status_code == 404


def test_sign_in_required(client):
    assert client.get("/inbox").status_code == 302
    assert client.get("/tasks/x").status_code == 302


# ---------------------------------------------------------------------------------------------
# webapp/pages/forms.py on the shipped schemas
# ---------------------------------------------------------------------------------------------


def schema(name: str) -> dict:
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent.parent / "forms" / f"{name}.schema.json").read_text(encoding="utf-8"))


def test_every_shipped_form_renders(app):
    from pathlib import Path

    from webapp.pages.forms import form_fields

    with app.test_request_context():
        for path in sorted((Path(__file__).parent.parent / "forms").glob("*.schema.json")):
            form = schema(path.name.removesuffix(".schema.json"))
            fields = form_fields(form)
            assert [f.name for f in fields] == list(form["properties"]), path.name
            assert all(f.title for f in fields)


def test_widgets_chosen_from_the_schema(app):
    from webapp.pages.forms import form_fields

    with app.test_request_context():
        rectify = {f.name: f for f in form_fields(schema("rectify"))}
        assert rectify["outcome"].widget == "radio" and rectify["outcome"].required
        assert rectify["outcome"].options == [("rectified", "已完成整改，申请复查"),
                                              ("extension_requested", "申请延长整改期限")]
        assert rectify["extension_months"].widget == "number"
        assert rectify["extension_months"].attrs == {"step": 1, "min": 1, "max": 3}
        assert rectify["extension_months"].required_when == ("outcome", "extension_requested", "申请延长整改期限")
        assert rectify["report"].widget == "textarea" and rectify["report"].required_when is None
        sealed = {f.name: f for f in form_fields(schema("seal_equipment"))}
        assert sealed["water_cut"].widget == "checkbox" and sealed["sealed_on"].widget == "date"
        announcement = {f.name: f for f in form_fields(schema("publish_announcement"))}
        assert announcement["url"].widget == "url"
        record = {f.name: f for f in form_fields(schema("record_exit"))}
        assert record["capacity_tpy"].attrs == {"step": "any"}  # more than 0: the server says so
        assert {f.name: f for f in form_fields(schema("cancel_licence"))}["licence_no"].widget == "text"
        review = {f.name: f for f in form_fields(schema("review_extension"))}
        assert review["approved"].widget == "yesno" and review["approved"].options == [("true", "是"), ("false", "否")]


def test_submitted_strings_become_typed_json(app):
    from webapp.pages.forms import parse_submission

    data, problems = parse_submission(schema("record_exit"), {
        "equipment": "  高炉1座\r\n转炉1座 ", "capacity_tpy": "400000.5", "exit_date": "2026-10-10", "csrf_token": "x"})
    assert data == {"equipment": "高炉1座\n转炉1座", "capacity_tpy": 400000.5, "exit_date": "2026-10-10"}
    assert problems == []
    data, _ = parse_submission(schema("record_exit"), {"capacity_tpy": "400000", "equipment": ""})
    assert data == {"capacity_tpy": 400000}
    data, _ = parse_submission(schema("seal_equipment"), {"water_cut": "true", "power_cut": ""})
    assert data == {"water_cut": True}
    data, _ = parse_submission(schema("review_extension"), {"approved": "false", "opinion": "理由不充分"})
    assert data == {"approved": False, "opinion": "理由不充分"}
    data, problems = parse_submission(schema("rectify"), {"extension_months": "2.5", "outcome": "rectified"})
    assert data == {"extension_months": "2.5", "outcome": "rectified"}
    assert [p.field for p in problems] == ["extension_months"]
    data, problems = parse_submission(schema("record_exit"), {"capacity_tpy": "inf"})
    assert problems and data == {"capacity_tpy": "inf"}


def test_describe_shows_labels(app):
    from webapp.pages.forms import describe

    with app.test_request_context():
        assert describe(schema("rectify"), {"outcome": "rectified", "report": "完成"}) == [
            ("整改结果", "已完成整改，申请复查"), ("整改情况", "完成")]
        assert describe(schema("review_extension"), {"approved": True}) == [("是否同意延期", "是")]
        assert describe(None, {"x": 1}) == [("x", "1")]


def test_task_page_shows_the_diagram_with_the_current_step(make_case, login_as, client):
    from tests.conftest import ENTERPRISE_A

    case_id = make_case("energy_use")
    login_as("enterprise", enterprise=ENTERPRISE_A)
    inbox = client.get("/inbox").get_data(as_text=True)
    task_id = re.search(r'href="/tasks/([0-9a-f-]{36})"', inbox).group(1)
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f'data-xml-url="/cases/{case_id}/diagram.bpmn"' in html
    current = re.search(r"data-current='([^']*)'", html).group(1)
    assert "rectify" in current


def test_every_page_names_a_case_the_same_way(review_case, login_as, client, ctx):
    """The inbox, the task page and the case list link a case as "案件 N", as the case page calls itself."""
    task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="industry")
    link = re.compile(rf'<a href="[^"]*/cases/{review_case}">([^<]+)</a>')
    pages = {path: client.get(path).get_data(as_text=True)
             for path in ("/inbox", f"/tasks/{task['id']}", "/cases")}
    for path, html in pages.items():
        texts = link.findall(html)
        assert f"案件 {review_case}" in texts, path
        assert not [t for t in texts if re.search(r"#\d|第 \d+ 号", t)], path
    assert f"<title>案件 {review_case}" in client.get(f"/cases/{review_case}").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Refusals keep what was typed
# ---------------------------------------------------------------------------------------------


def test_a_second_submission_keeps_what_was_typed_and_links_the_case(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="industry")
    first_tab = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    second_tab = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(first_tab), "approved": "true",
                                                     "opinion": "同意延期2个月"}).status_code == 302
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(second_tab), "approved": "false",
                                                       "opinion": "第二个标签页里写的意见"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "该任务已办结，不能再次提交" in html
    assert f'href="/cases/{review_case}"' in html and 'href="/inbox"' in html
    typed = html[html.index("您填写的内容"):]
    assert "是否同意延期" in typed and "否" in typed and "第二个标签页里写的意见" in typed
    again = client.get(f"/tasks/{task['id']}")  # the closed task's page, also when opened again
    assert again.status_code == 409 and f'href="/cases/{review_case}"' in again.get_data(as_text=True)


def test_a_deadline_that_passed_while_typing_keeps_the_input(make_case, login_as, client, ctx):
    case_id = make_case("energy_use", industry="flat_glass")
    task = open_task(ctx, case_id, "rectify")
    login_as("enterprise", enterprise=ENTERPRISE_A)
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    timers.set_clock(ctx, actor("supervisor"), timers.parse_instant("2026-09-03T09:00:00+08:00"))  # not swept yet
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "outcome": "rectified",
                                                       "report": "已更换全部淘汰电机"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "法定期限已届满" in html and f'href="/cases/{case_id}"' in html
    assert "已更换全部淘汰电机" in html and "已完成整改，申请复查" in html


def test_a_task_claimed_meanwhile_shows_the_form_again_with_the_input(review_case, login_as, client, ctx):
    task = open_task(ctx, review_case, "review_extension")
    login_as("staff", department="industry")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    tasks.claim_task(ctx, actor("staff", "industry"), task["id"])  # a colleague, meanwhile
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "approved": "true",
                                                       "opinion": "同意，限期两个月"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "staff_industry" in html
    assert "同意，限期两个月" in field_block(html, "opinion") and 'value="true" checked' in field_block(html, "approved")


def test_every_problem_is_shown_at_its_field_at_once(make_case, login_as, client, ctx):
    case_id = make_case("phase_out")
    task = open_task(ctx, case_id, "screen_item")
    login_as("staff", department="industry")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    answer = client.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_from(page), "catalogue_item": "条" * 5000,
                                                       "exit_method": "seal_equipment", "exit_deadline": "2020-01-01"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "长度不能超过 500" in field_block(html, "catalogue_item")
    assert "2020-01-01 应晚于今天" in field_block(html, "exit_deadline")
    assert open_task(ctx, case_id, "screen_item")["id"] == task["id"]


def test_a_web_address_input_asks_for_http(app):
    from webapp.pages.forms import form_fields

    with app.test_request_context():
        (url, _date) = form_fields(schema("publish_announcement"))
    assert url.widget == "url" and url.attrs["pattern"].startswith("[Hh][Tt][Tt][Pp][Ss]?:")
    pattern = re.compile(url.attrs["pattern"])
    assert pattern.fullmatch("https://www.jining.gov.cn/gg/1.html") and pattern.fullmatch("HTTP://a.cn")
    assert not any(pattern.fullmatch(v) for v in ("javascript:alert(1)", "https:///x", "ftp://a.cn", "www.a.cn"))


def test_describe_reads_nested_values_by_their_schema(app):
    from webapp.pages.forms import describe

    data = {"confirmed": True, "corrections": [{"case_id": 7, "field": "exclude", "reason": "次年关停"}]}
    with app.test_request_context():
        assert describe(schema("confirm_closures"), data) == [
            ("确认清单（含更正）无误", "是"), ("更正", "案件编号：7，更正项目：不计入本年度，更正理由：次年关停")]


def test_a_form_starts_with_the_findings_equipment_and_capacity(make_case, login_as, client, ctx, work):
    """Intake recorded the equipment and the capacity concerned; the assessment and the exit ask for them again and
    start with them (the person may change them). A refused submission shows what was typed, not the finding."""
    case_id = make_case("technology", finding={"equipment": "450m³高炉1座", "capacity_tpy": 400000})
    login_as("staff", department="industry")
    page = client.get(f"/tasks/{open_task(ctx, case_id, 'assess_dismantling')['id']}").get_data(as_text=True)
    assert ">450m³高炉1座</textarea>" in field_block(page, "equipment")
    work(case_id, "assess_dismantling", {"dismantlable": True, "ditiaogang": False, "dismantle_deadline": "2026-06-30",
                                         "equipment": "450m³高炉1座"})
    work(case_id, "dismantle", {"dismantled_on": "2026-03-02", "report": "主体设备已拆除"})
    work(case_id, "reinspect", {"result": "pass", "findings": "复查达标"})
    task_id = open_task(ctx, case_id, "record_exit")["id"]
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert re.search(r'(value="|>)450m³高炉1座', field_block(page, "equipment"))
    assert 'value="400000"' in field_block(page, "capacity_tpy")
    refused = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf_from(page), "equipment": "1号高炉",
                                                     "capacity_tpy": "0", "exit_date": "2026-03-02"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert re.search(r'(value="|>)1号高炉', field_block(html, "equipment")) and 'value="0"' in field_block(html, "capacity_tpy")
