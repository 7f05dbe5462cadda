"""The data-entry form (/form): the fields a page of it shows, the file of the contract what was typed makes,
and the version it starts from.

A page shows either the province's own totals of every indicator collected in the period, or one indicator
for the province and each of its communes on the period's map (the grid). Sending a page makes a new version
of the province's submission for the period, and a version replaces the one before it whole. So the file a
page makes is the version the page started from with what the page shows replaced by what was typed: what
the page does not show (other indicators' communes, villages, the models sheet) goes on as it was sent. A
page that started from a version that is no longer the latest is refused (another send came in between),
rather than undo what that send changed.

Field names: "<measure>.<indicator>.<category>" for the province's own figure (measure: value, or numerator
and denominator for a ratio; category: the indicator's, or "total"), with ".<unit code>" after it for a
commune's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg

from ingestion.catalogue import TOTAL, Indicator, load_catalogue
from ingestion.periods import Period
from ingestion.reference import applied_changes, units_of_period

MEASURES = ("value", "numerator", "denominator")  # the contract's columns of figures
# The models sheet's columns in the contract, as raw.model keeps them (the model it replicates as one column).
MODEL_COLUMNS = ("model_code", "model_name", "model_type", "host_unit_code", "level", "launch_date", "status")


def collected(period: Period) -> list[Indicator]:
    """The catalogue's indicators collected in the period, in the catalogue's order."""
    return [i for i in load_catalogue().values() if i.collected_in(period.start, period.end)]


@dataclass(frozen=True)
class Page:
    period: Period
    province_code: str
    indicator: Indicator | None = None  # the grid's indicator; None: the province's totals
    communes: tuple[tuple[str, str], ...] = ()  # the grid's rows below the province: (code, name)

    @property
    def indicators(self) -> list[Indicator]:
        return [self.indicator] if self.indicator else collected(self.period)

    @property
    def units(self) -> list[str]:
        return [self.province_code, *(code for code, _ in self.communes)]

    def field(self, measure: str, indicator: Indicator, category: str, unit: str) -> str:
        name = f"{measure}.{indicator.code}.{category}"
        return name if unit == self.province_code else f"{name}.{unit}"

    def columns(self, indicator: Indicator) -> list[tuple[str, str]]:
        """An indicator's figures, (measure, category): one per category (or the total), numerator and
        denominator for a ratio."""
        measures = ("numerator", "denominator") if indicator.is_ratio else ("value",)
        return [(measure, category) for category in indicator.allowed_categories() for measure in measures]

    def names(self) -> set[str]:
        return {
            self.field(measure, indicator, category, unit)
            for indicator in self.indicators
            for measure, category in self.columns(indicator)
            for unit in self.units
        }

    def shows(self, unit_code: str, indicator_code: str) -> bool:
        return unit_code in self.units and any(i.code == indicator_code for i in self.indicators)

    def rows(self, fields: dict[str, str]) -> list[dict[str, str | None]]:
        """The rows of the contract the typed figures make: one per unit, indicator and category with anything
        typed. Every row has every column, an empty field as null (an empty cell: a column left out is one the
        reader misses). What was typed is kept as text, so the contract gives it the reason it gives a cell."""
        rows = []
        for unit in self.units:
            for indicator in self.indicators:
                for category in indicator.allowed_categories():
                    typed = {m: fields.get(self.field(m, indicator, category, unit), "").strip() for m in MEASURES}
                    if any(typed.values()):
                        rows.append(_row(self.period, unit, indicator, category, typed))
        return rows


def _row(period: Period, unit: str, indicator: Indicator, category: str, figures: dict) -> dict[str, str | None]:
    return (
        {"period": period.code, "unit_code": unit, "indicator_code": indicator.code}
        | {"category": category if indicator.categories else None}
        | {measure: figures.get(measure) or None for measure in MEASURES}
    )


def page_of(conn: psycopg.Connection, period: Period, province_code: str, grid: str | None) -> Page:
    """The page of the form: the province's totals, or the grid of `grid` (an indicator collected in the
    period) over the province's communes on the period's map. ValueError for an indicator not collected."""
    if not grid:
        return Page(period, province_code)
    indicator = next((i for i in collected(period) if i.code == grid), None)
    if indicator is None:
        raise ValueError(f"{grid} is not collected in {period.code}")
    communes = sorted(
        (unit.unit_code, unit.name)
        for unit in units_of_period(period, applied_changes(conn))
        if unit.province_code == province_code and unit.unit_level == "commune"
    )
    return Page(period, province_code, indicator, tuple(communes))


@dataclass(frozen=True)
class Sent:
    """The province's accepted submission for a period, as rows of the contract (figures as text)."""

    submission_id: int
    version: int
    indicators: list[dict[str, str | None]]
    models: list[dict[str, str | None]]

    def fields(self, page: Page) -> dict[str, str]:
        """Its figures on the page, as the page's fields."""
        catalogue = load_catalogue()
        typed = {}
        for row in self.indicators:
            if page.shows(row["unit_code"], row["indicator_code"]):
                indicator = catalogue[row["indicator_code"]]
                for measure in MEASURES:
                    if row[measure] is not None:
                        name = page.field(measure, indicator, row["category"] or TOTAL, row["unit_code"])
                        typed[name] = row[measure]
        return typed


def last_sent(conn: psycopg.Connection, province_code: str, period: Period) -> Sent | None:
    """The province's accepted submission for the period, read from the raw tables as the pipeline reads
    them. On the pipeline's connection, for the session's own province only."""
    found = conn.execute(
        """select submission_id, version from ingest.submission
           where province_code = %s and period_code = %s and status = 'accepted'
           order by submission_id desc limit 1""",
        [province_code, period.code],
    ).fetchone()
    if found is None:
        return None
    catalogue = load_catalogue()
    indicators = [
        _row(period, unit, catalogue[code], category, {"value": v, "numerator": n, "denominator": d})
        for unit, code, category, v, n, d in conn.execute(
            """select unit_code, indicator_code, category, value::text, numerator::text, denominator::text
               from raw.indicator_value where submission_id = %s order by source_row""",
            [found[0]],
        )
    ]
    models = [
        dict(zip(MODEL_COLUMNS, values, strict=True)) | {"replicated_from": source}
        for *values, source in conn.execute(
            f"""select {", ".join(MODEL_COLUMNS[:-2])}, launch_date::text, status,
                       replicated_from_province || '/' || replicated_from_code
                from raw.model where submission_id = %s order by source_row""",
            [found[0]],
        )
    ]
    return Sent(found[0], found[1], indicators, models)


def document(page: Page, fields: dict[str, str], started_from: Sent | None) -> dict[str, list]:
    """The file the page makes: what was typed on it, then what the version it started from has outside it."""
    rows = page.rows(fields)
    models = []
    if started_from is not None:
        rows += [r for r in started_from.indicators if not page.shows(r["unit_code"], r["indicator_code"])]
        models = started_from.models
    return {"indicators": rows} | ({"models": models} if models else {})


def as_json(document: dict[str, list]) -> str:
    """The form's file: one row of the contract a line, as compact as JSON goes (a province's full quarter with
    its communes and models is under 1 MB)."""
    sheets = (
        f'"{sheet}": [\n' + ",\n".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows)
        for sheet, rows in document.items()
    )
    return "{" + "\n],\n".join(sheets) + "\n]}\n"
