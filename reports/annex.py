"""The annex workbook: every number the document shows, with the paragraph or table cell it stands in and the
mart row it comes from (relation, the row's key, column, value), and what each chart draws."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from reports.document import Document
from reports.figures import Published
from reports.text import Writer

FIGURES_SHEET, CHARTS_SHEET = 1, 2  # the sheets' places: the report's own first, then these


def key_text(key: tuple[tuple[str, str], ...]) -> str:
    """A row's key as the annex writes it (JSON: {"period_code": "2026-Q3", ...})."""
    return json.dumps(dict(key), ensure_ascii=False) if key else ""


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def write(path: Path, document: Document, published: Published, written_at: datetime, docx_name: str) -> Path:
    w: Writer = document.writer
    t = w.text("workbook")
    about = t["about_rows"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = t["about"]
    publish = published.publish
    rows = [
        (about["report"], published.province or about["national"]),
        (about["period"], published.period.code),
        (about["province"], published.province_name if published.province else ""),
        (about["reader"], published.schema),
        (about["publish"], _cell(publish["publish_id"]) if publish else ""),
        (about["published_at"], _cell(publish["published_at"]) if publish else ""),
        (about["written_at"], written_at.replace(tzinfo=None)),
        (about["document"], docx_name),
    ]
    for label, value in rows:
        sheet.append([label, value])
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 32, 48

    figures = workbook.create_sheet(t["figures"], FIGURES_SHEET)
    figures.append(t["figure_columns"])
    for c in w.citations:
        figures.append([c.shown, c.kind, c.how, c.context, c.relation, key_text(c.key), c.column, _cell(c.value)])
    for column, width in zip("ABCDEFGH", (14, 10, 10, 80, 40, 60, 24, 20), strict=True):
        figures.column_dimensions[column].width = width

    drawn = workbook.create_sheet(t["charts"], CHARTS_SHEET)
    drawn.append(t["chart_columns"])
    for chart in document.charts:
        for point in chart.points:
            drawn.append(
                [
                    t["charts_names"][chart.name],
                    point.label,
                    _cell(point.row[point.column]),
                    point.provisional,
                    point.row.relation,
                    key_text(point.row.key),
                    point.column,
                ]
            )
    for sheet in (figures, drawn):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    workbook.save(path)
    return path
