"""What a file gives its province: the figure per indicator that the warehouse would count of it, and the
figure the province last had published for a period of the same kind, so that an officer sees before
sending what the file would change (the dry run) and after sending what was received.

A province's figure is its submission's counted rows summed over units and categories
(ingest.province_figures, as int_submission_totals sums them: a detail row under a unit the file gives its
own figure for is not added). Before 2025-07 several legacy provinces may make one of today's; a file is
one province's, so its figure is its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ingestion.catalogue import load_catalogue
from ingestion.periods import parse_period


@dataclass
class ProvinceFigure:
    indicator_code: str
    measure: str  # count | ratio (the catalogue's)
    value: int | None
    numerator: int | None
    denominator: int | None
    # The province's published figure of the same kind of period (compare_with_published), if any.
    published_period: str | None = None
    published_value: int | None = None
    published_numerator: int | None = None
    published_denominator: int | None = None

    @property
    def ratio_pct(self) -> float | None:
        return _pct(self.numerator, self.denominator)

    @property
    def published_ratio_pct(self) -> float | None:
        return _pct(self.published_numerator, self.published_denominator)

    @property
    def change(self) -> float | int | None:
        """The figure less the published one: a count's difference, a ratio's in percentage points."""
        if self.published_period is None:
            return None
        if self.measure == "ratio":
            now, before = self.ratio_pct, self.published_ratio_pct
        else:
            now, before = self.value, self.published_value
        return None if now is None or before is None else now - before


def _pct(numerator: int | None, denominator: int | None) -> float | None:
    return None if numerator is None or not denominator else 100 * numerator / denominator


def province_figures(conn: psycopg.Connection, submission_id: int) -> list[ProvinceFigure]:
    """The submission's figure per indicator for its province, in the catalogue's order."""
    catalogue = load_catalogue()
    order = {code: i for i, code in enumerate(catalogue)}
    rows = conn.execute("select * from ingest.province_figures(%s)", [submission_id]).fetchall()
    return _figures(rows, catalogue, order)


def _figures(rows, catalogue, order) -> list[ProvinceFigure]:
    figures = [
        ProvinceFigure(code, catalogue[code].measure if code in catalogue else "count", value, numerator, denominator)
        for code, value, numerator, denominator in rows
    ]
    return sorted(figures, key=lambda f: (order.get(f.indicator_code, len(order)), f.indicator_code))


def submission_figures(conn: psycopg.Connection, submission_id: int) -> list[ProvinceFigure]:
    """province_figures for a portal session (role antq_portal): nothing of a submission it may not see."""
    catalogue = load_catalogue()
    order = {code: i for i, code in enumerate(catalogue)}
    rows = conn.execute("select * from portal.submission_figures(%s)", [submission_id]).fetchall()
    return _figures(rows, catalogue, order)


def compare_with_published(
    conn: psycopg.Connection, province_code: str, period_code: str, figures: list[ProvinceFigure]
) -> None:
    """Set on each figure the province's published one of the latest period of the same kind that does not
    start after this one (this very period when a correction replaces it), from marts.mart_province_indicator.
    On a connection that may read `marts` (not the loader's); nothing before the first publish."""
    if not figures or conn.execute("select to_regclass('marts.mart_province_indicator')").fetchone()[0] is None:
        return
    period = parse_period(period_code)
    published = conn.execute(
        """select distinct on (indicator_code)
                  indicator_code, period_code, value::bigint, numerator::bigint, denominator::bigint
           from marts.mart_province_indicator
           where province_code = %s and indicator_code = any(%s) and period_type = %s and period_start <= %s
           order by indicator_code, period_start desc""",
        [province_code, [f.indicator_code for f in figures], period.period_type, period.start],
    ).fetchall()
    found = {code: rest for code, *rest in published}
    for figure in figures:
        if figure.indicator_code in found:
            (
                figure.published_period,
                figure.published_value,
                figure.published_numerator,
                figure.published_denominator,
            ) = found[figure.indicator_code]
