"""Each row rule is declared once (ingestion/rules.py); its two paths, the SQL that checks a whole file and the
Python validator that words the reasons, must agree. For every rule and every example of a row that breaks it:
both paths refuse the row, the validator for one of the rule's own reasons, while the good rows of the same
file pass both."""

from __future__ import annotations

import pytest
from psycopg import errors, sql

from ingestion import rules
from ingestion.bulk import ALLOWED, FIELDS, PLAINLY_GOOD, ROWS, STAGE_TABLE, _params
from ingestion.contract import RowValidator
from ingestion.loader import _units_for
from ingestion.periods import parse_period

PERIOD = parse_period("2026-Q3")
PROVINCE = "38"
EXAMPLES = [
    pytest.param(rule, breaking, id=f"{rule.name}-{'-'.join(f'{k}={v}' for k, v in breaking.items())}")
    for rule in rules.ROW_RULES
    for breaking in rule.breaking
]


def test_every_row_rule_has_sql_for_both_paths_reasons_and_examples_that_break_it():
    for rule in rules.ROW_RULES:
        assert rule.text_sql.strip() and rule.typed_sql.strip() and rule.reasons, rule.name
        assert rule.breaking, f"rule {rule.name} has no example of a row that breaks it"
    assert rules.plainly_good("text") == PLAINLY_GOOD, "bulk.py checks files with the rules as declared"


@pytest.fixture
def good_rows(conn) -> list[dict[str, str]]:
    """Three good rows: a count for one commune, a ratio and a count by category for another."""
    first, second = (
        code
        for (code,) in conn.execute(
            "select unit_code from ref.unit where map = 'current' and unit_level = 'commune'"
            " and province_code = %s order by 1 limit 2",
            [PROVINCE],
        )
    )
    row = dict.fromkeys(FIELDS, "") | {"period": PERIOD.code}
    return [
        row | {"unit_code": first, "indicator_code": "security_teams", "value": "25"},
        row | {"unit_code": second, "indicator_code": "households_in_anxh", "numerator": "90", "denominator": "100"},
        row | {"unit_code": second, "indicator_code": "weapons_surrendered", "category": "homemade_gun", "value": "0"},
    ]


def python_verdicts(conn, rows: list[dict[str, str]]) -> dict[int, set[str]]:
    """Row number -> the reason codes the validator gives (empty: accepted)."""
    validator = RowValidator("38_2026-Q3.csv", PROVINCE, PERIOD, _units_for(conn, PERIOD))
    verdicts = {}
    for number, record in enumerate(rows, start=2):
        _, problems = validator.check(number, record)
        verdicts[number] = {p.code for p in problems}
    return verdicts


def sql_verdicts(conn, rows: list[dict[str, str]]) -> tuple[dict[int, bool], dict[int, bool | None]]:
    """Row number -> plainly good, on the cells as text (landing_row) and as COPY types them into raw (None:
    COPY cannot type the row, so the file leaves that path). Nothing is kept."""
    validator = RowValidator("38_2026-Q3.csv", PROVINCE, PERIOD, None)
    params = _params(0, validator)
    with conn.transaction(force_rollback=True):
        conn.execute(STAGE_TABLE)
        with conn.cursor().copy(
            sql.SQL("copy landing_row (source_row, {}) from stdin").format(
                sql.SQL(", ").join(map(sql.Identifier, FIELDS))
            )
        ) as copy:
            for number, record in enumerate(rows, start=2):
                copy.write_row((number, *(record[name] or None for name in FIELDS)))
        text = dict(conn.execute(f"select r.source_row, {PLAINLY_GOOD} {ROWS}", params).fetchall())
        conn.execute("create temp table typed_row (like raw.indicator_value including defaults) on commit drop")
        typed: dict[int, bool | None] = {}
        for number, record in enumerate(rows, start=2):
            try:
                with conn.transaction():
                    conn.execute(
                        "insert into typed_row (submission_id, source_row, period, unit_code, indicator_code,"
                        " category, value, numerator, denominator)"
                        " values (0, %s, %s, %s, %s, %s, %s::bigint, %s::bigint, %s::bigint)",
                        [number, *(record[name] or None for name in FIELDS)],
                    )
            except (errors.DataError, errors.IntegrityError):  # a cell COPY cannot type: the file leaves the plain path
                typed[number] = None
        good = rules.plainly_good("typed")
        typed |= dict(conn.execute(f"select r.source_row, {good} from typed_row r {ALLOWED}", params).fetchall())
    return text, typed


def test_good_rows_pass_both_paths(conn, good_rows):
    assert python_verdicts(conn, good_rows) == {2: set(), 3: set(), 4: set()}
    text, typed = sql_verdicts(conn, good_rows)
    assert text == typed == {2: True, 3: True, 4: True}


@pytest.mark.parametrize(("rule", "breaking"), EXAMPLES)
def test_a_row_that_breaks_a_rule_is_refused_on_both_paths_for_that_rule(conn, good_rows, rule, breaking):
    if rule is rules.REPEAT:
        rows = [*good_rows, good_rows[0]]  # the first good row, sent again
    else:  # the first good row, broken, with the others
        rows = [*good_rows[1:], {name: {**good_rows[0], **breaking}[name] for name in FIELDS}]
    bad_row = len(rows) + 1  # the last row (the first is row 2, below the header)
    found = python_verdicts(conn, rows)
    assert found[bad_row] and found[bad_row] <= rule.codes, f"the validator refused it for {found[bad_row]}"
    assert all(not codes for number, codes in found.items() if number != bad_row)
    text, typed = sql_verdicts(conn, rows)
    # A repeated key leaves both of its rows to the validator, which names the second a repeat of the first.
    left_to_validator = {bad_row, 2} if rule is rules.REPEAT else {bad_row}
    assert {number for number, good in text.items() if not good} == left_to_validator
    if rule is not rules.REPEAT:  # COPY straight into raw finds a repeat as the lines go by, not in SQL
        assert typed[bad_row] in (False, None), "the SQL on rows COPY typed lets the row through"
