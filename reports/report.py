"""Writes a report: its figures read as its readers read them (reports/figures.py), the document
(reports/document.py), the annex (reports/annex.py) and the PDF (reports/pdf.py), into one folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from core.settings import Settings
from reports import NATIONAL, annex, document, figures
from reports.pdf import NoLibreOffice, to_pdf


@dataclass(frozen=True)
class Written:
    docx: Path
    annex: Path
    pdf: Path | None
    pdf_missing: str | None  # why there is no PDF (LibreOffice is not installed here)


def file_stem(period_code: str, province: str | None, language: str) -> str:
    """bao-cao_2026-Q3, bao-cao_2024_38, and with _en for a report in English."""
    parts = [
        "bao-cao",
        period_code.upper(),
        *([province] if province else []),
        *([language] if language != "vi" else []),
    ]
    return "_".join(parts)


def write_report(
    settings: Settings,
    period_code: str,
    province: str | None = None,
    out: Path | None = None,
    language: str = "vi",
    ranking: str = figures.RANKING_INDICATOR,
    pdf: bool = True,
    today: date | None = None,
) -> Written:
    """The report of a period, national or of one province: DOCX, annex XLSX and, where LibreOffice is, PDF."""
    published = figures.read(settings, period_code, province, ranking)
    written_at = datetime.now(UTC)
    today = today or date.today()
    made = (document.province if province else document.national)(published, settings, language, today)
    folder = out or settings.reports_dir / (province or NATIONAL)  # as the portal keeps them (portal/reports.py)
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(period_code, province, language)
    docx = folder / f"{stem}.docx"
    docx.write_bytes(made.docx)
    workbook = annex.write(folder / f"{stem}_phu-luc.xlsx", made, published, written_at, docx.name)
    stale = docx.with_suffix(".pdf")
    stale.unlink(missing_ok=True)  # a PDF of an earlier run must not pass for this one's
    if not pdf:
        return Written(docx, workbook, None, "not asked for")
    try:
        return Written(docx, workbook, to_pdf(docx), None)
    except NoLibreOffice as missing:
        return Written(docx, workbook, None, str(missing))
