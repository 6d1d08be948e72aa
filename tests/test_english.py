"""The English catalogue: complete, current with the sources, and used on the signed-in pages.

The UI is written in Chinese inside ``_()``; ``webapp/translations/en`` supplies English.  A Chinese string added to a
template or view without a translation makes ``test_every_source_string_is_in_the_catalogue`` fail: extract with the
command at the top of ``babel.cfg``, run ``pybabel update``, translate, and ``pybabel compile``.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.conftest import ENTERPRISE_A

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
CATALOGUE = ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
COMPILED = CATALOGUE.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_pgettext": ((1, "c"), 2)}
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
SKIPPED_DIRS = {"node_modules", "static", "translations", "__pycache__"}


def _singular(msgid: str | tuple[str, ...]) -> str:
    """The msgid, or an ngettext entry's singular one (what the catalogue is keyed by)."""
    return msgid[0] if isinstance(msgid, tuple) else msgid


def _forms(msgstr: str | tuple[str, ...]) -> tuple[str, ...]:
    """A translation's forms: one, or one for each plural form."""
    return msgstr if isinstance(msgstr, tuple) else (msgstr,)


def _read_catalogue():
    with CATALOGUE.open("rb") as handle:
        return read_po(handle, locale="en")


def _method_map():
    from babel.messages.frontend import parse_mapping_cfg

    with BABEL_CFG.open(encoding="utf-8") as handle:
        return parse_mapping_cfg(handle, filename=str(BABEL_CFG))


def _source_messages() -> dict[tuple[str, str | None], str]:
    """Every (msgid, context) ``pybabel extract -F babel.cfg`` finds now, with where it was found."""
    method_map, options_map = _method_map()

    def keep(path: str) -> bool:
        name = Path(path).name
        return not (name.startswith((".", "_")) and name != "__init__.py") and name not in SKIPPED_DIRS

    found: dict[tuple[str, str | None], str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=keep):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault((msgid, context), f"{filename}:{lineno}")
    return found


def test_babel_cfg_covers_views_and_templates():
    method_map, _options = _method_map()
    assert ("webapp/**.py", "python") in method_map
    assert ("webapp/templates/**.html", "jinja2") in method_map


def test_catalogue_is_complete_and_valid():
    catalogue = _read_catalogue()
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 300
    assert not catalogue.fuzzy
    assert not [m.id for m in messages if m.fuzzy], "fuzzy entries"
    untranslated = [m.id for m in messages if not (m.string if isinstance(m.string, str) else all(m.string))]
    assert not untranslated, f"untranslated: {untranslated}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check() if errors]
    assert not problems, problems
    # Placeholders kept exactly (python-format %(name)s and the {name} ones the scripts fill in), in every plural form.
    for m in messages:
        source = _singular(m.id)
        for text in _forms(m.string):
            assert set(re.findall(r"%\((\w+)\)", source)) == set(re.findall(r"%\((\w+)\)", text)), m.id
            assert set(re.findall(r"\{(\w+)\}", source)) == set(re.findall(r"\{(\w+)\}", text)), m.id
    assert not [m.id for m in messages if any(CHINESE.search(t) for t in _forms(m.string))], "Chinese left"
    plural = [m for m in messages if m.pluralizable]  # ngettext: "1 day left", "120 days left"
    assert plural and all(len(m.string) == 2 and m.string[0] != m.string[1] for m in plural), plural


def test_every_source_string_is_in_the_catalogue():
    in_sources = _source_messages()
    assert ("待办任务", None) in in_sources and ("立案并下达通知", None) in in_sources  # templates, views, lazy strings
    assert ("办理", "history") in in_sources  # a word whose English depends on where it stands
    catalogue = _read_catalogue()
    missing = {key: where for key, where in in_sources.items() if catalogue.get(*key) is None}
    assert not missing, f"strings without an English translation (pybabel extract/update): {missing}"
    stale = sorted((_singular(m.id), m.context or "") for m in catalogue
                   if m.id and (_singular(m.id), m.context) not in in_sources)
    assert not stale, f"translations no longer used by the sources: {stale}"


@pytest.fixture
def compiled():
    """The .mo the app reads (git-ignored, built by scripts/setup.sh): rebuilt from the .po for these tests."""
    COMPILED.parent.mkdir(parents=True, exist_ok=True)
    partial = COMPILED.with_suffix(f".mo.{os.getpid()}")
    with partial.open("wb") as handle:
        write_mo(handle, _read_catalogue())
    os.replace(partial, COMPILED)  # whole or not at all: a server reading it meanwhile never sees half a file
    return COMPILED


def _texts(page: str, tag: str) -> list[str]:
    """The visible text of every ``<tag>`` element of the page."""
    found = re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", page, re.S)
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", part))).strip() for part in found]


def _assert_english(page: str, *, data: tuple[str, ...] = ()) -> None:
    """No Chinese in the page's navigation and headings, apart from data values such as an enterprise's name."""
    assert 'lang="en"' in page
    checked = _texts(page, "nav") + _texts(page, "h1") + _texts(page, "h2") + _texts(page, "title")
    assert checked
    for text in checked:
        for value in data:
            text = text.replace(value, "")
        assert not CHINESE.search(text), text


@pytest.fixture
def english(client, compiled):
    """The client with English chosen (before signing in, as a visitor would)."""
    client.get("/lang/en")
    return client


def test_login_page_in_english(english):
    page = english.get("/login").get_data(as_text=True)
    _assert_english(page)
    assert "<h1>Sign in</h1>" in page and "Username" in page and "Password" in page


def test_staff_pages_in_english(english, login_as, make_case, ctx):
    case_id = make_case("energy_use", enterprise=ENTERPRISE_A)
    login_as("staff", department="industry")
    english.get("/lang/en")
    inbox = english.get("/inbox").get_data(as_text=True)
    _assert_english(inbox)
    assert "Task inbox" in inbox and "Cases" in inbox
    cases = english.get("/cases").get_data(as_text=True)
    _assert_english(cases)
    case = english.get(f"/cases/{case_id}").get_data(as_text=True)
    enterprise = f"企业{ENTERPRISE_A[-4:]}"
    process = re.search(r'<span class="muted small">(.*?) v\d+</span>', case).group(1)
    _assert_english(case, data=(enterprise, process))
    assert "Basic information" in case and "Lead department" in case and "History" in case
    assert "PDF, JPEG, PNG, DOCX, XLSX, ZIP" in case and "PDF、JPEG" not in case  # the upload's accepted types


def test_a_real_name_shows_with_ascii_parentheses_in_english(english, login_as, make_case, work, ctx):
    from engine.context import Actor
    from engine.services import tasks, users
    from tests.conftest import PASSWORD

    users.add_user(ctx, "industry_staff", "staff", PASSWORD, department="industry", display_name="王明")
    case_id = make_case("energy_use", industry="flat_glass", enterprise=ENTERPRISE_A)
    case = work(case_id, "rectify", {"outcome": "extension_requested", "extension_months": 2, "reason": "供货周期长"})
    review = [t for t in case["open_tasks"] if t["key"] == "review_extension"][0]
    tasks.claim_task(ctx, Actor("industry_staff", "staff", "industry"), review["id"])
    login_as("supervisor")
    english.get("/lang/en")
    page = english.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "王明 (industry_staff)" in page and "王明（industry_staff）" not in page


def test_a_refused_form_says_so_as_a_sentence_in_english(english, login_as, make_case, ctx):
    from engine.services import cases
    from tests.conftest import actor, csrf_from

    case_id = make_case("energy_use", enterprise=ENTERPRISE_A, industry="flat_glass")
    task_id = cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"][0]["id"]
    login_as("enterprise", enterprise=ENTERPRISE_A)
    english.get("/lang/en")
    token = csrf_from(english.get(f"/tasks/{task_id}").get_data(as_text=True))
    page = english.post(f"/tasks/{task_id}", data={"csrf_token": token}).get_data(as_text=True)
    assert "The form has errors. Correct the fields as indicated below each one" in page


def test_supervisor_board_in_english(english, login_as, make_case):
    make_case("energy_use")
    login_as("supervisor")
    page = english.get("/board").get_data(as_text=True)
    _assert_english(page)
    assert "Timer board" in page and "Deadline calendar" in page and "Simulated clock" in page
    digest = english.get("/board/digest").get_data(as_text=True)
    _assert_english(digest)


def test_admin_pages_in_english(english, login_as):
    login_as("admin")
    for url in ("/admin/users", "/admin/departments", "/admin/calendar"):
        page = english.get(url).get_data(as_text=True)
        _assert_english(page)
        assert "Administration" in page


def test_the_calendar_names_holidays_and_corrections_in_english(english, login_as, ctx):
    from datetime import date, timedelta

    from engine.services import rest_days
    from tests.conftest import actor

    rest_days.set_rest_day(ctx, actor("admin"), date(2026, 9, 7), working=False, note="test")
    login_as("admin")
    page = english.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert "<td>National Day</td>" in page and "<td>Spring Festival</td>" in page and "国庆节" not in page
    assert "<td>working day (Monday)</td>" in page and "工作日（周一）" not in page  # what 09-07 was before the correction
    from engine.calendar import RestDayCalendar, holiday_name_en

    every_year = {RestDayCalendar().holiday_name(date(y, 1, 1) + timedelta(days=n)) for y in range(2001, 2028)
                  for n in range(366)} - {None}
    assert [name for name in every_year if CHINESE.search(holiday_name_en(name))] == []  # 2020's extension too


def test_a_deadline_a_step_sets_is_explained_in_english_by_the_steps_english_name(ctx, make_case, work):
    from engine.services import cases
    from tests.conftest import actor

    case_id = make_case("phase_out", industry="other")
    work(case_id, "screen_item", {"catalogue_item": "淘汰类 第1项", "exit_method": "seal_equipment",
                                  "exit_deadline": "2026-08-15"})  # a Saturday
    case = cases.get_case(ctx, actor("supervisor"), case_id)
    assert case["deadline_rule_en"].startswith(
        "time limit set by the department (Screening of items in the elimination category (C-2.6)); last day 2026-08-15")
    assert not CHINESE.search(case["deadline_rule_en"]) and "排查认定淘汰类项目（C-2.6）" in case["deadline_rule"]


def test_no_english_text_hedges_a_plural_with_s_in_brackets():
    hedged = [_singular(m.id) for m in _read_catalogue() if m.id and any("(s)" in t for t in _forms(m.string))]
    assert not hedged, hedged  # one count: ngettext ("1 case", "10 cases"); two counts: worded so each reads right


def test_counts_on_the_pages_read_as_english_plurals(english, login_as, make_case, work):
    from tests.conftest import ENTERPRISE_B, csrf_from

    make_case("energy_use", enterprise=ENTERPRISE_A)
    make_case("energy_use", enterprise=ENTERPRISE_B)
    phase_out = make_case("phase_out", enterprise=ENTERPRISE_A)
    work(phase_out, "screen_item", {"catalogue_item": "淘汰类 第1项", "exit_method": "seal_equipment",
                                    "exit_deadline": "2026-04-15"})  # within the board's eight weeks

    def page_of(url: str, role: str, **who: str) -> str:
        login_as(role, **who)
        english.get("/lang/en")
        page = english.get(url).get_data(as_text=True)
        english.post("/logout", data={"csrf_token": csrf_from(page)})
        return page

    assert "2 open tasks<" in page_of("/inbox", "enterprise", enterprise=ENTERPRISE_A)
    assert "1 open task<" in page_of("/inbox", "enterprise", enterprise=ENTERPRISE_B)
    assert "3 cases<" in page_of("/cases", "supervisor")
    assert "1 case<" in page_of("/cases?dimension=phase_out", "supervisor")
    board = page_of("/board", "supervisor")
    assert 'title="1 deadline falls on this day">1 item</a>' in board
    login_as("admin")
    english.get("/lang/en")
    token = csrf_from(english.get("/admin/calendar?year=2027").get_data(as_text=True))
    calendar = english.post("/admin/calendar", data={"csrf_token": token, "day": "2027-03-01", "kind": "rest",
                                                      "note": "test"}, follow_redirects=True).get_data(as_text=True)
    calendar = html.unescape(calendar)
    assert 'Correction saved: 2027-03-01 is set as "Rest day"' in calendar
    assert "the running deadlines of 0 cases were calculated again." in calendar
    assert "1 correction already entered for this year." in calendar
    assert "(s)" not in board + calendar


def test_chinese_stays_the_default(client, compiled, login_as):
    login_as("staff", department="industry")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "<h1>待办任务" in page


# ---------------------------------------------------------------------------------------------
# Task forms: the English overlay ("x-en") of every form in forms/, and the task page reading it
# ---------------------------------------------------------------------------------------------

FORMS = ROOT / "forms"


def _form(name: str) -> dict:
    import json

    return json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8"))


def _fields_of(schema: dict, where: str = "") -> list[tuple[str, dict]]:
    """(path, property) of every field, the corrections list's own fields too."""
    found = []
    for name, prop in schema.get("properties", {}).items():
        found.append((f"{where}{name}", prop))
        if isinstance(prop.get("items"), dict):
            found += _fields_of(prop["items"], f"{where}{name}[].")
    return found


def _is_english(text) -> bool:
    return isinstance(text, str) and bool(text.strip()) and not CHINESE.search(text.replace("²", ""))


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_form_has_its_english(path):
    from engine.form_rules import check_text
    from webapp.pages.forms import _labels_in_description

    text = path.read_text(encoding="utf-8")
    _schema, _located, problems = check_text(path.name, text)
    assert not problems, problems
    schema = _form(path.name.removesuffix(".schema.json"))
    assert _is_english(schema["x-en"]["title"]) and _is_english(schema["x-en"]["description"])
    for where, prop in _fields_of(schema):
        english = prop.get("x-en", {})
        assert _is_english(english.get("title")), where
        if prop.get("description") and not _labels_in_description(prop):  # help text that is not the labels
            assert _is_english(english.get("description")), where
        if "enum" in prop:
            labels = english.get("labels", {})
            assert list(labels) == [str(v) for v in prop["enum"]], where
            assert all(_is_english(label) for label in labels.values()), where


def test_the_overlay_changes_nothing_in_chinese(app):
    from webapp.pages.forms import describe, form_fields, form_heading

    def without_english(node):
        if isinstance(node, dict):
            return {k: without_english(v) for k, v in node.items() if k != "x-en"}
        return [without_english(v) for v in node] if isinstance(node, list) else node

    with app.test_request_context():
        for path in sorted(FORMS.glob("*.schema.json")):
            schema = _form(path.name.removesuffix(".schema.json"))
            plain = without_english(schema)
            assert plain != schema, path.name  # it has an overlay
            assert form_fields(schema) == form_fields(plain), path.name
            assert form_heading(schema) == (plain["title"], plain["description"])
            data = {n: (p.get("enum") or ["x"])[0] for n, p in schema["properties"].items()}
            assert describe(schema, data) == describe(plain, data), path.name


def _form_section(page: str) -> str:
    start = page.index('aria-labelledby="h-form"')
    return page[start:page.index("</section>", start)]


def test_task_form_in_english_and_in_chinese(english, login_as, make_case, ctx):
    from engine.services import cases
    from tests.conftest import actor

    case_id = make_case("energy_use", enterprise=ENTERPRISE_A, industry="flat_glass")
    task_id = cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"][0]["id"]
    login_as("enterprise", enterprise=ENTERPRISE_A)
    english.get("/lang/en")
    form = _form_section(english.get(f"/tasks/{task_id}").get_data(as_text=True))
    assert '<h2 id="h-form">Rectification by the enterprise</h2>' in form
    assert "applies once for an extension of at most 3 months" in form
    for text in ("Outcome of rectification", "Rectification completed; re-inspection requested",
                 "Extension of the rectification period requested", "Extension requested (months)",
                 "Reason for extension", "Why the rectification period needs to be extended.", "Rectification report"):
        assert text in form, text
    assert "rectified＝" not in form  # the Chinese labels' list is not shown as help
    assert not CHINESE.search(re.sub(r"<[^>]+>", " ", form)), form

    english.get("/lang/zh")
    form = _form_section(english.get(f"/tasks/{task_id}").get_data(as_text=True))
    assert '<h2 id="h-form">企业整改</h2>' in form and "在整改期限内提出一次不超过3个月的延期申请" in form
    for text in ("整改结果", "已完成整改，申请复查", "申请延长整改期限", "申请延期月数", "延期理由", "确需延长整改期限的理由。"):
        assert text in form, text
    assert "Outcome of rectification" not in form and "re-inspection requested" not in form


def test_a_refused_field_is_named_by_its_english_title(english, login_as, make_case, ctx):
    from engine.services import cases
    from tests.conftest import actor, csrf_from

    case_id = make_case("energy_use", enterprise=ENTERPRISE_A, industry="flat_glass")
    task_id = cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"][0]["id"]
    login_as("enterprise", enterprise=ENTERPRISE_A)
    english.get("/lang/en")
    token = csrf_from(english.get(f"/tasks/{task_id}").get_data(as_text=True))
    page = english.post(f"/tasks/{task_id}", data={"csrf_token": token, "outcome": "extension_requested",
                                                   "extension_months": "two"}).get_data(as_text=True)
    assert "Extension requested (months) must be a whole number" in page
    assert "Reason for extension is required" in page
    assert "reason is required" not in page


def test_the_legal_basis_is_headed_in_the_pages_language(english, login_as, make_case, ctx):
    """The quoted wording is the law as enacted (Chinese); the words around it follow the page."""
    from engine.services import cases
    from engine.services.inbox import legal_basis_en
    from tests.conftest import actor

    case_id = make_case("energy_use", enterprise=ENTERPRISE_A, industry="flat_glass")
    task_id = cases.get_case(ctx, actor("supervisor"), case_id)["open_tasks"][0]["id"]
    login_as("enterprise", enterprise=ENTERPRISE_A)
    english.get("/lang/en")
    basis = re.search(r'<blockquote class="basis">(.*?)</blockquote>', english.get(f"/tasks/{task_id}")
                      .get_data(as_text=True), re.S).group(1)
    assert basis.startswith("Under C-2.1: “对达不到强制性能耗限额标准要求的产能") and "依据" not in basis
    english.get("/lang/zh")
    basis = re.search(r'<blockquote class="basis">(.*?)</blockquote>', english.get(f"/tasks/{task_id}")
                      .get_data(as_text=True), re.S).group(1)
    assert basis.startswith("依据C-2.1：“对达不到强制性能耗限额标准要求的产能") and basis.endswith("”。")
    assert legal_basis_en("依据C-3.7：“……”。") == "Under C-3.7: “……”"
    assert legal_basis_en("按市政府会议纪要办理") == "按市政府会议纪要办理"  # a text of another shape stays as written


def test_intake_names_a_missing_field_by_its_english_label(english, login_as):
    from tests.conftest import csrf_from

    login_as("staff", department="industry")
    english.get("/lang/en")
    page = english.get("/cases/new").get_data(as_text=True)
    assert "Category (comprehensive standard)" in page
    answer = english.post("/cases/new", data={"csrf_token": csrf_from(page), "dimension": ""})
    errors = re.findall(r'<p class="field-error" id="(\w+)-error">(.*?)</p>', answer.get_data(as_text=True))
    assert answer.status_code == 400 and ("dimension", "category is required") in errors
    assert not [message for _field, message in errors if "dimension" in message]


def test_english_words_for_actions_and_codes(english, login_as, make_case, work):
    """The inbox's and the case page's action reads "Work on", a completed step "Completed: …" in the history, and
    categories, industries and statuses read as labels, not as their codes; the Chinese keeps 办理 in all three."""
    case_id = make_case("environmental", industry="cement", enterprise=ENTERPRISE_A)
    work(case_id, "rectify", {"outcome": "rectified", "reason": "已整改"})
    login_as("staff", department="environment")
    english.get("/lang/en")
    inbox = english.get("/inbox").get_data(as_text=True)
    row = re.search(r'<tr class="urgency-[^"]*" data-task=.*?</tr>', inbox, re.S).group(0)
    assert ">Work on</a>" in row and ">Process<" not in row and "<td>Environmental protection</td>" in row
    case = english.get(f"/cases/{case_id}").get_data(as_text=True)
    tasks = case[case.index('id="tasks"'):]
    assert ">Work on</a>" in tasks[:tasks.index("</section>")]
    history = case[case.index('id="history"'):]
    assert "<td>Completed: Rectification by the enterprise</td>" in history and "Process: " not in history
    title = re.search(r'<h1 class="case-title">(.*?)</h1>', case, re.S).group(1)
    assert "· Environmental protection</span>" in title and ">Open</span>" in title
    assert "<dd>Cement</dd>" in case
    listing = english.get("/cases").get_data(as_text=True)
    row = listing[listing.index(f'<a href="/cases/{case_id}">'):]
    row = row[:row.index("</tr>")]
    for cell in (">Cement</td>", ">Environmental protection</td>", ">Open</span>"):
        assert cell in row, cell
    assert ">Closed and exited</option>" in listing and ">Rectified to standard</option>" in listing

    english.get("/lang/zh")
    inbox = english.get("/inbox").get_data(as_text=True)
    assert ">办理</a>" in inbox and "<td>环保</td>" in inbox
    case = english.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "<td>办理：企业整改</td>" in case and ">办理</a>" in case and "<dd>水泥</dd>" in case
