"""Public announcements: written by the engine with the step that publishes, shown without sign-in, withdrawn with a reason."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.models import Announcement, AuditEvent
from engine.services import announcements, cases, timers
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, START_DAY, actor, csrf_from

SUPERVISOR = actor("supervisor")
EQUIPMENT = "中频炉2台（GWT-5t）"
COMMITMENT = "本企业郑重承诺：封存设备不再恢复生产"
SEALED = {"water_cut": True, "power_cut": True, "power_unit_removed": True, "equipment_sealed": True,
          "sealed_on": START_DAY}
ANNOUNCED = {"url": "https://www.jining.gov.cn/gg/2026/1.html", "published_on": START_DAY}
DISMANTLE_REPORT = "证据：现场照片显示主体设备已切割拆除"
FINDINGS = "复查人员张三核实：设备仍在原址"
CREDIT = {"listed_on": "2026-05-01", "platforms": "市信用信息共享平台；信用中国（山东济宁）", "published": True}


def rows(ctx) -> list[Announcement]:
    with ctx.unit_of_work() as session:
        found = list(session.scalars(sa.select(Announcement).order_by(Announcement.id)))
        session.expunge_all()
        return found


def audit_actions(ctx, case_id: int) -> list[tuple[str, dict]]:
    with ctx.unit_of_work() as session:
        return [(a, json.loads(d)) for a, d in session.execute(
            sa.select(AuditEvent.action, AuditEvent.detail).where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id))]


def sealed_case(make_case, work, enterprise: str = ENTERPRISE_A) -> int:
    """A technology case driven through assessment, sealing, commitment and announcement."""
    case_id = make_case("technology", enterprise=enterprise)
    work(case_id, "assess_dismantling", {"dismantlable": False, "ditiaogang": False,
                                         "dismantle_deadline": "2026-06-20", "equipment": EQUIPMENT})
    work(case_id, "seal_equipment", SEALED)
    work(case_id, "public_commitment", {"commitment": COMMITMENT, "committed": True})
    work(case_id, "publish_announcement", ANNOUNCED)
    return case_id


def overdue_at_credit_listing(ctx, make_case, work) -> int:
    """A technology case whose dismantling deadline passed, up to the credit listing measure."""
    case_id = make_case("technology")
    work(case_id, "assess_dismantling", {"dismantlable": True, "ditiaogang": False,
                                         "dismantle_deadline": "2026-04-30", "equipment": EQUIPMENT})
    timers.advance_clock(ctx, SUPERVISOR, to="2026-05-01T00:00:01+08:00")
    work(case_id, "government_approval", {"approved": True, "opinion": "同意关停"})
    work(case_id, "close_order", {"order_no": "济政关〔2026〕1号", "order_date": "2026-05-01", "grounds": "逾期未拆除"})
    case = work(case_id, "record_exit", {"equipment": EQUIPMENT, "capacity_tpy": 100000, "exit_date": "2026-05-01"})
    assert "credit_listing" in [t["key"] for t in case["open_tasks"]]
    return case_id


# ---------------------------------------------------------------------------------------------
# Created with the publishing step
# ---------------------------------------------------------------------------------------------


def test_sealing_commitment_and_publication_create_one_current_announcement(ctx, make_case, work):
    case_id = make_case("technology")
    work(case_id, "assess_dismantling", {"dismantlable": False, "ditiaogang": False,
                                         "dismantle_deadline": "2026-06-20", "equipment": EQUIPMENT})
    work(case_id, "seal_equipment", SEALED)
    work(case_id, "public_commitment", {"commitment": COMMITMENT, "committed": True})
    assert rows(ctx) == []  # nothing public before the announcement step
    work(case_id, "publish_announcement", ANNOUNCED)
    work(case_id, "dismantle", {"dismantled_on": START_DAY, "report": DISMANTLE_REPORT})
    (row,) = rows(ctx)
    assert (row.case_id, row.kind, row.credit_code, row.enterprise_name) == (
        case_id, "sealed_equipment", ENTERPRISE_A, f"企业{ENTERPRISE_A[-4:]}")
    assert EQUIPMENT in row.subject and COMMITMENT in row.subject
    assert row.published_on == date(2026, 3, 2)
    assert row.deadline == date(2026, 6, 22)  # 2026-06-20 is a Saturday: the legal last day moves (art. 203)
    assert row.url == ANNOUNCED["url"]
    assert row.created_by == "staff_industry" and row.withdrawn_at is None
    (current,) = announcements.current_list(ctx)
    assert current.id == row.id
    events = audit_actions(ctx, case_id)
    published = [d for a, d in events if a == "announcement_published"]
    assert published == [{"announcement_id": row.id, "kind": "sealed_equipment", "published_on": START_DAY,
                          "deadline": "2026-06-22"}]
    # recorded right after the step that published it, in the same transaction
    keys = [(a, d.get("key")) for a, d in events]
    assert keys.index(("announcement_published", None)) == keys.index(("task_completed", "publish_announcement")) + 1


def test_dismantled_at_once_publishes_nothing(ctx, make_case, work):
    case_id = make_case("technology")
    work(case_id, "assess_dismantling", {"dismantlable": True, "ditiaogang": False,
                                         "dismantle_deadline": "2026-04-30", "equipment": EQUIPMENT})
    work(case_id, "dismantle", {"dismantled_on": START_DAY, "report": DISMANTLE_REPORT})
    assert rows(ctx) == []


def test_credit_listing_not_published_creates_none(ctx, make_case, work):
    case_id = overdue_at_credit_listing(ctx, make_case, work)
    work(case_id, "credit_listing", {**CREDIT, "published": False})
    assert rows(ctx) == []
    assert "announcement_published" not in [a for a, _ in audit_actions(ctx, case_id)]


def test_credit_listing_published_creates_one(ctx, make_case, work):
    case_id = overdue_at_credit_listing(ctx, make_case, work)
    work(case_id, "credit_listing", CREDIT)
    (row,) = rows(ctx)
    assert (row.case_id, row.kind, row.credit_code) == (case_id, "credit_listing", ENTERPRISE_A)
    assert row.subject.startswith("未按期完成落后产能退出") and CREDIT["platforms"] in row.subject
    assert row.published_on == date(2026, 5, 1) and row.deadline is None and row.url is None
    assert [a.kind for a in announcements.current_list(ctx)] == ["credit_listing"]


def test_a_refused_step_writes_no_announcement(ctx, make_case, work):
    case_id = make_case("technology")
    work(case_id, "assess_dismantling", {"dismantlable": False, "ditiaogang": False,
                                         "dismantle_deadline": "2026-06-20", "equipment": EQUIPMENT})
    work(case_id, "seal_equipment", SEALED)
    work(case_id, "public_commitment", {"commitment": COMMITMENT, "committed": True})
    with pytest.raises(InvalidInput):
        work(case_id, "publish_announcement", {"url": ANNOUNCED["url"]})  # no date
    assert rows(ctx) == []


# ---------------------------------------------------------------------------------------------
# Withdrawal (engine)
# ---------------------------------------------------------------------------------------------


def test_withdraw_keeps_the_row_and_the_history(ctx, make_case, work):
    case_id = sealed_case(make_case, work)
    (row,) = rows(ctx)
    clerk = actor("staff", "industry")
    with pytest.raises(InvalidInput) as short:
        announcements.withdraw(ctx, clerk, row.id, "  错 ")
    assert [p.field for p in short.value.problems] == ["reason"]
    for outsider in (actor("staff", "environment"), actor("enterprise", enterprise=ENTERPRISE_A), SUPERVISOR):
        with pytest.raises(PermissionDenied):
            announcements.withdraw(ctx, outsider, row.id, "企业已完成拆除")
    done = announcements.withdraw(ctx, clerk, row.id, " 企业已完成拆除，封存终止 ")
    assert done.withdrawn_on == date(2026, 3, 2) and done.withdraw_reason == "企业已完成拆除，封存终止"
    (kept,) = rows(ctx)
    assert (kept.withdrawn_by, kept.withdraw_reason, kept.subject) == ("staff_industry", "企业已完成拆除，封存终止",
                                                                       row.subject)
    assert announcements.current_list(ctx) == []
    board = announcements.public_board(ctx)
    assert [a.id for a in board.withdrawn] == [row.id] and board.current == []
    with pytest.raises(Conflict):
        announcements.withdraw(ctx, actor("admin"), row.id, "再次撤回试试")
    events = [d for a, d in audit_actions(ctx, case_id) if a.startswith("announcement_")]
    assert events[-1] == {"announcement_id": row.id, "kind": "sealed_equipment", "reason": "企业已完成拆除，封存终止"}
    assert len(events) == 2


def test_admin_may_withdraw_and_the_board_says_who_may(ctx, make_case, work):
    sealed_case(make_case, work)
    (row,) = rows(ctx)
    assert announcements.public_board(ctx, actor("staff", "industry")).withdrawable == {row.id}
    assert announcements.public_board(ctx, actor("staff", "environment")).withdrawable == set()
    assert announcements.public_board(ctx, actor("enterprise", enterprise=ENTERPRISE_A)).withdrawable == set()
    assert announcements.public_board(ctx, actor("admin")).withdrawable == {row.id}
    announcements.withdraw(ctx, actor("admin"), row.id, "公告信息有误，重新发布")


# ---------------------------------------------------------------------------------------------
# The public page and its JSON
# ---------------------------------------------------------------------------------------------


def test_public_page_shows_announcements_without_sign_in_and_no_personal_data(ctx, client, make_case, work):
    case_id = sealed_case(make_case, work)
    work(case_id, "dismantle", {"dismantled_on": START_DAY, "report": DISMANTLE_REPORT})
    work(case_id, "reinspect", {"result": "fail", "findings": FINDINGS})
    answer = client.get("/public")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    for shown in ("落后产能退出公示", f"企业{ENTERPRISE_A[-4:]}", ENTERPRISE_A, EQUIPMENT, COMMITMENT, START_DAY,
                  "2026-06-22", ANNOUNCED["url"], "年度落后产能退出情况", "尚未发布", "已撤回"):
        assert shown in html, shown
    for hidden in ("staff_industry", f"enterprise_{ENTERPRISE_A}", DISMANTLE_REPORT, FINDINGS, "张三", "撤回理由（"):
        assert hidden not in html, hidden
    assert "Set-Cookie" not in answer.headers
    assert answer.headers["Cache-Control"].startswith("public") and answer.headers.get("ETag")
    again = client.get("/public", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_public_page_in_english(ctx, client, make_case, work):
    sealed_case(make_case, work)
    html = client.get("/public?lang=en").get_data(as_text=True)
    assert "Sealed equipment" in html or "sealed equipment" in html
    assert "Not yet published" in html and "Withdrawn" in html


def test_json_lists_the_same_current_announcements(ctx, client, make_case, work):
    sealed_case(make_case, work)
    sealed_case(make_case, work, enterprise=ENTERPRISE_B)
    first = rows(ctx)[0]
    announcements.withdraw(ctx, actor("staff", "industry"), first.id, "企业已完成拆除")
    answer = client.get("/public/announcements.json")
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    body = answer.get_json()
    assert body["count"] == 1
    (item,) = body["announcements"]
    assert item["credit_code"] == ENTERPRISE_B and item["kind"] == "sealed_equipment"
    assert (item["published_on"], item["deadline"], item["url"]) == (START_DAY, "2026-06-22", ANNOUNCED["url"])
    assert set(item) == {"id", "kind", "kind_name", "clause", "enterprise_name", "credit_code", "subject",
                         "published_on", "deadline", "url"}
    assert "staff_industry" not in answer.get_data(as_text=True)
    assert [a.id for a in announcements.current_list(ctx)] == [item["id"]]


def test_lead_staff_withdraw_on_the_page(ctx, client, login_as, make_case, work):
    case_id = sealed_case(make_case, work)
    (row,) = rows(ctx)
    login_as("staff", department="industry")
    page = client.get("/public")
    html = page.get_data(as_text=True)
    assert f'action="/announcements/{row.id}/withdraw"' in html and page.headers["Cache-Control"].startswith("private")
    token = csrf_from(html)
    refused = client.post(f"/announcements/{row.id}/withdraw", data={"reason": "", "csrf_token": token})
    assert refused.status_code == 400
    assert 'data-field="reason"' in refused.get_data(as_text=True)
    assert len(announcements.current_list(ctx)) == 1
    done = client.post(f"/announcements/{row.id}/withdraw", data={"reason": "企业已完成拆除，解除封存",
                                                                   "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"].endswith("/public#withdrawn")
    assert announcements.current_list(ctx) == []
    client.post("/logout", data={"csrf_token": token})
    public = client.get("/public").get_data(as_text=True)
    current = public.split('id="current"')[1].split('id="withdrawn"')[0]
    withdrawn = public.split('id="withdrawn"')[1]
    assert EQUIPMENT not in current and "目前没有现行公告" in current
    assert "企业已完成拆除，解除封存" in withdrawn and ENTERPRISE_A in withdrawn and "2026-03-02" in withdrawn
    assert "web_staff" not in public
    events = [a for a, _ in audit_actions(ctx, case_id)]
    assert events.count("announcement_withdrawn") == 1


def test_other_department_and_enterprise_are_refused(ctx, client, login_as, make_case, work):
    sealed_case(make_case, work)
    (row,) = rows(ctx)
    for role, kwargs in (("staff", {"department": "environment"}), ("enterprise", {"enterprise": ENTERPRISE_A})):
        login_as(role, **kwargs)
        token = csrf_from(client.get("/public").get_data(as_text=True))
        assert f"/announcements/{row.id}/withdraw" not in client.get("/public").get_data(as_text=True)
        answer = client.post(f"/announcements/{row.id}/withdraw", data={"reason": "企业已完成拆除", "csrf_token": token})
        assert answer.status_code == 403, role
        client.post("/logout", data={"csrf_token": token})
    assert len(announcements.current_list(ctx)) == 1


def test_withdraw_needs_sign_in_and_a_known_announcement(ctx, client, login_as, make_case, work):
    answer = client.post("/announcements/1/withdraw", data={"reason": "企业已完成拆除"})
    assert answer.status_code in (302, 400)  # CSRF or the sign-in redirect: never withdrawn
    login_as("admin")
    token = csrf_from(client.get("/public").get_data(as_text=True))
    assert client.post("/announcements/999/withdraw", data={"reason": "企业已完成拆除",
                                                            "csrf_token": token}).status_code == 404


def test_case_history_still_shows_the_publication(ctx, make_case, work):
    case_id = sealed_case(make_case, work)
    actions = [e["action"] for e in cases.get_case(ctx, SUPERVISOR, case_id)["history"]]
    assert "announcement_published" in actions


# ---------------------------------------------------------------------------------------------
# Web addresses: a field of "format": "uri" takes only http(s) addresses with a host
# ---------------------------------------------------------------------------------------------


def announcement_task(ctx, make_case, work) -> tuple[int, dict]:
    case_id = make_case("technology")
    work(case_id, "assess_dismantling", {"dismantlable": False, "ditiaogang": False,
                                         "dismantle_deadline": "2026-06-20", "equipment": EQUIPMENT})
    work(case_id, "seal_equipment", SEALED)
    case = work(case_id, "public_commitment", {"commitment": COMMITMENT, "committed": True})
    return case_id, next(t for t in case["open_tasks"] if t["key"] == "publish_announcement")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                 "ftp://www.jining.gov.cn/1.html", "https:///1.html", "www.jining.gov.cn/1.html",
                                 " https://www.jining.gov.cn/1.html"])
def test_a_web_address_is_an_http_url_with_a_host(ctx, client, make_case, work, api_token, url):
    case_id, task = announcement_task(ctx, make_case, work)
    staff = api_token("staff", department=task["department"])
    before = cases.get_case(ctx, SUPERVISOR, case_id)
    complete = f"/api/v1/tasks/{task['id']}/complete"
    zh = client.post(complete, json={"url": url, "published_on": START_DAY}, headers=staff)
    en = client.post(complete, json={"url": url, "published_on": START_DAY},
                     headers={**staff, "Accept-Language": "en"})
    assert zh.status_code == en.status_code == 400
    ((zh_error,), (en_error,)) = zh.get_json()["errors"], en.get_json()["errors"]
    assert zh_error["field"] == en_error["field"] == "url"
    assert "「公告网址」" in zh_error["message"] and "http:// 或 https://" in zh_error["message"]
    assert "Address of the announcement" in en_error["message"] and "http:// or https://" in en_error["message"]
    after = cases.get_case(ctx, SUPERVISOR, case_id)
    assert (after["version"], after["history"]) == (before["version"], before["history"]) and rows(ctx) == []
    assert client.get("/public/announcements.json").get_json()["count"] == 0


def test_an_http_address_is_accepted(ctx, make_case, work):
    case_id, _task = announcement_task(ctx, make_case, work)
    work(case_id, "publish_announcement", {"url": "HTTP://www.jining.gov.cn/gg/2026/1.html?x=1#a",
                                           "published_on": START_DAY})
    assert rows(ctx)[0].url == "HTTP://www.jining.gov.cn/gg/2026/1.html?x=1#a"


def test_a_script_address_stored_before_the_check_is_never_a_link(ctx, client, make_case, work):
    case_id = sealed_case(make_case, work)
    with ctx.unit_of_work() as session:  # data written before web addresses were checked
        session.execute(sa.update(Announcement).where(Announcement.case_id == case_id)
                        .values(url="javascript:alert(1)"))
    html = client.get("/public").get_data(as_text=True)
    assert "javascript:" not in html and "企业" in html
    body = client.get("/public/announcements.json").get_data(as_text=True)
    assert "javascript:" not in body
