"""Administration pages: users, departments and the rest-day calendar (administrators only)."""

import json
import re

import pytest
import sqlalchemy as sa

from engine.errors import InvalidInput, PermissionDenied
from engine.models import AuditEvent, User
from engine.parties import PARTIES
from engine.services import accounts, cases, users
from tests.conftest import ENTERPRISE_A, PASSWORD, actor, csrf_from, screenshot


def _token(client, path="/admin/users") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def _audit(ctx, action: str) -> list[dict]:
    with ctx.unit_of_work() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.case_id.is_(None)))
        return [{"actor": r.actor, **json.loads(r.detail)} for r in rows]


def _user_id(ctx, username: str) -> int:
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(User.id).where(User.username == username))


def _sign_in(app, username: str, password: str) -> int:
    fresh = app.test_client()
    token = csrf_from(fresh.get("/login").get_data(as_text=True))
    return fresh.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code


# --- users -------------------------------------------------------------------------------------------------


def test_admin_adds_a_staff_user_who_appears_in_the_list(ctx, login_as, client):
    login_as("admin")
    answer = client.post("/admin/users", data={
        "csrf_token": _token(client), "username": "wang.fang", "role": "staff", "department": "environment",
        "enterprise": "", "password": "long-enough-1"}, follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "已添加用户 wang.fang" in html
    assert 'id="user-wang.fang"' in html and "市生态环境局" in html
    assert _audit(ctx, "user_added")[0]["username"] == "wang.fang"


def test_admin_adds_an_enterprise_user_with_its_credit_code(login_as, client):
    login_as("admin")
    client.post("/admin/users", data={"csrf_token": _token(client), "username": "qiye", "role": "enterprise",
                                      "enterprise": ENTERPRISE_A.lower(), "password": "long-enough-1"})
    assert ENTERPRISE_A in client.get("/admin/users?role=enterprise").get_data(as_text=True)


def test_bad_input_is_shown_next_to_each_field(login_as, client):
    login_as("admin")
    answer = client.post("/admin/users", data={"csrf_token": _token(client), "username": "bad name!",
                                               "role": "staff", "department": "", "password": "short"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert '<p class="field-error" id="username-error">用户名应为' in html
    assert '<p class="field-error" id="department-error">工作人员必须指定部门' in html
    assert '<p class="field-error" id="password-error">密码至少 8 位' in html
    assert 'value="bad name!"' in html  # the form keeps what was typed (but never the password)

    answer = client.post("/admin/users", data={"csrf_token": _token(client), "username": "qiye2",
                                               "role": "enterprise", "enterprise": "91370800MA3C000100",
                                               "password": "long-enough-1"})
    assert answer.status_code == 400
    assert 'id="enterprise-error"' in answer.get_data(as_text=True)


@pytest.mark.parametrize(("role", "field", "value"), [
    ("supervisor", "department", "industry"), ("admin", "department", "market"),
    ("staff", "enterprise", ENTERPRISE_A), ("supervisor", "enterprise", ENTERPRISE_A)])
def test_a_department_or_credit_code_another_role_does_not_have_is_refused_not_dropped(ctx, login_as, client,
                                                                                       role, field, value):
    login_as("admin")
    data = {"csrf_token": _token(client), "username": "gao", "role": role, "department": "", "enterprise": "",
            "password": "long-enough-1"}
    if role == "staff":
        data["department"] = "industry"
    answer = client.post("/admin/users", data={**data, field: value})
    assert answer.status_code == 400
    assert f'id="{field}-error">只有' in answer.get_data(as_text=True)
    assert _user_id(ctx, "gao") is None and not _audit(ctx, "user_added")
    with pytest.raises(InvalidInput) as refused:  # the CLI's and the fixtures' path: the same rule
        users.add_user(ctx, "gao", role, PASSWORD, **{field: value, **({"department": "industry"}
                                                                      if role == "staff" else {})})
    assert [p.field for p in refused.value.problems] == [field]


def test_a_taken_username_is_refused_not_overwritten(ctx, login_as, client):
    users.add_user(ctx, "li", "supervisor", PASSWORD)
    login_as("admin")
    answer = client.post("/admin/users", data={"csrf_token": _token(client), "username": "li", "role": "admin",
                                               "password": "another-pass-1"})
    assert answer.status_code == 400
    assert '<p class="field-error" id="username-error">用户名已存在' in answer.get_data(as_text=True)
    assert users.authenticate(ctx, "li", PASSWORD).role == "supervisor"


def test_staff_cannot_belong_to_the_enterprise_party(login_as, client):
    login_as("admin")
    answer = client.post("/admin/users", data={"csrf_token": _token(client), "username": "x1", "role": "staff",
                                               "department": "enterprise", "password": "long-enough-1"})
    assert answer.status_code == 400 and 'id="department-error"' in answer.get_data(as_text=True)


NON_ADMIN = [("staff", {"department": "industry"}), ("supervisor", {}), ("owner", {}),
             ("enterprise", {"enterprise": ENTERPRISE_A})]
PAGES = ["/admin/users", "/admin/users/1/password", "/admin/departments", "/admin/departments/industry",
         "/admin/calendar"]
POSTS = ["/admin/users", "/admin/users/1/deactivate", "/admin/users/1/reactivate", "/admin/users/1/password",
         "/admin/departments", "/admin/departments/industry", "/admin/departments/industry/remove",
         "/admin/calendar", "/admin/calendar/2026-09-02/remove"]


@pytest.mark.parametrize(("role", "extra"), NON_ADMIN)
def test_non_admins_get_403_on_every_page_and_post(ctx, login_as, client, role, extra):
    users.add_user(ctx, "target", "supervisor", PASSWORD)
    login_as(role, **extra)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    token = _token(client)  # the 403 page has the logout form
    for path in POSTS:
        data = {"csrf_token": token, "username": "evil", "role": "admin", "password": "evil-pass-1",
                "code": "evil", "name_zh": "坏", "name_en": "bad", "day": "2026-09-02", "kind": "rest"}
        assert client.post(path, data=data).status_code == 403, path
    assert users.authenticate(ctx, "target", PASSWORD).active
    assert not _audit(ctx, "user_added") and not _audit(ctx, "rest_day_set")


def test_signed_out_visitors_are_sent_to_login(client):
    assert client.get("/admin/calendar").status_code == 302


def test_a_deactivated_user_cannot_sign_in_until_reactivated(app, ctx, login_as, client):
    users.add_user(ctx, "zhao", "staff", PASSWORD, department="market")
    login_as("admin")
    uid = _user_id(ctx, "zhao")
    answer = client.post(f"/admin/users/{uid}/deactivate", data={"csrf_token": _token(client)},
                         follow_redirects=True)
    assert "已停用用户 zhao" in answer.get_data(as_text=True)
    assert _sign_in(app, "zhao", PASSWORD) == 401
    assert _audit(ctx, "user_deactivated") == [{"actor": "web_admin0", "username": "zhao"}]

    client.post(f"/admin/users/{uid}/reactivate", data={"csrf_token": _token(client)})
    assert _sign_in(app, "zhao", PASSWORD) == 302


def test_an_admin_cannot_deactivate_themselves(ctx, login_as, client):
    login_as("admin")
    uid = _user_id(ctx, "web_admin0")
    answer = client.post(f"/admin/users/{uid}/deactivate", data={"csrf_token": _token(client)},
                         follow_redirects=True)
    assert "不能停用自己的账号" in answer.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 200


def test_password_reset(app, ctx, login_as, client):
    users.add_user(ctx, "sun", "supervisor", PASSWORD)
    login_as("admin")
    path = f"/admin/users/{_user_id(ctx, 'sun')}/password"
    token = _token(client, path)
    answer = client.post(path, data={"csrf_token": token, "password": "new-secret-7", "confirm": "new-secret-8"})
    assert answer.status_code == 400 and 'id="confirm-error"' in answer.get_data(as_text=True)
    answer = client.post(path, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert answer.status_code == 400 and 'id="password-error"' in answer.get_data(as_text=True)
    answer = client.post(path, data={"csrf_token": token, "password": "new-secret-7", "confirm": "new-secret-7"})
    assert answer.status_code == 302
    assert _sign_in(app, "sun", PASSWORD) == 401
    assert _sign_in(app, "sun", "new-secret-7") == 302
    assert _audit(ctx, "user_password_reset")[0]["username"] == "sun"
    assert "new-secret-7" not in json.dumps(_audit(ctx, "user_password_reset"))


def _display_name(ctx, username: str) -> str | None:
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(User.display_name).where(User.username == username))


def test_admin_adds_a_user_with_a_real_name_shown_in_the_list(ctx, login_as, client):
    login_as("admin")
    answer = client.post("/admin/users", data={
        "csrf_token": _token(client), "username": "wang_ming", "display_name": " 王明 ", "role": "staff",
        "department": "industry", "password": "long-enough-1"}, follow_redirects=True)
    assert answer.status_code == 200
    row = re.search(r'<tr id="user-wang_ming">(.*?)</tr>', answer.get_data(as_text=True), re.S).group(1)
    assert '<td class="display-name">王明</td>' in row
    assert _display_name(ctx, "wang_ming") == "王明"
    assert _audit(ctx, "user_added")[0]["display_name"] == "王明"
    assert 'id="user-wang_ming"' in client.get("/admin/users?q=王明").get_data(as_text=True)  # found by name


def test_a_name_over_50_characters_is_refused_next_to_its_field_and_nothing_is_added(ctx, login_as, client):
    login_as("admin")
    answer = client.post("/admin/users", data={
        "csrf_token": _token(client), "username": "too_long", "display_name": "王" * 51, "role": "supervisor",
        "password": "long-enough-1"})
    assert answer.status_code == 400
    assert '<p class="field-error" id="display_name-error">姓名不超过 50 个字' in answer.get_data(as_text=True)
    assert _user_id(ctx, "too_long") is None and _audit(ctx, "user_added") == []


def test_admin_edits_a_real_name_audited(ctx, login_as, client):
    users.add_user(ctx, "industry_staff", "staff", PASSWORD, department="industry")
    login_as("admin")
    path = f"/admin/users/{_user_id(ctx, 'industry_staff')}/name"
    assert path in client.get("/admin/users").get_data(as_text=True)
    token = _token(client, path)
    answer = client.post(path, data={"csrf_token": token, "display_name": "王" * 51})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'id="display_name-error"' in html and "display_name" in html
    assert _display_name(ctx, "industry_staff") is None and _audit(ctx, "user_renamed") == []
    answer = client.post(path, data={"csrf_token": token, "display_name": "王明"}, follow_redirects=True)
    assert "已更新用户 industry_staff 的姓名" in answer.get_data(as_text=True)
    assert _display_name(ctx, "industry_staff") == "王明"
    client.post(path, data={"csrf_token": token, "display_name": "王明"})  # unchanged: no second event
    client.post(path, data={"csrf_token": token, "display_name": ""})  # cleared: the username alone again
    assert _display_name(ctx, "industry_staff") is None
    assert [(e["actor"].startswith("web_admin"), e["username"], e["old"], e["display_name"])
            for e in _audit(ctx, "user_renamed")] == [(True, "industry_staff", None, "王明"),
                                                      (True, "industry_staff", "王明", None)]


def test_only_admins_edit_names(ctx, login_as, client):
    users.add_user(ctx, "sun", "supervisor", PASSWORD)
    login_as("supervisor")
    assert client.get(f"/admin/users/{_user_id(ctx, 'sun')}/name").status_code == 403
    with pytest.raises(PermissionDenied):
        accounts.rename_user(ctx, actor("supervisor"), _user_id(ctx, "sun"), "孙")


# --- departments -------------------------------------------------------------------------------------------


def test_department_add_rename_and_remove(ctx, login_as, client):
    login_as("admin")
    token = _token(client, "/admin/departments")
    answer = client.post("/admin/departments", data={"csrf_token": token, "code": "housing",
                                                     "name_zh": "市住房和城乡建设局", "name_en": "Housing Bureau"},
                         follow_redirects=True)
    assert 'id="dept-housing"' in answer.get_data(as_text=True)
    answer = client.post("/admin/departments/housing", data={"csrf_token": token, "name_zh": "市住房城乡建设局",
                                                             "name_en": "Housing and Construction Bureau"},
                         follow_redirects=True)
    assert "市住房城乡建设局" in answer.get_data(as_text=True)
    assert _audit(ctx, "department_renamed")[0]["old_zh"] == "市住房和城乡建设局"
    # a staff member of the new department appears under its new name
    users.add_user(ctx, "zhou", "staff", PASSWORD, department="housing")
    assert "市住房城乡建设局" in client.get("/admin/users?q=zhou").get_data(as_text=True)
    # departments with users, and the statutory parties, stay
    client.post("/admin/departments/housing/remove", data={"csrf_token": token})
    client.post("/admin/departments/finance/remove", data={"csrf_token": token})
    html = client.get("/admin/departments").get_data(as_text=True)
    assert 'id="dept-housing"' in html and 'id="dept-finance"' in html
    assert not _audit(ctx, "department_removed")


def test_departments_are_listed_in_the_order_of_the_parties(ctx, login_as, client):
    accounts.add_department(ctx, actor("admin"), "housing", "市住房和城乡建设局", "Housing Bureau")
    codes = [d["code"] for d in accounts.list_departments(ctx, actor("admin"))]
    assert codes == [p.code for p in PARTIES] + ["housing"]
    login_as("admin")
    html = client.get("/admin/departments").get_data(as_text=True)
    assert html.index('id="dept-industry"') < html.index('id="dept-pboc"') < html.index('id="dept-banking"')
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert users_page.index("市工业和信息化局") < users_page.index("人民银行济宁市中心支行") < users_page.index("济宁银保监分局")


def test_department_input_errors_are_shown_next_to_fields(login_as, client):
    login_as("admin")
    token = _token(client, "/admin/departments")
    answer = client.post("/admin/departments", data={"csrf_token": token, "code": "Bad-Code", "name_zh": "",
                                                     "name_en": "x"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'id="code-error"' in html and 'id="name_zh-error"' in html and 'id="name_en-error"' not in html
    answer = client.post("/admin/departments", data={"csrf_token": token, "code": "industry", "name_zh": "新局",
                                                     "name_en": "New"})
    assert "部门代码已存在" in answer.get_data(as_text=True)
    answer = client.post("/admin/departments/industry", data={"csrf_token": token, "name_zh": "", "name_en": "X"})
    assert answer.status_code == 400 and 'id="name_zh-error"' in answer.get_data(as_text=True)


def test_an_unused_department_can_be_removed(ctx, login_as, client):
    login_as("admin")
    token = _token(client, "/admin/departments")
    client.post("/admin/departments", data={"csrf_token": token, "code": "typo_dept", "name_zh": "错误录入",
                                             "name_en": "Typo"})
    client.post("/admin/departments/typo_dept/remove", data={"csrf_token": token})
    assert 'id="dept-typo_dept"' not in client.get("/admin/departments").get_data(as_text=True)
    assert _audit(ctx, "department_removed")[0]["code"] == "typo_dept"


# --- calendar ----------------------------------------------------------------------------------------------


def _deadline(ctx, case_id: int) -> str:
    return cases.get_case(ctx, actor("supervisor"), case_id)["deadline"]


def test_a_calendar_correction_moves_new_and_running_deadlines_and_removal_restores_them(ctx, login_as, client,
                                                                                       make_case):
    running = make_case("energy_use")
    assert _deadline(ctx, running) == "2026-09-02"  # notice 2 March + 6 months, a Wednesday
    login_as("admin")
    answer = client.post("/admin/calendar", data={"csrf_token": _token(client, "/admin/calendar"),
                                                  "day": "2026-09-02", "kind": "rest", "note": "临时调整"},
                         follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert 'id="correction-2026-09-02"' in html and "临时调整" in html
    assert "正在计时的期限中有 1 件案件据此重新计算" in html
    assert _deadline(ctx, make_case("energy_use")) == "2026-09-03" and _deadline(ctx, running) == "2026-09-03"
    assert _audit(ctx, "rest_day_set")[0] | {"redated_cases": [running]} == _audit(ctx, "rest_day_set")[0]
    history = client.get(f"/cases/{running}").get_data(as_text=True)
    row = re.search(r'<tr data-action="deadline_redated">(.*?)</tr>', history, re.S).group(1)
    assert "期限按更正后的休息日日历重新计算" in row and "2026-09-02 → 2026-09-03" in row and "新届满日：2026-09-03" in row

    answer = client.post("/admin/calendar/2026-09-02/remove", data={"csrf_token": _token(client, "/admin/calendar")},
                         follow_redirects=True)
    assert 'id="correction-2026-09-02"' not in answer.get_data(as_text=True)
    assert "正在计时的期限中有 2 件案件据此重新计算" in answer.get_data(as_text=True)
    assert _deadline(ctx, make_case("energy_use")) == "2026-09-02" and _deadline(ctx, running) == "2026-09-02"
    assert _audit(ctx, "rest_day_cleared")[0]["day"] == "2026-09-02"


def test_calendar_correction_input_errors(login_as, client):
    login_as("admin")
    answer = client.post("/admin/calendar", data={"csrf_token": _token(client, "/admin/calendar"),
                                                  "day": "2026-13-40", "kind": "rest"})
    assert answer.status_code == 400 and 'id="day-error"' in answer.get_data(as_text=True)
    answer = client.post("/admin/calendar", data={"csrf_token": _token(client, "/admin/calendar"),
                                                  "day": "2026-09-02", "kind": "maybe"})
    assert answer.status_code == 400 and 'id="kind-error"' in answer.get_data(as_text=True)
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)  # the year in view stays in view
    action = re.search(r'<form method="post" action="([^"]+)" novalidate[^>]*>', page).group(1)
    answer = client.post(action.replace("&amp;", "&"), data={"csrf_token": csrf_from(page), "day": "2027-02-30",
                                                             "kind": "rest"})
    assert answer.status_code == 400 and "2026年放假安排" not in answer.get_data(as_text=True)
    assert 'value="2027"' in answer.get_data(as_text=True)


def test_calendar_shows_the_published_year_and_warns_about_unpublished_ones(login_as, client):
    login_as("admin")
    html = client.get("/admin/calendar").get_data(as_text=True)
    assert "2026年放假安排" in html and "春节" in html and "2月15日（周日） 至 2月23日（周一）" in html
    assert "2月14日（周六）、2月28日（周六）" in html  # the swapped working Saturdays of the Spring Festival
    assert "2027年放假安排尚未公布" in html
    html = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "2027年放假安排尚未公布" in html
    assert client.get("/admin/calendar?year=abc").status_code == 400
    assert client.get("/admin/calendar?year=1850").status_code == 400


# --- browser -----------------------------------------------------------------------------------------------


def test_admin_pages_in_a_browser(ctx, live_server, page, browser_login):
    users.add_user(ctx, "wang.fang", "staff", PASSWORD, department="environment")
    users.add_user(ctx, "jining_steel", "enterprise", PASSWORD, enterprise=ENTERPRISE_A)
    users.add_user(ctx, "li.jian", "supervisor", PASSWORD)
    browser_login(page, live_server, "admin")
    assert page.url.endswith("/admin/users")
    page.fill("#username", "chen.ming")
    page.select_option("#role", "staff")
    page.fill("#password", "short")
    page.click("#add-user button[type=submit]")
    assert page.locator("#department-error").is_visible()
    page.select_option("#department", "energy")
    page.fill("#password", "long-enough-1")
    page.click("#add-user button[type=submit]")
    assert page.locator("#user-chen\\.ming").is_visible()
    page.locator("#user-li\\.jian button").click()
    assert "已停用用户 li.jian" in page.content()
    screenshot(page, "admin-users")

    page.goto(f"{live_server}/admin/calendar")
    page.fill("#day", "2026-09-02")
    page.fill("#note", "市政府临时调整")
    page.click("#add-correction button[type=submit]")
    assert page.locator("#correction-2026-09-02").is_visible()
    screenshot(page, "admin-calendar")
    page.goto(f"{live_server}/admin/departments")
    screenshot(page, "admin-departments")
    page.click("#dept-energy a")
    page.fill("#name_zh", "")
    page.click("button[type=submit].primary")
    assert page.locator("#name_zh-error").is_visible()
    screenshot(page, "admin-department-rename")
    page.goto(f"{live_server}/admin/users")
    page.locator("#user-wang\\.fang a[href$='/name']").click()
    page.fill("#display_name", "王芳")
    page.click("button[type=submit].primary")
    assert page.locator("#user-wang\\.fang .display-name").inner_text() == "王芳"
    page.locator("#user-wang\\.fang a[href$='/password']").click()
    page.fill("#password", "new-secret-7")
    page.fill("#confirm", "new-secret-8")
    page.click("button[type=submit].primary")
    assert page.locator("#confirm-error").is_visible()
    screenshot(page, "admin-password")
