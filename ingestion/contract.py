"""The submission contract: headers, types and row rules, with reasons in Vietnamese and English."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import yaml

from ingestion.catalogue import TOTAL, Indicator, load_catalogue
from ingestion.legacy_fonts import looks_legacy
from ingestion.periods import ExcelDate, Period, period_of_cell
from ingestion.unit_names import lookup, lookup_legacy

CONTRACT_FILE = Path(__file__).parent / "contract" / "submission-v1.yaml"
INDICATOR_SHEET = "indicators"
MODEL_SHEET = "models"


@dataclass(frozen=True)
class Problem:
    """One reason a file or a row was refused, precise enough for an officer to fix it."""

    file_name: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str | None
    code: str
    reason_en: str
    reason_vi: str

    def describe(self) -> str:
        where = [self.file_name]
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{', '.join(where)}: {self.reason_en}{shown} / {self.reason_vi}"


class FileRejected(Exception):
    """The file as a whole cannot be read against the contract; nothing of it is stored."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.describe() for p in problems))
        self.problems = problems


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


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).strip().casefold().split())


def map_headers(
    headers: list[str], file_name: str, sheet: str = INDICATOR_SHEET, contract_sheet: str = INDICATOR_SHEET
) -> list[str]:
    """Map the file's headers (code or Vietnamese label, any case) to contract names, or say what is wrong.

    `sheet` is the name the file gives the sheet, used in the reasons; the columns are contract_sheet's.
    """
    columns = sheet_columns(contract_sheet)
    by_label = {}
    for column in columns:
        by_label[_fold(column.name)] = column.name
        by_label[_fold(column.header_vi)] = column.name
    mapped: list[str] = []
    problems: list[Problem] = []
    for header in headers:
        name = by_label.get(_fold(header or ""))
        if name is None:
            problems.append(
                Problem(
                    file_name,
                    sheet,
                    1,
                    header,
                    header,
                    "unknown_column",
                    "column is not in the submission contract",
                    "cột không có trong mẫu báo cáo",
                )
            )
        elif name in mapped:
            problems.append(
                Problem(
                    file_name,
                    sheet,
                    1,
                    header,
                    header,
                    "duplicate_column",
                    "column appears twice",
                    "cột bị lặp lại",
                )
            )
        mapped.append(name or "")
    for column in columns:
        if column.name not in mapped:
            problems.append(
                Problem(
                    file_name,
                    sheet,
                    1,
                    column.name,
                    None,
                    "missing_column",
                    f"required column '{column.name}' ({column.header_vi}) is missing",
                    f"thiếu cột '{column.header_vi}' ({column.name})",
                )
            )
    if problems:
        raise FileRejected(problems)
    return mapped


@dataclass
class RowValidator:
    """Checks rows of one file for one province and period; remembers keys to catch duplicates."""

    file_name: str
    province_code: str
    period: Period
    units: dict[str, tuple[str, str]] | None  # code -> (province code, name) of units valid in the period
    sheet: str = INDICATOR_SHEET

    def __post_init__(self) -> None:
        self.catalogue: dict[str, Indicator] = load_catalogue()
        self._seen: dict[tuple[str, str, str], int] = {}

    def problem(self, row: int, column: str | None, value: object, code: str, en: str, vi: str) -> Problem:
        shown = None if value is None else str(value)
        return Problem(self.file_name, self.sheet, row, column, shown, code, en, vi)

    def _count(self, row: int, column: str, raw: str | None, problems: list[Problem]) -> int | None:
        text = (raw or "").strip().replace(" ", "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            problems.append(self.problem(row, column, raw, "not_a_number", "is not a number", "không phải là số"))
            return None
        if number != number.to_integral_value():
            problems.append(
                self.problem(
                    row,
                    column,
                    raw,
                    "not_a_whole_number",
                    "must be a whole number written without separators (4351, not 4.351 or 4,351)",
                    "phải là số nguyên, viết liền không có dấu phân cách (4351, không viết 4.351 hay 4,351)",
                )
            )
            return None
        if number < 0:
            problems.append(self.problem(row, column, raw, "negative", "must not be negative", "không được là số âm"))
            return None
        return int(number)

    def unit_code(self, row: int, given: str, problems: list[Problem], column: str = "unit_code") -> str:
        """A unit named by official code, or by a name that matches exactly one unit of the province."""
        if not given:
            problems.append(self.problem(row, column, None, "required", "is required", "bắt buộc nhập"))
            return given
        map_name = "current" if self.period.on_current_map else "legacy (before 2025-07-01)"
        if not given.isdigit():
            own = {code: unit for code, unit in self.units.items() if unit[0] == self.province_code}
            code, candidates = lookup(given, own)
            if code:
                return code
            legacy = [] if candidates else lookup_legacy(given, own)
            if legacy and looks_legacy(given) and len({code for _, _, code in legacy}) == 1:
                return legacy[0][2]  # plainly typed in a TCVN3 or VNI font, and only one reading names a unit
            if legacy:
                read = "; ".join(f"in a {font} font it reads '{text}' ({code})" for font, text, code in legacy)
                doc = "; ".join(f"gõ bằng phông {font} thì đọc là '{text}' ({code})" for font, text, code in legacy)
                problems.append(
                    self.problem(
                        row,
                        column,
                        given,
                        "legacy_font",
                        f"names no unit as written; typed {read}: retype the name in a Unicode font"
                        " (Times New Roman, Arial) or write the unit code",
                        f"không khớp tên đơn vị nào; nếu {doc}: hãy gõ lại bằng phông Unicode"
                        " (Times New Roman, Arial) hoặc ghi mã đơn vị",
                    )
                )
                return given
            if candidates:
                listed = "; ".join(candidates)
                problems.append(
                    self.problem(
                        row,
                        column,
                        given,
                        "ambiguous_unit",
                        f"names several units, write the code of one: {listed}",
                        f"trùng tên nhiều đơn vị, hãy ghi mã của một đơn vị: {listed}",
                    )
                )
            else:
                problems.append(
                    self.problem(
                        row,
                        column,
                        given,
                        "unknown_unit",
                        f"is not the name of a unit of province {self.province_code} on the {map_name} map",
                        f"không phải tên đơn vị thuộc tỉnh {self.province_code} trong kỳ {self.period.code}",
                    )
                )
            return given
        owner = self.units.get(given)
        if owner is None:
            problems.append(
                self.problem(
                    row,
                    column,
                    given,
                    "unknown_unit",
                    f"is not a unit code valid in {self.period.code} ({map_name} map)",
                    f"mã đơn vị không tồn tại trong kỳ {self.period.code}",
                )
            )
        elif owner[0] != self.province_code:
            problems.append(
                self.problem(
                    row,
                    column,
                    given,
                    "unit_of_other_province",
                    f"belongs to province {owner[0]}, not {self.province_code}",
                    f"đơn vị thuộc tỉnh {owner[0]}, không thuộc tỉnh {self.province_code}",
                )
            )
        return given

    def check(self, row: int, record: dict[str, str | None]) -> tuple[IndicatorRow | None, list[Problem]]:
        problems: list[Problem] = []
        period_text = (record.get("period") or "").strip()
        try:
            # Nearly every row repeats the file's period: compare the text before parsing it.
            if period_text.upper() != self.period.code and period_of_cell(period_text).code != self.period.code:
                problems.append(
                    self.problem(
                        row,
                        "period",
                        period_text,
                        "period_mismatch",
                        f"period differs from the file's period {self.period.code}",
                        f"kỳ báo cáo khác với kỳ của tệp {self.period.code}",
                    )
                )
        except ExcelDate as excel:
            problems.append(
                self.problem(
                    row,
                    "period",
                    period_text,
                    "excel_date_period",
                    f"Excel changed what was typed into the date {excel.day:%d/%m/%Y}: format the column"
                    f" '{column_label('period')}' as Text and type the period again ({self.period.code})",
                    f"Excel đã đổi nội dung nhập thành ngày {excel.day:%d/%m/%Y}: hãy định dạng cột"
                    f" '{column_label('period')}' là Văn bản (Text) rồi nhập lại kỳ báo cáo ({self.period.code})",
                )
            )
        except ValueError:
            problems.append(
                self.problem(
                    row,
                    "period",
                    period_text,
                    "bad_period",
                    "is not a period (2026-09, 2026-Q3, 2026-H2, 2026); if Excel changed what was typed,"
                    " format the column as Text and type it again",
                    "kỳ báo cáo không hợp lệ (2026-09, 2026-Q3, 2026-H2, 2026); nếu Excel tự đổi nội dung nhập,"
                    " hãy định dạng cột là Văn bản (Text) rồi nhập lại",
                )
            )

        unit_code = self.unit_code(row, (record.get("unit_code") or "").strip(), problems)

        code = (record.get("indicator_code") or "").strip()
        indicator = self.catalogue.get(code)
        if indicator is None:
            problems.append(
                self.problem(
                    row,
                    "indicator_code",
                    code or None,
                    "unknown_indicator",
                    "is not an indicator of the catalogue",
                    "mã chỉ tiêu không có trong danh mục",
                )
            )
        if indicator is not None and not indicator.collected_in(self.period.start, self.period.end):
            since = f"{indicator.since:%Y-%m-%d}" if indicator.since else "the start"
            until = f"{indicator.until:%Y-%m-%d}" if indicator.until else "today"
            problems.append(
                self.problem(
                    row,
                    "indicator_code",
                    code,
                    "indicator_not_collected",
                    f"is only collected from {since} to {until}, not in {self.period.code}",
                    f"chỉ tiêu chỉ được báo cáo từ {since} đến {until}, không thuộc kỳ {self.period.code}",
                )
            )
            indicator = None
        category = (record.get("category") or "").strip() or TOTAL
        if indicator is not None and category not in indicator.allowed_categories():
            allowed = ", ".join(indicator.allowed_categories())
            problems.append(
                self.problem(
                    row,
                    "category",
                    category,
                    "unknown_category",
                    f"must be one of: {allowed}",
                    f"phân loại phải là một trong: {allowed}",
                )
            )

        value = self._count(row, "value", record.get("value"), problems)
        numerator = self._count(row, "numerator", record.get("numerator"), problems)
        denominator = self._count(row, "denominator", record.get("denominator"), problems)
        if indicator is not None and indicator.is_ratio:
            for column, number in (("numerator", numerator), ("denominator", denominator)):
                if number is None and not any(p.column == column for p in problems):
                    problems.append(
                        self.problem(
                            row,
                            column,
                            None,
                            "required",
                            "is required for a ratio indicator",
                            "bắt buộc với chỉ tiêu tỷ lệ",
                        )
                    )
            if numerator is not None and denominator is not None and numerator > denominator:
                problems.append(
                    self.problem(
                        row,
                        "numerator",
                        numerator,
                        "numerator_over_denominator",
                        f"is larger than the denominator {denominator}",
                        f"tử số lớn hơn mẫu số {denominator}",
                    )
                )
        elif indicator is not None and value is None and not any(p.column == "value" for p in problems):
            problems.append(
                self.problem(
                    row,
                    "value",
                    None,
                    "required",
                    "is required for a count indicator",
                    "bắt buộc với chỉ tiêu đếm",
                )
            )

        key = (unit_code, code, category)
        if key in self._seen:
            problems.append(
                self.problem(
                    row,
                    "indicator_code",
                    code,
                    "duplicate_row",
                    f"repeats row {self._seen[key]} (same unit, indicator and category)",
                    f"trùng với dòng {self._seen[key]} (cùng đơn vị, chỉ tiêu, phân loại)",
                )
            )
        else:
            self._seen[key] = row
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
