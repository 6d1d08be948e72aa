"""Deadlines per Civil Code arts. 201-203 and the rest-day calendar (holidays==0.108 China data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar import RestDayCalendar
from engine.deadlines import (
    Basis,
    Deadline,
    add_months,
    basis_of_rule,
    days_left,
    deadline_for,
    deadline_on,
    extend,
    resettle,
)


@pytest.fixture(scope="module")
def cal() -> RestDayCalendar:
    return RestDayCalendar()


# --- add_months: corresponding day, month ends, leap years (art. 202) ---


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 11, 24), 6, date(2027, 5, 24)),
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 5, 31), 120, date(2036, 5, 31)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)), st.integers(1, 120))
def test_add_months_properties(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day == start.day or (result.day < start.day and (result + timedelta(days=1)).day == 1)


# --- calendar: verified against holidays==0.108 (State Council notice for 2026) ---


def test_calendar_package_days(cal: RestDayCalendar) -> None:
    assert cal.is_rest_day(date(2026, 10, 1))  # National Day
    assert cal.is_rest_day(date(2026, 10, 7))  # day off swapped from 2026-10-10
    assert not cal.is_rest_day(date(2026, 10, 8))
    for swapped in (
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ):
        assert swapped.weekday() >= 5
        assert not cal.is_rest_day(swapped), swapped
        assert cal.reason(swapped) == "调休工作日"
    # A swap published in the notice for the following year (2002) still counts for 2001.
    assert not cal.is_rest_day(date(2001, 12, 29))
    assert cal.is_rest_day(date(2026, 11, 28))  # ordinary Saturday
    assert not cal.is_rest_day(date(2026, 11, 24))


def test_calendar_reasons(cal: RestDayCalendar) -> None:
    assert cal.reason(date(2026, 10, 3)) == "法定节假日（国庆节）"  # Saturday and holiday
    assert cal.reason(date(2026, 10, 5)) == "法定节假日（国庆节补假）"
    assert cal.reason(date(2026, 10, 7)) == "调休休息日"
    assert cal.reason(date(2026, 2, 17)) == "法定节假日（春节）"
    assert cal.reason(date(2026, 1, 1)) == "法定节假日（元旦）"
    assert cal.reason(date(2026, 4, 5)) == "法定节假日（清明节）"
    assert cal.reason(date(2026, 5, 1)) == "法定节假日（劳动节）"
    assert cal.reason(date(2026, 6, 19)) == "法定节假日（端午节）"
    assert cal.reason(date(2026, 9, 25)) == "法定节假日（中秋节）"
    assert cal.reason(date(2028, 10, 3)) == "法定节假日（中秋节、国庆节）"
    assert cal.reason(date(2026, 11, 28)) == "周六"
    assert cal.reason(date(2026, 11, 29)) == "周日"
    assert cal.reason(date(2026, 11, 24)).startswith("工作日")


def test_next_working_day(cal: RestDayCalendar) -> None:
    assert cal.next_working_day(date(2026, 11, 24)) == date(2026, 11, 24)
    assert cal.next_working_day(date(2026, 11, 28)) == date(2026, 11, 30)
    assert cal.next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    assert cal.next_working_day(date(2026, 10, 10)) == date(2026, 10, 10)


def test_known_years(cal: RestDayCalendar) -> None:
    years = cal.known_years(today=date(2026, 11, 24))
    assert {2024, 2025, 2026} <= set(years)
    assert 2027 not in years
    assert 2027 in cal.known_years(today=date(2027, 1, 5))  # current year always counts
    assert list(years) == sorted(years)


def test_overrides() -> None:
    cal = RestDayCalendar({date(2026, 11, 24): False, date(2026, 11, 28): True, date(2026, 10, 10): False})
    assert cal.is_rest_day(date(2026, 11, 24))
    assert cal.reason(date(2026, 11, 24)) == "管理员设定休息日"
    assert not cal.is_rest_day(date(2026, 11, 28))
    assert cal.reason(date(2026, 11, 28)) == "管理员设定工作日"
    assert cal.is_rest_day(date(2026, 10, 10))  # override beats the package's swapped working day
    assert not RestDayCalendar().is_rest_day(date(2026, 11, 24))  # no leak between instances


def test_calendar_rejects_datetime(cal: RestDayCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_rest_day(datetime(2026, 11, 24, 9, 0))  # type: ignore[arg-type]


# --- deadline_for (arts. 201-203) ---


def test_standard_six_months(cal: RestDayCalendar) -> None:
    d = deadline_for(date(2026, 11, 24), 6, cal)
    assert d.last_day == date(2027, 5, 24)  # Monday
    assert "自2026-11-24通知次日起算6个月" in d.rule
    assert "届满日2027-05-24" in d.rule
    assert "民法典第二百零一条至第二百零三条" in d.rule
    assert "顺延" not in d.rule
    assert "2026-11-24" in d.rule_en and "2027-05-24" in d.rule_en and "Civil Code" in d.rule_en
    assert "not yet published" in d.rule_en  # 2027 arrangements are not in holidays==0.108


def test_due_at_is_midnight_after_last_day_shanghai(cal: RestDayCalendar) -> None:
    d = deadline_for(date(2026, 11, 24), 6, cal)
    assert d.due_at == datetime.fromisoformat("2027-05-25T00:00:00+08:00")
    assert d.due_at.utcoffset() == timedelta(hours=8)
    assert d.due_at.tzinfo is not None and str(d.due_at.tzinfo) == "Asia/Shanghai"
    assert d.timer_value == "2027-05-25T00:00:00+08:00"
    assert "24:00" in d.rule


def test_saturday_moves_to_monday(cal: RestDayCalendar) -> None:
    d = deadline_for(date(2026, 5, 28), 6, cal)
    assert date(2026, 11, 28).weekday() == 5
    assert d.last_day == date(2026, 11, 30)
    assert "届满日2026-11-28" in d.rule and "周六" in d.rule and "顺延至其后第一个工作日2026-11-30" in d.rule
    assert "2026-11-28" in d.rule_en and "2026-11-30" in d.rule_en
    assert "尚未公布" not in d.rule  # 2026 arrangements are published


def test_national_day_moves_past_holiday(cal: RestDayCalendar) -> None:
    d = deadline_for(date(2026, 4, 3), 6, cal)
    assert d.last_day == date(2026, 10, 8)
    assert "法定节假日（国庆节）" in d.rule and "2026-10-08" in d.rule
    assert deadline_for(date(2026, 4, 1), 6, cal).last_day == date(2026, 10, 8)


def test_swapped_working_saturday_stays(cal: RestDayCalendar) -> None:
    assert deadline_for(date(2026, 4, 10), 6, cal).last_day == date(2026, 10, 10)
    # Month end with no corresponding day, landing on the swapped working Saturday 2026-02-28.
    d = deadline_for(date(2025, 8, 31), 6, cal)
    assert d.last_day == date(2026, 2, 28)
    assert "顺延" not in d.rule


def test_month_end_and_leap(cal: RestDayCalendar) -> None:
    assert deadline_for(date(2026, 3, 31), 6, cal).last_day == date(2026, 9, 30)  # Wednesday
    assert deadline_for(date(2027, 8, 31), 6, cal).last_day == date(2028, 2, 29)  # Tuesday


def test_overrides_shift_deadlines() -> None:
    cal = RestDayCalendar({date(2026, 11, 30): False, date(2026, 11, 28): True})
    assert deadline_for(date(2026, 5, 28), 6, cal).last_day == date(2026, 11, 28)
    d = deadline_for(date(2026, 5, 30), 6, cal)  # 2026-11-30 Monday, declared a rest day
    assert d.last_day == date(2026, 12, 1)
    assert "管理员设定休息日" in d.rule


@pytest.mark.parametrize("months", [0, -1, 121, 1.5, "6", None, True])
def test_months_validation(cal: RestDayCalendar, months: object) -> None:
    with pytest.raises(ValueError, match="months"):
        deadline_for(date(2026, 11, 24), months, cal)  # type: ignore[arg-type]
    current = deadline_for(date(2026, 11, 24), 6, cal)
    with pytest.raises(ValueError, match="months"):
        extend(current, months, cal)  # type: ignore[arg-type]


def test_limits_accepted(cal: RestDayCalendar) -> None:
    assert deadline_for(date(2026, 11, 24), 1, cal).last_day == date(2026, 12, 24)
    assert deadline_for(date(2026, 11, 24), 120, cal).last_day >= date(2036, 11, 24)


def test_notice_date_must_be_a_date(cal: RestDayCalendar) -> None:
    with pytest.raises(TypeError):
        deadline_for(datetime(2026, 11, 24, 10, 0), 6, cal)  # type: ignore[arg-type]


# --- extend ---


def test_extension_counts_from_current_adjusted_deadline(cal: RestDayCalendar) -> None:
    current = deadline_for(date(2026, 4, 3), 6, cal)  # 2026-10-03 holiday -> 2026-10-08
    assert current.last_day == date(2026, 10, 8)
    extended = extend(current, 1, cal, original_last_day=date(2026, 10, 3))
    # From 2026-10-08: 2026-11-08 (Sunday) -> Monday 2026-11-09.
    # Counting from the nominal 2026-10-03 or a grant date such as 2026-09-20 would give another day.
    assert extended.last_day == date(2026, 11, 9)
    assert extended.due_at == datetime.fromisoformat("2026-11-10T00:00:00+08:00")
    assert "原定期限2026-10-03" in extended.rule
    assert "在现行期限2026-10-08基础上延长1个月" in extended.rule
    assert "届满日2026-11-08" in extended.rule and "2026-11-09" in extended.rule
    assert "民法典" in extended.rule
    assert "2026-10-08" in extended.rule_en and "1 month " in extended.rule_en


def test_extension_without_original(cal: RestDayCalendar) -> None:
    current = deadline_for(date(2026, 11, 24), 6, cal)
    extended = extend(current, 3, cal)
    assert extended.last_day == date(2027, 8, 24)  # Tuesday
    assert "原定期限" not in extended.rule
    assert "2027-05-24" in extended.rule


# --- deadline_on ---


def test_deadline_on_department_date(cal: RestDayCalendar) -> None:
    d = deadline_on(date(2026, 10, 4), cal, source="停产整顿决定书")
    assert d.last_day == date(2026, 10, 8)
    assert "部门确定的期限" in d.rule and "停产整顿决定书" in d.rule and "民法典第二百零三条" in d.rule
    assert "2026-10-04" in d.rule and "2026-10-08" in d.rule
    same = deadline_on(date(2026, 12, 1), cal, source="停产整顿决定书")
    assert same.last_day == date(2026, 12, 1) and "顺延" not in same.rule
    with pytest.raises(ValueError):
        deadline_on(date(2026, 12, 1), cal, source=" ")


# --- days_left, Deadline ---


def test_days_left(cal: RestDayCalendar) -> None:
    d = deadline_for(date(2026, 11, 24), 6, cal)
    assert days_left(d, date(2027, 5, 24)) == 0
    assert days_left(d, date(2027, 5, 20)) == 4
    assert days_left(d, date(2027, 5, 26)) == -2


def test_deadline_is_frozen(cal: RestDayCalendar) -> None:
    d = deadline_for(date(2026, 11, 24), 6, cal)
    assert isinstance(d, Deadline)
    with pytest.raises(AttributeError):
        d.last_day = date(2030, 1, 1)  # type: ignore[misc]


# --- settling again: a deadline's basis, kept or read back from its rule text ---


@given(notice=st.dates(date(2024, 1, 1), date(2027, 12, 31)), months=st.integers(1, 12), extra=st.integers(1, 3),
       set_on=st.dates(date(2024, 1, 1), date(2028, 12, 31)))
@settings(max_examples=200, deadline=None)
def test_a_rules_text_gives_back_the_basis_it_was_settled_from(notice, months, extra, set_on):
    cal = RestDayCalendar()
    first = deadline_for(notice, months, cal)
    for made in (first, extend(first, extra, cal, original_last_day=first.last_day - timedelta(days=1)),
                 deadline_on(set_on, cal, source="停产整顿决定书（限期）")):
        # the text names no chain: an extension read back from its rule stands alone
        assert basis_of_rule(made.rule, made.rule_en) == replace(made.basis, extension=None)
        assert resettle(made.basis, cal) == made
        assert Basis.from_dict(made.basis.as_dict()) == made.basis


def test_settling_again_under_a_corrected_calendar(cal):
    made = deadline_for(date(2026, 3, 2), 6, cal)  # last day Wednesday 2026-09-02
    corrected = resettle(made.basis, RestDayCalendar({date(2026, 9, 2): False}))
    assert corrected.last_day == date(2026, 9, 3) and corrected.basis == made.basis
    assert corrected.rule.startswith(made.basis.head) and "顺延至其后第一个工作日2026-09-03" in corrected.rule
    assert basis_of_rule("整改期限另行通知", "to be notified") is None


def test_an_extension_follows_the_period_it_extends_when_that_is_settled_again(cal):
    first = deadline_for(date(2026, 3, 2), 6, cal)  # last day Wednesday 2026-09-02
    extended = extend(first, 3, cal)  # from 09-02: Wednesday 2026-12-02
    assert extended.last_day == date(2026, 12, 2) and extended.basis.first_nominal == date(2026, 9, 2)
    corrected = RestDayCalendar({date(2026, 9, 2): False})  # 09-02 is a rest day after all: the period ends 09-03
    again = resettle(extended.basis, corrected)
    assert again.last_day == date(2026, 12, 3)  # 09-03 + 3 months, a Thursday
    assert "在现行期限2026-09-03基础上延长3个月，届满日2026-12-03" in again.rule
    assert again == extend(resettle(first.basis, corrected), 3, corrected)
    legacy = extend(replace(first, basis=None), 3, cal)  # a period stored without its basis
    assert legacy.basis.extension is None and resettle(legacy.basis, corrected).last_day == date(2026, 12, 2)
