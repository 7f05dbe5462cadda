"""The period a file names itself, so that a file sent for another period than the one picked is taken for its
own (and the officer told once), not refused with the same reason on every row.

A file names its period by its rows when their period cells name one period (written any way the contract
reads: 2026-Q3, Quý 3/2026 ...). The first SAMPLE_ROWS that fill it in are enough, so a 6,000-row workbook
is not read twice; a later row of another period gets the contract's reason, then rightly worded. Else by
its name, as landing files are named (38_2026-Q3.xlsx, loader.target_of) or as the portal names its
template (antq-38-2026-Q3.xlsx). Rows that name several periods, or none the contract reads, name none:
the contract's reasons say what is wrong with them.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from ingestion.contract import map_headers
from ingestion.loader import target_of
from ingestion.periods import Period, parse_period, period_of_cell
from ingestion.readers import open_table

SAMPLE_ROWS = 200  # the rows that say which period a file is for
# The name the portal gives a downloaded template (portal/app.py, template): antq-<province>-<period>.xlsx.
TEMPLATE_NAME = re.compile(r"antq-\d{2}-(\d{4}(?:-(?:\d{2}|[QqHh]\d))?)(?!\d)")


def period_named(path: Path, name: str) -> Period | None:
    """The period the file at `path`, sent as `name`, names: its rows', else its name's; None if neither.
    The rows win: a file copied from last quarter's often keeps its name."""
    return _rows_period(path, name) or _name_period(name)


def _rows_period(path: Path, name: str) -> Period | None:
    """The one period the first SAMPLE_ROWS period cells name; None when the file cannot be read so far, has
    no period column, or one of those cells names another period or none. Only a hint: whatever is wrong
    with the file, the dry run and the ingest that follow read it again and give their reasons."""
    try:
        table = open_table(path, name)
    except Exception:  # noqa: BLE001 (any file that cannot be read names no period; its reasons come next)
        return None
    if table is None:
        return None
    found: set[str] = set()
    read = 0
    try:
        fields = map_headers(table.headers, name, table.sheet, header_row=table.header_row)
        column = fields.index("period")
        for _, cells in table.rows:
            text = cells[column].strip() if column < len(cells) else ""
            if not text:
                continue
            found.add(period_of_cell(text).code)
            read += 1
            if len(found) > 1:
                return None
            if read == SAMPLE_ROWS:
                break
    except Exception:  # noqa: BLE001 (no period column, a cell naming no period, a row the reader refuses)
        return None
    finally:
        table.close()
    return parse_period(found.pop()) if found else None


def _name_period(name: str) -> Period | None:
    named = target_of(Path(Path(name).name))
    template = TEMPLATE_NAME.match(Path(name).name)
    code = named[1] if named else template.group(1).upper() if template else None
    if code is None:
        return None
    with contextlib.suppress(ValueError):
        return parse_period(code)
    return None
