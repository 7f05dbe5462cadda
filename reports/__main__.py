"""`python -m reports PERIOD [--province 38] [--out DIR]` (make report PERIOD=2026-Q3 [PROVINCE=38]): the
report of a period, national or of one province, from the published figures: DOCX, PDF and annex XLSX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.settings import Settings, keep_files_private
from ingestion.catalogue import load_catalogue
from reports.figures import RANKING_INDICATOR, NotPublished
from reports.report import write_report
from reports.text import LANGUAGES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__)
    parser.add_argument("period", help="e.g. 2026-Q3, 2024, 2026-H1, 2026-09")
    parser.add_argument("--province", help="a current province's code (38): its report, as its analysts see it")
    parser.add_argument("--out", type=Path, help="the folder to write into (default: the data folder's reports/)")
    parser.add_argument(
        "--indicator",
        default=RANKING_INDICATOR,
        help=f"the indicator the provinces' chart ranks (default {RANKING_INDICATOR})",
    )
    parser.add_argument("--language", choices=LANGUAGES, default="vi", help="the report's language (default vi)")
    parser.add_argument("--no-pdf", action="store_true", help="write the DOCX and the annex only")
    args = parser.parse_args(argv)
    if args.indicator not in load_catalogue():
        parser.error(f"--indicator {args.indicator}: not an indicator of the catalogue")
    settings = Settings.from_env()
    keep_files_private(settings)
    try:
        written = write_report(
            settings, args.period, args.province, args.out, args.language, args.indicator, pdf=not args.no_pdf
        )
    except (NotPublished, ValueError, PermissionError) as error:
        print(f"no report written: {error}", file=sys.stderr)
        return 1
    print(f"DOCX:  {written.docx}")
    print(f"PDF:   {written.pdf}" if written.pdf else f"PDF:   none: {written.pdf_missing}")
    print(f"annex: {written.annex}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
