"""Faulty submissions, one per kind of fault a province's file can have, for the tests and for trying out
the rejection reports. Each comes with the reason code ingestion must give it ("" where the file is fine)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from ingestion.contract import sheet_columns, sheet_title
from ingestion.reference import current_units, legacy_units

PROVINCE, PERIOD = "01", "2026-09"
HEADER_CODES = [c.name for c in sheet_columns()]
HEADER_VI = [c.header_vi for c in sheet_columns()]


def _units() -> tuple[str, str, str, str]:
    """Two communes of Hà Nội, one of Thanh Hóa, and a legacy Hà Nội code that no current unit has."""
    current = [u for u in current_units() if u.unit_level == "commune"]
    own = [u.unit_code for u in current if u.province_code == PROVINCE]
    other = next(u.unit_code for u in current if u.province_code == "38")
    codes = {u.unit_code for u in current_units()}
    legacy = next(
        u.unit_code
        for u in legacy_units()
        if u.unit_level == "commune" and u.province_code == PROVINCE and u.unit_code not in codes
    )
    return own[0], own[1], other, legacy


def good_rows() -> list[list[str]]:
    a, b, _, _ = _units()
    return [
        [PERIOD, a, "security_teams", "", "26", "", ""],
        [PERIOD, b, "security_teams", "", "31", "", ""],
        [PERIOD, a, "households_in_anxh", "", "", "9900", "10000"],
    ]


def _csv(rows: list[list[str]], header: list[str] = HEADER_CODES, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    # Windows-1258 writes tones as combining marks and lacks some precomposed letters: replace those, the
    # rest is the non-UTF-8 byte soup an old Excel "CSV" produces.
    return buffer.getvalue().encode(encoding, errors="replace")


def _xlsx(rows: list[list], merge: str | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title()
    sheet.append(HEADER_VI)
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with(change: Callable[[list[list[str]]], list[list[str]]]) -> Callable[[], bytes]:
    return lambda: _csv(change(good_rows()))


def _replace(index: int, column: str, value: str) -> Callable[[], bytes]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        rows[index][HEADER_CODES.index(column)] = value
        return rows

    return _with(change)


@dataclass(frozen=True)
class Fault:
    file_name: str
    expected: str  # the reason code ingestion must give; "" for a file that must be accepted
    content: Callable[[], bytes]
    period: str = PERIOD


FAULTS: dict[str, Fault] = {
    "empty file": Fault("empty.csv", "empty_file", lambda: b""),
    "header only": Fault("header.csv", "no_rows", lambda: _csv([])),
    "truncated workbook": Fault("truncated.xlsx", "corrupt_workbook", lambda: _xlsx(good_rows())[:900]),
    "password-protected workbook": Fault(
        "secret.xlsx", "corrupt_workbook", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024)
    ),
    "macro workbook": Fault("macros.xlsm", "unsupported_format", lambda: _xlsx(good_rows())),
    "wrong extension": Fault("report.pdf", "unsupported_format", lambda: b"%PDF-1.7"),
    "formula": Fault(
        "formula.xlsx",
        "formula",
        lambda: _xlsx([*good_rows()[:1], [PERIOD, _units()[1], "security_teams", None, "=E2+5", None, None]]),
    ),
    "merged cells": Fault("merged.xlsx", "merged_cells", lambda: _xlsx(good_rows(), merge="C2:C3")),
    "extra column": Fault(
        "extra.csv", "unknown_column", lambda: _csv([[*r, "x"] for r in good_rows()], [*HEADER_CODES, "ghi chú"])
    ),
    "missing column": Fault(
        "missing.csv", "missing_column", lambda: _csv([r[:-1] for r in good_rows()], HEADER_CODES[:-1])
    ),
    "renamed column": Fault(
        "renamed.csv", "unknown_column", lambda: _csv(good_rows(), [*HEADER_CODES[:4], "so_luong", *HEADER_CODES[5:]])
    ),
    # Letters Windows-1258 has no byte for replaced by '?', the header too: not the contract's once so read, so
    # nothing tells its encoding (a Windows-1258 file as Excel writes it is read: tests/test_office_files.py).
    "Windows-1258 CSV, letters lost": Fault(
        "cp1258.csv", "bad_encoding", lambda: _csv(good_rows(), HEADER_VI, "cp1258")
    ),
    "UTF-16 CSV (Excel's Unicode Text)": Fault("utf16.csv", "", lambda: _csv(good_rows(), HEADER_VI, "utf-16")),
    "BOM and Vietnamese headers": Fault("bom.csv", "", lambda: _csv(good_rows(), HEADER_VI, "utf-8-sig")),
    "text in a numeric cell": Fault("text.csv", "not_a_number", _replace(0, "value", "hai mươi sáu")),
    "negative count": Fault("negative.csv", "negative", _replace(0, "value", "-26")),
    "decimal count": Fault("decimal.csv", "not_a_whole_number", _replace(0, "value", "26.5")),
    "numerator over denominator": Fault("ratio.csv", "numerator_over_denominator", _replace(2, "numerator", "10001")),
    "unknown indicator": Fault("indicator.csv", "unknown_indicator", _replace(0, "indicator_code", "tanks")),
    "unknown unit": Fault("unit.csv", "unknown_unit", _replace(0, "unit_code", "99999")),
    "missing unit": Fault("no_unit.csv", "required", _replace(0, "unit_code", "")),
    "hexadecimal count": Fault("hex.csv", "not_a_number", _replace(0, "value", "0x1A")),
    "unit of another province": Fault(
        "other.csv", "unit_of_other_province", lambda: _replace(0, "unit_code", _units()[2])()
    ),
    "legacy unit after 2025-07-01": Fault(
        "legacy.csv", "unknown_unit", lambda: _replace(0, "unit_code", _units()[3])()
    ),
    "duplicate rows": Fault("duplicate.csv", "duplicate_row", _with(lambda rows: [*rows, rows[0]])),
    "period mismatch": Fault("mismatch.csv", "period_mismatch", _replace(1, "period", "2026-08")),
    "future period": Fault("future.csv", "future_period", lambda: _csv(good_rows()), period="2099-01"),
    "invalid JSON": Fault("broken.json", "bad_json", lambda: b'{"indicators": [{"period": '),
    "JSON rows": Fault("rows.json", "", lambda: _json_rows()),
    "hostile file name": Fault("a'; drop table raw.indicator_value;--$(id).csv", "", lambda: _csv(good_rows())),
}


def _json_rows() -> bytes:
    import json

    records = [dict(zip(HEADER_CODES, row, strict=True)) for row in good_rows()]
    return json.dumps({"indicators": records}, ensure_ascii=False).encode()


def write_fault(landing_dir: Path, kind: str) -> Path:
    fault = FAULTS[kind]
    folder = landing_dir / PROVINCE / fault.period
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / fault.file_name
    path.write_bytes(fault.content())
    return path
