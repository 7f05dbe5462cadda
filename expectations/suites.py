"""The expectation suites that gate publishing, one per mart, written as code.

Every expectation carries a `check` name in its meta (the word the alert email uses) and a severity:
critical blocks publishing, warning publishes and is reported.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe


def _rows(check: str, description: str, query: str, severity: str = "critical") -> gxe.UnexpectedRowsExpectation:
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=query, description=description, severity=severity, meta={"check": check}
    )


def national_suite(schema: str) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="mart_national_indicator")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1, meta={"check": "not_empty"}))
    for column in ("period_code", "indicator_code", "provinces_reporting"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column, meta={"check": "keys"}))
    for column in ("value", "numerator", "denominator"):
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, meta={"check": "non_negative"})
        )
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
    return suite


def province_suite(schema: str) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="mart_province_indicator")
    for column in ("province_code", "period_code", "indicator_code"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column, meta={"check": "keys"}))
    suite.add_expectation(
        _rows(
            "ratio_within_100",
            "A province's ratio numerator never exceeds its denominator",
            """select province_code, period_code, indicator_code, numerator, denominator
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
    return suite


def suites(schema: str) -> dict[str, gx.ExpectationSuite]:
    """Table name -> the suite that protects it."""
    return {
        "mart_national_indicator": national_suite(schema),
        "mart_province_indicator": province_suite(schema),
    }
