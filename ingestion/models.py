"""The self-management models a province lists in its submission (sheet "Mô hình tự quản", optional).

A province lists every model it has at the end of the period, one row each. The list is short (tens to
hundreds of rows), so it is checked row by row here and stored with COPY in raw.model, in the same
transaction as the file's indicators and under the same policy: one bad row rejects the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import psycopg

from core.settings import DBT_PROJECT_DIR
from ingestion import rules
from ingestion.contract import MODEL_SHEET, FileRejected, Problem, RowValidator, map_headers, sheet_columns
from ingestion.periods import parse_day
from ingestion.readers import open_table

MODEL_TYPES_CSV = DBT_PROJECT_DIR / "seeds" / "model_types.csv"
RAW_MODEL_COLUMNS = (
    "submission_id",
    "source_row",
    "model_code",
    "model_name",
    "model_type",
    "host_unit_code",
    "level",
    "launch_date",
    "status",
    "replicated_from_province",
    "replicated_from_code",
)
MODEL_REF = re.compile(r"^(?:(\d{2})/)?(\S.{0,59})$")


@cache
def model_types() -> dict[str, str]:
    """Model type code -> Vietnamese name, from the dbt seed that dim_model also reads."""
    with MODEL_TYPES_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["model_type"]: row["name_vi"] for row in csv.DictReader(handle)}


@dataclass(frozen=True)
class ModelRow:
    source_row: int
    model_code: str
    model_name: str
    model_type: str
    host_unit_code: str
    level: str
    launch_date: date
    status: str
    replicated_from_province: str | None
    replicated_from_code: str | None


def check_model(
    rows: RowValidator, row: int, record: dict[str, str | None], seen: dict[str, int]
) -> tuple[ModelRow | None, list[Problem]]:
    """One model row against the contract; `rows` knows the file, province, period and units."""
    problems: list[Problem] = []
    columns = sheet_columns(MODEL_SHEET)
    text = {column.name: (record.get(column.name) or "").strip() for column in columns}
    problem = rows.problem
    for column in columns:
        if column.required and not text[column.name] and column.type != "unit_code":
            problems.append(problem(rules.REQUIRED, row, column.name, None))
        elif column.values and text[column.name] and text[column.name] not in column.values:
            allowed = ", ".join(column.values)
            problems.append(problem(rules.NOT_IN_LIST, row, column.name, text[column.name], allowed=allowed))
    if text["model_type"] and text["model_type"] not in model_types():
        known = ", ".join(model_types())
        problems.append(problem(rules.UNKNOWN_MODEL_TYPE, row, "model_type", text["model_type"], known=known))
    host = rows.unit_code(row, text["host_unit_code"], problems, column="host_unit_code")
    launched = None
    if text["launch_date"]:
        try:
            launched = parse_day(text["launch_date"])
        except ValueError:
            problems.append(problem(rules.BAD_DATE, row, "launch_date", text["launch_date"]))
        else:
            if launched > rows.period.end:
                problems.append(
                    problem(
                        rules.LAUNCHED_AFTER_PERIOD,
                        row,
                        "launch_date",
                        text["launch_date"],
                        period=rows.period.code,
                        end=rows.period.end,
                    )
                )
    source_province, source_code = None, None
    if text["replicated_from"]:
        match = MODEL_REF.match(text["replicated_from"])
        if match is None:
            problems.append(problem(rules.BAD_MODEL_REF, row, "replicated_from", text["replicated_from"]))
        else:
            source_province = match.group(1) or rows.province_code
            source_code = match.group(2)
            if (source_province, source_code) == (rows.province_code, text["model_code"]):
                problems.append(problem(rules.REPLICATES_ITSELF, row, "replicated_from", text["replicated_from"]))
    code = text["model_code"]
    if code in seen:
        problems.append(problem(rules.DUPLICATE_MODEL, row, "model_code", code, first=seen[code]))
    elif code:
        seen[code] = row
    if problems:
        return None, problems
    return ModelRow(
        row,
        code,
        text["model_name"],
        text["model_type"],
        host,
        text["level"],
        launched,
        text["status"],
        source_province,
        source_code,
    ), []


def load_models(
    conn: psycopg.Connection,
    path: Path,
    submission_id: int,
    rows: RowValidator,
    units: Callable[[], dict[str, tuple[str, ...]]],
) -> tuple[int, list[Problem]]:
    """Check and COPY the file's model list, if it has one; return (models loaded, problems)."""
    table = open_table(path, rows.file_name, MODEL_SHEET)
    if table is None:
        return 0, []
    try:
        fields = map_headers(table.headers, rows.file_name, table.sheet, MODEL_SHEET, table.header_row)
    except FileRejected as rejected:
        table.close()
        return 0, rejected.problems
    validator = RowValidator(rows.file_name, rows.province_code, rows.period, units(), table.sheet)
    seen: dict[str, int] = {}
    good: list[ModelRow] = []
    problems: list[Problem] = []
    for number, cells in table.rows:
        model, found = check_model(validator, number, dict(zip(fields, cells, strict=False)), seen)
        problems.extend(found)
        if model is not None:
            good.append(model)
    if problems:
        return 0, problems
    with conn.cursor().copy(f"copy raw.model ({', '.join(RAW_MODEL_COLUMNS)}) from stdin") as copy:
        for model in good:
            copy.write_row((submission_id, *(getattr(model, name) for name in RAW_MODEL_COLUMNS[1:])))
    return len(good), []
