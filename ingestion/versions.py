"""Integrity of versions: a new version of a province × period replaces its predecessor whole, so a file that
drops most of what the earlier version reported would silently delete the province's figures (a one-row test
file became Thanh Hóa's 2026-Q3 version 2 and took 4,683 security teams and every other indicator with it).

One rule, used twice: the submission check `version_keeps_most` (expectations/suites.py) holds such a version
for review, and the dry run (ingestion/loader.py, dry_run) warns the officer before the file is sent. Plain
SQL and data, no Great Expectations: the loader imports it.

A version keeps a (unit, indicator) figure, a unit or an indicator of its predecessor when it reports it too,
whatever the value: a complete correction keeps everything. It is held when it keeps less than
settings.version_keep_ratio of the predecessor's figures, of its units or of its indicators.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import psycopg

from core.notation import number

CHECK = "version_keeps_most"

# Both versions' counts, for each pair (submission_id, previous_id) of `pairs`: rows as received, then the
# distinct (unit, indicator) figures, units and indicators, and how many of the predecessor's the new one
# keeps. Each pair reads its two submissions' rows through raw's index on submission_id, grouped once in
# memory per pair (grouping sets: figures, units and indicators in one pass), never the rest of raw.
COMPARE = """
with pairs as ({pairs})
select pairs.*, new.period_code, new.version, previous.version as previous_version,
       new.row_count as rows, previous.row_count as previous_rows, counts.*
from pairs
inner join ingest.submission as new on new.submission_id = pairs.submission_id
inner join ingest.submission as previous on previous.submission_id = pairs.previous_id
cross join lateral (
    select
        count(*) filter (where keys.kind = 'figure' and keys.in_new) as figures,
        count(*) filter (where keys.kind = 'figure' and keys.in_old) as previous_figures,
        count(*) filter (where keys.kind = 'figure' and keys.in_new and keys.in_old) as kept_figures,
        count(*) filter (where keys.kind = 'unit' and keys.in_new) as units,
        count(*) filter (where keys.kind = 'unit' and keys.in_old) as previous_units,
        count(*) filter (where keys.kind = 'unit' and keys.in_new and keys.in_old) as kept_units,
        count(*) filter (where keys.kind = 'indicator' and keys.in_new) as indicators,
        count(*) filter (where keys.kind = 'indicator' and keys.in_old) as previous_indicators,
        count(*) filter (where keys.kind = 'indicator' and keys.in_new and keys.in_old) as kept_indicators
    from (
        select
            case
                when grouping(f.unit_code) = 1 then 'indicator'
                when grouping(f.indicator_code) = 1 then 'unit'
                else 'figure'
            end as kind,
            bool_or(f.submission_id = pairs.submission_id) as in_new,
            bool_or(f.submission_id = pairs.previous_id) as in_old
        from raw.indicator_value as f
        where f.submission_id in (pairs.submission_id, pairs.previous_id)
        group by grouping sets ((f.unit_code, f.indicator_code), (f.unit_code), (f.indicator_code))
    ) as keys
) as counts
"""


def keeps_too_little(compared: str, ratio: float) -> str:
    """SQL: the rows of `compared` (a COMPARE) whose new version keeps less than `ratio` of its predecessor."""
    share = float(ratio)
    return f"""select compared.*, {share}::float8 as keep_ratio from ({compared}) as compared
    where compared.kept_figures < {share} * compared.previous_figures
       or compared.kept_units < {share} * compared.previous_units
       or compared.kept_indicators < {share} * compared.previous_indicators"""


@dataclass(frozen=True)
class VersionDrop:
    """A new version that keeps too little of the one it replaces, with both versions' counts."""

    period_code: str
    version: int
    previous_version: int
    rows: int
    previous_rows: int
    figures: int
    previous_figures: int
    kept_figures: int
    units: int
    previous_units: int
    kept_units: int
    indicators: int
    previous_indicators: int
    kept_indicators: int

    @classmethod
    def from_row(cls, row: dict) -> VersionDrop:
        """From a row of COMPARE, or a hold's detail (which is such a row, stored as JSON)."""
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    def describe(self) -> str:
        """In words, for the data team: 'version 2 reports 1 figure of 1 unit where version 1 reported 4,316
        figures of 166 units'."""
        return (
            f"version {self.version} reports {_many(self.figures, 'figure')} of {_many(self.units, 'unit')} and"
            f" {_many(self.indicators, 'indicator')} where version {self.previous_version} reported"
            f" {_many(self.previous_figures, 'figure')} of {_many(self.previous_units, 'unit')} and"
            f" {_many(self.previous_indicators, 'indicator')} (it keeps {self.kept_figures:,} of its figures,"
            f" {self.kept_units:,} of its units, {self.kept_indicators:,} of its indicators; it replaces it whole)"
        )

    def warning(self, language: str) -> str:
        """What the province is told when it checks or sends such a file, in its language."""
        rows, previous = number(language, self.rows), number(language, self.previous_rows)
        if language == "vi":
            return (
                f"Lưu ý: tệp này sẽ thay thế toàn bộ báo cáo kỳ {self.period_code} đã gửi: {rows} dòng so với"
                f" {previous} dòng của bản {self.previous_version}. Mỗi lần gửi thay thế cả bản trước, nên các số"
                " liệu không có trong tệp sẽ bị xoá; tệp sẽ được tạm giữ để Cục xem xét. Để sửa vài dòng, hãy gửi"
                " lại toàn bộ tệp đã sửa."
            )
        return (
            f"Note: this replaces your whole {self.period_code} report: {rows} row(s) against {previous} in version"
            f" {self.previous_version}. Each file replaces the earlier one whole, so the figures it leaves out would"
            " be deleted; it will be held for the ministry's review. To correct a few rows, send the whole"
            " corrected file."
        )


def _many(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def dropped(conn: psycopg.Connection, submission_id: int, ratio: float) -> list[VersionDrop]:
    """The version the submission replaced (its predecessor, superseded by it), if it keeps too little of it."""
    pairs = """select submission_id as previous_id, superseded_by as submission_id from ingest.submission
               where superseded_by = %(submission_id)s"""
    query = keeps_too_little(COMPARE.format(pairs=pairs), ratio)
    cursor = conn.execute(query, {"submission_id": submission_id})
    names = [column.name for column in cursor.description]
    return [VersionDrop.from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
