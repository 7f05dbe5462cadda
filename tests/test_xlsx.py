"""XLSX, the normal case: the template, a filled-in template accepted, and broken workbooks refused clearly."""

from __future__ import annotations

import openpyxl

from ingestion.contract import MODEL_SHEET, sheet_columns, sheet_title
from ingestion.generator import write_submission
from ingestion.loader import ingest_file
from ingestion.template import CATALOGUE, GUIDE, MODEL_TYPES, UNITS, write_template
from tests.helpers import indicator_workbook


def test_the_template_has_instructions_vietnamese_headers_lists_and_the_provinces_units(tmp_path):
    path = write_template(tmp_path / "t.xlsx", "38", "2026-Q3")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [GUIDE, sheet_title(), sheet_title(MODEL_SHEET), CATALOGUE, UNITS, MODEL_TYPES]
    data = workbook[sheet_title()]
    assert [c.value for c in data[1]] == [c.header_vi for c in sheet_columns()]
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in data.data_validations.dataValidation}
    assert lists["C2"].startswith(f"'{CATALOGUE}'!$A$2") and lists["A2"] == '"2026-Q3"'
    units = [row[0] for row in workbook[UNITS].iter_rows(min_row=2, values_only=True)]
    assert len(units) == 166 and all(len(code) == 5 for code in units), "Thanh Hóa's 166 communes"
    models = workbook[sheet_title(MODEL_SHEET)]
    assert [c.value for c in models[1]] == [c.header_vi for c in sheet_columns(MODEL_SHEET)]
    model_lists = {str(v.sqref).split(":")[0]: v.formula1 for v in models.data_validations.dataValidation}
    assert model_lists["G2"] == '"active,closed"' and model_lists["C2"].startswith(f"'{MODEL_TYPES}'!$A$2")
    assert model_lists["D2"] == lists["B2"], "the host unit is chosen from the province's units"


def test_a_filled_in_template_is_accepted_with_the_same_rows_as_the_csv(settings, conn):
    xlsx = write_submission(settings.landing_dir, "38", "2026-Q3", file_format="xlsx")
    result = ingest_file(conn, xlsx, settings)
    assert result.status == "accepted", [p.describe() for p in result.problems[:3]]
    csv_file = write_submission(settings.landing_dir, "38", "2026-Q3")
    expected_rows = sum(1 for _ in csv_file.open(encoding="utf-8")) - 1
    assert result.row_count == expected_rows
    assert ingest_file(conn, csv_file, settings).version == 2, "the same figures as CSV are a new version"


def test_a_formula_is_refused_with_its_sheet_row_and_column(settings, conn):
    folder = settings.landing_dir / "01" / "2026-09"
    folder.mkdir(parents=True)
    path = indicator_workbook(
        folder / "f.xlsx",
        [
            ["2026-09", "00070", "security_teams", None, 26, None, None],
            ["2026-09", "00073", "security_teams", None, "=E2*2", None, None],
        ],
    )
    result = ingest_file(conn, path, settings)
    assert result.status == "rejected"
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column, problem.code) == (sheet_title(), 3, "Giá trị", "formula")
    assert conn.execute("select count(*) from raw.indicator_value").fetchone()[0] == 0


def test_broken_workbooks_are_refused_with_a_reason(settings, conn):
    folder = settings.landing_dir / "01" / "2026-09"
    folder.mkdir(parents=True)
    good = write_submission(settings.landing_dir, "01", "2026-09", file_format="xlsx").read_bytes()
    (folder / "01_2026-09.xlsx").unlink()
    cases = {
        "truncated.xlsx": good[: len(good) // 2],
        "encrypted.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,  # an encrypted workbook is OLE, not zip
        "macros.xlsm": good,
    }
    codes = {}
    for name, content in cases.items():
        (folder / name).write_bytes(content)
        result = ingest_file(conn, folder / name, settings)
        codes[name] = {p.code for p in result.problems}
        assert result.status == "rejected"
    no_sheet = folder / "no_sheet.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Sheet1"
    workbook.save(no_sheet)
    codes["no_sheet.xlsx"] = {p.code for p in ingest_file(conn, no_sheet, settings).problems}
    assert codes == {
        "truncated.xlsx": {"corrupt_workbook"},
        "encrypted.xlsx": {"corrupt_workbook"},
        "macros.xlsm": {"unsupported_format"},
        "no_sheet.xlsx": {"missing_sheet"},
    }
