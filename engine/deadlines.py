"""Legal deadlines per Civil Code of the PRC articles 201-203 (periods in months, rest-day extension)."""

from __future__ import annotations

import calendar as _stdlib_calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.calendar import RestDayCalendar

__all__ = [
    "SHANGHAI",
    "MAX_MONTHS",
    "Deadline",
    "add_months",
    "deadline_for",
    "extend",
    "deadline_on",
    "days_left",
    "resettle",
    "EXTENSION_MARK",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_MONTHS = 120

_LAW_201_203 = "民法典第二百零一条至第二百零三条"
_LAW_202_203 = "民法典第二百零二条、第二百零三条"
_LAW_203 = "民法典第二百零三条"
_LAW_201_203_EN = "Civil Code of the PRC, arts. 201-203"
_LAW_202_203_EN = "Civil Code of the PRC, arts. 202-203"
_LAW_203_EN = "Civil Code of the PRC, art. 203"
EXTENSION_MARK = "基础上延长"  # in the rule of every extended period (the correction of a rest day looks for it)


@dataclass(frozen=True)
class Extension:
    """What an extended period adds to: the basis of the period it extends (``of``), counted on from that period's
    settled last day by ``months`` (the rule names ``original_last_day`` when it was given)."""

    of: Basis
    months: int
    original_last_day: date | None = None


@dataclass(frozen=True)
class Basis:
    """What a deadline was settled from: the period's own last day before the rest-day rule (``nominal``), and the
    rule's head and law in both languages. Settling it again under a corrected calendar gives the deadline anew;
    an extension's basis also keeps the period it extends, which is settled again first."""

    nominal: date
    head: str
    head_en: str
    law: str
    law_en: str
    extension: Extension | None = None

    @property
    def first_nominal(self) -> date:
        """The own last day of the first period of the chain (the period itself when it extends none)."""
        return self.extension.of.first_nominal if self.extension is not None else self.nominal

    def as_dict(self) -> dict:
        """The basis as JSON-ready data (what an instance stores)."""
        out: dict = {"nominal": self.nominal.isoformat(), "head": self.head, "head_en": self.head_en,
                     "law": self.law, "law_en": self.law_en}
        if self.extension is not None:
            ext = self.extension
            out["extension"] = {"of": ext.of.as_dict(), "months": ext.months, "original_last_day":
                                ext.original_last_day.isoformat() if ext.original_last_day else None}
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> Basis:
        """The basis ``as_dict`` gave."""
        ext = raw.get("extension")
        return cls(date.fromisoformat(raw["nominal"]), raw["head"], raw["head_en"], raw["law"], raw["law_en"],
                   Extension(cls.from_dict(ext["of"]), ext["months"], date.fromisoformat(ext["original_last_day"])
                             if ext.get("original_last_day") else None) if ext else None)


@dataclass(frozen=True)
class Deadline:
    """A period's last day, the instant it runs out, and the rule that produced it (with its ``basis``)."""

    last_day: date
    due_at: datetime
    rule: str
    rule_en: str
    basis: Basis | None = None

    @property
    def timer_value(self) -> str:
        """ISO 8601 instant for a BPMN timer (``due_at.isoformat()``)."""
        return self.due_at.isoformat()


def _check_date(value: object, what: str) -> date:
    """Return ``value`` if it is a plain date (not a datetime), else raise TypeError."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a datetime.date, got {type(value).__name__}: {value!r}")
    return value


def _check_months(months: object) -> int:
    """Return ``months`` if it is an int in 1..MAX_MONTHS, else raise ValueError."""
    if isinstance(months, bool) or not isinstance(months, int):
        raise ValueError(f"months must be an integer from 1 to {MAX_MONTHS}, got {months!r}")
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be from 1 to {MAX_MONTHS}, got {months}")
    return months


def add_months(day: date, months: int) -> date:
    """Corresponding day ``months`` later; the month's last day if there is none (art. 202)."""
    day = _check_date(day, "day")
    if isinstance(months, bool) or not isinstance(months, int):
        raise ValueError(f"months must be an integer, got {months!r}")
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ValueError(f"{day.isoformat()} + {months} months is out of range")
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def _months_en(months: int) -> str:
    """English month count, e.g. "1 month", "6 months"."""
    return f"{months} month" if months == 1 else f"{months} months"


def _due_at(last_day: date) -> datetime:
    """24:00 of ``last_day``, i.e. 00:00 of the next day in Asia/Shanghai."""
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def _settle(
    nominal: date, calendar: RestDayCalendar, head: str, head_en: str, law: str, law_en: str
) -> Deadline:
    """Apply the rest-day rule (art. 203) to ``nominal`` and build the Deadline with its rule text."""
    last_day = calendar.next_working_day(nominal)
    rule = head
    rule_en = head_en
    if last_day != nominal:
        rule += f"；该日为{calendar.reason(nominal)}，顺延至其后第一个工作日{last_day.isoformat()}"
        rule_en += (
            f"; {nominal.isoformat()} is a rest day, so the period ends on the next working day "
            f"{last_day.isoformat()}"
        )
    elif calendar.overrides.get(nominal) is True and (published := RestDayCalendar()).is_rest_day(nominal):
        # a day the published calendar rests on, made a working day: say why the period does not move on
        rule += f"；该日原为{published.reason(nominal)}，现为{calendar.reason(nominal)}，不顺延"
        rule_en += (f"; {nominal.isoformat()} would be a rest day ({published.reason_en(nominal)}) but is a "
                    f"{calendar.reason_en(nominal)}, so the period ends on it")
    if not calendar.has_arrangements(last_day.year):
        rule += f"；{last_day.year}年放假安排尚未公布，按推定计算"
        rule_en += f"; the {last_day.year} holiday arrangements are not yet published, estimated"
    rule += f"；截止{last_day.isoformat()} 24:00（{law}）"
    rule_en += f"; ends at 24:00 on {last_day.isoformat()} ({law_en})"
    return Deadline(last_day=last_day, due_at=_due_at(last_day), rule=rule, rule_en=rule_en,
                    basis=Basis(nominal, head, head_en, law, law_en))


def resettle(basis: Basis, calendar: RestDayCalendar) -> Deadline:
    """The deadline ``basis`` gives under ``calendar`` (art. 203 applied again, e.g. after a rest-day correction).

    An extension is counted again from the extended period's last day as that settles now.
    """
    if basis.extension is not None:
        ext = basis.extension
        return extend(resettle(ext.of, calendar), ext.months, calendar, original_last_day=ext.original_last_day)
    return _settle(basis.nominal, calendar, basis.head, basis.head_en, basis.law, basis.law_en)


# A rule as ``_settle`` writes it: the head (which names the nominal last day first as 届满日/last day), then the
# rest-day and estimate notes, then the end and the law. Deadlines stored before their basis was kept are read back
# from their rule text with these.
_RULE_ZH = re.compile(r"^(?P<head>[^；]*?届满日(?P<nominal>\d{4}-\d{2}-\d{2})[^；]*)(；.*)?；截止\S+ 24:00（(?P<law>[^（）]+)）$")
_RULE_EN = re.compile(r"^(?P<head>.*last day (?P<nominal>\d{4}-\d{2}-\d{2}))(; .*)?; ends at 24:00 on \S+ \((?P<law>[^()]+)\)$")


def basis_of_rule(rule: str, rule_en: str) -> Basis | None:
    """The basis of a stored rule text, or None when the text is not one ``_settle`` wrote."""
    zh, en = _RULE_ZH.match(rule or ""), _RULE_EN.match(rule_en or "")
    if zh is None or en is None or zh["nominal"] != en["nominal"]:
        return None
    return Basis(date.fromisoformat(zh["nominal"]), zh["head"], en["head"], zh["law"], en["law"])


def deadline_for(notice_date: date, months: int, calendar: RestDayCalendar) -> Deadline:
    """Deadline of ``months`` months counted from the day after ``notice_date`` (arts. 201-203)."""
    notice_date = _check_date(notice_date, "notice_date")
    months = _check_months(months)
    nominal = add_months(notice_date, months)
    head = f"自{notice_date.isoformat()}通知次日起算{months}个月，届满日{nominal.isoformat()}"
    head_en = (
        f"{_months_en(months)} counted from the day after the notice of {notice_date.isoformat()}; "
        f"last day {nominal.isoformat()}"
    )
    return _settle(nominal, calendar, head, head_en, _LAW_201_203, _LAW_201_203_EN)


def extend(
    current: Deadline,
    months: int,
    calendar: RestDayCalendar,
    *,
    original_last_day: date | None = None,
) -> Deadline:
    """Extend ``current`` by ``months`` months counted from its last day, not from the grant date."""
    if not isinstance(current, Deadline):
        raise TypeError(f"current must be a Deadline, got {type(current).__name__}")
    months = _check_months(months)
    base = current.last_day
    nominal = add_months(base, months)
    head = ""
    head_en = ""
    if original_last_day is not None and _check_date(original_last_day, "original_last_day") != base:
        head = f"原定期限{original_last_day.isoformat()}，"
        head_en = f"originally due {original_last_day.isoformat()}; "
    head += f"在现行期限{base.isoformat()}{EXTENSION_MARK}{months}个月，届满日{nominal.isoformat()}"
    head_en += (
        f"extended by {_months_en(months)} from the current last day {base.isoformat()}; "
        f"new last day {nominal.isoformat()}"
    )
    extended = _settle(nominal, calendar, head, head_en, _LAW_202_203, _LAW_202_203_EN)
    if current.basis is None:  # a period stored without its basis: the extension cannot follow it
        return extended
    return replace(extended, basis=replace(extended.basis, extension=Extension(current.basis, months,
                                                                               original_last_day)))


def deadline_on(day: date, calendar: RestDayCalendar, *, source: str, source_en: str | None = None) -> Deadline:
    """Deadline on a last day set by a department (e.g. 停产整顿期限), rest-day adjusted (art. 203); ``source`` names
    the step or decision that set it (``source_en`` in the English rule, else ``source``)."""
    day = _check_date(day, "day")
    if not isinstance(source, str) or not source.strip():
        raise ValueError("source must name the form or decision that set the deadline")
    source = source.strip()
    head = f"部门确定的期限（{source}），届满日{day.isoformat()}"
    head_en = f"time limit set by the department ({(source_en or '').strip() or source}); last day {day.isoformat()}"
    return _settle(day, calendar, head, head_en, _LAW_203, _LAW_203_EN)


def days_left(deadline: Deadline, today: date) -> int:
    """Whole days from ``today`` to the last day: 0 on the last day itself, negative once overdue."""
    today = _check_date(today, "today")
    return (deadline.last_day - today).days
