"""The period a file names itself, so that a file sent for another period than the one picked is taken for its
own (and the officer told once), not refused with the same reason on every row.

A file names its period when every row's period cell names the same one (written any way the contract
reads: 2026-Q3, Quý 3/2026 ...), or else by its name as landing files are named (38_2026-Q3.xlsx,
loader.target_of). Rows that name several periods, or none the contract reads, name none: the contract's
reasons say what is wrong with them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ingestion.contract import map_headers
from ingestion.loader import target_of
from ingestion.periods import Period, parse_period, period_of_cell
from ingestion.readers import open_table


def period_named(path: Path, name: str) -> Period | None:
    """The period the file at `path`, sent as `name`, names: its rows', else its name's; None if neither."""
    return _rows_period(path, name) or _name_period(name)


def _rows_period(path: Path, name: str) -> Period | None:
    """The one period every row's period cell names; None when the file cannot be read so far, has no period
    column, or a cell names another period or none. Only a hint: whatever is wrong with the file, the dry run
    and the ingest that follow read it again and give their reasons."""
    try:
        table = open_table(path, name)
    except Exception:  # noqa: BLE001 (any file that cannot be read names no period; its reasons come next)
        return None
    if table is None:
        return None
    found: set[str] = set()
    try:
        fields = map_headers(table.headers, name, table.sheet, header_row=table.header_row)
        column = fields.index("period")
        for _, cells in table.rows:
            text = cells[column].strip() if column < len(cells) else ""
            if not text:
                continue
            found.add(period_of_cell(text).code)
            if len(found) > 1:
                return None
    except Exception:  # noqa: BLE001 (no period column, a cell naming no period, a row the reader refuses)
        return None
    finally:
        table.close()
    return parse_period(found.pop()) if found else None


def _name_period(name: str) -> Period | None:
    named = target_of(Path(Path(name).name))
    if named is None:
        return None
    with contextlib.suppress(ValueError):
        return parse_period(named[1])
    return None
