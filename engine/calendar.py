"""Statutory rest days in mainland China: package arrangements plus administrator overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

__all__ = ["RestDayCalendar", "HOLIDAY_NAMES_ZH"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

# First year the package checked against State Council notices (see holidays.countries.china).
_FIRST_PUBLISHED_YEAR = 2001
# Longest run of rest days we accept before declaring the calendar broken.
_MAX_REST_RUN = 366

_WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

# English package names -> Chinese, for calendars built with language="en_US".
# Order matters: "Chinese New Year's Eve" must match before "Chinese New Year".
HOLIDAY_NAMES_ZH: tuple[tuple[str, str], ...] = (
    ("New Year's Day", "元旦"),
    ("Chinese New Year's Eve", "除夕"),
    ("Chinese New Year", "春节"),
    ("Spring Festival", "春节"),
    ("Tomb-Sweeping Day", "清明节"),
    ("Labor Day", "劳动节"),
    ("Labour Day", "劳动节"),
    ("Dragon Boat Festival", "端午节"),
    ("Mid-Autumn Festival", "中秋节"),
    ("National Day", "国庆节"),
    ("Day off", "调休"),
)


# English of the Chinese names ``holiday_name`` gives ("补假" appended: observed on another day).
HOLIDAY_NAMES_EN = {"元旦": "New Year's Day", "除夕": "Chinese New Year's Eve", "农历除夕": "Chinese New Year's Eve",
                    "春节": "Spring Festival", "春节延长假期": "Spring Festival (extended holiday)",
                    "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日": "70th Anniversary of the Victory of the War of "
                    "Resistance against Japanese Aggression and the World Anti-Fascist War",
                    "清明节": "Tomb-Sweeping Day", "劳动节": "Labour Day", "端午节": "Dragon Boat Festival",
                    "中秋节": "Mid-Autumn Festival", "国庆节": "National Day", "调休": "day off in lieu"}
# Why a day is a rest or working day, in Chinese and English ({name}: the holiday; {weekday}: the day's name).
_REASONS = {
    "set_working": ("管理员设定工作日", "working day set by an administrator"),
    "set_rest": ("管理员设定休息日", "rest day set by an administrator"),
    "swapped_rest": ("调休休息日", "rest day in lieu"),
    "holiday": ("法定节假日（{name}）", "public holiday ({name})"),
    "swapped_working": ("调休工作日", "working day in lieu"),
    "weekend": ("{weekday}", "{weekday}"),
    "weekday": ("工作日（{weekday}）", "working day ({weekday})"),
}


def holiday_name_en(name: str) -> str:
    """The English of a Chinese holiday name as ``holiday_name`` gives it (parts joined by "、")."""
    parts = []
    for part in name.split("、") if name else []:
        base, observed = (part[:-2], True) if part.endswith("补假") else (part, False)
        english = HOLIDAY_NAMES_EN.get(base, base)
        parts.append(f"{english} (observed)" if observed else english)
    return "; ".join(parts)


def _check_date(day: object) -> date:
    """Return ``day`` if it is a plain date (not a datetime), else raise TypeError."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a datetime.date, got {type(day).__name__}: {day!r}")
    return day


def _zh_part(name: str) -> str:
    """Chinese label for one package holiday name (Chinese or English)."""
    if "调休" in name or name.startswith("休息日") or name.startswith("Day off"):
        return "调休"
    observed = "补假" in name or "observed" in name
    for en, zh in HOLIDAY_NAMES_ZH:
        if en in name:
            base = zh
            break
    else:
        # Chinese package names: drop the "（补假）" / "（推定）" style suffixes.
        base = name.split("（", 1)[0].split(" (", 1)[0].strip()
    return f"{base}补假" if observed else base


@lru_cache(maxsize=256)
def _package_year(year: int) -> tuple[Mapping[date, str], frozenset[date]]:
    """Public holidays (name by date) and swapped working weekends of ``year`` from the package."""
    # The State Council notice for year y may swap a weekend of y-1 (e.g. 2001-12-29 for 2002),
    # and the package lists some swaps on every instance, so build y and y+1 and filter to y.
    cal = holidays.China(years=(year, year + 1), language="zh_CN")
    names = {day: name for day, name in cal.items() if day.year == year}
    workdays = frozenset(day for day in cal.weekend_workdays if day.year == year)
    return MappingProxyType(names), workdays


@lru_cache(maxsize=8)
def _published_years(until: int) -> frozenset[int]:
    """Years up to ``until`` for which the package lists swapped working days."""
    years: set[int] = set()
    for year in range(_FIRST_PUBLISHED_YEAR, until + 1):
        if _package_year(year)[1]:
            years.add(year)
    return frozenset(years)


class RestDayCalendar:
    """Rest days per the State Council arrangements in ``holidays``, corrected by administrator overrides."""

    def __init__(self, overrides: Mapping[date, bool] | None = None, entered_years: Iterable[int] = ()) -> None:
        """Keep a copy of ``overrides`` (True = working day, False = rest day) and of the years whose arrangements
        the administrators have entered in full (``entered_years``)."""
        self._overrides: dict[date, bool] = {}
        for day, working in (overrides or {}).items():
            self._overrides[_check_date(day)] = bool(working)
        self._entered = frozenset(entered_years)

    @property
    def overrides(self) -> Mapping[date, bool]:
        """The administrator overrides in force (read-only)."""
        return MappingProxyType(self._overrides)

    def is_rest_day(self, day: date) -> bool:
        """True on weekends and public holidays, unless a swapped working day; overrides win."""
        day = _check_date(day)
        if day in self._overrides:
            return not self._overrides[day]
        names, workdays = _package_year(day.year)
        if day in names:
            return True
        if day in workdays:
            return False
        return day.weekday() >= 5

    def is_working_day(self, day: date) -> bool:
        """Opposite of :meth:`is_rest_day`."""
        return not self.is_rest_day(day)

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        current = _check_date(day)
        for _ in range(_MAX_REST_RUN):
            if not self.is_rest_day(current):
                return current
            current += timedelta(days=1)
        raise ValueError(
            f"no working day within {_MAX_REST_RUN} days after {day.isoformat()}; check overrides"
        )

    def holiday_name(self, day: date) -> str | None:
        """Chinese name of the package's public holiday on ``day`` (e.g. "国庆节"), or None."""
        day = _check_date(day)
        name = _package_year(day.year)[0].get(day)
        if name is None:
            return None
        parts: list[str] = []
        for part in name.split(";"):
            label = _zh_part(part.strip())
            if label not in parts:
                parts.append(label)
        return "、".join(parts)

    def _reason_kind(self, day: date) -> tuple[str, str | None]:
        """Why ``day`` is a rest or working day: a key of ``_REASONS`` and the holiday's Chinese name, if any."""
        day = _check_date(day)
        if day in self._overrides:
            return ("set_working" if self._overrides[day] else "set_rest"), None
        name = self.holiday_name(day)
        if name == "调休":
            return "swapped_rest", None
        if name is not None:
            return "holiday", name
        if day in _package_year(day.year)[1]:
            return "swapped_working", None
        return ("weekend" if day.weekday() >= 5 else "weekday"), None

    def reason(self, day: date) -> str:
        """Short Chinese reason why ``day`` is a rest or working day."""
        kind, name = self._reason_kind(day)
        return _REASONS[kind][0].format(name=name, weekday=_WEEKDAY_ZH[day.weekday()])

    def reason_en(self, day: date) -> str:
        """The same reason in English."""
        kind, name = self._reason_kind(day)
        return _REASONS[kind][1].format(name=holiday_name_en(name or ""), weekday=day.strftime("%A"))

    def known_years(self, today: date | None = None) -> tuple[int, ...]:
        """Years with published arrangements (swapped working days listed), plus the current year."""
        if today is None:
            today = datetime.now(SHANGHAI).date()
        years = set(_published_years(today.year + 1))
        years.add(today.year)
        return tuple(sorted(years))

    def has_arrangements(self, year: int) -> bool:
        """True if the package lists swapped working days for ``year``, or the administrators have entered its
        arrangements in full; a correction alone leaves the year an estimate."""
        return self.is_published(year) or year in self._entered

    @staticmethod
    def is_published(year: int) -> bool:
        """True if the shipped holiday data lists the arrangements of ``year`` (its swapped working days)."""
        return bool(_package_year(year)[1])
