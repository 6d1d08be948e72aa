"""Actions that cannot be undone ask first: each such form carries the question confirm.js puts to the person."""

from __future__ import annotations

import re

from engine.credit_code import make_credit_code


def _questions(html: str) -> dict[str, str]:
    """Each form's action (or id) → its confirmation question."""
    found = {}
    for form in re.findall(r"<form\b[^>]*>", html):
        question = re.search(r'data-confirm="([^"]+)"', form)
        if question:
            key = re.search(r'id="([^"]+)"', form) or re.search(r'action="([^"]+)"', form)
            found[key.group(1) if key else f"form {len(found) + 1}"] = question.group(1)
    return found


def test_every_page_loads_the_confirmation_script(login_as, client):
    login_as("supervisor")
    assert "/static/js/confirm.js" in client.get("/board").get_data(as_text=True)
    assert client.get("/static/js/confirm.js").status_code == 200


def test_moving_the_simulated_clock_asks_first(login_as, client):
    login_as("supervisor")
    questions = _questions(client.get("/board").get_data(as_text=True))
    assert questions["advance-by"] == questions["advance-to"]
    assert "不能撤销" in questions["advance-by"]


def test_administrators_are_asked_before_what_they_cannot_take_back(ctx, login_as, client, make_case):
    from engine.services import users

    users.add_user(ctx, "leaving", "staff", "a-password-1", department="industry")
    make_case("energy_use", enterprise=make_credit_code("91370800MA3C00010"))
    login_as("admin")
    questions = _questions(client.get("/admin/users").get_data(as_text=True))
    assert any("停用账户 leaving" in q for q in questions.values())
    calendar = _questions(client.get("/admin/calendar").get_data(as_text=True))
    assert any("重新计算" in q for q in calendar.values())
    code = make_credit_code("91370800MA3C00010")
    assert any("记入各案件的办理记录" in q for q in
               _questions(client.get(f"/admin/enterprises/{code}").get_data(as_text=True)).values())


def _button_question(html: str, button_id: str) -> str | None:
    tag = re.search(rf'<button\b[^>]*id="{button_id}"[^>]*>', html).group(0)
    question = re.search(r'data-confirm="([^"]+)"', tag)
    return question.group(1) if question else None


def test_publishing_a_form_asks_first_checking_it_does_not_nor_creating_one(login_as, client):
    login_as("owner")
    page = client.get("/forms/rectify.schema.json").get_data(as_text=True)
    assert "确定发布吗" in _button_question(page, "form-publish")
    assert _button_question(page, "form-check") is None and "publish-form" not in _questions(page)
    assert _button_question(client.get("/forms/new").get_data(as_text=True), "form-publish") is None


def test_questions_are_in_english_in_english(login_as, client):
    login_as("supervisor")
    client.get("/lang/en")
    assert _questions(client.get("/board").get_data(as_text=True))["advance-by"].startswith(
        "The clock only moves forward")
