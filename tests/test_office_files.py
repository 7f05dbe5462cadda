"""Files as provincial offices make them, written byte for byte as their programs write them: a total made
with =SUM(...) (Excel saves the value beside the formula), a title above the table, CSV saved by Excel on
Vietnamese Windows (Windows-1258) or as "Unicode Text" (UTF-16, tabs), periods written the Vietnamese way,
numbers pasted with a no-break space. Each is accepted with the right stored values; its faulty twin is
refused with a reason that names the row and column."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from itertools import islice
from pathlib import Path

import openpyxl
import pytest

from ingestion.contract import sheet_columns, sheet_title
from ingestion.generator import province_rows
from ingestion.loader import dry_run, ingest_file
from ingestion.periods import parse_period

PROVINCE, PERIOD = "38", "2026-Q3"
COLUMNS = [c.name for c in sheet_columns()]
LABELS = [c.header_vi for c in sheet_columns()]
TITLE = "BÁO CÁO KẾT QUẢ PHONG TRÀO TOÀN DÂN BẢO VỆ AN NINH TỔ QUỐC"


def _rows(count: int = 6) -> list[list]:
    """Good rows of Thanh Hóa's 2026-Q3 report, as cells in the contract's order."""
    return [[row.get(c) for c in COLUMNS] for row in islice(province_rows(PROVINCE, parse_period(PERIOD)), count)]


def _folder(settings) -> Path:
    folder = settings.landing_dir / PROVINCE / PERIOD
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _stored(conn, submission_id: int) -> list[tuple]:
    return conn.execute(
        "select source_row, unit_code, indicator_code, value from raw.indicator_value where submission_id = %s"
        " order by source_row",
        [submission_id],
    ).fetchall()


# --- workbooks --------------------------------------------------------------------------------------------


def _workbook(path: Path, rows: list[list], title: bool = False, edit=None) -> Path:
    """A workbook of the indicator sheet, optionally with a title (merged over the table's width) and a blank
    row above the header, its sheet XML then changed by `edit` as Excel would have written it."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title()
    if title:
        sheet.append([TITLE])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
        sheet.append([])
    sheet.append(LABELS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if edit is None:
        path.write_bytes(buffer.getvalue())
        return path
    with zipfile.ZipFile(buffer) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    part = "xl/worksheets/sheet1.xml"
    # As Excel writes it: letters as themselves (openpyxl over lxml writes them as character references).
    xml = re.sub(r"&#(\d+);", lambda m: chr(int(m[1])) if int(m[1]) > 127 else m[0], parts[part].decode())
    edited = edit(xml)
    assert edited != xml, "the edit found nothing to change"
    parts[part] = edited.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def _as_formula(xml: str, cell: str, formula: str, saved: bool = True) -> str:
    """The cell as Excel writes a formula: <f> with the value it computed in <v> (saved), or <f> alone (a
    program that does not compute formulas)."""
    start = xml.index(f'<c r="{cell}"')
    end = xml.index("</c>", start) + len("</c>")
    value = xml[start:end].split("<v>")[1].split("</v>")[0]
    written = f'<c r="{cell}"><f>{formula}</f>' + (f"<v>{value}</v>" if saved else "") + "</c>"
    return xml[:start] + written + xml[end:]


def _total_rows() -> list[list]:
    """Two communes' security teams and the province's total of them below, the row a SUM makes."""
    communes = [r for r in _rows(400) if r[2] == "security_teams" and r[1] != PROVINCE][:2]
    total = [PERIOD, PROVINCE, "security_teams", None, sum(r[4] for r in communes), None, None]
    return [*communes, total]


def test_a_total_made_with_sum_is_read_as_the_value_excel_saved_and_kept_as_a_formula(settings, conn):
    rows = _total_rows()
    path = _workbook(_folder(settings) / "tong.xlsx", rows, edit=lambda x: _as_formula(x, "E4", "SUM(E2:E3)"))
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    assert _stored(conn, result.submission_id)[-1] == (4, PROVINCE, "security_teams", rows[2][4])
    kept = conn.execute("select source_row, column_name, formula from raw.formula_cell").fetchall()
    assert kept == [(4, "value", "=SUM(E2:E3)")]
    assert any("formula" in en for _, en in result.notes)


def test_a_formula_with_no_saved_value_is_refused_naming_its_row_and_column(settings, conn):
    edit = lambda x: _as_formula(x, "E4", "SUM(E2:E3)", saved=False)  # noqa: E731
    path = _workbook(_folder(settings) / "tong.xlsx", _total_rows(), edit=edit)
    result = ingest_file(conn, path, settings)
    found = [(p.code, p.row, p.column, p.value) for p in result.problems]
    assert found == [("formula", 4, LABELS[COLUMNS.index("value")], "=SUM(E2:E3)")]  # the column as written


def test_a_title_and_a_blank_row_above_the_header_are_skipped_and_named(settings, conn):
    rows = _rows()
    path = _workbook(_folder(settings) / "co-tieu-de.xlsx", rows, title=True)
    checked = dry_run(conn, path, PROVINCE, PERIOD, settings)
    assert checked.status == "accepted", [p.describe() for p in checked.problems]
    assert checked.notes[0][1].startswith(f"row 1 (above the header) skipped: {TITLE[:40]}")
    result = ingest_file(conn, path, settings)
    assert [row[0] for row in _stored(conn, result.submission_id)] == list(range(4, 4 + len(rows)))


def test_merged_cells_inside_the_table_are_still_refused(settings, conn):
    def merged_below(xml: str) -> str:
        return xml.replace("</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="A4:A5"/></mergeCells>')

    path = _workbook(_folder(settings) / "gop.xlsx", _rows(), title=True, edit=merged_below)
    result = ingest_file(conn, path, settings)
    assert [p.code for p in result.problems] == ["merged_cells"]


def test_a_misspelt_header_below_a_title_is_refused_at_the_header_row(settings, conn):
    def misspelt(xml: str) -> str:
        return xml.replace(">Giá trị<", ">Gia tri<", 1)

    path = _workbook(_folder(settings) / "sai.xlsx", _rows(), title=True, edit=misspelt)
    result = ingest_file(conn, path, settings)
    assert {(p.code, p.row) for p in result.problems} == {("unknown_column", 3), ("missing_column", 3)}


# --- CSV as Excel saves it -----------------------------------------------------------------------------------

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def as_windows_1258(text: str) -> bytes:
    """Text as Excel on Vietnamese Windows writes it in "CSV": a letter Windows-1258 has as one character
    (à, ê, ơ, ư, đ...) as that byte, any other as its base letter then the tone mark's combining byte."""
    out = b""
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            tones = "".join(c for c in parts if c in TONE_MARKS)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            out += base.encode("cp1258") + tones.encode("cp1258")
    return out


def _csv_lines(rows: list[list], separator: str = ",") -> list[str]:
    return [separator.join(LABELS)] + [separator.join("" if c is None else str(c) for c in row) for row in rows]


def _commune_name(conn, code: str) -> str:
    return conn.execute("select name from ref.unit where map = 'current' and unit_code = %s", [code]).fetchone()[0]


def test_a_windows_1258_csv_with_the_contracts_header_is_read_and_its_names_composed(settings, conn):
    rows = _rows()
    unit = next(r[1] for r in rows if r[1] != PROVINCE)
    name = _commune_name(conn, unit)
    assert any(ord(c) > 127 for c in name)
    rows = [[r[0], name if r[1] == unit else r[1], *r[2:]] for r in rows]  # the commune written by its name
    path = _folder(settings) / "excel.csv"
    path.write_bytes(as_windows_1258("\r\n".join(_csv_lines(rows)) + "\r\n"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    assert unit in {row[1] for row in _stored(conn, result.submission_id)}


def test_a_csv_in_no_encoding_we_can_tell_is_refused_saying_what_was_tried(settings, conn):
    path = _folder(settings) / "la.csv"
    lines = _csv_lines(_rows())
    lines[0] = lines[0].replace(LABELS[1], "Tên xã phường")  # not the contract's header: nothing to tell by
    path.write_bytes(as_windows_1258("\r\n".join(lines)))
    (problem,) = ingest_file(conn, path, settings).problems
    assert problem.code == "bad_encoding" and problem.row == 1
    assert "Windows-1258" in problem.reason_en and "UTF-16" in problem.reason_en


def test_unicode_text_from_excel_utf16_with_tabs_is_read(settings, conn):
    rows = _rows()
    path = _folder(settings) / "unicode.csv"
    path.write_bytes("\r\n".join(_csv_lines(rows, "\t")).encode("utf-16"))  # with its byte-order mark
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    assert len(_stored(conn, result.submission_id)) == len(rows)


# --- periods and numbers as people write them -------------------------------------------------------------


def _csv(settings, rows: list[list], name: str) -> Path:
    path = _folder(settings) / name
    path.write_text("\n".join(_csv_lines(rows)) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("written", ["Quý 3/2026", "Quý III/2026", "quý 3 năm 2026", " Quý  3/2026 "])
def test_a_period_written_the_vietnamese_way_is_read_as_the_files(settings, conn, written):
    rows = [[written, *row[1:]] for row in _rows()]
    result = ingest_file(conn, _csv(settings, rows, "ky.csv"), settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]


@pytest.mark.parametrize(("written", "code"), [("Quý 2/2026", "period_mismatch"), ("Quý 3", "bad_period")])
def test_a_vietnamese_period_of_another_or_of_no_year_is_refused_with_the_forms(settings, conn, written, code):
    rows = _rows()
    rows[2] = [written, *rows[2][1:]]
    (problem,) = ingest_file(conn, _csv(settings, rows, "ky.csv"), settings).problems
    assert (problem.code, problem.row, problem.column) == (code, 4, "period")
    if code == "bad_period":
        assert "Quý 3/2026" in problem.reason_vi and "6 tháng đầu năm 2026" in problem.reason_vi


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009", " "])
def test_a_number_pasted_with_a_no_break_or_thin_space_is_read(settings, conn, space):
    rows = _rows()
    rows[0][4] = None
    rows[0] = [*rows[0][:4], f"4{space}351", *rows[0][5:]]
    assert rows[0][2] not in ("households_in_anxh",)  # a count, not a ratio
    result = ingest_file(conn, _csv(settings, rows, "so.csv"), settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    assert _stored(conn, result.submission_id)[0][3] == 4351


def test_a_pasted_number_that_is_no_number_is_refused_naming_its_cell(settings, conn):
    rows = _rows()
    rows[0] = [*rows[0][:4], "4\u00a035x", *rows[0][5:]]
    (problem,) = ingest_file(conn, _csv(settings, rows, "so.csv"), settings).problems
    assert (problem.code, problem.row, problem.column) == ("not_a_number", 2, "value")
