"""The submission contract: headers, types and row rules, with reasons in Vietnamese and English."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import yaml

from ingestion import rules
from ingestion.catalogue import TOTAL, Indicator, load_catalogue
from ingestion.legacy_fonts import looks_legacy
from ingestion.periods import ExcelDate, Period, period_of_cell
from ingestion.rules import FileRejected, Problem
from ingestion.unit_names import lookup, lookup_legacy, lookup_names

__all__ = ["FileRejected", "Problem"]  # declared with the reasons, in ingestion/rules.py

CONTRACT_FILE = Path(__file__).parent / "contract" / "submission-v1.yaml"
INDICATOR_SHEET = "indicators"
MODEL_SHEET = "models"


@dataclass(frozen=True)
class IndicatorRow:
    source_row: int
    unit_code: str
    indicator_code: str
    category: str
    value: int | None
    numerator: int | None
    denominator: int | None


@dataclass(frozen=True)
class Column:
    name: str
    header_vi: str
    type: str
    required: bool
    values: tuple[str, ...] = ()  # the allowed codes of a `choice` column


@cache
def load_contract() -> dict:
    return yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))


def sheet_title(sheet: str = INDICATOR_SHEET) -> str:
    """The sheet's Vietnamese title, as officers see it in the template."""
    return load_contract()["sheets"][sheet]["title_vi"]


def sheet_columns(sheet: str = INDICATOR_SHEET) -> list[Column]:
    spec = load_contract()["sheets"][sheet]["columns"]
    return [Column(c["name"], c["header_vi"], c["type"], c["required"], tuple(c.get("values", ()))) for c in spec]


def column_label(column: str | None) -> str:
    """A contract column as the officer sees it in the template: 'Giá trị (value)'; other names as given."""
    labels = _header_labels()
    return f"{labels[column]} ({column})" if column in labels else column or ""


@cache
def _header_labels() -> dict[str, str]:
    return {c.name: c.header_vi for sheet in load_contract()["sheets"] for c in sheet_columns(sheet)}


# Spaces as thousands separators are dropped from a count: the plain one, and those a number pasted from Word
# or the web carries (no-break U+00A0, narrow no-break U+202F, thin U+2009).
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009")


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).strip().casefold().split())


@cache
def _names_by_label(contract_sheet: str) -> dict[str, str]:
    """A contract sheet's column names by their folded code and Vietnamese label."""
    found = {}
    for column in sheet_columns(contract_sheet):
        found[_fold(column.name)] = column.name
        found[_fold(column.header_vi)] = column.name
    return found


def known_header(text: str, contract_sheet: str = INDICATOR_SHEET) -> bool:
    """Whether a header cell names a column of the contract sheet (its code or label, any case)."""
    return _fold(text) in _names_by_label(contract_sheet)


def map_headers(
    headers: list[str],
    file_name: str,
    sheet: str = INDICATOR_SHEET,
    contract_sheet: str = INDICATOR_SHEET,
    header_row: int = 1,
) -> list[str]:
    """Map the file's headers (code or Vietnamese label, any case) to contract names, or say what is wrong.

    `sheet` is the name the file gives the sheet, and `header_row` the row its header stands in, used in the
    reasons; the columns are contract_sheet's.
    """
    columns = sheet_columns(contract_sheet)
    by_label = _names_by_label(contract_sheet)
    mapped: list[str] = []
    problems: list[Problem] = []
    for header in headers:
        name = by_label.get(_fold(header or ""))
        if name is None or name in mapped:
            reason = rules.UNKNOWN_COLUMN if name is None else rules.DUPLICATE_COLUMN
            problems.append(reason.problem(file_name, sheet=sheet, row=header_row, column=header, value=header))
        mapped.append(name or "")
    for column in columns:
        if column.name not in mapped:
            problems.append(
                rules.MISSING_COLUMN.problem(
                    file_name, sheet=sheet, row=header_row, column=column.name, name=column.name, label=column.header_vi
                )
            )
    if problems:
        raise FileRejected(problems)
    return mapped


@dataclass
class RowValidator:
    """Checks rows of one file for one province and period against the rules of ingestion/rules.py, and words
    each problem with the rule's reasons; remembers keys to catch repeats."""

    file_name: str
    province_code: str
    period: Period
    # code -> (province code, name, other names) of units valid in the period (loader._units_for)
    units: dict[str, tuple[str, ...]] | None
    sheet: str = INDICATOR_SHEET

    def __post_init__(self) -> None:
        self.catalogue: dict[str, Indicator] = load_catalogue()
        self._seen: dict[tuple[str, str, str], int] = {}

    def problem(self, reason: rules.Reason, row: int, column: str | None, value: object, **fields) -> Problem:
        return reason.problem(self.file_name, sheet=self.sheet, row=row, column=column, value=value, **fields)

    @property
    def _map_name(self) -> str:
        return "current" if self.period.on_current_map else "legacy (before 2025-07-01)"

    def check(self, row: int, record: dict[str, str | None]) -> tuple[IndicatorRow | None, list[Problem]]:
        problems: list[Problem] = []
        self._period(row, (record.get("period") or "").strip(), problems)
        unit_code = self.unit_code(row, (record.get("unit_code") or "").strip(), problems)
        code = (record.get("indicator_code") or "").strip()
        category = (record.get("category") or "").strip() or TOTAL
        indicator = self._indicator(row, code, category, problems)
        value, numerator, denominator = (
            self._count(row, column, record.get(column), problems) for column in ("value", "numerator", "denominator")
        )
        if indicator is not None:
            self._counts(row, indicator, value, numerator, denominator, problems)
        self._repeat(row, (unit_code, code, category), code, problems)
        if problems:
            return None, problems
        is_ratio = indicator.is_ratio
        return IndicatorRow(
            row,
            unit_code,
            code,
            category,
            None if is_ratio else value,
            numerator if is_ratio else None,
            denominator if is_ratio else None,
        ), []

    def _period(self, row: int, text: str, problems: list[Problem]) -> None:
        """rules.PERIOD: the row's period is the file's."""
        expected = self.period.code
        try:
            # Nearly every row repeats the file's period: compare the text before parsing it.
            if text.upper() != expected and period_of_cell(text).code != expected:
                problems.append(self.problem(rules.PERIOD_MISMATCH, row, "period", text, period=expected))
        except ExcelDate as excel:
            problems.append(
                self.problem(
                    rules.EXCEL_DATE_PERIOD,
                    row,
                    "period",
                    text,
                    day=excel.day,
                    label=column_label("period"),
                    period=expected,
                )
            )
        except ValueError:
            problems.append(self.problem(rules.BAD_PERIOD, row, "period", text))

    def unit_code(self, row: int, given: str, problems: list[Problem], column: str = "unit_code") -> str:
        """rules.UNIT: a unit of the province valid in the period, named by official code, or by a name that
        matches exactly one unit of the province. Returns its code (or what was given, with a problem)."""
        if not given:
            problems.append(self.problem(rules.REQUIRED, row, column, None))
            return given
        where = {"period": self.period.code, "map": self._map_name, "province": self.province_code}
        if given.isdigit():
            owner = self.units.get(given)
            if owner is None:
                problems.append(self.problem(rules.UNKNOWN_UNIT_CODE, row, column, given, **where))
            elif owner[0] != self.province_code:
                problems.append(self.problem(rules.UNIT_OF_OTHER_PROVINCE, row, column, given, owner=owner[0], **where))
            return given
        own = {code: unit for code, unit in self.units.items() if unit[0] == self.province_code}
        code, candidates = lookup(given, own)
        if not code and not candidates:  # not its name in the period's list: a name another list gives it
            others = ((c, name) for c, unit in own.items() if len(unit) > 2 for name in unit[2])
            code, candidates = lookup_names(given, others)
        if code:
            return code
        legacy = [] if candidates else lookup_legacy(given, own)
        if legacy and looks_legacy(given) and len({code for _, _, code in legacy}) == 1:
            return legacy[0][2]  # plainly typed in a TCVN3 or VNI font, and only one reading names a unit
        if legacy:
            read = "; ".join(f"in a {font} font it reads '{text}' ({code})" for font, text, code in legacy)
            doc = "; ".join(f"gõ bằng phông {font} thì đọc là '{text}' ({code})" for font, text, code in legacy)
            problems.append(self.problem(rules.LEGACY_FONT, row, column, given, read=read, doc=doc))
        elif candidates:
            problems.append(self.problem(rules.AMBIGUOUS_UNIT, row, column, given, listed="; ".join(candidates)))
        else:
            problems.append(self.problem(rules.UNKNOWN_UNIT_NAME, row, column, given, **where))
        return given

    def _indicator(self, row: int, code: str, category: str, problems: list[Problem]) -> Indicator | None:
        """rules.INDICATOR: an indicator of the catalogue collected in the period, with one of its categories."""
        indicator = self.catalogue.get(code)
        if indicator is None:
            problems.append(self.problem(rules.UNKNOWN_INDICATOR, row, "indicator_code", code or None))
            return None
        if not indicator.collected_in(self.period.start, self.period.end):
            since = f"{indicator.since:%Y-%m-%d}" if indicator.since else "the start"
            until = f"{indicator.until:%Y-%m-%d}" if indicator.until else "today"
            problems.append(
                self.problem(
                    rules.INDICATOR_NOT_COLLECTED,
                    row,
                    "indicator_code",
                    code,
                    since=since,
                    until=until,
                    period=self.period.code,
                )
            )
            return None
        if category not in indicator.allowed_categories():
            allowed = ", ".join(indicator.allowed_categories())
            problems.append(self.problem(rules.UNKNOWN_CATEGORY, row, "category", category, allowed=allowed))
        return indicator

    def _count(self, row: int, column: str, raw: str | None, problems: list[Problem]) -> int | None:
        """rules.COUNTS, one cell: empty, or a whole number that is not negative."""
        text = (raw or "").strip().translate(_SPACES)
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            problems.append(self.problem(rules.NOT_A_NUMBER, row, column, raw))
            return None
        if number.copy_abs() > rules.MAX_COUNT:  # before any arithmetic: 1e999999999 would be a billion digits
            problems.append(self.problem(rules.TOO_LARGE, row, column, raw[:40] + "…" if len(raw) > 40 else raw))
            return None
        if number != number.to_integral_value():
            problems.append(self.problem(rules.NOT_A_WHOLE_NUMBER, row, column, raw))
            return None
        if number < 0:
            problems.append(self.problem(rules.NEGATIVE, row, column, raw))
            return None
        return int(number)

    def _counts(
        self,
        row: int,
        indicator: Indicator,
        value: int | None,
        numerator: int | None,
        denominator: int | None,
        problems: list[Problem],
    ) -> None:
        """rules.COUNTS, the row: a count has a value; a ratio a numerator and a denominator (rules.NUMERATOR:
        the one not larger than the other)."""
        found = {p.column for p in problems}
        if not indicator.is_ratio:
            if value is None and "value" not in found:
                problems.append(self.problem(rules.REQUIRED_FOR_COUNT, row, "value", None))
            return
        for column, number in (("numerator", numerator), ("denominator", denominator)):
            if number is None and column not in found:
                problems.append(self.problem(rules.REQUIRED_FOR_RATIO, row, column, None))
        if numerator is not None and denominator is not None and numerator > denominator:
            problems.append(
                self.problem(rules.NUMERATOR_OVER_DENOMINATOR, row, "numerator", numerator, denominator=denominator)
            )

    def _repeat(self, row: int, key: tuple[str, str, str], code: str, problems: list[Problem]) -> None:
        """rules.REPEAT: one row per unit, indicator and category."""
        if key in self._seen:
            problems.append(self.problem(rules.DUPLICATE_ROW, row, "indicator_code", code, first=self._seen[key]))
        else:
            self._seen[key] = row
