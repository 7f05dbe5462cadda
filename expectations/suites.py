"""The expectation suites that gate publishing, one per mart, written as code.

Every expectation carries a `check` name in its meta (the word the alert email uses) and the severity
that expectations/severity.yaml gives that check: critical blocks publishing, warning publishes and is
reported.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
import yaml

from expectations.single_query import ExpectNoUnexpectedRows

SEVERITY_FILE = Path(__file__).parent / "severity.yaml"


@cache
def severity(check: str) -> str:
    levels = yaml.safe_load(SEVERITY_FILE.read_text(encoding="utf-8"))
    return levels[check]


def _meta(check: str) -> dict:
    return {"meta": {"check": check}, "severity": severity(check)}


def _rows(check: str, description: str, query: str) -> ExpectNoUnexpectedRows:
    return ExpectNoUnexpectedRows(unexpected_rows_query=query, description=description, **_meta(check))


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
            "ratio_within_100",
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
            """select n.period_code, n.indicator_code, n.value as national_value, f.value as facts_value,
                   n.numerator as national_numerator, f.numerator as facts_numerator
            from {batch} as n
            inner join intermediate.int_national_from_facts as f using (period_code, indicator_code)
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
            "ratio_within_100",
            "A province's ratio numerator never exceeds its denominator",
            """select province_code, province_name, period_code, indicator_code, numerator, denominator
           from {batch} where numerator > denominator""",
        )
    )
    suite.add_expectation(
        _rows(
            "completeness",
            "Every current province reports every period that is on the current map",
            f"""select provinces.unit_code as province_code, provinces.unit_name as province_name,
                   periods.period_code
            from (select distinct period_code, period_start from {{batch}}) as periods
            cross join {schema}.dim_unit as provinces
            where provinces.unit_level = 'province' and provinces.is_current
              and periods.period_start >= date '2025-07-01'
              and not exists (
                  select 1 from {{batch}} as b
                  where b.province_code = provinces.unit_code and b.period_code = periods.period_code
              )""",
        )
    )
    suite.add_expectation(
        _rows(
            "outlier",
            "A province's count stays within the catalogue's outlier_ratio of its median over its last 6 periods"
            " on the same map (a period rolled up from only some of its parts is not compared)",
            f"""select cur.province_code, cur.province_name, cur.period_code, cur.indicator_code, cur.value,
                   cur.median_last_6, indicators.outlier_ratio::float8 as outlier_ratio
            from {{batch}} as cur
            inner join {schema}.dim_indicator as indicators using (indicator_code)
            where indicators.measure = 'count' and cur.is_complete
              and cur.periods_in_median >= 2 and cur.median_last_6 >= 10
              and (cur.value > cur.median_last_6 * indicators.outlier_ratio
                   or cur.value * indicators.outlier_ratio < cur.median_last_6)""",
        )
    )
    return suite


def suites(schema: str, freshness_days: int) -> dict[str, gx.ExpectationSuite]:
    """Table name -> the suite that protects it."""
    return {
        "mart_national_indicator": national_suite(schema, freshness_days),
        "mart_province_indicator": province_suite(schema),
    }
