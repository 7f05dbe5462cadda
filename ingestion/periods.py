"""Reporting periods: ``2026-09`` (month), ``2026-Q3`` (quarter), ``2026-H2`` (half-year), ``2026`` (year)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_PATTERNS = {
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "half_year": re.compile(r"^(\d{4})-H([12])$"),
    "year": re.compile(r"^(\d{4})$"),
}
_MONTHS_PER = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}

# The 2025 reorganisation: from this day reports use the 34-province, two-level map.
REORGANISATION_DATE = date(2025, 7, 1)


@dataclass(frozen=True, order=True)
class Period:
    start: date
    period_type: str
    code: str

    @property
    def end(self) -> date:
        months = _MONTHS_PER[self.period_type]
        year, month = divmod(self.start.month - 1 + months, 12)
        return date(self.start.year + year, month + 1, 1) - timedelta(days=1)

    @property
    def on_current_map(self) -> bool:
        """Whether the period is reported on today's map: the map in force at its end. Only the year 2025
        spans the reorganisation; it is reported (in 2026) on the units that exist then."""
        return self.end >= REORGANISATION_DATE

    @property
    def unit_map(self) -> str:
        """Which administrative map its reports use: 'current' (34 provinces) or 'legacy' (63)."""
        return "current" if self.on_current_map else "legacy"


def parse_period(text: str) -> Period:
    """Parse a period code; raise ValueError naming the accepted forms."""
    code = text.strip().upper()
    for period_type, pattern in _PATTERNS.items():
        match = pattern.match(code)
        if match:
            year = int(match.group(1))
            index = int(match.group(2)) if period_type != "year" else 1
            first_month = (index - 1) * _MONTHS_PER[period_type] + 1
            return Period(date(year, first_month, 1), period_type, code)
    raise ValueError(f"{text!r} is not a period: use 2026-09, 2026-Q3, 2026-H2 or 2026")


def parse_day(text: str) -> date:
    """2024-05-19, 2024-05-19 00:00:00 (an Excel date cell) or 19/05/2024 (the Vietnamese way)."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


class ExcelDate(ValueError):
    """A period cell that Excel turned into a date other than the first day of a month."""

    def __init__(self, day: date):
        super().__init__(f"{day:%d/%m/%Y} is a date, not a period")
        self.day = day


# A period as Vietnamese offices write it in a cell, each naming exactly one period (matched on the text
# folded: NFC, lower case, single spaces). The year is always given: "Quý 3" alone is refused.
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_VIETNAMESE = {
    "month": re.compile(r"^(?:tháng|t)\s*(0?[1-9]|1[0-2])\s*(?:/|-|\.|năm)\s*(\d{4})$|^(0?[1-9]|1[0-2])/(\d{4})$"),
    "quarter": re.compile(r"^quý\s*([1-4]|iv|i{1,3})\s*(?:/|-|năm)\s*(\d{4})$"),
    "half_year": re.compile(r"^6 tháng (đầu|cuối) năm\s*(\d{4})$"),
    "year": re.compile(r"^năm\s*(\d{4})$"),
}
VIETNAMESE_FORMS = "Tháng 9/2026, T9/2026, 09/2026, Quý 3/2026, Quý III/2026, 6 tháng đầu năm 2026, Năm 2026"


def _vietnamese_period(text: str) -> Period | None:
    """The period a Vietnamese way of writing it names (Quý IV/2025, T9/2026, 6 tháng đầu năm 2026), or None."""
    folded = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    for period_type, pattern in _VIETNAMESE.items():
        match = pattern.match(folded)
        if not match:
            continue
        found = [group for group in match.groups() if group is not None]
        if period_type == "month":
            return parse_period(f"{found[1]}-{int(found[0]):02d}")
        if period_type == "quarter":
            index = _ROMAN.get(found[0]) or int(found[0])
            return parse_period(f"{found[1]}-Q{index}")
        if period_type == "half_year":
            return parse_period(f"{found[1]}-H{1 if found[0] == 'đầu' else 2}")
        return parse_period(found[0])
    return None


def period_of_cell(text: str) -> Period:
    """A period as a cell holds it: a period code, the Vietnamese ways of writing one (VIETNAMESE_FORMS), or
    the date Excel makes of a typed month (typed 2026-09, stored 2026-09-01), read as that month. Any other
    date raises ExcelDate, any other text ValueError."""
    try:
        return parse_period(text)
    except ValueError:
        vietnamese = _vietnamese_period(text)
        if vietnamese is not None:
            return vietnamese
        try:
            day = parse_day(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a period: use 2026-09, 2026-Q3, 2026-H2 or 2026") from None
        if day.day != 1:
            raise ExcelDate(day) from None
        return parse_period(f"{day:%Y-%m}")
