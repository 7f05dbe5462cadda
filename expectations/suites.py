"""The expectation suites that gate publishing, written as code. Two kinds:

- submission checks judge one province's figures (its ratios, its figures against its own history) on
  intermediate.int_province_indicator_periods before the marts are built, and only the figures the published
  marts do not count yet; and a new version against the one it replaces (int_counted_submissions). What they
  find holds back the submissions behind it (severity `hold`): the other provinces publish, the held one keeps
  its previously published version. Each row names the submission.
- build checks judge the build as a whole (schema, keys, the reconciliations, that nothing held is counted)
  and block the whole publish.

Every expectation carries a `check` name in its meta (the word the alert email uses) and the severity
that expectations/severity.yaml gives that check: critical blocks publishing, hold holds the submission,
warning publishes and is reported. These checks are a second, independent path on purpose: they recompute
from the built tables what ingestion and dbt promise, so a bug in either shows up here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
import yaml
from great_expectations.constants import MAX_RESULT_RECORDS

from core import schemas
from core.settings import Settings
from expectations.single_query import ExpectNoUnexpectedRows
from ingestion import versions

SEVERITY_FILE = Path(__file__).parent / "severity.yaml"


@cache
def severity(check: str) -> str:
    levels = yaml.safe_load(SEVERITY_FILE.read_text(encoding="utf-8"))
    return levels[check]


def _meta(check: str) -> dict:
    """The check's word and policy in meta; GX's own severity knows no `hold`, which fails a submission."""
    level = severity(check)
    return {"meta": {"check": check, "severity": level}, "severity": "warning" if level == "warning" else "critical"}


def _rows(check: str, description: str, query: str) -> ExpectNoUnexpectedRows:
    # A held finding is acted on row by row (one hold per submission), so it returns every row.
    max_rows = HOLD_MAX_ROWS if severity(check) == "hold" else MAX_RESULT_RECORDS
    return ExpectNoUnexpectedRows(
        unexpected_rows_query=query, description=description, max_rows=max_rows, **_meta(check)
    )


SUBMISSION_SCHEMA = schemas.INTERMEDIATE  # where dbt builds int_province_indicator_periods
HOLD_MAX_ROWS = 100_000


NATIONAL_COLUMNS = [
    "period_code",
    "period_type",
    "period_start",
    "period_end",
    "indicator_code",
    "measure",
    "value",
    "numerator",
    "denominator",
    "ratio_pct",
    "provinces_reporting",
    "provinces_rolled_up",
]
PROVINCE_COLUMNS = [
    "province_code",
    "province_name",
    "period_code",
    "period_type",
    "period_start",
    "indicator_code",
    "measure",
    "value",
    "numerator",
    "denominator",
    "ratio_pct",
    "is_complete",
    "is_remapped",
]


def _schema(columns: list[str]) -> gxe.ExpectTableColumnsToMatchSet:
    """The columns BI depends on are all there (more may be added without breaking anyone)."""
    return gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=False, **_meta("schema"))


def national_suite(schema: str, freshness_days: int) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="mart_national_indicator")
    suite.add_expectation(_schema(NATIONAL_COLUMNS))
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1, **_meta("not_empty")))
    for column in ("period_code", "indicator_code", "provinces_reporting"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column, **_meta("keys")))
    for column in ("value", "numerator", "denominator"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, **_meta("non_negative")))
    suite.add_expectation(
        _rows(
            "published_ratio_within_100",
            "A ratio's numerator never exceeds its denominator",
            "select period_code, indicator_code, numerator, denominator from {batch} where numerator > denominator",
        )
    )
    suite.add_expectation(
        _rows(
            "reconciliation",
            "National value equals the sum over provinces, for counts and for both parts of a ratio",
            f"""select n.period_code, n.indicator_code, n.value as national_value, p.value as provinces_value,
                   n.numerator as national_numerator, p.numerator as provinces_numerator
            from {{batch}} as n
            left join (
                select period_code, indicator_code, sum(value) as value, sum(numerator) as numerator,
                       sum(denominator) as denominator
                from {schema}.mart_province_indicator group by period_code, indicator_code
            ) as p using (period_code, indicator_code)
            where n.value is distinct from p.value
               or n.numerator is distinct from p.numerator
               or n.denominator is distinct from p.denominator""",
        )
    )
    suite.add_expectation(
        _rows(
            "reconciliation",
            "For periods every province submitted as such, the national value equals the sum of the unit-level facts",
            f"""select n.period_code, n.indicator_code, n.value as national_value, f.value as facts_value,
                   n.numerator as national_numerator, f.numerator as facts_numerator
            from {{batch}} as n
            inner join {schemas.INTERMEDIATE}.int_national_from_facts as f using (period_code, indicator_code)
            where n.provinces_rolled_up = 0
              and (n.value is distinct from f.value or n.numerator is distinct from f.numerator
                   or n.denominator is distinct from f.denominator)""",
        )
    )
    suite.add_expectation(
        _rows(
            "freshness",
            f"The latest submitted period ended less than {freshness_days} days ago",
            f"""select max(period_code) as latest_period, max(period_end) as latest_period_end from {{batch}}
                where provinces_rolled_up = 0
                having max(period_end) < current_date - {int(freshness_days)}""",
        )
    )
    return suite


def province_suite(schema: str) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="mart_province_indicator")
    suite.add_expectation(_schema(PROVINCE_COLUMNS))
    for column in ("province_code", "period_code", "indicator_code"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column, **_meta("keys")))
    suite.add_expectation(
        _rows(
            "published_ratio_within_100",
            "A province's ratio numerator never exceeds its denominator",
            """select province_code, province_name, period_code, indicator_code, numerator, denominator
           from {batch} where numerator > denominator""",
        )
    )
    suite.add_expectation(
        _rows(
            "reconciliation",
            "A new province figure, as submitted, equals the sum of the counted unit-level rows of the fact store",
            f"""with new_figures as (
                select province_code, period_code, indicator_code
                from {SUBMISSION_SCHEMA}.int_province_indicator_periods
                where cardinality(new_submission_ids) > 0 and source = 'submitted'
            ),
            counted as (
                select current_submission_id as submission_id from {schema}.fct_submission
                where current_submission_id is not null
            ),
            new_keys as (select distinct province_code, period_code from new_figures),
            new_submissions as (
                select distinct totals.submission_id
                from {SUBMISSION_SCHEMA}.int_submission_totals as totals
                inner join new_keys using (province_code, period_code)
                inner join counted using (submission_id)
            ),
            -- Summed once (the planner would otherwise repeat it per figure), reading the fact store through
            -- raw's index on submission_id for each counted submission of a province and period with a new
            -- figure: one resubmission reads its own rows, not ten years. Each submission is summed on its
            -- own, in memory, and those sums added: summing all rows at once spilled 49M rows to disk on a
            -- first publish at national-10y (the planner expected 159 figures of 170k).
            fact_rows as materialized (
                select facts.province_code, facts.period_code, facts.indicator_code, sum(facts.value) as value,
                       sum(facts.numerator) as numerator, sum(facts.denominator) as denominator
                from new_submissions
                cross join lateral (
                    select f.province_code, f.period_code, f.indicator_code, sum(f.value) as value,
                           sum(f.numerator) as numerator, sum(f.denominator) as denominator
                    from {SUBMISSION_SCHEMA}.int_indicator_values as f
                    where f.submission_id = new_submissions.submission_id and f.is_counted is not false
                    group by f.province_code, f.period_code, f.indicator_code
                ) as facts
                group by facts.province_code, facts.period_code, facts.indicator_code
            )
            select cur.province_code, cur.province_name, cur.period_code, cur.indicator_code,
                   cur.value, fact_rows.value as rows_value, cur.numerator, fact_rows.numerator as rows_numerator,
                   cur.denominator, fact_rows.denominator as rows_denominator
            from {{batch}} as cur
            inner join new_figures using (province_code, period_code, indicator_code)
            left join fact_rows using (province_code, period_code, indicator_code)
            where cur.value is distinct from fact_rows.value or cur.numerator is distinct from fact_rows.numerator
               or cur.denominator is distinct from fact_rows.denominator""",
        )
    )
    return suite


def counted_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="fct_submission")
    suite.add_expectation(
        _rows(
            "holds_respected",
            "No submission held for review (open or rejected) is counted in the build",
            """select s.province_code, s.period_code, s.current_submission_id as submission_id, h.check_name,
                   h.hold_status
            from {batch} as s
            inner join (
                select submission_id, min(check_name) as check_name, min(status) as hold_status
                from meta.hold where status in ('open', 'rejected') group by submission_id
            ) as h on h.submission_id = s.current_submission_id""",
        )
    )
    return suite


# The figures a submission check judges: those the published marts do not count yet, once per submission
# behind them, with the province's name for the email.
_NEW_FIGURES = """from {batch} as cur
            cross join unnest(cur.new_submission_ids) as held (submission_id)
            left join ref.unit as provinces
                on provinces.map = 'current' and provinces.unit_level = 'province'
                and provinces.unit_code = cur.province_code"""


def submission_suite() -> gx.ExpectationSuite:
    """Checks of one province's figures; each row names the submission it holds (see the module docstring)."""
    suite = gx.ExpectationSuite(name="int_province_indicator_periods")
    suite.add_expectation(
        _rows(
            "ratio_within_100",
            "A province's ratio numerator never exceeds its denominator",
            f"""select held.submission_id, cur.province_code, provinces.name as province_name, cur.period_code,
                   cur.indicator_code, cur.numerator, cur.denominator
            {_NEW_FIGURES}
            where cur.numerator > cur.denominator""",
        )
    )
    suite.add_expectation(
        _rows(
            "outlier",
            "A province's count stays within the catalogue's outlier_ratio of its median over its last 6 periods"
            " on the same map (a period rolled up from only some of its parts is not compared)",
            f"""select held.submission_id, cur.province_code, provinces.name as province_name, cur.period_code,
                   cur.indicator_code, cur.value, cur.median_last_6, indicators.outlier_ratio::float8 as outlier_ratio
            {_NEW_FIGURES}
            inner join {schemas.STAGING}.indicator_catalogue as indicators
                on indicators.indicator_code = cur.indicator_code
            where indicators.measure = 'count' and cur.is_complete
              and cur.periods_in_median >= 2 and cur.median_last_6 >= 10
              and (cur.value > cur.median_last_6 * indicators.outlier_ratio
                   or cur.value * indicators.outlier_ratio < cur.median_last_6)""",
        )
    )
    return suite


def versions_suite(keep_ratio: float) -> gx.ExpectationSuite:
    """A new version replaces its predecessor whole (ingestion/versions.py): one that drops most of what the
    province reported before is held, so the province × period keeps its published figures until the data team
    confirms it. Judged: the counted submissions the published marts do not count yet (as the figures above),
    against the version the marts count for the province × period, else the version it superseded; a first
    version has none and is never held by it."""
    suite = gx.ExpectationSuite(name="int_counted_submissions")
    pairs = """select cur.submission_id, cur.province_code, provinces.name as province_name,
                   previous.submission_id as previous_id
            from {batch} as cur
            cross join lateral (
                select earlier.submission_id from ingest.submission as earlier
                where earlier.province_code = cur.province_code and earlier.period_code = cur.period_code
                  and earlier.status = 'superseded' and earlier.version < cur.version
                order by exists (
                    select from meta.publish_log as latest
                    where latest.publish_id = (select max(log.publish_id) from meta.publish_log as log)
                      and earlier.submission_id = any(latest.submission_ids)
                ) desc, earlier.version desc
                limit 1
            ) as previous
            left join ref.unit as provinces
                on provinces.map = 'current' and provinces.unit_level = 'province'
                and provinces.unit_code = cur.province_code
            where cur.submission_id is not null and not cur.is_published and cur.version > 1"""
    suite.add_expectation(
        _rows(
            versions.CHECK,
            f"A new version keeps at least {keep_ratio:.0%} of the (unit, indicator) figures, of the units and of the"
            " indicators of the version it replaces (the one published, else the one it superseded): it replaces it"
            " whole, so what it leaves out would no longer be published",
            versions.keeps_too_little(versions.COMPARE.format(pairs=pairs), keep_ratio),
        )
    )
    return suite


def submission_suites(settings: Settings | None = None) -> dict[str, gx.ExpectationSuite]:
    """Table name (in SUBMISSION_SCHEMA) -> the submission checks on it."""
    settings = settings or Settings.from_env()
    return {
        "int_province_indicator_periods": submission_suite(),
        "int_counted_submissions": versions_suite(settings.version_keep_ratio),
    }


def suites(schema: str, freshness_days: int) -> dict[str, gx.ExpectationSuite]:
    """Table name -> the build checks that protect it."""
    return {
        "mart_national_indicator": national_suite(schema, freshness_days),
        "mart_province_indicator": province_suite(schema),
        "fct_submission": counted_suite(),
    }
