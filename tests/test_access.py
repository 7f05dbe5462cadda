"""Who can read what, attacked as a curious reader would, on a published national warehouse.

The BI reader may read every published row; an analyst of Thanh Hóa (38) Thanh Hóa's published rows, the
national figures that pass the small-cell rule and the reference tables. Hidden from both: the facts of
submissions not published yet (a resubmission of 38 and one of 01, built into the fact store and `build`
but not published) and `marts_previous`; hidden from the analyst: every other province.

A binary search with EXPLAIN ANALYZE needs some output of EXPLAIN that depends on a hidden value. So the
attack runs every probe twice, before and after changing the hidden data (values moved by 1000, rows added
and deleted, statistics refreshed), and every plan, row count, loop count and "Rows Removed by Filter"
must come out the same. The same probes against the fact store show that they do see such changes.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from core import security
from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import ingest_file
from publishing import access, publish
from tests.helpers import national_copy
from warehouse import pipeline

ANALYST_38 = security.analyst_role("38")


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    """Three published national months; then only Hà Nội sends October (published as provisional 1/34); then
    Thanh Hóa and Hà Nội correct September and August, built but not published."""
    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_access")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        assert ingest_file(conn, write_submission(settings.landing_dir, "01", "2026-10"), settings).status == "accepted"
        pipeline.publish_new_figures(settings)
        unpublished = [
            resubmit(conn, settings, "38", "2026-09"),
            resubmit(conn, settings, "01", "2026-08"),
        ]
    pipeline.build_marts(settings)
    smtp_server.take()
    return SimpleNamespace(settings=settings, warehouse_url=settings.warehouse_url, unpublished=unpublished)


def resubmit(conn, settings, province: str, month: str) -> int:
    original = write_submission(settings.landing_dir, province, month)
    target = original.with_name(f"{province}_{month}_v2.csv")
    path = rewrite_submission(original, target, "security_teams", lambda v: v + 3)
    original.unlink()
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted", result.problems
    return result.submission_id


@pytest.fixture
def conn(warehouse):
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as connection:
        yield connection


def as_role(conn: psycopg.Connection, role: str, query: str, params=None) -> list[tuple]:
    with conn.transaction():
        conn.execute(f"set local role {role}")
        return conn.execute(query, params).fetchall()


def refused(conn: psycopg.Connection, role: str, statement: str) -> bool:
    try:
        as_role(conn, role, statement)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable):
        return True
    return False


def readable(conn: psycopg.Connection, role: str) -> dict[str, list[tuple[str, str]]]:
    """Every relation the role can select from, with its columns and their types."""
    rows = conn.execute(
        """select n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
           from pg_class as c
           join pg_namespace as n on n.oid = c.relnamespace
           join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           where c.relkind in ('r', 'v', 'm', 'p', 'f')
             and n.nspname not in ('pg_catalog', 'information_schema')
             and has_schema_privilege(%s, n.oid, 'usage') and has_table_privilege(%s, c.oid, 'select')
           order by 1, a.attnum""",
        [role, role],
    ).fetchall()
    relations: dict[str, list[tuple[str, str]]] = {}
    for relation, column, kind in rows:
        relations.setdefault(relation, []).append((column, kind))
    return relations


def test_each_reader_reaches_its_own_schema_and_nothing_else(conn):
    analyst = readable(conn, ANALYST_38)
    assert {name.split(".")[0] for name in analyst} == {"province_38"}
    assert {name.split(".")[1] for name in analyst} == set(access.ANALYST_RELATIONS)
    bi = readable(conn, security.BI_READER)
    assert {name.split(".")[0] for name in bi} == {"marts"}
    assert readable(conn, security.ANALYST) == {}, "the analysts' group reads nothing by itself"
    tables = conn.execute("select table_name from information_schema.tables where table_schema = 'marts'")
    marts = {row[0] for row in tables}
    assert marts == {name.split(".")[1] for name in bi}
    assert marts == set(access.ANALYST_RELATIONS), "every published mart is placed for analysts in publishing/access.py"


def test_an_analyst_sees_their_province_and_the_published_versions_only(conn, warehouse):
    for relation in ("mart_province_indicator", "fct_indicator_value", "mart_figure_source", "fct_submission"):
        seen = as_role(conn, ANALYST_38, f"select distinct province_code from province_38.{relation}")
        assert seen == [("38",)], relation
    # The counted facts add up to the published figure, in the analyst's copies as in marts.
    figure = """select (select value from {s}.mart_province_indicator where {where}),
                       (select sum(value) from {s}.fct_indicator_value where {where} and is_counted is not false),
                       (select sum(value) from {s}.mart_figure_source where {where})"""
    where = "province_code = '38' and period_code = '2026-09' and indicator_code = 'security_teams'"
    [(published, summed, explained)] = as_role(conn, ANALYST_38, figure.format(s="province_38", where=where))
    assert published == summed == explained
    national = conn.execute(figure.format(s="marts", where=where)).fetchone()
    assert national[0] == published, "the analyst's copy is the published figure"
    for role, schema in ((ANALYST_38, "province_38"), (security.BI_READER, "marts")):
        relation = f"{schema}.fct_indicator_value"
        assert as_role(
            conn, role, f"select count(*) from {relation} where submission_id = any(%s)", [warehouse.unpublished]
        ) == [(0,)], f"{role} reads no fact of an unpublished submission"
    in_store = conn.execute(
        "select count(*) from intermediate.int_indicator_values where submission_id = any(%s)", [warehouse.unpublished]
    ).fetchone()[0]
    assert in_store > 0, "the unpublished versions are in the fact store: the attack has something to find"


def test_national_figures_reach_analysts_only_when_they_cannot_reveal_a_province(conn):
    query = "select provinces_reporting from {} where period_code = '2026-10' and indicator_code = 'security_teams'"
    assert as_role(conn, security.BI_READER, query.format("marts.mart_national_indicator")) == [(1,)]
    assert as_role(conn, ANALYST_38, query.format("province_38.mart_national_indicator")) == []
    shown = as_role(conn, ANALYST_38, "select min(provinces_reporting) from province_38.mart_national_indicator")
    assert shown[0][0] >= 3
    september = query.replace("2026-10", "2026-09")
    assert as_role(conn, ANALYST_38, september.format("province_38.mart_national_indicator")) == [(34,)]


@pytest.mark.parametrize("role", [security.BI_READER, ANALYST_38, security.ANALYST])
@pytest.mark.parametrize(
    "statement",
    [
        "select pg_advisory_lock(hashtext('antq.publish'))",
        "select pg_try_advisory_lock(hashtext('antq.publish'))",
        "select pg_advisory_xact_lock_shared(hashtext('antq.ingest.38'))",
        "select pg_advisory_lock(1, 2)",
        "select lo_create(0)",
        "select lo_from_bytea(0, 'a large object')",
        "select lo_creat(-1)",
        "select * from marts_previous.mart_province_indicator",
        "select * from build.dim_unit",
        "select * from build.mart_province_indicator",
        "select * from published.fct_indicator_value",
        "select * from published.national_for_analysts",
        "select * from intermediate.int_indicator_values",
        "select * from staging.stg_raw__indicator_value",
        "select * from meta.publish_log",
        "select * from province_01.mart_province_indicator",
        "insert into marts.mart_national_indicator (indicator_code) values ('x')",
        "update province_38.mart_province_indicator set value = 0",
        "delete from marts.mart_province_indicator",
        "create table public.mine (x int)",
        "create table province_38.mine (x int)",
        "create schema mine",
        "create temporary table scratch (x int)",
        "lock table province_38.fct_submission in access exclusive mode",
        "select n_tup_ins from pg_stat_user_tables where relname = 'hold'",
        "select pg_stat_get_tuples_inserted(oid) from pg_class where relname = 'rejection'",
        "select pg_stat_get_live_tuples(oid) from pg_class where relname = 'login_attempt'",
    ],
)
def test_readers_cannot_stall_the_pipeline_store_objects_or_read_around_their_schema(conn, role, statement):
    assert refused(conn, role, statement)


def test_an_analyst_cannot_read_the_national_marts_and_the_publish_log_carries_counts(conn):
    assert refused(conn, ANALYST_38, "select * from marts.mart_province_indicator")
    columns = {c for c, _ in readable(conn, security.BI_READER)["marts.publish_log"]}
    assert columns == {"publish_id", "published_at", "action", "submissions", "checks_passed", "note"}
    assert as_role(conn, ANALYST_38, "select count(*) > 0 from province_38.publish_log") == [(True,)]


def test_the_pipeline_still_takes_its_locks(conn):
    conn.execute(f"set role {security.TRANSFORMER}")
    assert conn.execute("select pg_try_advisory_lock(hashtext('antq.test'))").fetchone() == (True,)
    conn.execute("select pg_advisory_unlock(hashtext('antq.test'))")


# The attack. Each probe asks a relation for rows matching a literal; a binary search would vary the
# literal and read the answer in the plan. Literals are chosen so that moving hidden values by 1000 flips
# comparisons for some of them.
LITERALS = {
    "number": ("5", "300", "1081", "40000"),
    "text": ("'01'", "'38'", "'m'", "'security_teams'"),
    "date": ("date '2026-08-15'",),
    "timestamp": ("timestamptz '2026-01-01'",),
    "boolean": ("true",),
}
TIMING = ("Time", "Planning", "Execution", "JIT")


def type_family(kind: str) -> str | None:
    if kind in ("smallint", "integer", "bigint", "real", "double precision") or kind.startswith("numeric"):
        return "number"
    if kind == "text" or kind.startswith("character"):
        return "text"
    if kind == "date":
        return "date"
    if kind.startswith("timestamp"):
        return "timestamp"
    return "boolean" if kind == "boolean" else None


def probes(relations: dict[str, list[tuple[str, str]]], literals: int = 4) -> list[str]:
    queries = []
    for relation, columns in relations.items():
        for column, kind in columns:
            family = type_family(kind)
            for literal in LITERALS.get(family, ())[:literals]:
                op = "=" if family in ("text", "boolean") else ">"
                queries.append(f'select * from {relation} where "{column}" {op} {literal}')
                if family == "text":
                    queries.append(f'select * from {relation} where "{column}" > {literal}')
    return queries


def without_timing(node):
    if isinstance(node, dict):
        return {k: without_timing(v) for k, v in node.items() if not any(word in k for word in TIMING)}
    if isinstance(node, list):
        return [without_timing(v) for v in node]
    return node


def observe(conn: psycopg.Connection, role: str | None, queries: list[str]) -> dict[str, str]:
    seen = {}
    with conn.transaction():
        conn.execute("set local max_parallel_workers_per_gather = 0")
        conn.execute("set local jit = off")
        if role:
            conn.execute(f"set local role {role}")
        for query in queries:
            [(plan,)] = conn.execute(f"explain (analyze, costs, verbose, format json) {query}").fetchall()
            seen[query] = json.dumps(without_timing(plan), sort_keys=True)
        conn.execute("reset role")  # set local lasts to the end of an enclosing transaction
    return seen


def change_hidden(conn: psycopg.Connection, unpublished: list[int], other_provinces: bool) -> None:
    """Move every value hidden from the attacker by 1000, add and delete hidden rows, refresh statistics."""
    store = "raw.indicator_value"  # under the fact store, a view
    conn.execute(f"update {store} set value = value + 1000 where submission_id = any(%s)", [unpublished])
    conn.execute(f"insert into {store} select * from {store} where submission_id = any(%s) limit 500", [unpublished])
    changed = [store]
    if other_provinces:
        for relation, column in (
            ("published.fct_indicator_value_01", "value"),
            ("published.fct_indicator_value_79", "value"),
            ("marts.mart_province_indicator", "value"),
            ("marts.fct_submission", "current_version"),
        ):
            conn.execute(f"update {relation} set {column} = {column} + 1000 where province_code <> '38'")
            hidden_rows = f"select ctid from {relation} where province_code = '01' limit 50"
            conn.execute(f"delete from {relation} where ctid in ({hidden_rows})")
            changed.append(relation)
        conn.execute("update marts.mart_national_indicator set value = value + 1000 where provinces_reporting < 3")
        conn.execute("update province_01.mart_province_indicator set value = value + 1000")
        changed += ["marts.mart_national_indicator", "province_01.mart_province_indicator"]
    for relation in changed:
        conn.execute(f"analyze {relation}")


# What the attack must not find, and what it does find through a predicate: the old designs, a
# security-barrier view of the province's rows and the fact view joined to the published submissions.
ATTACKS = {
    ANALYST_38: (
        True,
        "province_38",
        "select * from marts.mart_province_indicator where province_code = '38'",
    ),
    security.BI_READER: (
        False,
        "marts",
        "select * from intermediate.int_indicator_values"
        " where submission_id in (select current_submission_id from marts.fct_submission)",
    ),
}


@pytest.mark.parametrize("role", list(ATTACKS))
def test_explain_analyze_shows_nothing_that_depends_on_hidden_rows(conn, warehouse, role):
    other_provinces, schema, by_predicate = ATTACKS[role]
    # Settled statistics and no dead rows left by another test: only the hidden change may move a plan.
    conn.execute("vacuum analyze")
    relations = readable(conn, role)
    if role == security.BI_READER:
        # A whole-national view costs up to a second per probe: one column of each type, two literals.
        big = {"marts.mart_figure_source", "marts.fct_indicator_value"}
        for name in big:
            relations[name] = list({type_family(k): (c, k) for c, k in relations[name]}.values())
    else:
        big = set()
    queries = probes({name: columns for name, columns in relations.items() if name not in big})
    queries += probes({name: relations[name] for name in big}, literals=2)
    assert len(queries) > 200
    control = probes({f"{schema}.by_predicate": [("value", "bigint"), ("province_code", "text")]})
    with conn.transaction():
        conn.execute(f"create view {schema}.by_predicate with (security_barrier) as {by_predicate}")
        conn.execute(f"grant select on {schema}.by_predicate to {role}")
        before = observe(conn, role, queries)
        control_before = observe(conn, role, control)
        with conn.transaction():
            change_hidden(conn, warehouse.unpublished, other_provinces)
            after = observe(conn, role, queries)
            control_after = observe(conn, role, control)
        raise psycopg.Rollback()
    differing = [query for query in queries if before[query] != after[query]]
    assert differing == [], f"{len(differing)} probes tell hidden data apart, e.g. {differing[:3]}"
    leaks = [query for query in control if control_before[query] != control_after[query]]
    assert leaks, "the same probes see hidden rows through a predicate"


def test_rollback_restores_the_previous_published_facts_and_copies(conn, warehouse):
    def snapshot():
        with conn.transaction():
            return (
                conn.execute("select count(*), sum(value) from published.fct_indicator_value").fetchone(),
                conn.execute("select count(*), sum(value) from province_38.fct_indicator_value").fetchone(),
                conn.execute(
                    "select array_agg(submission_id order by submission_id) from published.submission"
                ).fetchone(),
            )

    live = snapshot()
    with psycopg.connect(warehouse.warehouse_url) as other:
        publish.rollback(other)
    rolled_back = snapshot()
    assert rolled_back != live, "the previous publish (before October) had other submissions"
    assert "01" not in [r[0] for r in conn.execute("select province_code from province_38.fct_indicator_value limit 1")]
    counted = conn.execute(
        "select array_agg(current_submission_id order by current_submission_id) from marts.fct_submission"
        " where current_submission_id is not null"
    ).fetchone()
    assert rolled_back[2] == counted, "the published facts are exactly those of the restored marts"
    assert refused(conn, security.BI_READER, "select * from marts_previous.fct_submission")
    with psycopg.connect(warehouse.warehouse_url) as other:
        publish.rollback(other)
    assert snapshot() == live


def _as_user(url: str, user: str, dbname: str) -> str:
    """The URL of `dbname` on the same server, logging in as `user` (the test server trusts local logins)."""
    parts = urlsplit(url)
    netloc = f"{user}@{parts.netloc.rsplit('@', 1)[1]}" if "@" in parts.netloc else f"{user}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{dbname}"))


def test_a_pipeline_user_that_is_not_a_superuser_is_set_up_once_by_one(server_url, tmp_path):
    """docker-compose.yml's shape: the pipeline connects as `antq` (createrole, owner of its database, not a
    superuser); the steps only a superuser may take run once through ANTQ_SUPERUSER_URL."""
    from dataclasses import replace

    from core.settings import Settings

    owner, database = "antq_owner_test", "antq_owner_test_db"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"drop database if exists {database} with (force)")
        if not admin.execute("select 1 from pg_roles where rolname = %s", [owner]).fetchone():
            admin.execute(f"create role {owner} login createrole")
        admin.execute(f"create database {database} owner {owner}")
    settings = replace(
        Settings.from_env({"ANTQ_DATA_DIR": str(tmp_path)}), warehouse_url=_as_user(server_url, owner, database)
    )
    with pytest.raises(PermissionError, match="ANTQ_SUPERUSER_URL"):
        pipeline.prepare_warehouse(settings)
    settings = replace(settings, superuser_url=_as_user(server_url, "postgres", database))
    pipeline.prepare_warehouse(settings)
    pipeline.prepare_warehouse(replace(settings, superuser_url=None))  # once set up, the owner prepares alone
    with psycopg.connect(settings.warehouse_url) as conn:
        assert not security.is_superuser(conn)
        conn.execute(f"set role {security.PORTAL}")
        assert conn.execute("select count(*) from portal.submissions(null)").fetchone()[0] == 0
        assert not conn.execute("select has_function_privilege('pg_advisory_lock(bigint)', 'execute')").fetchone()[0]
