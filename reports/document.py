"""The report's document: what each part of the template (reports/template/*.docx) says, written from the
published figures (reports/figures.py) with the words of reports/text/, every number cited (reports/text.py),
then rendered by docxtpl."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from core.settings import Settings
from reports import charts
from reports.figures import KEY_INDICATORS, Published, group_of
from reports.text import (
    COUNT,
    DATE,
    HEADING,
    PERCENT,
    POINTS,
    SETTING,
    MartRow,
    Phrase,
    Writer,
    lower_first,
    upper_first,
)

TEMPLATE_DIR = Path(__file__).resolve().parent / "template"
CHART_WIDTH = Mm(160)
NOTHING = "–"  # a cell with no figure
MODELS_GROUP = "models"
# The settings a report writes, and the variables they are read from (core/settings.py).
SETTING_VARIABLES = {
    "report_parent_agency": "ANTQ_REPORT_PARENT_AGENCY",
    "report_agency": "ANTQ_REPORT_AGENCY",
    "report_number_prefix": "ANTQ_REPORT_NUMBER_PREFIX",
    "report_place": "ANTQ_REPORT_PLACE",
    "report_signer_title": "ANTQ_REPORT_SIGNER_TITLE",
}


@dataclass
class Chart:
    name: str  # trend | ranking
    caption: str
    png: bytes
    points: list[charts.Point]


@dataclass
class Document:
    """A rendered report: the DOCX's bytes, what it cites, and what its charts draw."""

    docx: bytes
    writer: Writer
    charts: list[Chart] = field(default_factory=list)


def _setting(w: Writer, settings: Settings, name: str) -> Phrase:
    return w.name(getattr(settings, name), kind=SETTING, source=("settings", (), SETTING_VARIABLES[name]))


def _day(value: int, month: bool = False) -> str:
    """Day and month as a dated document writes them: a day under 10 and January and February with a 0."""
    return f"{value:02d}" if (value < 10 and not month) or (month and value <= 2) else str(value)


def _header(w: Writer, settings: Settings, today: date, title: Phrase) -> dict[str, Any]:
    return {
        "parent_agency": w.place(_setting(w, settings, "report_parent_agency")),
        "agency": w.place(_setting(w, settings, "report_agency")),
        "number": w.place(w.fill("header.number", prefix=_setting(w, settings, "report_number_prefix"))),
        "motto": w.place(w.text("header.motto")),
        "motto_subtitle": w.place(w.text("header.motto_subtitle")),
        "date_line": w.place(
            w.fill(
                "header.date_line",
                place=_setting(w, settings, "report_place"),
                day=w.name(_day(today.day), kind=DATE, source=("", (), "day")),
                month=w.name(_day(today.month, month=True), kind=DATE, source=("", (), "month")),
                year=w.name(str(today.year), kind=DATE, source=("", (), "year")),
            )
        ),
        "report": w.place(w.text("header.report")),
        "title": w.place(title),
        "recipients_title": w.place(w.text("header.recipients_title")),
        "recipients": [w.place(w.name(text)) for text in w.text("header.recipients")],
        "signer_title": w.place(_setting(w, settings, "report_signer_title")),
        "h": w.text("tables"),
    }


def _name(w: Writer, row: MartRow, lower: bool = True) -> Phrase:
    """The indicator's name as the mart gives it, to stand inside a sentence."""
    column = f"indicator_name_{w.language}"
    text = row[column]
    return w.name(lower_first(text) if lower else text, row, column)


def _share(w: Writer, row: MartRow) -> Phrase:
    """ "Tỷ lệ hộ ..." for a ratio: its name after the text file's word for a share, unless it starts with it."""
    column = f"indicator_name_{w.language}"
    text, prefix = row[column], w.text("sentences.share_prefix")
    if text.lower().startswith(prefix.lower()):
        return w.name(text, row, column)
    return w.fill("sentences.share", name=w.name(lower_first(text), row, column))


def _change(w: Writer, row: MartRow) -> Phrase:
    """The change on the same period a year earlier: in per cent for a count, in percentage points for a share."""
    change = row["yoy_change"]
    if change is None:
        return w.fill("sentences.change_unknown")
    if change == 0:
        return w.fill("sentences.change_none")
    direction = "up" if change > 0 else "down"
    if row["measure"] == "ratio":
        return w.fill(f"sentences.change_{direction}_points", change=w.figure(row, "yoy_change", POINTS))
    if row["yoy_change_pct"] is not None:
        return w.fill(f"sentences.change_{direction}", change=w.figure(row, "yoy_change_pct", PERCENT))
    return w.fill(f"sentences.change_{direction}", change=w.figure(row, "yoy_change", COUNT))


def _provisional_national(w: Writer, row: MartRow) -> str:
    return w.text("sentences.provisional") if row["publication_status"] != "final" else ""


def _provisional_province(w: Writer, row: MartRow) -> str:
    return w.text("sentences.provisional") if not row["is_complete"] else ""


def _shown(row: MartRow) -> bool:
    return (row["ratio_pct"] if row["measure"] == "ratio" else row["value"]) is not None


def _figure(w: Writer, row: MartRow, previous: bool = False) -> Phrase:
    ratio = row["measure"] == "ratio"
    column = (
        ("previous_year_ratio_pct" if ratio else "previous_year_value")
        if previous
        else ("ratio_pct" if ratio else "value")
    )
    return w.figure(row, column, PERCENT if ratio else COUNT)


def _reporting(w: Writer, row: MartRow) -> Phrase:
    return w.fill(
        "sentences.reporting",
        reporting=w.figure(row, "provinces_reporting", COUNT),
        expected=w.figure(row, "provinces_expected", COUNT),
    )


def _national_paragraph(w: Writer, rows: list[MartRow]) -> str:
    """A group's figures for the whole country: for each number of provinces reporting, the counts in one
    sentence that says it, then each share."""
    sentences: list[Phrase] = []
    clusters: dict[tuple[int, int], list[MartRow]] = {}
    for r in rows:
        clusters.setdefault((r["provinces_reporting"], r["provinces_expected"]), []).append(r)
    for members in clusters.values():
        reporting = _reporting(w, members[0])
        counts = [r for r in members if r["measure"] != "ratio"]
        ratios = [r for r in members if r["measure"] == "ratio"]
        if counts:
            items = [
                w.fill(
                    "sentences.national_count_item",
                    value=_figure(w, r),
                    name=_name(w, r),
                    provisional=_provisional_national(w, r),
                    change=_change(w, r),
                )
                for r in counts
            ]
            sentences.append(
                w.fill(
                    "sentences.national_counts",
                    reporting=reporting,
                    items=w.join(items, w.text("sentences.item_separator")),
                )
            )
        for index, r in enumerate(ratios):
            fields = {"value": _figure(w, r), "provisional": _provisional_national(w, r), "change": _change(w, r)}
            if index == 0 and not counts:
                share = _share(w, r)
                sentences.append(
                    w.fill(
                        "sentences.national_ratio_reporting",
                        reporting=reporting,
                        share_in_sentence=Phrase.of(lower_first(share), share.parts),
                        **fields,
                    )
                )
            else:
                sentences.append(w.fill("sentences.national_ratio", share=_share(w, r), **fields))
    return w.place(*sentences)


def _province_paragraph(w: Writer, rows: list[MartRow], national: dict[str, MartRow]) -> str:
    """A group's figures for the province: each with its change, its rank and the whole country's beside it."""

    def fields(own: MartRow) -> dict[str, Any]:
        beside_national = national.get(own["indicator_code"])
        if beside_national is not None:
            rank = w.fill(
                "sentences.rank_of",
                rank=w.figure(own, "province_rank", COUNT),
                of=w.figure(beside_national, "provinces_reporting", COUNT),
            )
            beside = w.fill(
                "sentences.beside_ratio" if own["measure"] == "ratio" else "sentences.beside_count",
                value=_figure(w, beside_national),
                provisional=_provisional_national(w, beside_national),
            )
        else:
            rank, beside = w.fill("sentences.rank", rank=w.figure(own, "province_rank", COUNT)), w.fill("")
        return {
            "value": _figure(w, own),
            "provisional": _provisional_province(w, own),
            "change": _change(w, own),
            "rank": rank,
            "beside": beside,
        }

    first = rows[0]
    province = first["province_name"] or first["province_code"]
    sentences: list[Phrase] = []
    counts = [r for r in rows if r["measure"] != "ratio"]
    if counts:
        items = [w.fill("sentences.province_count_item", name=_name(w, r), **fields(r)) for r in counts]
        sentences.append(
            w.fill(
                "sentences.province_counts",
                province=w.name(province, first, "province_name"),
                items=w.join(items, w.text("sentences.item_separator")),
            )
        )
    for r in rows:
        if r["measure"] == "ratio":
            sentences.append(
                w.fill(
                    "sentences.province_ratio",
                    share=_share(w, r),
                    province_in_sentence=w.name(province, r, "province_name"),
                    **fields(r),
                )
            )
    return w.place(*sentences)


def _groups(w: Writer, rows: dict[str, MartRow], paragraph) -> tuple[list[dict[str, Any]], list[str]]:
    """The narrative's groups (numbered headings, one paragraph each), and the models group's paragraph apart."""
    groups, models = [], []
    shown = [code for code, row in rows.items() if _shown(row)]
    number = 0
    for name, codes in group_of(shown):
        text = paragraph([rows[code] for code in codes])
        if name == MODELS_GROUP:
            models.append(text)
            continue
        number += 1
        heading = w.fill(
            "sections.group_heading",
            number=w.name(str(number), kind=HEADING, source=("", (), "heading")),
            title=w.text(f"groups.{name}"),
        )
        groups.append({"heading": w.place(heading), "paragraphs": [text]})
    return groups, models


def _change_cell(w: Writer, row: MartRow) -> str:
    change = row["yoy_change"]
    if change is None:
        return NOTHING
    if row["measure"] == "ratio":
        size = w.fill("tables.points", change=w.figure(row, "yoy_change", POINTS))
    elif row["yoy_change_pct"] is not None:
        size = w.figure(row, "yoy_change_pct", PERCENT)
    else:
        size = w.figure(row, "yoy_change", COUNT)
    if change == 0:
        return w.place(size)
    return w.place(w.fill("tables.up" if change > 0 else "tables.down", change=size))


def _previous_cell(w: Writer, row: MartRow) -> str:
    column = "previous_year_ratio_pct" if row["measure"] == "ratio" else "previous_year_value"
    return NOTHING if row[column] is None else w.place(_figure(w, row, previous=True))


def _value_cell(w: Writer, row: MartRow | None) -> str:
    return NOTHING if row is None or not _shown(row) else w.place(_figure(w, row))


def _replicated(w: Writer, published: Published) -> list[dict[str, str]]:
    return [
        {
            "rank": w.place(w.figure(r, "replication_rank", COUNT)),
            "model": w.place(w.name(r["model_name"], r, "model_name")),
            "province": w.place(w.name(r["province_name"] or r["province_code"], r, "province_name")),
            "replicas": w.place(w.figure(r, "replicas", COUNT)),
            "provinces_reached": w.place(w.figure(r, "provinces_reached", COUNT)),
        }
        for r in published.replicated
    ]


def _image(template: DocxTemplate, png: bytes) -> InlineImage:
    return InlineImage(template, io.BytesIO(png), width=CHART_WIDTH)


def _trend_chart(w: Writer, series: dict[str, list[MartRow]], where: Phrase) -> Chart | None:
    series = {code: series[code] for code in KEY_INDICATORS if series.get(code)}
    if not series:
        return None
    png, points = charts.trend(w.language, series, {k: w.text(f"charts.{k}_legend") for k in ("final", "provisional")})
    return Chart("trend", w.place(w.fill("charts.trend_caption", where=where)), png, points)


def _completeness(w: Writer, published: Published, row_for_count: MartRow | None) -> list[str]:
    """Who reported the period: the provinces in its figures, those rolled up, and each missing or held one."""
    paragraphs = []
    if row_for_count is not None:
        paragraphs.append(
            w.paragraph(
                "reporting.count",
                reporting=w.figure(row_for_count, "provinces_reporting", COUNT),
                expected=w.figure(row_for_count, "provinces_expected", COUNT),
            )
        )
        if row_for_count["provinces_rolled_up"]:
            paragraphs.append(
                w.paragraph("reporting.rolled_up", rolled_up=w.figure(row_for_count, "provinces_rolled_up", COUNT))
            )
    if not published.completeness:
        return [*paragraphs, w.paragraph("reporting.not_expected")]
    by_status: dict[str, list[MartRow]] = {}
    for r in published.completeness:
        status = "late" if r["status"] == "accepted" and r["is_late"] else r["status"]
        by_status.setdefault(status, []).append(r)
    statuses = w.text("reporting.statuses")
    if set(by_status) == {"accepted"}:
        return [*paragraphs, w.paragraph("reporting.all_accepted")]
    for status, rows in by_status.items():
        if status == "accepted":
            continue
        names = [w.name(r["province_name"] or r["province_code"], r, "province_name") for r in rows]
        listed = w.join(names, ", ")
        paragraphs.append(
            w.paragraph("reporting.status", status=upper_first(statuses.get(status, status)), provinces=listed)
        )
    return paragraphs


def _render(name: str, build) -> bytes:
    template = DocxTemplate(TEMPLATE_DIR / f"{name}.docx")
    context = build(template)
    template.render(context, autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def national(published: Published, settings: Settings, language: str, today: date) -> Document:
    """The whole country's report of a period, from `marts` as the BI reader reads it."""
    w = Writer(language)
    period_phrase = w.period(published.period, published.period_row)
    rows = published.national
    provisional = any(r["publication_status"] != "final" for r in rows.values())
    made: list[Chart] = []

    def build(template: DocxTemplate) -> dict[str, Any]:
        context = _header(w, settings, today, w.fill("header.title_national", period=period_phrase))
        context["intro"] = [
            w.paragraph("intro.national"),
            w.paragraph("intro.provisional" if provisional else "intro.final"),
        ]
        groups, models = _groups(w, rows, lambda group: _national_paragraph(w, group))
        trend = _trend_chart(w, published.trend, w.fill(w.text("charts.where_national")))
        ranked = [r for r in published.provinces.get(published.ranking_indicator, []) if _shown(r)]
        if trend:
            made.append(trend)
        if ranked:
            png, points = charts.ranking(language, ranked)
            caption = w.fill(
                "charts.ranking_caption",
                name=_name(w, ranked[0]),
                period=w.period(published.period, published.period_row),
            )
            made.append(Chart("ranking", w.place(caption), png, points))
        context["results"] = {
            "heading": w.place(w.text("sections.national.results")),
            "groups": groups,
            "charts": [{"image": _image(template, c.png), "caption": c.caption} for c in made],
        }
        launched = {r["province_code"]: r for r in published.provinces.get("models_launched", [])}
        context["models"] = {
            "heading": w.place(w.text("sections.national.models")),
            "paragraphs": [
                *(models or [w.paragraph("sentences.nothing")]),
                w.paragraph("models.note"),
                *([] if published.replicated else [w.paragraph("models.none_replicated")]),
            ],
            "replicated_caption": w.place(w.text("models.replicated_caption")),
            "replicated": _replicated(w, published),
            "by_province_caption": w.place(w.text("models.by_province_caption")),
            "by_province": [
                {
                    "province": w.place(w.name(r["province_name"] or r["province_code"], r, "province_name")),
                    "launched": _value_cell(w, launched.get(r["province_code"])),
                    "active": _value_cell(w, r),
                    "note": w.text("tables.provisional")
                    if not r["is_complete"] or not launched.get(r["province_code"], r)["is_complete"]
                    else "",
                }
                for r in published.provinces.get("models_active", [])
            ],
        }
        counted = max(rows.values(), key=lambda r: (r["provinces_reporting"], r["indicator_code"] == "security_teams"))
        context["reporting"] = {
            "heading": w.place(w.text("sections.national.reporting")),
            "paragraphs": _completeness(w, published, counted),
        }
        tables = []
        for _, codes in group_of(list(published.provinces)):
            for code in codes:
                province_rows = [r for r in published.provinces[code] if _shown(r)]
                if not province_rows:
                    continue
                tables.append(
                    {
                        "caption": w.place(_name(w, province_rows[0], lower=False)),
                        "rows": [
                            {
                                "rank": w.place(w.figure(r, "province_rank", COUNT)),
                                "province": w.place(
                                    w.name(r["province_name"] or r["province_code"], r, "province_name")
                                ),
                                "value": _value_cell(w, r),
                                "previous": _previous_cell(w, r),
                                "change": _change_cell(w, r),
                                "note": "" if r["is_complete"] else w.text("tables.provisional"),
                            }
                            for r in province_rows
                        ],
                    }
                )
        context["annex"] = {
            "title": w.place(w.text("header.annex_title")),
            "subtitle": w.place(
                w.fill("header.annex_national", period=w.period(published.period, published.period_row))
            ),
            "note": w.place(w.text("header.annex_note")),
            "tables": tables,
        }
        return context

    docx = _render("national", build)
    return Document(docx, w, made)


def province(published: Published, settings: Settings, language: str, today: date) -> Document:
    """A province's report of a period, from its own schema as its analysts read it: its figures, the whole
    country's beside them once complete, its rank, its models and its communes."""
    w = Writer(language)
    own = published.own
    national_rows = published.national
    any_row = next(iter(own.values()))
    name_text = any_row["province_name"] or published.province or ""
    provisional = any(not r["is_complete"] for r in own.values()) or any(
        r["publication_status"] != "final" for r in national_rows.values()
    )
    made: list[Chart] = []

    def province_name() -> Phrase:
        return w.name(name_text, any_row, "province_name")

    def build(template: DocxTemplate) -> dict[str, Any]:
        title = w.fill(
            "header.title_province", province=province_name(), period=w.period(published.period, published.period_row)
        )
        context = _header(w, settings, today, title)
        context["intro"] = [
            w.paragraph("intro.province", province=province_name()),
            w.paragraph("intro.provisional" if provisional else "intro.final"),
            *([] if national_rows else [w.paragraph("intro.national_hidden")]),
        ]
        groups, models = _groups(w, own, lambda group: _province_paragraph(w, group, national_rows))
        trend = _trend_chart(w, published.trend, province_name())
        if trend:
            made.append(trend)
        context["results"] = {
            "heading": w.place(w.text("sections.province.results")),
            "groups": groups,
            "charts": [{"image": _image(template, c.png), "caption": c.caption} for c in made],
        }
        levels = w.text("models.levels")
        type_column = "model_type_name_vi" if language == "vi" else "model_type"
        context["models"] = {
            "heading": w.place(w.text("sections.province.models")),
            "paragraphs": [
                *(models or [w.paragraph("sentences.nothing")]),
                w.paragraph("models.note") if published.model_counts else w.paragraph("models.no_counts"),
            ],
            "counts_caption": w.place(w.text("models.counts_caption")),
            "counts": [
                {
                    "model_type": w.place(w.name(r[type_column] or r["model_type"], r, type_column)),
                    "model_level": w.place(levels.get(r["model_level"], r["model_level"])),
                    "models": w.place(w.figure(r, "models", COUNT)),
                    "models_active": w.place(w.figure(r, "models_active", COUNT)),
                    "models_closed": w.place(w.figure(r, "models_closed", COUNT)),
                    "replicas": w.place(w.figure(r, "replicas_made", COUNT)),
                }
                for r in published.model_counts
            ],
            "replicated_caption": w.place(w.text("models.replicated_caption")),
            "replicated": _replicated(w, published),
        }
        key_rows = [own.get(code) for code in KEY_INDICATORS]
        headers = [w.place(w.text("tables.unit"))]
        headers += [
            w.place(_name(w, r, lower=False)) if r else code for r, code in zip(key_rows, KEY_INDICATORS, strict=True)
        ]
        context["communes"] = {
            "heading": w.place(w.text("sections.province.communes")),
            "paragraphs": [] if published.communes else [w.paragraph("communes.none")],
            "caption": w.place(w.text("communes.caption")),
            "headers": headers,
            "rows": [
                {
                    "cells": [
                        w.place(w.name(unit["unit_name"], unit, "unit_name")),
                        *(
                            w.place(w.figure(facts[code], "value", COUNT)) if code in facts else NOTHING
                            for code in KEY_INDICATORS
                        ),
                    ]
                }
                for unit, facts in published.communes
            ],
        }
        statuses = w.text("reporting.statuses")
        reporting = [
            w.paragraph(
                "reporting.province_status",
                province_in_sentence=province_name(),
                status=lower_first(statuses.get(s, s)) if language == "vi" else statuses.get(s, s),
            )
            for r in published.completeness
            for s in ["late" if r["status"] == "accepted" and r["is_late"] else r["status"]]
        ]
        context["reporting"] = {
            "heading": w.place(w.text("sections.province.reporting")),
            "paragraphs": reporting or [w.paragraph("reporting.not_expected")],
        }
        rows = []
        for _, codes in group_of([code for code, r in own.items() if _shown(r)]):
            for code in codes:
                r, n = own[code], national_rows.get(code)
                rows.append(
                    {
                        "indicator": w.place(_name(w, r, lower=False)),
                        "value": _value_cell(w, r),
                        "national": _value_cell(w, n),
                        "rank": w.place(w.figure(r, "province_rank", COUNT)),
                        "previous": _previous_cell(w, r),
                        "change": _change_cell(w, r),
                        "note": w.text("tables.provisional")
                        if not r["is_complete"] or (n is not None and n["publication_status"] != "final")
                        else "",
                    }
                )
        context["annex"] = {
            "title": w.place(w.text("header.annex_title")),
            "subtitle": w.place(
                w.fill(
                    "header.annex_province",
                    province=province_name(),
                    period=w.period(published.period, published.period_row),
                )
            ),
            "note": w.place(w.text("header.annex_note")),
            "caption": "",
            "rows": rows,
        }
        return context

    docx = _render("province", build)
    return Document(docx, w, made)
