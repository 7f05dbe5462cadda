"""Blue/green publishing: the swap is all or nothing, and the previous version can be restored."""

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from core.db import libpq_params
from publishing.publish import PublishError, publish, rollback
from publishing.retired import readers_of
from tests.helpers import create_database


def build(conn, figure: int) -> None:
    """What dbt does: the transformer role creates the build schema."""
    conn.execute("set role antq_transformer")
    conn.execute("create schema build")
    conn.execute(
        "create table build.mart_national_indicator"
        " (indicator_code text, value bigint, provinces_reporting int, publication_status text)"
    )
    conn.execute("insert into build.mart_national_indicator values ('security_teams', %s, 34, 'final')", [figure])
    conn.execute("reset role")


def live_value(conn) -> int:
    return conn.execute("select value from marts.mart_national_indicator").fetchone()[0]


def test_publishing_swaps_the_build_in_as_marts_and_keeps_the_previous_version(conn):
    build(conn, 4351)
    publish(conn, checks_passed=14)
    build(conn, 4400)
    publish(conn, checks_passed=14)
    assert live_value(conn) == 4400
    assert conn.execute("select value from marts_previous.mart_national_indicator").fetchone()[0] == 4351
    assert conn.execute("select 1 from pg_namespace where nspname = 'build'").fetchone() is None
    log = conn.execute("select action, checks_passed from meta.publish_log order by publish_id").fetchall()
    assert log == [("publish", 14), ("publish", 14)]


def test_rollback_restores_the_previous_marts(conn):
    build(conn, 4351)
    publish(conn, checks_passed=1)
    build(conn, 9999)
    publish(conn, checks_passed=1)
    rollback(conn)
    assert live_value(conn) == 4351
    assert conn.execute("select action from meta.publish_log order by publish_id desc limit 1").fetchone() == (
        "rollback",
    )


def test_publishing_without_a_build_fails_and_leaves_marts_alone(conn):
    build(conn, 4351)
    publish(conn, checks_passed=1)
    with pytest.raises(PublishError, match="nothing to publish"):
        publish(conn, checks_passed=1)
    assert live_value(conn) == 4351


def test_rollback_without_a_previous_version_is_refused(conn):
    build(conn, 4351)
    publish(conn, checks_passed=1)
    with pytest.raises(PublishError, match="no previous"):
        rollback(conn)
    assert live_value(conn) == 4351


def test_a_reader_of_an_old_version_neither_blocks_publishing_nor_loses_its_tables(settings, conn, capsys):
    """A dashboard idle in a transaction on the marts of three publishes ago, and a query running across two
    publishes: both keep reading what they started on, publishing waits for neither (it would raise after
    its lock timeout otherwise), and the old version is dropped once its last reader is done."""
    build(conn, 1)
    publish(conn, checks_passed=1)
    idle = psycopg.connect(settings.warehouse_url)  # a transaction left open after reading version 1
    idle.execute("set role antq_bi_reader")
    assert idle.execute("select value from marts.mart_national_indicator").fetchone() == (1,)
    analyst = psycopg.connect(settings.warehouse_url)  # a province's analyst, idle too, on its own schema
    analyst.execute("set role antq_analyst_38")
    assert analyst.execute("select value from province_38.mart_national_indicator").fetchone() == (1,)
    running = psycopg.connect(settings.warehouse_url, autocommit=True)
    running.execute("set role antq_bi_reader")
    long_query = ThreadPoolExecutor(1).submit(
        running.execute, "select pg_sleep(4), value from marts.mart_national_indicator"
    )
    time.sleep(0.5)  # the long query has opened version 1's table
    for figure in (2, 3, 4):
        build(conn, figure)
        publish(conn, checks_passed=1)
        assert live_value(conn) == figure
    assert long_query.result().fetchone()[1] == 1, "the long query read the version it started on, to its end"
    still_read = capsys.readouterr().out
    assert f"still read by pid {idle.info.backend_pid} (postgres, idle in transaction" in still_read
    assert retired_schemas(conn), "version 1 waits for its reader"
    # a new statement of a transaction that reads committed data sees the newest version, without an error
    assert analyst.execute("select value from province_38.mart_national_indicator").fetchone() == (4,)
    idle.execute("select 1")  # their transactions still read version 1 ...
    idle.commit()  # ... until they end
    analyst.commit()
    build(conn, 5)
    publish(conn, checks_passed=1)
    assert retired_schemas(conn) == [], "every retired version is dropped once nobody reads it"
    for session in (idle, analyst, running):
        session.close()


def retired_schemas(conn) -> list[str]:
    return [r[0] for r in conn.execute(r"select nspname from pg_namespace where nspname like 'retired\_%'")]


def test_a_session_on_another_database_of_the_server_is_never_named_as_a_reader(server_url, settings, conn):
    """pg_locks names a relation by its oid, unique only within one database: a copy of the warehouse on the
    same server (a restored backup, a staging copy) has its tables under the same oids, and its readers are
    not this warehouse's."""
    build(conn, 1)
    publish(conn, checks_passed=1)
    conn.close()  # a database is copied while nobody is connected to it
    name = libpq_params(settings.warehouse_url)["dbname"]
    copy = create_database(server_url, f"{name}_copy", template=name)
    with psycopg.connect(copy) as elsewhere, psycopg.connect(settings.warehouse_url) as here:
        table = "select 'marts.mart_national_indicator'::regclass::oid"
        assert elsewhere.execute(table).fetchone() == here.execute(table).fetchone(), "the same oid in both"
        elsewhere.execute("select value from marts.mart_national_indicator").fetchone()  # holds it, idle
        assert readers_of(here) == []
        with psycopg.connect(copy) as its_own:
            assert readers_of(its_own) and f"pid {elsewhere.info.backend_pid}" in readers_of(its_own)[0]


def partitions(conn, schema: str) -> dict[str, int]:
    return dict(
        conn.execute(
            "select c.relname, c.oid from pg_inherits as i join pg_class as c on c.oid = i.inhrelid"
            " where i.inhparent = %s::regclass",
            [f"{schema}.fct_indicator_value"],
        ).fetchall()
    )


def published_facts(conn) -> dict:
    """Everything a first fill makes: each partition's rows, its indexes and constraints, the submissions."""
    return {
        "rows": {
            name: conn.execute(
                f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from published.{name} as t"
            ).fetchone()
            for name in sorted(partitions(conn, "published"))
        },
        "indexes": conn.execute(
            "select tablename, indexdef from pg_indexes where schemaname = 'published' order by 1, 2"
        ).fetchall(),
        "options": conn.execute(
            "select relname, reloptions from pg_class where relnamespace = 'published'::regnamespace order by 1"
        ).fetchall(),
        "constraints": conn.execute(
            "select conrelid::regclass::text, conname from pg_constraint"
            " where connamespace = 'published'::regnamespace order by 1, 2"
        ).fetchall(),
        "analyzed": conn.execute(
            "select count(distinct tablename) from pg_stats where schemaname = 'published' and attname = 'value'"
        ).fetchone()[0],
        "submissions": conn.execute(
            "select array_agg(submission_id order by submission_id) from published.submission"
        ).fetchone()[0],
    }


@pytest.mark.parametrize("fill", ["complete", "killed"])
def test_a_first_publish_filled_ahead_by_two_sessions_publishes_what_one_transaction_does(
    server_url, smtp_server, tmp_path_factory, national_template, fill
):
    from publishing.published_facts import fill_ahead
    from tests.helpers import national_copy
    from warehouse import pipeline

    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, f"antq_fill_{fill}")
    url = settings.warehouse_url
    with psycopg.connect(url, autocommit=True) as conn:
        made_in_the_transaction = published_facts(conn)  # the template's first publish: too small to fill ahead
        assert made_in_the_transaction["analyzed"] > 30 and len(made_in_the_transaction["rows"]) == 35
        conn.execute("drop schema published cascade")  # as if never published
        pipeline.build_marts(settings)
        gate = pipeline.validate_marts(settings)
        counted = conn.execute("select count(current_submission_id) from build.fct_submission").fetchone()[0]
        assert fill_ahead(url, "build", at_least_rows=10**9) == 0, "below the size worth two sessions"
        assert fill_ahead(url, "build", at_least_rows=0) == counted == len(made_in_the_transaction["submissions"])
        with conn.transaction():
            conn.execute("set local role antq_bi_reader")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select count(*) from published_fill.fct_indicator_value")
            raise psycopg.Rollback()
        if fill == "killed":  # the fill lost its last copies and never marked itself complete
            conn.execute("drop table published_fill.complete")
            conn.execute(
                "delete from published_fill.fct_indicator_value"
                " where submission_id = (select max(submission_id) from published_fill.submission)"
            )
        filled = partitions(conn, "published_fill")
        if fill == "complete":  # a publish that failed after its fill leaves it for the next, which takes it
            assert fill_ahead(url, "build", at_least_rows=0) == counted
            assert partitions(conn, "published_fill") == filled
        pipeline.publish_marts(gate, settings)
        assert published_facts(conn) == made_in_the_transaction
        attached = filled.items() & partitions(conn, "published").items()
        assert len(attached) == (35 if fill == "complete" else 0), "a complete fill's own tables are published"
        assert conn.execute("select to_regnamespace('published_fill')").fetchone()[0] is None
        assert fill_ahead(url, "marts", at_least_rows=0) == 0, "facts are published: a publish copies changes"
