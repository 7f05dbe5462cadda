"""Read a landing file as a header and a stream of rows, whatever its format."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from ingestion.contract import INDICATOR_SHEET, FileRejected, Problem, sheet_title
from ingestion.unit_names import fold


@dataclass
class Table:
    sheet: str
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (row number as the officer sees it, cells)


def _file_problem(file_name: str, code: str, en: str, vi: str, sheet: str | None = None) -> FileRejected:
    return FileRejected([Problem(file_name, sheet, None, None, None, code, en, vi)])


def read_csv(path: Path, file_name: str) -> Table:
    handle = path.open(encoding="utf-8-sig", newline="")
    reader = csv.reader(handle)
    try:
        headers = next(reader)
    except StopIteration:
        handle.close()
        raise _file_problem(file_name, "empty_file", "the file is empty", "tệp không có dữ liệu") from None
    except UnicodeDecodeError as error:
        handle.close()
        raise _encoding_problem(file_name, 1) from error

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        with handle:
            try:
                for number, cells in enumerate(reader, start=2):
                    if any(cell.strip() for cell in cells):
                        yield number, cells
            except UnicodeDecodeError as error:
                raise _encoding_problem(file_name, number + 1) from error

    return Table(INDICATOR_SHEET, headers, rows())


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
                "the file is not UTF-8 text; save it as 'CSV UTF-8' or send the XLSX template",
                "tệp không phải mã UTF-8; hãy lưu dạng 'CSV UTF-8' hoặc gửi tệp mẫu XLSX",
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


def read_xlsx(path: Path, file_name: str) -> Table:
    """Stream the indicator sheet of a workbook. Formulas are never evaluated: a formula cell is refused."""
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
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise _file_problem(
            file_name,
            "corrupt_workbook",
            f"the workbook cannot be read ({type(error).__name__})",
            "không đọc được tệp Excel",
        ) from None
    wanted = {fold(INDICATOR_SHEET), fold(sheet_title(INDICATOR_SHEET))}
    sheet = next((ws for ws in workbook.worksheets if fold(ws.title) in wanted), None)
    if sheet is None:
        workbook.close()
        raise _file_problem(
            file_name,
            "missing_sheet",
            f"the workbook has no sheet '{sheet_title(INDICATOR_SHEET)}' ({INDICATOR_SHEET})",
            f"tệp Excel không có trang tính '{sheet_title(INDICATOR_SHEET)}'",
        )
    title = sheet.title
    rows = sheet.iter_rows()
    try:
        headers = [_cell_text(cell.value) for cell in next(rows)]
    except StopIteration:
        workbook.close()
        raise _file_problem(
            file_name, "empty_file", "the sheet is empty", "trang tính không có dữ liệu", sheet=title
        ) from None
    while headers and not headers[-1]:
        headers.pop()

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in enumerate(rows, start=2):
                formulas = [c for c in cells if getattr(c, "data_type", None) == "f"]
                if formulas:
                    cell = formulas[0]
                    raise FileRejected(
                        [
                            Problem(
                                file_name,
                                title,
                                number,
                                headers[cell.column - 1] if cell.column <= len(headers) else None,
                                str(cell.value),
                                "formula",
                                "holds a formula; type the value itself (copy, then paste as values)",
                                "ô chứa công thức; hãy nhập giá trị (sao chép rồi dán dạng giá trị)",
                            )
                        ]
                    )
                texts = [_cell_text(c.value) for c in cells][: len(headers)]
                if any(texts):
                    yield number, texts
        finally:
            workbook.close()

    return Table(title, headers, records())


READERS = {".csv": read_csv, ".xlsx": read_xlsx}


def open_table(path: Path, file_name: str) -> Table:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        accepted = ", ".join(sorted(READERS))
        raise _file_problem(
            file_name,
            "unsupported_format",
            f"file type must be one of {accepted}",
            f"định dạng tệp phải là {accepted}",
        )
    return reader(path, file_name)
