"""What each province's analysts can reach, rebuilt at every publish and rollback inside its transaction
(publishing/publish.py), beside the published facts (publishing/published_facts.py, which says why copies and
not predicates): `province_<code>`, one schema per province for its analysts (antq_analyst_<code>), holding
copies of the live marts restricted to the province, a view of its own partition of the published facts, the
national figures that pass the small-cell rule, and the reference tables. Nothing else is readable by them.

The small-cell rule: an analyst sees a national figure only when it is complete, made of every province
the period's map expects, each whole (`is_complete` in mart_national_indicator: all of today's provinces
with a complete figure, and for a period of the legacy map every legacy province merged into each of
them), and at least `small_cell_provinces`; its year-earlier columns only when that figure is complete too.
Why completeness and not a minimum count: an analyst may subtract any two figures they see, now or at an
earlier publish. A minimum count (or an exemption for final figures) let them read one province (a final
figure of one province), or the one missing from a sum (a year of 34 provinces minus its half of 33; a
figure before and after the missing province's hold is confirmed). Two complete figures are made of the
same provinces, so any difference of them (a year and its parts, two publishes of one figure) is a sum
over all provinces, never a figure of one or two; between publishes a complete figure changes only by
provinces' corrections of their own figures (the difference of two versions, never a figure, nor whose).
Marts built before `is_complete` existed (a rollback to them) count today's provinces instead, without
year-earlier columns. Own-province rows are copied as they are. BI reads `marts` unrestricted.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from core.security import analyst_role, analyst_schema
from publishing.published_facts import (
    FACTS,
    PUBLISHED_SCHEMA,
    identifier,
    partition_name,
    provinces,
    relation_columns,
    sync_published_facts,
)
from publishing.retired import retire

NATIONAL_FOR_ANALYSTS = "national_for_analysts"

# How each relation of the live marts reaches a province's analysts. A relation named nowhere here is not
# given to analysts (tests/test_access.py fails until a new mart is placed in one of these).
PROVINCE_ROWS = (  # copied with only the province's rows
    "fct_submission",
    "mart_province_indicator",
    "mart_reporting_completeness",
    "dim_model",
    "fct_model_event",
    "mart_model_counts",
    "mart_model_replication",
)
REFERENCE = ("dim_unit", "dim_indicator", "dim_period", "map_legacy_unit", "publish_log")  # every row
SMALL_CELL = "mart_national_indicator"  # the national figures that cannot reveal a province's
DERIVED = ("mart_figure_source",)  # views of the live marts, re-created over the province's copies
ANALYST_RELATIONS = (*PROVINCE_ROWS, *REFERENCE, SMALL_CELL, FACTS, *DERIVED)


def publish_to_readers(conn: psycopg.Connection, live: str, small_cell_provinces: int) -> dict[str, int]:
    """Make the published facts match `live`'s counted submissions and rebuild every province's schema."""
    codes = provinces(conn)
    conn.execute(sql.SQL("create schema if not exists {}").format(identifier(PUBLISHED_SCHEMA)))
    changed = sync_published_facts(conn, live, codes)
    relations = {
        row[0]
        for row in conn.execute(
            "select c.relname from pg_class as c where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'v')",
            [live],
        )
    }
    for code in codes:  # a reader may still be reading the old one: renamed now, dropped once it is done
        retire(conn, analyst_schema(code))
    if SMALL_CELL in relations:
        _national_for_analysts(conn, live, small_cell_provinces)
    for code in codes:
        _province_schema(conn, live, code, relations)
    return changed


# The columns of a national figure that are the same period a year earlier: shown only when that figure is
# complete too (previous_year_is_complete), or `value - yoy_change` gives it.
PREVIOUS_YEAR = ("previous_year_value", "previous_year_ratio_pct", "yoy_change", "yoy_change_pct")


def _national_for_analysts(conn: psycopg.Connection, live: str, small_cell_provinces: int) -> None:
    """The national figures that pass the small-cell rule (the module's docstring), replaced row by row (never
    dropped: an analyst's query may be reading it), unless the mart's columns changed."""
    national = identifier(PUBLISHED_SCHEMA, NATIONAL_FOR_ANALYSTS)
    options = conn.execute(
        "select reloptions from pg_class where oid = to_regclass(%s)", [f"{PUBLISHED_SCHEMA}.{NATIONAL_FOR_ANALYSTS}"]
    ).fetchone()
    columns = relation_columns(conn, live, SMALL_CELL)
    # (a table made before rows were replaced in place was not vacuumed: it is made again, once)
    if (
        options
        and relation_columns(conn, PUBLISHED_SCHEMA, NATIONAL_FOR_ANALYSTS) == columns
        and ("autovacuum_enabled=false" not in (options[0] or []))
    ):
        conn.execute(sql.SQL("delete from {}").format(national))
    else:
        conn.execute(sql.SQL("drop table if exists {}").format(national))
        conn.execute(sql.SQL("create table {} (like {})").format(national, identifier(live, SMALL_CELL)))
    # Marts built before the mart said whether a figure is complete (a rollback to them): every one of today's
    # provinces in it, and no year-earlier column.
    complete = sql.SQL("is_complete" if "is_complete" in columns else "provinces_reporting >= {}").format(
        sql.Literal(len(provinces(conn)))
    )
    year_before = sql.SQL("previous_year_is_complete" if "previous_year_is_complete" in columns else "false")
    shown = sql.SQL(", ").join(
        sql.SQL("case when {} then {} end").format(year_before, identifier(column))
        if column in PREVIOUS_YEAR
        else identifier(column)
        for column in columns
    )
    conn.execute(
        sql.SQL("insert into {} select {} from {} where {} and provinces_reporting >= {}").format(
            national, shown, identifier(live, SMALL_CELL), complete, sql.Literal(small_cell_provinces)
        )
    )
    conn.execute(sql.SQL("analyze {}").format(national))


# The columns an analyst's query picks a province's figures by: only their statistics are gathered for the
# province's copy of the largest mart (5,000 rows each at ten years). All 28 columns took 28 ms a province, half
# of every publish's province copies (0.94 s of 1.93 s for the 34); these take 4 ms.
PICKED_BY = {
    "mart_province_indicator": ("province_code", "period_code", "period_type", "period_start", "indicator_code")
}


def _analyzed_columns(name: str) -> sql.Composable:
    columns = PICKED_BY.get(name)
    return sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Identifier, columns))) if columns else sql.SQL("")


def _province_schema(conn: psycopg.Connection, live: str, code: str, relations: set[str]) -> None:
    schema = analyst_schema(code)
    conn.execute(sql.SQL("create schema {}").format(identifier(schema)))
    for name in REFERENCE:
        if name in relations:
            conn.execute(
                sql.SQL("create view {} as select * from {}").format(identifier(schema, name), identifier(live, name))
            )
    for name in PROVINCE_ROWS:
        if name in relations:
            # Never vacuumed (never updated; replaced whole at the next publish) and analyzed here: an
            # autovacuum worker on a copy would only delay the drop of its retired schema.
            conn.execute(
                sql.SQL(
                    "create table {} with (autovacuum_enabled = false) as select * from {} where province_code = {}"
                ).format(identifier(schema, name), identifier(live, name), sql.Literal(code))
            )
            conn.execute(sql.SQL("analyze {} {}").format(identifier(schema, name), _analyzed_columns(name)))
    if SMALL_CELL in relations:
        conn.execute(
            sql.SQL("create view {} as select * from {}").format(
                identifier(schema, SMALL_CELL), identifier(PUBLISHED_SCHEMA, NATIONAL_FOR_ANALYSTS)
            )
        )
    if FACTS in relations:
        conn.execute(
            sql.SQL("create view {} as select * from {}").format(
                identifier(schema, FACTS), identifier(PUBLISHED_SCHEMA, partition_name(code))
            )
        )
    path = conn.execute("select current_setting('search_path')").fetchone()[0]
    for name in DERIVED:
        if name not in relations:
            continue
        # The live view's SQL, printed with its own schema on the search path so that the relations it reads
        # are unqualified, then run with only the province's schema on the path: it reads the copies, and a
        # relation the province has no copy of is an error, never a silent read of the national one.
        conn.execute(sql.SQL("set local search_path = {}").format(identifier(live)))
        definition = conn.execute("select pg_get_viewdef(%s::regclass)", [f"{live}.{name}"]).fetchone()[0]
        conn.execute(sql.SQL("set local search_path = {}").format(identifier(schema)))
        conn.execute(sql.SQL("create view {} as ").format(identifier(schema, name)) + sql.SQL(definition))
        conn.execute("select set_config('search_path', %s, true)", [path])
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(identifier(schema), identifier(analyst_role(code))))
    conn.execute(
        sql.SQL("grant select on all tables in schema {} to {}").format(
            identifier(schema), identifier(analyst_role(code))
        )
    )
