"""The report's words (reports/text/<language>.yaml) and the one way a number reaches the document: as a
`Figure` read from a mart row, written in the language's notation (core/notation.py), and cited, with the
paragraph or table cell it stands in, for the annex (reports/annex.py) and for tests/test_reports.py, which
finds every number of the document in those citations and each citation in its mart."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core import notation
from ingestion.periods import Period, parse_period

TEXT_DIR = Path(__file__).resolve().parent / "text"
LANGUAGES = ("vi", "en")
DIGIT = re.compile(r"\d")
PATH = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")  # a pattern's place in the text file: sentences.national_count
# A number as a reader sees one: digits (with the language's thousands and decimal marks), maybe a percent sign,
# touching no letter ("X05" in a document's symbol is a name, not a number).
NUMBER = re.compile(r"(?<!\w)\d+(?:[.,]\d+)*%?(?!\w)")

# How a figure is written: a count, a share in per cent, a change of a share in percentage points; a name or a
# label is text.
COUNT, PERCENT, POINTS, TEXT = "count", "percent", "points", "text"
# What a citation is: a published figure, or a text with digits in it that is no figure: a name read from a
# mart (a commune called "Phường 1", an indicator's "thành viên thứ 2"), the name of the period, the date the
# report was written, a heading's number, a setting (the agency's symbol).
FIGURE, NAME, PERIOD, DATE, HEADING, SETTING = "figure", "name", "period", "date", "heading", "setting"


@cache
def texts(language: str) -> dict[str, Any]:
    if language not in LANGUAGES:
        raise ValueError(f"no report text in {language!r}: {', '.join(LANGUAGES)}")
    return yaml.safe_load((TEXT_DIR / f"{language}.yaml").read_text(encoding="utf-8"))


def numbers(text: str) -> list[str]:
    """Every number in a text, as written."""
    return NUMBER.findall(text)


def written(language: str, value: Any, how: str) -> str:
    """A mart's value as the document writes it (a change's sign is said in words, so its size only)."""
    if how == COUNT:
        return notation.number(language, int(abs(value)))
    if how == PERCENT:
        return notation.percent(language, float(abs(value)))
    if how == POINTS:
        return notation.decimal(language, float(abs(value)))
    return str(value)


@dataclass(frozen=True)
class MartRow:
    """One row of a published relation, with the columns that identify it there."""

    relation: str  # schema.table, e.g. marts.mart_national_indicator
    key: tuple[tuple[str, str], ...]
    values: Mapping[str, Any] = field(hash=False, compare=False)

    def __getitem__(self, column: str) -> Any:
        return self.values[column]

    def get(self, column: str, default: Any = None) -> Any:
        return self.values.get(column, default)


@dataclass(frozen=True)
class Citation:
    """A number (or a text with digits) as the document shows it, where, and where it comes from."""

    shown: str
    kind: str
    how: str
    context: str  # the whole text of the paragraph or table cell it stands in
    relation: str = ""
    key: tuple[tuple[str, str], ...] = ()
    column: str = ""
    value: Any = None


class Phrase(str):
    """Text holding figures not yet placed: they are cited once the paragraph or cell they end in is known."""

    parts: tuple[Citation, ...] = ()

    @classmethod
    def of(cls, text: str, parts: tuple[Citation, ...]) -> Phrase:
        phrase = cls(text)
        phrase.parts = parts
        return phrase


def _parts(value: Any) -> tuple[Citation, ...]:
    return value.parts if isinstance(value, Phrase) else ()


def lower_first(text: str) -> str:
    """A name to stand inside a sentence: "Tổ bảo vệ ..." as "tổ bảo vệ ...", but "ANTT ..." as it is."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


class Writer:
    """Writes the document's texts in one language, citing every figure and every text with digits."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.t = texts(language)
        self.citations: list[Citation] = []

    def text(self, path: str) -> Any:
        node: Any = self.t
        for part in path.split("."):
            node = node[part]
        return node

    def figure(self, row: MartRow, column: str, how: str) -> Phrase:
        """A mart row's value, written in the language's notation, to be placed in a phrase."""
        value = row[column]
        shown = written(self.language, value, how)
        return Phrase.of(shown, (Citation(shown, FIGURE, how, "", row.relation, row.key, column, value),))

    def name(
        self,
        text: str,
        row: MartRow | None = None,
        column: str = "",
        kind: str = NAME,
        source: tuple[str, tuple[tuple[str, str], ...], str] | None = None,
    ) -> Phrase:
        """A name read from a mart row's column (or a label: a setting, the date, a heading's number): cited only
        when it has digits in it, as what it is, so that no number of the document goes unexplained."""
        if not DIGIT.search(text):
            return Phrase.of(text, ())
        if row is not None:
            relation, key, value = row.relation, row.key, row[column]
        else:
            relation, key, column = source or ("", (), "")
            value = text
        return Phrase.of(text, (Citation(text, kind, TEXT, "", relation, key, column, value),))

    def fill(self, path_or_pattern: str, **fields: Any) -> Phrase:
        """A pattern (or the text file's pattern at a dotted path) filled with figures, names, phrases or text."""
        pattern = self.text(path_or_pattern) if PATH.match(path_or_pattern) else path_or_pattern
        parts = tuple(part for value in fields.values() for part in _parts(value))
        return Phrase.of(pattern.format(**{k: str(v) for k, v in fields.items()}), parts)

    def join(self, phrases: list[Phrase], separator: str) -> Phrase:
        return Phrase.of(separator.join(phrases), tuple(part for phrase in phrases for part in _parts(phrase)))

    def place(self, *phrases: str, separator: str = " ") -> str:
        """The whole text of one paragraph or table cell: its figures cited with it as their context."""
        text = separator.join(str(p) for p in phrases)
        for phrase in phrases:
            for part in _parts(phrase):
                self.citations.append(
                    Citation(part.shown, part.kind, part.how, text, part.relation, part.key, part.column, part.value)
                )
        return text

    def paragraph(self, path: str, **fields: Any) -> str:
        return self.place(self.fill(path, **fields))

    # Periods and dates, named in the language.

    def period_name(self, period: Period) -> str:
        return period_name(self.language, period)

    def period(self, period: Period, row: MartRow) -> Phrase:
        """The period's name, cited as the name of its row of dim_period."""
        return self.name(self.period_name(period), row, "period_code", kind=PERIOD)


def period_name(language: str, period: Period) -> str:
    """How the report names a period: "quý III năm 2026", "6 tháng đầu năm 2026", "tháng 9 năm 2026"."""
    t = texts(language)["periods"]
    year, month = period.start.year, period.start.month
    if period.period_type == "month":
        return t["month"].format(month=month, year=year)
    if period.period_type == "quarter":
        return t["quarter"].format(quarter=t["quarter_names"][(month - 1) // 3], year=year)
    if period.period_type == "half_year":
        return t["half_year_first" if month == 1 else "half_year_second"].format(year=year)
    return t["year"].format(year=year)


def chart_label(language: str, period_code: str) -> str:
    """A period as a chart's axis names it: 9/2026, Q3/2026, H2/2026, 2026."""
    period = parse_period(period_code)
    t = texts(language)["periods"]
    year, month = period.start.year, period.start.month
    return t[f"chart_{period.period_type}"].format(
        month=month, quarter=(month - 1) // 3 + 1, half=(month - 1) // 6 + 1, year=year
    )


def as_number(value: Any) -> float | None:
    return None if value is None else float(value) if isinstance(value, Decimal) else value
