"""Case pages: the intake form with its enterprise lookup, the filtered list and its Excel export."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from engine.credit_code import CreditCodeError, make_credit_code, validate_credit_code
from engine.models import Case
from engine.services import case_list, cases
from tests.conftest import ENTERPRISE_A, ENTERPRISE_B, actor, csrf_from

GOOD_CODE = make_credit_code("91370811MA3D00077")
BAD_CODE = GOOD_CODE[:17] + ("0" if GOOD_CODE[17] != "0" else "1")


def _count(ctx) -> int:
    with ctx.unit_of_work() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Case))


def _form(client, **changes) -> dict[str, str]:
    data = {"name": "济宁市任城区示范焦化有限公司", "credit_code": GOOD_CODE, "county": "任城区", "industry": "steel",
            "address": "济宁市任城区工业路 8 号", "dimension": "energy_use", "lead_department": "",
            "standard": "GB 21256-2013 粗钢生产主要工序单位产品能源消耗限额", "evidence": "2026年3月1日现场监察记录",
            "measured_values": "高炉工序能耗 435 kgce/t（限额 ≤ 361）", "equipment": "450 m³ 高炉 1 座",
            "capacity_tpy": "400000"}
    data.update(changes)
    data["csrf_token"] = csrf_from(client.get("/cases/new").get_data(as_text=True))
    return data


def _field_block(html: str, field: str) -> str:
    """The markup of one form field's wrapper (from its label to the next field)."""
    start = html.index(f'<label for="{field}"')
    start = html.rfind("<div", 0, start)
    end = html.find('<label for="', html.index(f'<label for="{field}"') + 10)
    return html[start:end]


def test_intake_form_opens_a_case_and_redirects_to_it(ctx, client, login_as):
    login_as("staff", department="industry")
    page = client.get("/cases/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in ("企业名称", "统一社会信用代码", "县市区", "行业", "类别", "牵头部门", "违反的标准或目录条目", "济宁高新区"):
        assert label in html
    answer = client.post("/cases/new", data=_form(client))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    case_id = int(re.fullmatch(r"/cases/(\d+)", answer.headers["Location"]).group(1))
    case = cases.get_case(ctx, actor("supervisor"), case_id)
    assert case["dimension"] == "energy_use" and case["lead_department"] == "industry"
    assert case["enterprise"] == {"name": "济宁市任城区示范焦化有限公司", "credit_code": GOOD_CODE, "county": "任城区",
                                  "industry": "steel"}
    assert case["finding"]["standard"].startswith("GB 21256") and case["finding"]["capacity_tpy"] == 400000
    assert case["finding"]["equipment"] == "450 m³ 高炉 1 座"
    assert case["deadline"] == "2026-09-02"  # 6 months from the notice on 2 March, counted from the next day


def test_bad_credit_code_is_shown_next_to_its_field_and_nothing_is_created(ctx, client, login_as):
    login_as("staff", department="industry")
    answer = client.post("/cases/new", data=_form(client, credit_code=BAD_CODE))
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    with pytest.raises(CreditCodeError) as engine_says:
        validate_credit_code(BAD_CODE)
    block = _field_block(html, "credit_code")
    assert "has-error" in block and engine_says.value.message_zh in block
    assert 'value="济宁市任城区示范焦化有限公司"' in html and "GB 21256-2013" in html  # the data is kept
    assert _count(ctx) == 0


def test_lead_is_proposed_by_industry_and_can_be_chosen(ctx, client, login_as):
    login_as("staff", department="energy")
    coal = client.post("/cases/new", data=_form(client, industry="coal"))
    chosen = client.post("/cases/new", data=_form(client, credit_code=ENTERPRISE_B, lead_department="development"))
    leads = [cases.get_case(ctx, actor("supervisor"), int(a.headers["Location"].rsplit("/", 1)[1]))["lead_department"]
             for a in (coal, chosen)]
    assert leads == ["energy", "development"]


def test_a_lead_that_may_not_lead_the_dimension_is_refused_at_its_field(ctx, client, login_as):
    login_as("staff", department="environment")
    answer = client.post("/cases/new", data=_form(client, dimension="environmental", lead_department="industry"))
    assert answer.status_code == 400
    assert "has-error" in _field_block(answer.get_data(as_text=True), "lead_department")
    assert _count(ctx) == 0


def test_solid_waste_finding_is_recorded(ctx, client, login_as):
    login_as("staff", department="environment")
    answer = client.post("/cases/new", data=_form(client, dimension="environmental", solid_waste="1"))
    case = cases.get_case(ctx, actor("supervisor"), int(answer.headers["Location"].rsplit("/", 1)[1]))
    assert case["finding"]["solid_waste"] is True


def test_a_second_open_case_of_the_same_finding_is_refused_naming_the_running_one(ctx, client, login_as):
    """One case per finding (DOMAIN.md): the same enterprise, category and equipment; another furnace is another
    finding, and a finding that names no equipment cannot be told apart from one that does."""
    login_as("staff", department="industry")
    first = int(client.post("/cases/new", data=_form(client)).headers["Location"].rsplit("/", 1)[1])
    answer = client.post("/cases/new", data=_form(client, credit_code=GOOD_CODE.lower(),  # the same code, typed so
                                                  equipment="450m³高炉1座"))  # and the same equipment, spaced otherwise
    assert answer.status_code == 400
    block = _field_block(answer.get_data(as_text=True), "equipment")
    assert "has-error" in block
    assert f"该企业「450m³高炉1座」已有办理中的同类案件（案件 {first}）：同一发现不能重复立案" in block
    assert client.post("/cases/new", data=_form(client, equipment="")).status_code == 400  # cannot be told apart
    assert _count(ctx) == 1
    client.get("/lang/en")
    english = client.post("/cases/new", data=_form(client))
    assert (f"the enterprise already has a running case of this category for 450 m³ 高炉 1 座 (case {first}): one "
            "finding cannot be opened twice") in _field_block(english.get_data(as_text=True), "equipment")
    other = client.post("/cases/new", data=_form(client, dimension="technology"))  # another dimension: opened
    assert other.status_code == 302 and _count(ctx) == 2
    second_furnace = client.post("/cases/new", data=_form(client, equipment="1080 m³ 高炉 1 座"))  # another finding
    assert second_furnace.status_code == 302 and _count(ctx) == 3


def test_a_finding_that_names_its_equipment_opens_beside_a_running_case_that_named_none(ctx, client, login_as,
                                                                                        make_case):
    """The running case cannot be mended from the intake page, so it does not block a finding named otherwise."""
    running = make_case("energy_use", enterprise=GOOD_CODE)  # no equipment recorded
    login_as("staff", department="industry")
    unnamed = client.post("/cases/new", data=_form(client, name=f"企业{GOOD_CODE[-4:]}", county="任城区",
                                                   address="", equipment=""))
    assert unnamed.status_code == 400
    assert f"已有办理中的同类案件（案件 {running}），本次未写明涉及设备，无法与之区分" in unnamed.get_data(as_text=True)
    named = client.post("/cases/new", data=_form(client, name=f"企业{GOOD_CODE[-4:]}", county="任城区", address=""))
    assert named.status_code == 302 and _count(ctx) == 2


def test_a_refusal_names_every_running_case_it_cannot_tell_apart(ctx, client, login_as, make_case):
    first = make_case("energy_use", enterprise=GOOD_CODE, finding={"equipment": "1号高炉"})
    second = make_case("energy_use", enterprise=GOOD_CODE, finding={"equipment": "2号高炉"})
    login_as("staff", department="industry")
    client.get("/lang/en")
    answer = client.post("/cases/new", data=_form(client, name=f"企业{GOOD_CODE[-4:]}", county="任城区", address="",
                                                  equipment=""))
    assert answer.status_code == 400
    assert f"(cases {first} and {second}) and this finding names no equipment" in answer.get_data(as_text=True)


def test_the_api_still_opens_a_second_case_of_the_same_dimension(ctx, client, login_as, api_token):
    """An outside system's finding is never lost: the API keeps the contract's 201 (two furnaces, two findings)."""
    headers = api_token("staff", department="industry")
    body = {"dimension": "energy_use", "enterprise": {"name": "甲", "credit_code": GOOD_CODE, "county": "任城区",
                                                      "industry": "steel"}, "finding": {"equipment": "1 号高炉"}}
    assert client.post("/api/v1/cases", headers=headers, json=body).status_code == 201
    body["finding"] = {"equipment": "2 号高炉"}
    assert client.post("/api/v1/cases", headers=headers, json=body).status_code == 201
    assert _count(ctx) == 2


def test_staff_of_a_department_that_leads_nothing_cannot_open_cases(ctx, client, login_as):
    login_as("staff", department="hrss")
    assert client.get("/cases/new").status_code == 403
    token = csrf_from(client.get("/cases").get_data(as_text=True))
    assert client.post("/cases/new", data={"csrf_token": token, "name": "x"}).status_code == 403
    assert client.get("/cases/import").status_code == 403
    assert "新建案件" not in client.get("/cases").get_data(as_text=True)
    assert _count(ctx) == 0


@pytest.mark.parametrize(("role", "extra"), [("enterprise", {"enterprise": ENTERPRISE_A}), ("supervisor", {})])
def test_enterprise_users_and_supervisors_cannot_open_cases(client, login_as, role, extra):
    login_as(role, **extra)
    assert client.get("/cases/new").status_code == 403
    assert client.get("/cases/import/template.xlsx").status_code == 403


def test_enterprise_lookup_fills_the_form_without_javascript(client, login_as, make_case):
    make_case("energy_use", industry="cement", enterprise=ENTERPRISE_A)
    login_as("staff", department="industry")
    html = client.get(f"/cases/enterprise-lookup?code={ENTERPRISE_A.lower()}").get_data(as_text=True)
    assert f'value="企业{ENTERPRISE_A[-4:]}"' in html and f'value="{ENTERPRISE_A}"' in html
    assert '<option value="任城区" selected>' in html and '<option value="cement" selected>' in html
    assert "办理中 1 件" in html
    unknown = client.get(f"/cases/enterprise-lookup?code={GOOD_CODE}").get_data(as_text=True)
    assert "未找到该企业" in unknown and f'value="{GOOD_CODE}"' in unknown
    bad = client.get(f"/cases/enterprise-lookup?code={BAD_CODE}")
    assert bad.status_code == 400 and "第 18 位校验码错误" in bad.get_data(as_text=True)


def test_a_registered_enterprises_details_cannot_be_edited_on_the_intake_page(client, login_as, make_case, ctx):
    """The register's name, county, industry and address are shown read-only (and sent as shown), also when the
    form comes back with an error; a typed-over name can therefore not be refused for differing."""
    make_case("environmental", industry="cement", enterprise=ENTERPRISE_A)
    login_as("staff", department="industry")
    html = client.get(f"/cases/enterprise-lookup?code={ENTERPRISE_A}").get_data(as_text=True)
    assert 'id="registered-note"' in html
    for field in ("name", "credit_code", "address"):
        assert re.search(rf'<input id="{field}" name="{field}"[^>]*readonly', html), field
    for field in ("county", "industry"):
        assert re.search(rf'<select id="{field}" disabled', html) and f'<input type="hidden" name="{field}"' in html
    form = _form(client, credit_code=ENTERPRISE_A, name="改过的名称", county="", industry="cement", standard="")
    again = client.post("/cases/new", data=form).get_data(as_text=True)  # refused: the standard is missing
    assert f'value="企业{ENTERPRISE_A[-4:]}"' in again and 'value="改过的名称"' not in again
    assert re.search(r'<input id="name" name="name"[^>]*readonly', again)
    answer = client.post("/cases/new", data=_form(client, credit_code=ENTERPRISE_A, name=f"企业{ENTERPRISE_A[-4:]}",
                                                   county="任城区", industry="cement", address=""))
    assert answer.status_code == 302
    fresh = client.get("/cases/new").get_data(as_text=True)
    assert 'id="registered-note"' not in fresh and not re.search(r'<input id="name" name="name"[^>]*readonly', fresh)


@pytest.fixture
def some_cases(make_case):
    code_c = make_credit_code("91370800MA3C00030")
    return {
        "a_energy": make_case("energy_use", industry="steel", enterprise=ENTERPRISE_A),
        "a_env": make_case("environmental", industry="steel", enterprise=ENTERPRISE_A),
        "b_coal": make_case("safety", industry="coal", enterprise=ENTERPRISE_B),
        "c_cement": make_case("quality", industry="cement", enterprise=code_c),
    }


def _listed(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'<td class="nowrap"><a href="/cases/(\d+)">', html)}


@pytest.mark.parametrize(("query", "expected"), [
    ("", {"a_energy", "a_env", "b_coal", "c_cement"}),
    ("dimension=environmental", {"a_env"}),
    ("industry=coal", {"b_coal"}),
    ("lead=market", {"c_cement"}),
    ("county=任城区&industry=steel", {"a_energy", "a_env"}),
    ("county=汶上县", set()),
    ("status=open&dimension=quality", {"c_cement"}),
    ("status=exited", set()),
    (f"q={ENTERPRISE_B[-6:].lower()}", {"b_coal"}),
])
def test_the_list_filters(client, login_as, some_cases, query, expected):
    login_as("supervisor")
    answer = client.get(f"/cases?{query}")
    assert answer.status_code == 200
    assert _listed(answer.get_data(as_text=True)) == {some_cases[k] for k in expected}


def test_the_list_shows_the_columns_and_pages(ctx, client, login_as, some_cases):
    login_as("staff", department="finance")
    html = client.get("/cases").get_data(as_text=True)
    for text in ("办理中", "市应急管理局", "煤炭", ENTERPRISE_B, "2026-03-02", "2026-09-02", "共 4 件"):
        assert text in html
    page = case_list.list_cases(ctx, actor("supervisor"), case_list.CaseFilter(page=2), per_page=3)
    assert (page["total"], page["pages"], page["page"], len(page["rows"])) == (4, 2, 2, 1)
    assert page["rows"][0]["id"] == some_cases["a_energy"]  # newest first


def test_export_holds_the_filtered_rows(client, login_as, some_cases):
    login_as("supervisor")
    answer = client.get("/cases/export.xlsx?industry=steel")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(answer.data), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[0][:8] == ("案件编号", "企业名称", "统一社会信用代码", "县市区", "行业", "类别", "牵头部门", "状态")
    assert {r[0] for r in rows[1:]} == {some_cases["a_energy"], some_cases["a_env"]}
    assert {r[5] for r in rows[1:]} == {"能耗", "环保"} and rows[1][4] == "钢铁"


def test_an_enterprise_sees_only_its_own_cases(client, login_as, some_cases):
    login_as("enterprise", enterprise=ENTERPRISE_B)
    assert _listed(client.get("/cases").get_data(as_text=True)) == {some_cases["b_coal"]}
    assert _listed(client.get(f"/cases?q={ENTERPRISE_A}").get_data(as_text=True)) == set()
    book = load_workbook(io.BytesIO(client.get("/cases/export.xlsx").data), read_only=True)
    assert [r[0] for r in book.active.iter_rows(min_row=2, values_only=True)] == [some_cases["b_coal"]]
    book.close()


def test_export_keeps_formula_like_text_as_text(ctx, client, login_as):
    request = cases.NewCase(dimension="quality", enterprise={
        "name": '=HYPERLINK("http://example.invalid","x")', "credit_code": GOOD_CODE, "county": "任城区",
        "industry": "other"})
    cases.start_case(ctx, actor("staff", "market"), request)
    login_as("supervisor")
    cell = load_workbook(io.BytesIO(client.get("/cases/export.xlsx").data)).active["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_an_overdue_case_is_marked_in_the_list_and_its_export_as_on_the_board(ctx, client, login_as, make_case):
    from engine.services import timers

    late = make_case("energy_use", industry="flat_glass")
    timers.advance_clock(ctx, actor("supervisor"), to="2026-09-03T09:00:00+08:00")  # the period ran out and fired
    running = make_case("energy_use", industry="flat_glass", enterprise=ENTERPRISE_B)
    assert cases.get_case(ctx, actor("supervisor"), late)["deadline"] is None  # no period runs any more
    login_as("supervisor")
    html = client.get("/cases").get_data(as_text=True)
    rows = {int(n): r for n, r in re.findall(r'<a href="/cases/(\d+)">(.*?)</tr>', html, re.S)}
    assert "2026-09-02" in rows[late] and "已逾期" in rows[late] and "due-late" in rows[late]  # the period that ran out
    assert "自2026-03-02通知次日起算6个月" in rows[late]
    assert "已逾期" not in rows[running] and "due-ok" in rows[running]
    sheet = load_workbook(io.BytesIO(client.get("/cases/export.xlsx").data)).active
    flagged = {r[0]: r[-1] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert sheet["L1"].value == "是否逾期" and flagged == {late: "是", running: "否"}
    about = dict(load_workbook(io.BytesIO(client.get("/cases/export.xlsx?status=open").data))["导出说明"]
                 .iter_rows(min_row=2, values_only=True))
    assert about["导出时间"].startswith("2026-09-03 09:00") and about["筛选条件"] == "状态：办理中" and about["行数"] == 2
    exported = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert exported[late][8].date() == date(2026, 9, 2) and exported[late][9].startswith("自2026-03-02通知次日起算6个月")
    client.get("/lang/en")  # the rules behind the dates, in English
    html = client.get("/cases").get_data(as_text=True)
    rows = {int(n): r for n, r in re.findall(r'<a href="/cases/(\d+)">(.*?)</tr>', html, re.S)}
    assert 'title="6 months counted from the day after the notice of 2026-03-02' in rows[late]
    assert 'title="6 months counted from the day after the notice of 2026-09-03' in rows[running]
