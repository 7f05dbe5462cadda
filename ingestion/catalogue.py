"""The indicator catalogue. One file, dbt_project/seeds/indicator_catalogue.csv, read by dbt and by ingestion."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache

from core.settings import DBT_PROJECT_DIR

CATALOGUE_CSV = DBT_PROJECT_DIR / "seeds" / "indicator_catalogue.csv"
TOTAL = "total"


@dataclass(frozen=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    kind: str  # stock | flow
    measure: str  # count | ratio
    categories: tuple[str, ...]  # empty: the indicator is reported as one total
    since: date | None = None  # the first day it may be reported
    until: date | None = None  # the last day, while it is no longer collected

    @property
    def is_ratio(self) -> bool:
        return self.measure == "ratio"

    def allowed_categories(self) -> tuple[str, ...]:
        return self.categories or (TOTAL,)

    def collected_in(self, start: date, end: date) -> bool:
        """Whether a period from start to end lies within the dates the indicator is collected."""
        return (self.since is None or self.since <= start) and (self.until is None or end <= self.until)


@cache
def load_catalogue() -> dict[str, Indicator]:
    with CATALOGUE_CSV.open(encoding="utf-8", newline="") as handle:
        return {
            row["indicator_code"]: Indicator(
                code=row["indicator_code"],
                name_vi=row["name_vi"],
                name_en=row["name_en"],
                kind=row["kind"],
                measure=row["measure"],
                categories=tuple(c for c in row["categories"].split("|") if c),
                since=date.fromisoformat(row["since"]) if row["since"] else None,
                until=date.fromisoformat(row["until"]) if row["until"] else None,
            )
            for row in csv.DictReader(handle)
        }
