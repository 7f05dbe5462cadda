"""The report's charts, drawn with matplotlib's Agg backend into PNG bytes: no display, no network, and the
fonts matplotlib ships (DejaVu Sans has every Vietnamese letter)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402 (after the backend is chosen)
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from core import notation  # noqa: E402
from reports.text import MartRow, as_number, chart_label  # noqa: E402

FINAL_COLOUR, PROVISIONAL_COLOUR, OWN_COLOUR = "#1f4e79", "#c55a11", "#7f7f7f"
DPI = 150


@dataclass(frozen=True)
class Point:
    """One value a chart draws, and the mart row it comes from (the annex lists them)."""

    label: str
    value: float
    provisional: bool
    row: MartRow
    column: str


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, bbox_inches="tight")
    return out.getvalue()


def _formatter(language: str, ratio: bool) -> FuncFormatter:
    if ratio:
        return FuncFormatter(lambda value, _: notation.percent(language, value))
    return FuncFormatter(lambda value, _: notation.number(language, round(value)))


def value_of(row: MartRow) -> tuple[float, str]:
    """A figure as a chart draws it: a share in per cent, or a count."""
    if row["measure"] == "ratio":
        return as_number(row["ratio_pct"]) or 0.0, "ratio_pct"
    return as_number(row["value"]) or 0.0, "value"


def is_provisional(row: MartRow) -> bool:
    """A national figure as its publication status says; a province's while its period is not complete."""
    if "publication_status" in row.values:
        return row["publication_status"] != "final"
    return not row["is_complete"]


def trend(language: str, series: dict[str, list[MartRow]], legends: dict[str, str]) -> tuple[bytes, list[Point]]:
    """Small multiples, one per indicator: its figures over the last periods of the kind, provisional ones
    hollow and in another colour."""
    codes = list(series)
    columns = 2 if len(codes) > 1 else 1
    rows = (len(codes) + columns - 1) // columns
    figure = Figure(figsize=(7.2, 2.6 * rows))
    points: list[Point] = []
    for index, code in enumerate(codes):
        axes = figure.add_subplot(rows, columns, index + 1)
        drawn = []
        for mart_row in series[code]:
            value, column = value_of(mart_row)
            point = Point(
                chart_label(language, mart_row["period_code"]), value, is_provisional(mart_row), mart_row, column
            )
            drawn.append(point)
        points.extend(drawn)
        xs = list(range(len(drawn)))
        axes.plot(xs, [p.value for p in drawn], color=FINAL_COLOUR, linewidth=1.5)
        for x, point in zip(xs, drawn, strict=True):
            colour = PROVISIONAL_COLOUR if point.provisional else FINAL_COLOUR
            axes.plot(
                [x], [point.value], marker="o", color=colour, markerfacecolor="white" if point.provisional else colour
            )
        axes.set_xticks(xs, [p.label for p in drawn], fontsize=7, rotation=45 if len(drawn) > 4 else 0)
        ratio = series[code][0]["measure"] == "ratio"
        axes.yaxis.set_major_formatter(_formatter(language, ratio))
        if not ratio:  # a count from zero: a change of 2% is not drawn as a cliff
            axes.set_ylim(bottom=0, top=max(p.value for p in drawn) * 1.1 or 1)
        axes.tick_params(axis="y", labelsize=7)
        axes.set_title(series[code][0][f"indicator_name_{language}"], fontsize=8)
        axes.grid(axis="y", color="#dddddd", linewidth=0.5)
        axes.spines[["top", "right"]].set_visible(False)
    if any(p.provisional for p in points):
        figure.legend(
            handles=[
                Line2D([], [], marker="o", color=FINAL_COLOUR, label=legends["final"]),
                Line2D(
                    [], [], marker="o", color=PROVISIONAL_COLOUR, markerfacecolor="white", label=legends["provisional"]
                ),
            ],
            loc="lower center",
            ncol=2,
            fontsize=7,
            frameon=False,
        )
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    return _png(figure), points


def ranking(language: str, rows: Sequence[MartRow]) -> tuple[bytes, list[Point]]:
    """The provinces ranked for one indicator, the first at the top."""
    points = []
    for mart_row in rows:
        value, column = value_of(mart_row)
        points.append(
            Point(
                mart_row["province_name"] or mart_row["province_code"],
                value,
                not mart_row["is_complete"],
                mart_row,
                column,
            )
        )
    figure = Figure(figsize=(7.2, 0.9 + 0.2 * len(points)))
    axes = figure.add_subplot(1, 1, 1)
    ys = list(range(len(points)))
    colours = [PROVISIONAL_COLOUR if p.provisional else FINAL_COLOUR for p in points]
    axes.barh(ys, [p.value for p in points], color=colours)
    axes.set_yticks(ys, [p.label for p in points], fontsize=7)
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(_formatter(language, bool(rows) and rows[0]["measure"] == "ratio"))
    axes.tick_params(axis="x", labelsize=7)
    axes.grid(axis="x", color="#dddddd", linewidth=0.5)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return _png(figure), points
