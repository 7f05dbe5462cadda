"""The indicator catalogue. One file, dbt_project/seeds/indicator_catalogue.csv, read by dbt and by ingestion."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from warehouse.settings import DBT_PROJECT_DIR

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

    @property
    def is_ratio(self) -> bool:
        return self.measure == "ratio"

    def allowed_categories(self) -> tuple[str, ...]:
        return self.categories or (TOTAL,)


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
            )
            for row in csv.DictReader(handle)
        }
