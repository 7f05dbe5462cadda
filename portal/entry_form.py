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
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from ingestion.catalogue import TOTAL, Indicator, load_catalogue
from ingestion.contract import MODEL_SHEET, sheet_columns
from ingestion.loader import safe_name
from ingestion.periods import Period, parse_period
from ingestion.reference import applied_changes, units_of_period
from portal import auth, queries
from portal.officer import deliver, earliest_due, periods
from portal.text import TEXT, translate
from portal.web import Officer, Portal, Web, form_is_genuine, language

router = APIRouter()
MEASURES = ("value", "numerator", "denominator")  # the contract's columns of figures
# The grid: an indicator's figures for each commune of a province (Thanh Hóa: 166 communes and a ratio in 6
# categories, about 2,000 fields and 120 KB with every field filled). app.py lets the form's body be as large.
MAX_BYTES, MAX_FIELDS = 512 * 1024, 4000


@router.get("/form", response_class=HTMLResponse)
def open_form(request: Request, web: Web, session: Officer, period: str | None = None, grid: str | None = None):
    """The form of a period, for an officer with no file: the province's own totals of every indicator
    collected then, or one indicator's grid over the province's communes. It starts from the last version
    the province sent for the period."""
    with web.admin() as conn:  # the session's own province only: the officer's role reaches no table
        try:
            due = [d for d in queries.due(conn, web.settings) if d.province_code == session.province_code]
            chosen = parse_period(period or earliest_due(due))
            form = page_of(conn, chosen, session.province_code, grid)
        except ValueError:
            return web.message(request, session, "not_found", 404)
        sent = last_sent(conn, session.province_code, chosen)
    return _page(request, web, session, form, sent.fields(form) if sent else {}, sent)


@router.post("/form", response_class=HTMLResponse)
async def send_form(request: Request, web: Web, session: Officer):
    form = await request.form(max_fields=MAX_FIELDS)
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    return await run_in_threadpool(_deliver, request, web, session, fields)


def _deliver(request: Request, web: Portal, session: auth.Session, fields: dict[str, str]):
    """The typed figures as a file of the contract (JSON), checked or sent as an uploaded file is, or shown
    again to go on editing (from the check's page). Named for the form, the officer and the time, so the
    registry and `explain` say where the figures came from; the province is the session's, whatever the form
    says. A page that started from a version that is no longer the latest is refused."""
    if not form_is_genuine(request, session, fields.get("csrf", "")):
        return web.message(request, session, "bad_form", 403)
    with web.admin() as conn:
        try:
            period = parse_period(fields.get("period", ""))
            form = page_of(conn, period, session.province_code, fields.get("grid"))
        except ValueError:
            return web.message(request, session, "not_found", 400)
        sent = last_sent(conn, session.province_code, period)
    names = form.names()
    typed = {name: value.strip() for name, value in fields.items() if name in names and value.strip()}
    started_from = fields.get("base", "")
    if started_from != (str(sent.submission_id) if sent else ""):
        return web.message(request, session, "form_stale", 409)
    if fields.get("action") == "edit":
        return _page(request, web, session, form, typed, sent)
    name = f"form-{session.login}-{period.code}-{datetime.now():%Y%m%d%H%M%S}.json"
    scratch = web.uploads / secrets.token_hex(8)
    scratch.mkdir(parents=True)
    try:
        path = scratch / safe_name(name)
        path.write_text(as_json(document(form, typed, sent)), encoding="utf-8")
        purpose = "submit" if fields.get("action") == "submit" else "check"
        back = {"grid": form.indicator.code if form.indicator else "", "base": started_from, **typed}
        return deliver(request, web, session, path, name, period.code, purpose, typed=list(back.items()))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _page(request: Request, web: Portal, session: auth.Session, form: Page, typed: dict, sent: Sent | None):
    lang = language(request)
    return web.page(
        request,
        "form.html",
        session,
        form=form,
        period=form.period.code,
        periods=periods(form.period.code),
        grids=collected(form.period),
        typed=typed,
        sent=sent,
        category=lambda code: translate(lang, f"cat_{code}") if f"cat_{code}" in TEXT else code,
    )


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
    found = queries.last_accepted(conn, province_code, period.code)
    if found is None:
        return None
    catalogue = load_catalogue()
    indicator_rows, model_rows = queries.stored_rows(conn, found[0])
    indicators = [
        _row(period, unit, catalogue[code], category, {"value": v, "numerator": n, "denominator": d})
        for unit, code, category, v, n, d in indicator_rows
    ]
    columns = [column.name for column in sheet_columns(MODEL_SHEET)]  # the order queries.stored_rows reads them in
    models = [dict(zip(columns, values, strict=True)) for values in model_rows]
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
