"""The submission contract's rules, each declared once with the reasons an officer reads when it is broken.

A row of the indicator sheet is checked on two paths, and both take the rule from here:
- ingestion/bulk.py checks a whole file at once in Postgres: a row is plainly good when it keeps every rule's
  SQL (`text_sql` on the cells as text in landing_row, `typed_sql` on a row COPY typed in raw). The SQL is
  strict: a row it lets through is one the contract accepts as it is.
- ingestion/contract.py's RowValidator checks, row by row, the rows SQL had a doubt about (a name instead of a
  code, "4 351", a padded cell), may still accept them, and words every problem with a reason declared here.
tests/test_rules.py takes each rule's `breaking` examples and proves that both paths refuse them, for the
reasons of that rule, and accept the good rows they were made from: a rule added here without examples fails.

The quality gate's checks (expectations/suites.py and the dbt tests) test some of the same things again on
the built tables, on purpose: an independent second path that would catch a row either path here let by.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingestion.catalogue import TOTAL
from ingestion.periods import VIETNAMESE_FORMS


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
class Reason:
    """Why a file or a row was refused: a code for programs and the words for the officer, with {fields}."""

    code: str
    en: str
    vi: str

    def problem(
        self,
        file_name: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        **fields: object,
    ) -> Problem:
        """The reason as found in a file: where, the value found there, and the words with `fields` filled in."""
        shown = None if value is None else str(value)
        return Problem(
            file_name, sheet, row, column, shown, self.code, self.en.format(**fields), self.vi.format(**fields)
        )


@dataclass(frozen=True)
class Rule:
    """One rule of an indicator row: the SQL that holds when a row keeps it, and why a row breaks it."""

    name: str
    reasons: tuple[Reason, ...]
    text_sql: str  # over `r`, a landing_row row (cells as text), and `allowed`, its indicator and category
    typed_sql: str  # the same over `r`, a row of raw.indicator_value as COPY typed it
    breaking: tuple[dict[str, str], ...] = field(default=())  # cells that break the rule in a good row

    @property
    def codes(self) -> set[str]:
        return {reason.code for reason in self.reasons}


def _count(column: str, required: bool) -> str:
    """SQL: the cell holds a whole number as plain digits (at most 18, so it fits a bigint)."""
    digits = f"(length({column}) between 1 and 18 and ltrim({column}, '0123456789') = '')"
    return digits if required else f"({column} is null or {digits})"


REQUIRED = Reason("required", "is required", "bắt buộc nhập")

# The file as a whole: where it was put, how large it is, its header, whether it has rows.
BAD_PERIOD_FOLDER = Reason(
    "bad_period_folder",
    "the folder above the file must be a period such as 2026-09, 2026-Q3, 2026-H2 or 2026",
    "thư mục chứa tệp phải là kỳ báo cáo, ví dụ 2026-09, 2026-Q3, 2026-H2, 2026",
)
FUTURE_PERIOD = Reason(
    "future_period",
    "the period {period} has not started yet (it starts on {start:%Y-%m-%d})",
    "kỳ báo cáo {period} chưa bắt đầu (bắt đầu ngày {start:%d/%m/%Y})",
)
FILE_TOO_LARGE = Reason(
    "file_too_large",
    "the file is larger than the {limit} MB limit; split it or contact the data team",
    "tệp lớn hơn giới hạn {limit} MB; hãy chia nhỏ tệp hoặc liên hệ nhóm dữ liệu",
)
UNKNOWN_PROVINCE = Reason(
    "unknown_province",
    "the folder above the period must be the code of a province on the map of {period}, such as 38"
    " (before 2025-07-01, one of the 63 provinces of that time)",
    "thư mục tỉnh phải là mã tỉnh theo bản đồ hành chính của kỳ {period}, ví dụ 38",
)
UNKNOWN_COLUMN = Reason("unknown_column", "column is not in the submission contract", "cột không có trong mẫu báo cáo")
DUPLICATE_COLUMN = Reason("duplicate_column", "column appears twice", "cột bị lặp lại")
MISSING_COLUMN = Reason(
    "missing_column", "required column '{name}' ({label}) is missing", "thiếu cột '{label}' ({name})"
)
NO_ROWS = Reason("no_rows", "the file has a header but no data rows", "tệp chỉ có dòng tiêu đề, không có dữ liệu")
PERIOD_TOO_OLD = Reason(
    "period_too_old",
    "the period {period} is before {first:%Y-%m-%d}, the first day this warehouse takes figures for",
    "kỳ báo cáo {period} trước ngày {first:%d/%m/%Y}, ngày đầu tiên hệ thống nhận số liệu",
)

# A file no reader can make sense of. Whatever a reader raises becomes one of these, never an exception that
# would stop the other provinces' files (ingestion/readers.py, open_table).
UNREADABLE = Reason(
    "unreadable_file",
    "the file cannot be read{where}: {detail}; save it again from Excel, or send the XLSX template",
    "không đọc được tệp{where_vi}: {detail}; hãy lưu lại tệp từ Excel hoặc dùng tệp mẫu XLSX",
)
UNSAFE_XML = Reason(
    "unsafe_xml",
    "the workbook declares XML entities or a DTD, which no spreadsheet program writes: save it again from Excel",
    "tệp Excel có khai báo thực thể XML hoặc DTD (không phải do Excel tạo ra): hãy lưu lại tệp từ Excel",
)
CONTROL_CHARACTER = Reason(
    "control_character",
    "holds a control character ({character}) that no text may contain: retype the cell",
    "ô chứa ký tự điều khiển ({character}) không hợp lệ: hãy gõ lại nội dung ô",
)
JSON_TOO_LARGE = Reason(
    "json_too_large",
    "a JSON file may not be larger than {limit} MB; send CSV or XLSX for a larger report",
    "tệp JSON không được lớn hơn {limit} MB; hãy gửi dạng CSV hoặc XLSX",
)
JSON_TOO_DEEP = Reason(
    "json_too_deep",
    "the JSON is nested more than {limit} levels deep; a row is one object of cells",
    "tệp JSON lồng nhau quá {limit} cấp; mỗi dòng là một đối tượng gồm các ô",
)
NOT_CHECKED = Reason(
    "not_checked",
    "the file could not be checked because of an error in the warehouse ({detail}); the data team has been"
    " told: send it again once they say so",
    "hệ thống gặp lỗi khi kiểm tra tệp ({detail}); nhóm dữ liệu đã được báo: hãy gửi lại khi được thông báo",
)

# The rows of the indicator sheet: each rule with its reasons above it.
PERIOD_MISMATCH = Reason(
    "period_mismatch", "period differs from the file's period {period}", "kỳ báo cáo khác với kỳ của tệp {period}"
)
EXCEL_DATE_PERIOD = Reason(
    "excel_date_period",
    "Excel changed what was typed into the date {day:%d/%m/%Y}: format the column '{label}' as Text"
    " and type the period again ({period})",
    "Excel đã đổi nội dung nhập thành ngày {day:%d/%m/%Y}: hãy định dạng cột '{label}' là Văn bản (Text)"
    " rồi nhập lại kỳ báo cáo ({period})",
)
BAD_PERIOD = Reason(
    "bad_period",
    "is not a period (2026-09, 2026-Q3, 2026-H2, 2026, or " + VIETNAMESE_FORMS + "); if Excel changed what was"
    " typed, format the column as Text and type it again",
    "kỳ báo cáo không hợp lệ (2026-09, 2026-Q3, 2026-H2, 2026, hoặc " + VIETNAMESE_FORMS + "); nếu Excel tự"
    " đổi nội dung nhập, hãy định dạng cột là Văn bản (Text) rồi nhập lại",
)
PERIOD = Rule(
    "period",
    (PERIOD_MISMATCH, EXCEL_DATE_PERIOD, BAD_PERIOD),
    text_sql="r.period = %(period)s",
    typed_sql="r.period = %(period)s",
    breaking=({"period": "2026-Q2"}, {"period": "2026-13"}, {"period": "15/09/2026"}, {"period": ""}),
)

UNKNOWN_UNIT_CODE = Reason(
    "unknown_unit", "is not a unit code valid in {period} ({map} map)", "mã đơn vị không tồn tại trong kỳ {period}"
)
UNKNOWN_UNIT_NAME = Reason(
    "unknown_unit",
    "is not the name of a unit of province {province} on the {map} map",
    "không phải tên đơn vị thuộc tỉnh {province} trong kỳ {period}",
)
UNIT_OF_OTHER_PROVINCE = Reason(
    "unit_of_other_province",
    "belongs to province {owner}, not {province}",
    "đơn vị thuộc tỉnh {owner}, không thuộc tỉnh {province}",
)
AMBIGUOUS_UNIT = Reason(
    "ambiguous_unit",
    "names several units, write the code of one: {listed}",
    "trùng tên nhiều đơn vị, hãy ghi mã của một đơn vị: {listed}",
)
LEGACY_FONT = Reason(
    "legacy_font",
    "names no unit as written; typed {read}: retype the name in a Unicode font (Times New Roman, Arial)"
    " or write the unit code",
    "không khớp tên đơn vị nào; nếu {doc}: hãy gõ lại bằng phông Unicode (Times New Roman, Arial) hoặc ghi mã đơn vị",
)
UNITS_OF_THE_PROVINCE = """r.unit_code in (
        select unit_code from ref.unit
        where map = %(map)s and province_code = %(province)s
          and valid_from <= %(period_end)s and (valid_to is null or valid_to >= %(period_end)s))"""
UNIT = Rule(
    "unit",
    (REQUIRED, UNKNOWN_UNIT_CODE, UNKNOWN_UNIT_NAME, UNIT_OF_OTHER_PROVINCE, AMBIGUOUS_UNIT, LEGACY_FONT),
    text_sql=UNITS_OF_THE_PROVINCE,
    typed_sql=UNITS_OF_THE_PROVINCE,
    breaking=(
        {"unit_code": "99999"},
        {"unit_code": ""},
        {"unit_code": "Xã Không Có Thật"},
        {"unit_code": "00070"},  # Phường Hoàn Kiếm, Hà Nội: a unit of another province than the file's
    ),
)

UNKNOWN_INDICATOR = Reason(
    "unknown_indicator", "is not an indicator of the catalogue", "mã chỉ tiêu không có trong danh mục"
)
INDICATOR_NOT_COLLECTED = Reason(
    "indicator_not_collected",
    "is only collected from {since} to {until}, not in {period}",
    "chỉ tiêu chỉ được báo cáo từ {since} đến {until}, không thuộc kỳ {period}",
)
UNKNOWN_CATEGORY = Reason("unknown_category", "must be one of: {allowed}", "phân loại phải là một trong: {allowed}")
INDICATOR = Rule(
    "indicator",
    (UNKNOWN_INDICATOR, INDICATOR_NOT_COLLECTED, UNKNOWN_CATEGORY),
    # `allowed` is the catalogue's indicator × category joined to the row; raw stores a total as no category
    text_sql="allowed.indicator_code is not null",
    typed_sql=f"allowed.indicator_code is not null and r.category is distinct from '{TOTAL}'",
    breaking=({"indicator_code": "no_such_indicator"}, {"indicator_code": ""}, {"category": "no_such_category"}),
)

NOT_A_NUMBER = Reason("not_a_number", "is not a number", "không phải là số")
NOT_A_WHOLE_NUMBER = Reason(
    "not_a_whole_number",
    "must be a whole number written without separators (4351, not 4.351 or 4,351)",
    "phải là số nguyên, viết liền không có dấu phân cách (4351, không viết 4.351 hay 4,351)",
)
NEGATIVE = Reason("negative", "must not be negative", "không được là số âm")
TOO_LARGE = Reason(
    "too_large",
    "is larger than any count can be (at most 18 digits)",
    "lớn hơn mọi số đếm có thể có (tối đa 18 chữ số)",
)
MAX_COUNT = 10**18 - 1  # 18 digits, as the SQL of _count checks: it fits a bigint
REQUIRED_FOR_RATIO = Reason("required", "is required for a ratio indicator", "bắt buộc với chỉ tiêu tỷ lệ")
REQUIRED_FOR_COUNT = Reason("required", "is required for a count indicator", "bắt buộc với chỉ tiêu đếm")
RATIO = {"indicator_code": "households_in_anxh", "value": ""}
COUNTS = Rule(
    "counts",
    (NOT_A_NUMBER, NOT_A_WHOLE_NUMBER, NEGATIVE, TOO_LARGE, REQUIRED_FOR_RATIO, REQUIRED_FOR_COUNT),
    # A count in `value` only; a ratio in `numerator` and `denominator` (a value given with a ratio is dropped).
    text_sql=f"""case when allowed.is_ratio
            then {_count("r.value", False)} and {_count("r.numerator", True)} and {_count("r.denominator", True)}
            else {_count("r.value", True)} and {_count("r.numerator", False)} and {_count("r.denominator", False)}
        end""",
    typed_sql=f"""case when allowed.is_ratio
            then r.value is null and r.numerator between 0 and {MAX_COUNT} and r.denominator between 0 and {MAX_COUNT}
            else r.value between 0 and {MAX_COUNT} and r.numerator is null and r.denominator is null
        end""",
    breaking=(
        {"value": "abc"},
        {"value": "4.351"},
        {"value": "-3"},
        {"value": "1" + "0" * 18},
        {"value": "9" * 5000},
        {"value": "1e999999999"},
        {"value": "NaN"},
        {"value": ""},
        {**RATIO, "numerator": "", "denominator": "100"},
        {**RATIO, "numerator": "9", "denominator": "x"},
        {**RATIO, "numerator": "-1", "denominator": "100"},
    ),
)

NUMERATOR_OVER_DENOMINATOR = Reason(
    "numerator_over_denominator", "is larger than the denominator {denominator}", "tử số lớn hơn mẫu số {denominator}"
)
NUMERATOR = Rule(
    "numerator_not_over_denominator",
    (NUMERATOR_OVER_DENOMINATOR,),
    # Compared only once COUNTS' SQL found both cells to be numbers (a CASE is evaluated in order).
    text_sql=f"""case when allowed.is_ratio and {_count("r.numerator", True)} and {_count("r.denominator", True)}
            then r.numerator::bigint <= r.denominator::bigint else true end""",
    typed_sql="(allowed.is_ratio is not true or r.numerator <= r.denominator)",
    breaking=({**RATIO, "numerator": "101", "denominator": "100"},),
)

DUPLICATE_ROW = Reason(
    "duplicate_row",
    "repeats row {first} (same unit, indicator and category)",
    "trùng với dòng {first} (cùng đơn vị, chỉ tiêu, phân loại)",
)
REPEAT = Rule(
    "one_row_per_key",
    (DUPLICATE_ROW,),
    # `repeated` lists the keys landing_row holds more than once. A COPY straight into raw finds repeats as
    # the lines go by and looks again in raw (ingestion/bulk.py): no row-level SQL is left to do there.
    text_sql="repeated.unit_code is null",
    typed_sql="true",
    breaking=({"sent": "twice"},),  # the good row, sent a second time in the same file
)
# Levels (ingestion/levels.py): a figure given for a unit and for units below it in the same file. A rule over
# a set of rows, checked once in SQL after the rows are loaded; the rows below are then not added up.
PARTS_EXCEED_WHOLE = Reason(
    "parts_exceed_whole",
    "unit {unit} gives {whole} for {what}, but the units below it in this file add up to {parts} (rows {rows}):"
    " the parts must not exceed the whole. Correct the unit's figure or its units' rows",
    "đơn vị {unit} báo {whole} cho {what}, nhưng các đơn vị trực thuộc trong tệp cộng lại được {parts}"
    " (dòng {rows}): số liệu các đơn vị trực thuộc không được lớn hơn số của đơn vị cấp trên."
    " Hãy sửa số của đơn vị hoặc các dòng của đơn vị trực thuộc",
)

# The rows of the models sheet (ingestion/models.py): checked in Python only, row by row (a few per file);
# the host unit is a unit as in UNIT.
NOT_IN_LIST = Reason("not_in_list", "must be one of: {allowed}", "phải là một trong: {allowed}")
UNKNOWN_MODEL_TYPE = Reason(
    "unknown_model_type",
    "is not a model type; use one of: {known}",
    "loại mô hình không có trong danh mục (trang 'Loại mô hình')",
)
BAD_DATE = Reason(
    "bad_date",
    "is not a date (write 2024-05-19 or 19/05/2024)",
    "không phải ngày hợp lệ (ghi 2024-05-19 hoặc 19/05/2024)",
)
LAUNCHED_AFTER_PERIOD = Reason(
    "launched_after_period",
    "is after the end of the period {period} ({end:%Y-%m-%d})",
    "sau ngày cuối kỳ báo cáo {period} ({end:%d/%m/%Y})",
)
BAD_MODEL_REF = Reason(
    "bad_model_ref",
    "must be a model code, or <province code>/<model code> for another province's model",
    "phải là mã mô hình, hoặc <mã tỉnh>/<mã mô hình> với mô hình của tỉnh khác",
)
REPLICATES_ITSELF = Reason(
    "replicates_itself", "a model cannot be replicated from itself", "mô hình không thể nhân rộng từ chính nó"
)
DUPLICATE_MODEL = Reason("duplicate_model", "repeats the model of row {first}", "trùng mã mô hình với dòng {first}")

ROW_RULES = (PERIOD, INDICATOR, REPEAT, UNIT, COUNTS, NUMERATOR)


def plainly_good(form: str) -> str:
    """SQL: the row keeps every rule (`form` is 'text' or 'typed'); unknown counts as broken."""
    kept = "\n    and ".join(getattr(rule, f"{form}_sql") for rule in ROW_RULES)
    return f"coalesce(\n    {kept},\n    false)"
