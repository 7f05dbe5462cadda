"""Read a landing file as a header and a stream of rows, whatever its format."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingestion.contract import INDICATOR_SHEET, FileRejected, Problem


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


READERS = {".csv": read_csv}


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
