"""Who can read what, on a real Postgres: BI reads `marts` only; an analyst sees only their province."""

from __future__ import annotations

import psycopg
import pytest

from warehouse.publish import publish
from warehouse.security import ANALYST, BI_READER

PROTECTED_SCHEMAS = ("raw", "ingest", "ref", "meta")


def build(conn, teams_38: int = 4351) -> None:
    conn.execute("set role antq_transformer")
    conn.execute("create schema build")
    conn.execute("create table build.mart_national_indicator (indicator_code text, value bigint)")
    conn.execute("insert into build.mart_national_indicator values ('security_teams', 93921)")
    conn.execute("create table build.mart_province_indicator (province_code text, indicator_code text, value bigint)")
    conn.execute(
        "insert into build.mart_province_indicator values ('38', 'security_teams', %s),"
        " ('01', 'security_teams', 3200), ('79', 'security_teams', 2800)",
        [teams_38],
    )
    conn.execute("reset role")


@pytest.fixture
def published(conn):
    build(conn)
    publish(conn, checks_passed=1)
    return conn


def as_role(conn: psycopg.Connection, role: str, query: str):
    with conn.transaction():
        conn.execute(f"set local role {role}")
        return conn.execute(query).fetchall()


def refused(conn: psycopg.Connection, role: str, statement: str) -> bool:
    try:
        as_role(conn, role, statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_the_bi_reader_reads_every_row_of_every_mart(published):
    assert as_role(published, BI_READER, "select count(*) from marts.mart_province_indicator") == [(3,)]
    assert as_role(published, BI_READER, "select value from marts.mart_national_indicator") == [(93921,)]


def test_the_bi_reader_cannot_read_the_pipeline_schemas(published):
    tables = published.execute(
        "select table_schema, table_name from information_schema.tables where table_schema = any(%s)",
        [list(PROTECTED_SCHEMAS)],
    ).fetchall()
    assert {schema for schema, _ in tables} == set(PROTECTED_SCHEMAS)
    for schema, table in tables:
        assert refused(published, BI_READER, f"select * from {schema}.{table} limit 1"), f"{schema}.{table}"


@pytest.mark.parametrize("role", [BI_READER, ANALYST, "antq_analyst_38"])
@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.mart_national_indicator values ('x', 1)",
        "update marts.mart_province_indicator set value = 0",
        "delete from marts.mart_province_indicator",
        "create table marts.mine (x int)",
        "create table public.mine (x int)",
        "create schema mine",
        "drop table marts.mart_national_indicator",
        "create temporary table scratch (x int)",
        "insert into ingest.rejection (submission_id, file_name, reason_code, reason_en, reason_vi)"
        " values (1, 'x', 'x', 'x', 'x')",
    ],
)
def test_readers_can_neither_write_nor_create_objects(published, role, statement):
    assert refused(published, role, statement)


def test_an_analyst_of_one_province_sees_only_that_province(published):
    rows = as_role(published, "antq_analyst_38", "select province_code, value from marts.mart_province_indicator")
    assert rows == [("38", 4351)]
    assert as_role(
        published, "antq_analyst_38", "select count(*) from marts.mart_province_indicator where province_code = '01'"
    ) == [(0,)]
    assert as_role(published, "antq_analyst_38", "select value from marts.mart_national_indicator") == [(93921,)]


def test_the_analyst_group_without_a_province_sees_no_province_rows(published):
    assert as_role(published, ANALYST, "select count(*) from marts.mart_province_indicator") == [(0,)]


def test_a_new_publish_keeps_grants_and_row_security(published):
    build(published, teams_38=4400)
    publish(published, checks_passed=1)
    assert as_role(published, "antq_analyst_38", "select value from marts.mart_province_indicator") == [(4400,)]
    assert as_role(published, BI_READER, "select count(*) from marts.mart_province_indicator") == [(3,)]
    secured = published.execute(
        "select relrowsecurity from pg_class where oid = 'marts.mart_province_indicator'::regclass"
    ).fetchone()
    assert secured == (True,)


def test_while_a_publish_is_in_flight_readers_keep_reading_the_old_marts(published, settings):
    build(published, teams_38=4400)
    query = "select value from marts.mart_province_indicator"
    with psycopg.connect(settings.warehouse_url) as publisher, publisher.transaction():
        publish(publisher, checks_passed=1)  # a savepoint inside the still-open transaction
        assert as_role(published, "antq_analyst_38", query) == [(4351,)]
        assert len(as_role(published, BI_READER, query)) == 3
    assert as_role(published, "antq_analyst_38", query) == [(4400,)]
