"""Explain a published figure: every row of every file it is made of, and that they add up to it."""

from __future__ import annotations

import psycopg
from psycopg.rows import namedtuple_row

FIGURE = """
select province_name, value, numerator, denominator, measure, source, source_periods
from marts.mart_province_indicator
where province_code = %(province)s and period_code = %(period)s and indicator_code = %(indicator)s
"""
SOURCES = """
select row_period_code, file_name, submission_version, received_at, sheet, source_row, unit_key, unit_level,
       unit_name, is_remapped, current_unit_key, category, value, numerator, denominator, submission_id
from marts.mart_figure_source
where province_code = %(province)s and period_code = %(period)s and indicator_code = %(indicator)s
  and (%(category)s::text is null or category = %(category)s)
order by row_period_code, submission_id, source_row
"""
# Cells of the rows that a workbook's formula gave (the value saved with it: ingestion/readers.py).
FORMULAS = """
select submission_id, source_row, column_name, formula from raw.formula_cell where submission_id = any(%s)
"""
DETAIL = """
select count(*) from marts.fct_indicator_value
where submission_id = any(%(submissions)s) and indicator_code = %(indicator)s and is_counted = false
"""


def _amount(value, numerator, denominator) -> str:
    return f"{value:,}" if value is not None else f"{numerator:,} / {denominator:,}"


def explain(conn: psycopg.Connection, province: str, period: str, indicator: str, category: str | None = None) -> str:
    """The published figure, then one line per contributing row, then their sum (equal to the figure)."""
    params = {"province": province, "period": period, "indicator": indicator, "category": category}
    figure = conn.execute(FIGURE, params).fetchone()
    if figure is None:
        return f"no published figure for province {province}, period {period}, indicator {indicator}"
    name, value, numerator, denominator, measure, source, periods = figure
    how = "as submitted" if source == "submitted" else f"{source.replace('_', ' ')}: {', '.join(periods)}"
    lines = [f"{province} {name} {period} {indicator}: {_amount(value, numerator, denominator)} ({how})"]
    with conn.cursor(row_factory=namedtuple_row) as cursor:
        rows = cursor.execute(SOURCES, params).fetchall()
    formulas: dict[tuple[int, int], list[str]] = {}
    for submission_id, row, column, formula in conn.execute(FORMULAS, [sorted({r.submission_id for r in rows})]):
        formulas.setdefault((submission_id, row), []).append(f"{column} {formula}")
    totals = [0, 0, 0]
    for row in rows:
        unit = f"{row.unit_key} {row.unit_name or ''}".strip()
        if row.is_remapped:
            unit += f" -> {row.current_unit_key or 'its current province'}"
        lines.append(
            f"  {row.row_period_code}  {row.file_name} v{row.submission_version}"
            f" received {row.received_at:%Y-%m-%d %H:%M}, sheet {row.sheet or '-'} row {row.source_row}:"
            f" {row.unit_level} {unit}, {row.category}: {_amount(row.value, row.numerator, row.denominator)}"
            + (
                f" (from the formula {', '.join(formulas[key])})"
                if (key := (row.submission_id, row.source_row)) in formulas
                else ""
            )
        )
        for i, part in enumerate((row.value, row.numerator, row.denominator)):
            totals[i] += part or 0
    submissions = sorted({row.submission_id for row in rows})
    detail = conn.execute(DETAIL, {**params, "submissions": submissions}).fetchone()[0]
    total = _amount(None, totals[1], totals[2]) if measure == "ratio" else _amount(totals[0], None, None)
    label = f"sum of category {category}" if category else "sum"
    lines.append(f"  {label} of {len(rows)} rows: {total} (published: {_amount(value, numerator, denominator)})")
    if detail:
        lines.append(
            f"  {detail} more rows of these files are detail below a unit the file gives its own figure for:"
            " stored (marts.fct_indicator_value, is_counted = false), never added"
        )
    return "\n".join(lines)
