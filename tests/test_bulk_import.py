"""Bulk intake: the template, the preview (nothing created), confirming (valid rows only), chunks, the CLI."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from engine.credit_code import make_credit_code
from engine.models import Case, Enterprise
from engine.services import intake
from tests.conftest import CLOCK_START, ENTERPRISE_A, ENTERPRISE_B, actor, csrf_from
from webapp.cli_import import import_command

HEADINGS = ["企业名称", "统一社会信用代码", "县市区", "行业", "地址", "类别", "牵头部门", "违反的标准或目录条目", "证据",
            "实测值", "涉及设备", "产能（吨/年）"]
CODE_C = make_credit_code("91370800MA3C00030")
CODE_D = make_credit_code("91370800MA3C00040")
BAD_CODE = CODE_D[:17] + ("0" if CODE_D[17] != "0" else "1")
ROWS = [  # line 2.. of the sheet
    ["济宁甲钢铁有限公司", ENTERPRISE_A, "任城区", "钢铁", "任城区钢城路1号", "能耗", "", "GB 21256-2013", "能源审计报告",
     "435 kgce/t", "450m³高炉", 400000],
    ["兖州乙水泥有限公司", ENTERPRISE_B, "兖州区", "cement", "", "environmental", "environment", "GB 4915-2013",
     "在线监测", "颗粒物 45 mg/m³", "2500t/d 熟料线", "775000"],
    ["丙玻璃有限公司", BAD_CODE, "曲阜市", "平板玻璃", "", "质量", "", "GB 11614-2009", "", "", "", ""],
    ["丁煤业有限公司", CODE_C, "邹城市", "煤炭", "", "环境", "", "某标准", "", "", "", ""],
    ["戊铸造有限公司", CODE_D, "济南市", "钢铁", "", "技术", "", "淘汰类 中频炉", "", "", "", ""],
    ["", make_credit_code("91370800MA3C00050"), "嘉祥县", "钢铁", "", "技术", "", "", "", "", "", ""],
    ["己电解铝有限公司", make_credit_code("91370800MA3C00060"), "汶上县", "电解铝", "", "环保", "市工业和信息化局",
     "GB 25465-2010", "", "", "", ""],
    [None] * 12,  # blank lines are skipped
    ["庚焦化有限公司", make_credit_code("91370800MA3C00070"), "济宁高新区", "其他", "", "环保（固体废物）", "", "固废处置",
     "", "", "", "abc"],
]
VALID_LINES = [2, 3]


def workbook(rows=ROWS, headings=HEADINGS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cases(ctx) -> list[tuple[str, str, str]]:
    with ctx.unit_of_work() as session:
        return [tuple(r) for r in session.execute(
            sa.select(Enterprise.name, Case.dimension, Case.lead_department)
            .join(Enterprise, Enterprise.credit_code == Case.enterprise_code).order_by(Case.id))]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(client, data: bytes, name: str = "筛查.xlsx", mimetype: str = XLSX):
    """POST the file as a browser does (encoded here: Werkzeug's test client leaks a temp file above 500 KB)."""
    token = csrf_from(client.get("/cases/import").get_data(as_text=True))
    mark = "capexit-test-boundary"
    body = (f'--{mark}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{mark}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {mimetype}\r\n\r\n").encode() + data + f"\r\n--{mark}--\r\n".encode()
    return client.post("/cases/import", data=body, content_type=f"multipart/form-data; boundary={mark}")


def test_template_has_the_chinese_headings(client, login_as):
    login_as("staff", department="industry")
    answer = client.get("/cases/import/template.xlsx")
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.data), read_only=True)
    assert list(next(book["案件"].iter_rows(max_row=1, values_only=True))) == HEADINGS
    assert "县市区" in next(book["代码表"].iter_rows(max_row=1, values_only=True))
    book.close()


def test_rows_are_checked_with_the_engines_messages():
    problems = {}
    for number, row in enumerate(ROWS, start=2):
        values = dict(zip(intake.FIELDS, ["" if v is None else str(v) for v in row], strict=True))
        if any(values.values()):
            problems[number] = {p.field: p.message_zh for p in intake.check_values(actor("admin"), values).problems}
    assert problems[2] == {} and problems[3] == {}
    assert "第 18 位校验码错误" in problems[4]["enterprise.credit_code"]
    assert "未知的类别“环境”" in problems[5]["dimension"]
    assert "未知的县市区“济南市”" in problems[6]["enterprise.county"]
    assert set(problems[7]) == {"enterprise.name", "finding.standard"}
    assert "不能牵头环保类案件" in problems[8]["lead_department"]
    assert set(problems[10]) == {"finding.capacity_tpy"}  # 环保（固体废物） is understood


def test_preview_lists_every_row_with_its_errors_and_creates_nothing(ctx, client, login_as):
    login_as("admin")
    answer = _upload(client, workbook())
    assert answer.status_code == 302
    preview = client.get(answer.headers["Location"])
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert re.findall(r'id="line-(\d+)"', html) == ["2", "3", "4", "5", "6", "7", "8", "10"]
    for message in ("统一社会信用代码：第 18 位校验码错误", "类别：未知的类别“环境”", "县市区：未知的县市区“济南市”",
                    "企业名称：请填写企业名称", "违反的标准或目录条目：请填写违反的标准或目录条目",
                    "牵头部门：市工业和信息化局不能牵头环保类案件", "产能（吨/年）：产能应为不小于 0 的数字"):
        assert message in html, message
    assert "创建有效的 2 条" in html
    assert _cases(ctx) == []


def test_confirming_creates_exactly_the_valid_rows_once(ctx, client, login_as):
    login_as("staff", department="environment")  # may open environmental and phase-out cases only
    rows = ROWS + [["辛钢铁有限公司", make_credit_code("91370800MA3C00080"), "金乡县", "钢铁", "", "产能退出", "市生态环境局",
                    "淘汰类 第一条", "", "", "", ""]]
    preview_url = _upload(client, workbook(rows)).headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    assert "您所在部门不能办理能耗类案件" in html and "创建有效的 2 条" in html
    token = csrf_from(html)
    answer = client.post(f"{preview_url}/confirm", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/result")
    assert _cases(ctx) == [("兖州乙水泥有限公司", "environmental", "environment"),
                           ("辛钢铁有限公司", "phase_out", "environment")]
    result = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert re.search(r'class="created-count">2<', result) and re.search(r'class="failed-count">7<', result)
    client.post(f"{preview_url}/confirm", data={"csrf_token": token})
    assert len(_cases(ctx)) == 2  # confirming again creates nothing more
    assert client.get(preview_url).headers["Location"].endswith("/result")


def test_chunks_report_progress_until_finished(ctx, client, login_as):
    login_as("admin")
    preview_url = _upload(client, workbook()).headers["Location"]
    token = csrf_from(client.get(preview_url).get_data(as_text=True))
    states = []
    while not states or not states[-1]["finished"]:
        answer = client.post(f"{preview_url}/chunk", headers={"X-CSRFToken": token})
        assert answer.status_code == 200
        states.append(answer.get_json())
    assert [s["done"] for s in states] == [5, 8] and states[-1]["created"] == 2 and states[-1]["failed"] == 6
    assert [name for name, *_ in _cases(ctx)] == ["济宁甲钢铁有限公司", "兖州乙水泥有限公司"]


def test_a_batch_belongs_to_its_uploader(client, login_as):
    login_as("admin")
    preview_url = _upload(client, workbook()).headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_from(client.get(preview_url).get_data(as_text=True))})
    login_as("admin")
    assert client.get(preview_url).status_code == 404
    assert client.get("/cases/import/..%2F..%2Fsecret_key").status_code == 404


@pytest.mark.parametrize(("name", "data", "mimetype", "message"), [
    ("cases.csv", "企业名称,统一社会信用代码\n".encode(), "text/csv", "只接受 Excel 工作簿（.xlsx）"),
    ("cases.xls", b"\xd0\xcf\x11\xe0" + b"0" * 100, "application/vnd.ms-excel", "只接受 Excel 工作簿（.xlsx）"),
    ("cases.xlsx", workbook(), "text/plain", "只接受 Excel 工作簿（.xlsx）"),
    ("cases.xlsx", b"not a workbook", XLSX, "文件不是有效的 Excel 工作簿"),
    ("cases.xlsx", b"PK\x03\x04 nonsense", XLSX, "文件不是有效的 Excel 工作簿"),
    ("cases.xlsx", b"PK\x03\x04" + b"0" * (5 * 1024 * 1024), XLSX, "文件超过 5 MB 上限"),
    ("cases.xlsx", workbook([], ["名称", "代码"]), XLSX, "第一行缺少列：企业名称、统一社会信用代码"),
    ("cases.xlsx", workbook([]), XLSX, "工作簿中没有数据行"),
])
def test_anything_but_the_template_as_xlsx_is_refused(ctx, client, login_as, name, data, mimetype, message):
    login_as("staff", department="industry")
    answer = _upload(client, data, name, mimetype)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert _cases(ctx) == []


def test_cli_import_creates_the_valid_rows_and_prints_the_errors(ctx, app, tmp_path):
    path = tmp_path / "screening.xlsx"
    path.write_bytes(workbook())
    env = {"CAPEXIT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CAPEXIT_CLOCK": "simulated",
           "CAPEXIT_CLOCK_START": CLOCK_START, "CAPEXIT_SECRET_KEY": "cli-secret"}
    result = CliRunner().invoke(import_command, [str(path)], env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "第 4 行" in result.output and "第 18 位校验码错误" in result.output
    assert "未知的县市区“济南市”" in result.output
    assert "已创建 2 件案件，6 行未创建" in result.output
    assert [name for name, *_ in _cases(ctx)] == ["济宁甲钢铁有限公司", "兖州乙水泥有限公司"]
    again = CliRunner().invoke(import_command, [str(tmp_path / "missing.xlsx")], env=env)
    assert again.exit_code == 2


def test_cli_import_refuses_a_file_that_is_not_a_workbook(app, tmp_path):
    path = tmp_path / "cases.xlsx"
    path.write_bytes(b"PK\x03\x04 nonsense")
    env = {"CAPEXIT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CAPEXIT_CLOCK": "simulated",
           "CAPEXIT_SECRET_KEY": "cli-secret"}
    result = CliRunner().invoke(import_command, [str(path)], env=env)
    assert result.exit_code == 2 and "文件不是有效的 Excel 工作簿" in result.output


# --- one case per enterprise and dimension ------------------------------------------------------------------

REPEATED = [  # line 9 repeats line 2; line 5 repeats line 3 (lower-case code, dimension by name)
    ROWS[0],
    ROWS[1],
    ["济宁甲钢铁有限公司", ENTERPRISE_A, "任城区", "钢铁", "", "技术", "", "淘汰类 450m³高炉", "", "", "", ""],
    ["兖州乙水泥有限公司", ENTERPRISE_B.lower(), "兖州区", "水泥", "", "环保", "", "GB 4915-2013", "", "", "", ""],
    *[[f"示范{n}号钢铁有限公司", make_credit_code(f"91370800MA3E0{n:04d}"), "梁山县", "钢铁", "", "能耗", "",
       "GB 21256-2013", "", "", "", ""] for n in range(1, 4)],
    ROWS[0],
]


def _row_html(html: str, line: int) -> str:
    row = re.search(rf'<tr class="row-(?:ok|error)" id="line-{line}">(.*?)</tr>', html, re.S)
    assert row, f"no row {line}"
    return row.group(1)


def test_a_row_repeating_an_earlier_row_is_refused_naming_it_and_created_once(ctx, client, login_as):
    login_as("admin")
    preview_url = _upload(client, workbook(REPEATED)).headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    assert re.findall(r'<tr class="row-error" id="line-(\d+)"', html) == ["5", "9"]
    assert "与第 2 行重复：同一企业、同一类别、同一设备「450m³高炉」的发现在本表中只能出现一次" in _row_html(html, 9)
    assert "本行未写明涉及设备，无法与第 3 行的同类发现区分" in _row_html(html, 5)
    assert "<td>450m³高炉</td>" in _row_html(html, 9)  # the equipment, shown
    assert "与第 3 行重复" in _row_html(html, 5)
    assert "创建有效的 6 条" in html
    token = csrf_from(html)
    states = []
    while not states or not states[-1]["finished"]:  # line 9 comes in the second chunk: checked again there
        states.append(client.post(f"{preview_url}/chunk", headers={"X-CSRFToken": token}).get_json())
    assert states[-1]["created"] == 6 and states[-1]["failed"] == 2
    assert _cases(ctx).count(("济宁甲钢铁有限公司", "energy_use", "industry")) == 1
    assert _cases(ctx).count(("兖州乙水泥有限公司", "environmental", "environment")) == 1
    result = client.get(f"{preview_url}/result").get_data(as_text=True)
    assert "与第 2 行重复" in result and "与第 3 行重复" in result


def test_confirming_without_the_preview_still_refuses_the_repeated_row(ctx, client, login_as):
    login_as("admin")
    preview_url = _upload(client, workbook([ROWS[0], ROWS[0]])).headers["Location"]
    token = csrf_from(client.get("/cases/import").get_data(as_text=True))
    client.post(f"{preview_url}/confirm", data={"csrf_token": token})
    assert _cases(ctx) == [("济宁甲钢铁有限公司", "energy_use", "industry")]
    result = client.get(f"{preview_url}/result").get_data(as_text=True)
    assert "与第 2 行重复" in result and re.search(r'class="failed-count">1<', result)


def _registered_row(row: list, dimension: str | None = None) -> list:
    """A row of an enterprise that ``make_case`` registered: name, county and industry left to the register."""
    return ["", row[1], "", "", "", dimension or row[5], *row[6:]]


def test_a_row_for_an_enterprise_with_a_running_case_of_the_dimension_is_refused(ctx, client, login_as, make_case):
    running = make_case("energy_use", enterprise=ENTERPRISE_A, finding={"equipment": "450m³高炉"})
    login_as("admin")
    rows = [_registered_row(ROWS[0]), _registered_row(ROWS[0], "技术")]
    preview_url = _upload(client, workbook(rows)).headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    line = _row_html(html, 2)
    assert f"已有办理中的同类案件（案件 {running}）：同一发现不能重复立案" in line
    assert f'href="/cases/{running}"' in line
    assert 'id="line-3"' in html and "创建有效的 1 条" in html  # another dimension of the same enterprise is fine
    client.post(f"{preview_url}/confirm", data={"csrf_token": csrf_from(html)})
    assert [dimension for _name, dimension, _lead in _cases(ctx)] == ["energy_use", "technology"]


def test_a_case_opened_after_the_preview_is_not_opened_twice_on_confirming(ctx, client, login_as, make_case):
    login_as("admin")
    row = [f"企业{ENTERPRISE_A[-4:]}", ENTERPRISE_A, "任城区", "钢铁", *ROWS[0][4:]]  # as make_case registers it
    preview_url = _upload(client, workbook([row])).headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    assert "创建有效的 1 条" in html
    running = make_case("energy_use", enterprise=ENTERPRISE_A, finding={"equipment": "450 m³ 高炉"})  # someone else opens it meanwhile
    client.post(f"{preview_url}/confirm", data={"csrf_token": csrf_from(html)})
    assert len(_cases(ctx)) == 1
    result = client.get(f"{preview_url}/result").get_data(as_text=True)
    assert f"已有办理中的同类案件（案件 {running}）" in result


def test_the_preview_and_the_result_show_the_credit_code_as_stored(ctx, client, login_as):
    login_as("admin")
    typed = "  " + ENTERPRISE_A.lower()
    preview_url = _upload(client, workbook([[*ROWS[0][:1], typed, *ROWS[0][2:]]])).headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    client.post(f"{preview_url}/confirm", data={"csrf_token": csrf_from(html)})
    with ctx.unit_of_work() as session:
        assert session.scalars(sa.select(Case.enterprise_code)).all() == [ENTERPRISE_A]
    result = client.get(f"{preview_url}/result").get_data(as_text=True)
    assert f'<td class="mono">{ENTERPRISE_A}</td>' in result and ENTERPRISE_A.lower() not in result
    assert ENTERPRISE_A in _row_html(html, 2) and ENTERPRISE_A.lower() not in html  # the preview: as it will be


def test_the_repeat_and_running_case_errors_in_english(ctx, client, login_as, make_case):
    running = make_case("energy_use", enterprise=ENTERPRISE_B, industry="cement", finding={"equipment": "2500t/d 熟料线"})
    login_as("admin")
    client.get("/lang/en")
    rows = [ROWS[0], ROWS[0], _registered_row(ROWS[1], "能耗")]
    rows[2][6] = ""  # lead: proposed for the registered industry
    html = client.get(_upload(client, workbook(rows)).headers["Location"]).get_data(as_text=True)
    assert "repeats row 2: one finding (enterprise, category, equipment 450m³高炉) per sheet" in _row_html(html, 3)
    assert "the enterprise already has a running case of this category" in _row_html(html, 4)
    assert f"(case {running}): one finding cannot be opened twice" in _row_html(html, 4)
    assert "与第 2 行重复" not in html and "该企业已有办理中的同类案件" not in html


def test_the_cli_refuses_a_repeated_row(ctx, app, tmp_path):
    path = tmp_path / "screening.xlsx"
    path.write_bytes(workbook([ROWS[0], ROWS[1], ROWS[0]]))
    env = {"CAPEXIT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CAPEXIT_CLOCK": "simulated",
           "CAPEXIT_CLOCK_START": CLOCK_START, "CAPEXIT_SECRET_KEY": "cli-secret"}
    result = CliRunner().invoke(import_command, [str(path)], env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "第 4 行" in result.output and "与第 2 行重复" in result.output and "repeats row 2" in result.output
    assert len(_cases(ctx)) == 2


def test_another_furnace_of_the_same_enterprise_is_another_finding(ctx, client, login_as):
    login_as("admin")
    second = [*ROWS[0][:10], "1080m³高炉", 800000]
    preview_url = _upload(client, workbook([ROWS[0], second])).headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    assert "创建有效的 2 条" in html and "与第 2 行重复" not in html
    client.post(f"{preview_url}/confirm", data={"csrf_token": csrf_from(html)})
    assert _cases(ctx).count(("济宁甲钢铁有限公司", "energy_use", "industry")) == 2


def test_the_preview_shows_a_registered_enterprises_county_and_a_plain_valid_badge(ctx, client, login_as, make_case):
    make_case("technology", enterprise=ENTERPRISE_A)  # registered in 任城区
    login_as("admin")
    client.get("/lang/en")
    html = client.get(_upload(client, workbook([_registered_row(ROWS[0])])).headers["Location"]).get_data(as_text=True)
    row = _row_html(html, 2)
    assert "任城区" in row and '<span class="badge due-ok">Valid</span>' in row
