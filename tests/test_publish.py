"""Blue/green publishing: the swap is all or nothing, and the previous version can be restored."""

import pytest

from warehouse.publish import PublishError, publish, rollback


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
