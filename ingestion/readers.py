"""Read a landing file as a header and a stream of rows, whatever its format."""

from __future__ import annotations

import codecs
import csv
import json
import re
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from defusedxml import DefusedXmlException  # openpyxl parses with defusedxml, a dependency: no entity, no DTD
from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

from ingestion import rules
from ingestion.contract import INDICATOR_SHEET, FileRejected, Problem, known_header, sheet_title
from ingestion.unit_names import fold


@dataclass
class Table:
    sheet: str
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (row number as the officer sees it, cells)
    close: Callable[[], None] = lambda: None  # for a caller that reads the file another way after the header
    delimiter: str = ","  # of a CSV file: Excel in a Vietnamese locale writes ';' (the comma is its decimal mark)
    encoding: str = "utf-8-sig"  # of a CSV file: only UTF-8 goes to COPY as it is (ingestion/bulk.py)
    header_row: int = 1  # a workbook's header may stand below a title
    above_header: list[tuple[int, str]] = field(default_factory=list)  # (row, its text): skipped rows above it
    # (row, column) -> the formula whose saved value a workbook's cell gave, filled in as its rows are read
    formulas: dict[tuple[int, str], str] = field(default_factory=dict)


def _file_problem(file_name: str, code: str, en: str, vi: str, sheet: str | None = None) -> FileRejected:
    return FileRejected([Problem(file_name, sheet, None, None, None, code, en, vi)])


DELIMITERS = ",;\t"


def _delimiter(header_line: str) -> str:
    """The separator of a CSV file, from its header line: whichever of , ; and tab it has most of."""
    return max(DELIMITERS, key=header_line.count)


def read_csv(path: Path, file_name: str) -> Table:
    """A CSV file as offices save it: UTF-8 (with or without a byte-order mark), Windows-1258 (Excel's "CSV"
    on Vietnamese Windows) when its header so read is the contract's, or UTF-16 with a byte-order mark
    (Excel's "Unicode Text", tab separated); separated by commas, semicolons or tabs."""
    encoding = _csv_encoding(path, file_name)
    handle = path.open(encoding=encoding, newline="")
    try:
        with path.open(encoding=encoding, newline="") as first_line:
            delimiter = _delimiter(first_line.readline())
        reader = csv.reader(handle, delimiter=delimiter)
        headers = next(reader)
    except StopIteration:
        handle.close()
        raise _file_problem(file_name, "empty_file", "the file is empty", "tệp không có dữ liệu") from None
    except UnicodeDecodeError as error:
        handle.close()
        raise _encoding_problem(file_name, 1) from error
    if encoding == WINDOWS_1258:
        headers = [_nfc(cell) for cell in headers]

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        with handle:
            try:
                for number, cells in enumerate(reader, start=2):
                    if any(cell.strip() for cell in cells):
                        yield number, [_nfc(cell) for cell in cells] if encoding == WINDOWS_1258 else cells
            except UnicodeDecodeError as error:
                raise _encoding_problem(file_name, number + 1) from error

    return Table(INDICATOR_SHEET, headers, rows(), handle.close, delimiter, encoding)


UTF8, WINDOWS_1258, UTF16 = "utf-8-sig", "cp1258", "utf-16"


def _nfc(text: str) -> str:
    """Windows-1258 writes a Vietnamese letter as its base letter and a combining tone mark: composed here,
    as every other file writes it (and as unit names are compared)."""
    return unicodedata.normalize("NFC", text)


def _csv_encoding(path: Path, file_name: str) -> str:
    """The encoding a CSV file was saved in, never guessed: UTF-16 by its byte-order mark; UTF-8 if all of it
    decodes so; else Windows-1258 if its header, so read, names the contract's columns. Anything else is
    refused, saying what was tried."""
    with path.open("rb") as handle:
        if handle.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            return UTF16
        handle.seek(0)
        decoder, line, offset = codecs.getincrementaldecoder("utf-8")(), 1, 0
        try:
            while block := handle.read(1 << 20):
                decoder.decode(block)
                line += block.count(b"\n")
                offset += len(block)
            decoder.decode(b"", final=True)
            return UTF8
        except UnicodeDecodeError as error:
            handle.seek(0)
            before = handle.read(offset + error.start)
            line = before.count(b"\n") + 1
        handle.seek(0)
        header = handle.readline().decode(WINDOWS_1258, errors="replace")
    cells = [_nfc(cell) for cell in next(csv.reader([header], delimiter=_delimiter(header)), [])]
    if cells and all(known_header(cell) for cell in cells if cell.strip()):
        return WINDOWS_1258
    raise _encoding_problem(file_name, line)


def _encoding_problem(file_name: str, row: int) -> FileRejected:
    return FileRejected(
        [
            Problem(
                file_name,
                None,
                row,
                None,
                None,
                "bad_encoding",
                "the file is not UTF-8 text from this row on, nor Windows-1258 with the contract's header, nor"
                " UTF-16 with a byte-order mark; save it as 'CSV UTF-8' or send the XLSX template",
                "tệp không phải mã UTF-8 (từ dòng này), cũng không phải Windows-1258 có dòng tiêu đề đúng mẫu hay"
                " UTF-16; hãy lưu dạng 'CSV UTF-8' hoặc gửi tệp mẫu XLSX",
            )
        ]
    )


# A workbook's parts may not unpack to more than this: a few MB of zip can hide gigabytes (a zip bomb).
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# The header is looked for in this many rows from the top: offices put a title, the agency or a blank line
# above the table. It is the first row naming at least HEADER_MIN_COLUMNS columns of the contract.
HEADER_SEARCH_ROWS = 10
HEADER_MIN_COLUMNS = 2
_MERGE_REF = re.compile(rb'<mergeCell ref="[A-Z]+(\d+)(?::[A-Z]+(\d+))?"')


def _merged_rows(path: Path, sheet_part: str) -> list[tuple[int, int]]:
    """The first and last row of each merged range of a sheet. They are listed after its rows in the XML:
    scanned as a stream, never loaded."""
    found: list[tuple[int, int]] = []
    with zipfile.ZipFile(path) as archive, archive.open(sheet_part.lstrip("/")) as part:
        tail = b""
        while block := part.read(1 << 20):
            text = tail + block
            cut = text.rfind(b"<")  # a tag cut by the block's end is read whole with the next block
            found += [(int(a), int(b or a)) for a, b in _MERGE_REF.findall(text[:cut])]
            tail = text[cut:]
        found += [(int(a), int(b or a)) for a, b in _MERGE_REF.findall(tail)]
    return found


class _SavedValues(WorkSheetParser):
    """openpyxl's sheet parser reading each formula cell as the value the program that wrote the file saved
    beside it (never evaluated), and keeping the formula, so that the cell can say where its value came from."""

    def parse_cell(self, element):
        cell = super().parse_cell(element)
        formula = element.find(FORMULA_TAG)
        if formula is not None:
            cell["formula"] = "=" + (formula.text or "")
        return cell


def _sheet_rows(workbook, sheet) -> Iterator[tuple[int, dict[int, dict]]]:
    """(row number, {column number: openpyxl's cell dict}) for each row the sheet's XML holds."""
    with workbook._archive.open(sheet._worksheet_path) as source:
        parser = _SavedValues(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            yield number, {cell["column"]: cell for cell in cells}


def _texts(cells: dict[int, dict], width: int) -> list[str]:
    return [_cell_text(cells[column]["value"]) if column in cells else "" for column in range(1, width + 1)]


def read_xlsx(path: Path, file_name: str, contract_sheet: str = INDICATOR_SHEET) -> Table | None:
    """Stream one sheet of a workbook (None if an optional sheet is absent), as offices make them: the header
    found below a title; a formula cell read as the value saved with it (never evaluated; one with no saved
    value is refused), and noted in Table.formulas."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise _file_problem(
            file_name,
            "corrupt_workbook",
            "the workbook cannot be opened: it is damaged, truncated or password-protected;"
            " save it again as a plain .xlsx without a password",
            "không mở được tệp Excel: tệp bị hỏng, thiếu hoặc có mật khẩu; hãy lưu lại dạng .xlsx không đặt mật khẩu",
        ) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _file_problem(
            file_name,
            "workbook_too_large",
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MB, over the "
            f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB limit",
            "tệp Excel khi giải nén vượt quá giới hạn cho phép",
        )
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        if _unsafe_xml(error):
            raise unreadable(file_name, error) from None
        raise _file_problem(
            file_name,
            "corrupt_workbook",
            f"the workbook cannot be read ({type(error).__name__})",
            "không đọc được tệp Excel",
        ) from None
    wanted = {fold(contract_sheet), fold(sheet_title(contract_sheet))}
    sheet = next((ws for ws in workbook.worksheets if fold(ws.title) in wanted), None)
    if sheet is None:
        workbook.close()
        if contract_sheet != INDICATOR_SHEET:
            return None
        raise _file_problem(
            file_name,
            "missing_sheet",
            f"the workbook has no sheet '{sheet_title(INDICATOR_SHEET)}' ({INDICATOR_SHEET})",
            f"tệp Excel không có trang tính '{sheet_title(INDICATOR_SHEET)}'",
        )
    title = sheet.title
    merged = _merged_rows(path, sheet._worksheet_path)
    rows = _sheet_rows(workbook, sheet)

    def close() -> None:
        rows.close()  # its part of the zip first: the workbook's file closes with the last part open in it
        workbook.close()

    header_row, headers, above = _find_header(rows, contract_sheet)
    if header_row is None:
        close()
        raise _file_problem(file_name, "empty_file", "the sheet is empty", "trang tính không có dữ liệu", sheet=title)
    if any(last >= header_row for _, last in merged):
        close()
        raise _file_problem(
            file_name,
            "merged_cells",
            "the table has merged cells; unmerge them and fill every cell of every row (a merged title above"
            " the table's header is fine)",
            "bảng có ô gộp; hãy bỏ gộp ô và điền đủ từng ô của mỗi dòng (ô gộp ở tiêu đề phía trên bảng thì được)",
            sheet=title,
        )
    formulas: dict[tuple[int, str], str] = {}

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in rows:
                for column, cell in cells.items():
                    if "formula" not in cell or column > len(headers):
                        continue
                    if cell["value"] is None:
                        raise FileRejected(
                            [
                                Problem(
                                    file_name,
                                    title,
                                    number,
                                    headers[column - 1],
                                    cell["formula"],
                                    "formula",
                                    "holds a formula with no value saved beside it (the program that wrote the"
                                    " file did not compute it): type the value itself, or open and save the file"
                                    " in Excel",
                                    "ô chứa công thức chưa có giá trị được lưu kèm: hãy nhập giá trị, hoặc mở"
                                    " và lưu lại tệp bằng Excel",
                                )
                            ]
                        )
                    formulas[(number, headers[column - 1])] = cell["formula"]
                texts = _texts(cells, len(headers))
                if any(texts):
                    yield number, texts
        finally:
            close()

    table = Table(title, headers, records(), close)
    table.header_row, table.above_header, table.formulas = header_row, above, formulas
    return table


def _find_header(
    rows: Iterator[tuple[int, dict[int, dict]]], contract_sheet: str
) -> tuple[int | None, list[str], list[tuple[int, str]]]:
    """The header row's number and cells, and the rows above it with their text (a title, the agency's name;
    blank rows are not in the XML). The header is the first of the first HEADER_SEARCH_ROWS rows that names
    at least HEADER_MIN_COLUMNS of the contract's columns; if none does, the first row with anything in it,
    whose unknown columns are then refused as ever."""
    seen: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        texts = _texts(cells, max(cells, default=0))
        while texts and not texts[-1]:
            texts.pop()
        if not texts:
            continue
        if sum(known_header(text, contract_sheet) for text in texts) >= HEADER_MIN_COLUMNS:
            return number, texts, [(row, " ".join(t for t in cells_ if t)) for row, cells_ in seen]
        seen.append((number, texts))
        if number >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        return None, [], []
    (number, texts), *_ = seen
    return number, texts, []


def read_json(path: Path, file_name: str, contract_sheet: str = INDICATOR_SHEET) -> Table | None:
    """{"indicators": [{...}, ...]} or a bare list of row objects; keys are contract codes or Vietnamese labels.

    A row's number is its position in the list (1 for the first), shown as row n + 1 like a sheet with a header.
    """
    if path.stat().st_size > MAX_JSON_BYTES:
        limit = MAX_JSON_BYTES // (1024 * 1024)
        raise FileRejected([rules.JSON_TOO_LARGE.problem(file_name, limit=limit)])
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"), parse_int=_json_int)
    except UnicodeDecodeError as error:
        raise _encoding_problem(file_name, 1) from error
    except RecursionError:
        raise FileRejected([rules.JSON_TOO_DEEP.problem(file_name, limit=sys.getrecursionlimit())]) from None
    except json.JSONDecodeError as error:
        raise _file_problem(
            file_name,
            "bad_json",
            f"the file is not valid JSON: {error.msg} at line {error.lineno}",
            f"tệp không phải JSON hợp lệ: lỗi ở dòng {error.lineno}",
        ) from None
    if contract_sheet != INDICATOR_SHEET:
        optional = document.get(contract_sheet) if isinstance(document, dict) else None
        if not optional:
            return None
    records = document.get(contract_sheet) if isinstance(document, dict) else document
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise _file_problem(
            file_name,
            "bad_json_shape",
            f"expected a list of row objects, or an object with a list under '{contract_sheet}'",
            f"cần một danh sách các dòng, hoặc đối tượng có danh sách '{contract_sheet}'",
        )
    if not records:
        raise _file_problem(file_name, "empty_file", "the file has no rows", "tệp không có dữ liệu")
    headers = list(dict.fromkeys(key for record in records for key in record))
    rows = ((number, [_cell_text(record.get(key)) for key in headers]) for number, record in enumerate(records, 2))
    return Table(contract_sheet, headers, rows)


# A JSON file is read whole into memory (about ten times its size as Python objects): larger reports come as CSV.
MAX_JSON_BYTES = 32 * 1024 * 1024


def _json_int(digits: str) -> int | str:
    """A JSON integer as Python's int, unless it is longer than any count (Python refuses to convert one of
    4,300 digits or more, and takes quadratic time before that): then its digits, which the contract refuses
    as not a count, with the row and column."""
    return int(digits) if len(digits) <= 30 else digits


READERS = {".csv": read_csv, ".xlsx": read_xlsx, ".json": read_json}


def open_table(path: Path, file_name: str, contract_sheet: str = INDICATOR_SHEET) -> Table | None:
    """The contract sheet's table in the file; None for an optional sheet the file does not have (a CSV file
    holds the indicator sheet only)."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        accepted = ", ".join(sorted(READERS))
        raise _file_problem(
            file_name,
            "unsupported_format",
            f"file type must be one of {accepted}",
            f"định dạng tệp phải là {accepted}",
        )
    if contract_sheet != INDICATOR_SHEET and reader is read_csv:
        return None
    try:
        table = (
            reader(path, file_name) if contract_sheet == INDICATOR_SHEET else reader(path, file_name, contract_sheet)
        )
    except (FileRejected, OSError):  # an OSError is the machine's (a disk, a file taken away), not the file's
        raise
    except Exception as error:
        raise unreadable(file_name, error) from error
    if table is None:
        return None
    _refuse_nul(file_name, table.sheet, None, None, table.headers)
    table.rows = _guarded(table, table.rows, file_name)
    return table


def unreadable(file_name: str, error: BaseException, sheet: str | None = None, after_row: int | None = None):
    """The refusal of a file a reader could not read: what went wrong, in the reader's words, and where."""
    if _unsafe_xml(error):
        return FileRejected([rules.UNSAFE_XML.problem(file_name, sheet=sheet)])
    detail = f"{type(error).__name__}: {error}"[:300]
    where, where_vi = (f" after row {after_row}", f" sau dòng {after_row}") if after_row else ("", "")
    return FileRejected(
        [rules.UNREADABLE.problem(file_name, sheet=sheet, row=after_row, detail=detail, where=where, where_vi=where_vi)]
    )


def _unsafe_xml(error: BaseException | None) -> bool:
    """Whether defusedxml refused the XML (openpyxl wraps what its parser raised in errors of its own)."""
    while error is not None:
        if isinstance(error, DefusedXmlException):
            return True
        error = error.__cause__ or error.__context__
    return False


def _guarded(table: Table, rows: Iterator[tuple[int, list[str]]], file_name: str) -> Iterator[tuple[int, list[str]]]:
    """The table's rows, each refused if a cell holds a character no text may hold, and any error of
    the reader turned into a refusal that names the last row read."""
    number = 1
    while True:
        try:
            number, cells = next(rows)
        except StopIteration:
            return
        except (FileRejected, OSError):
            raise
        except Exception as error:
            table.close()
            raise unreadable(file_name, error, table.sheet, number) from error
        _refuse_nul(file_name, table.sheet, number, table.headers, cells)
        yield number, cells


def _refuse_nul(file_name: str, sheet: str, row: int | None, headers: list[str] | None, cells: list[str]) -> None:
    """Refuse a NUL character: Postgres text cannot hold one, and it is never typed, only left by a damaged
    file or a program's bug. (Other control characters are kept: Word's line break, U+000B, comes with text
    pasted from it.)"""
    for index, cell in enumerate(cells):
        if cell and "\x00" in cell:
            column = headers[index] if headers and index < len(headers) else None
            shown = cell.encode("unicode_escape").decode()[:100]
            problem = rules.CONTROL_CHARACTER.problem(
                file_name, sheet=sheet, row=row or 1, column=column, value=shown, character="U+0000"
            )
            raise FileRejected([problem])
