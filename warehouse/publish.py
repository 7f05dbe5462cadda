"""Blue/green publishing: the build schema becomes `marts` in one transaction; the old one is kept, out of
BI's reach, for a rollback. The same transaction rebuilds what readers reach (warehouse/copies.py)."""

from __future__ import annotations

import psycopg

from warehouse import schemas
from warehouse.copies import publish_to_readers
from warehouse.security import TRANSFORMER, grant_readers, revoke_readers
from warehouse.transform import BUILD_SCHEMA

LIVE_SCHEMA = schemas.LIVE
PREVIOUS_SCHEMA = schemas.PREVIOUS


class PublishError(RuntimeError):
    pass


def _schema_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_namespace where nspname = %s", [name]).fetchone() is not None


def publish(
    conn: psycopg.Connection, checks_passed: int, note: str = "", checks: str = "", small_cell_provinces: int = 3
) -> int:
    """Swap the checked build schema in as `marts`; return the publish id. BI never sees a half-state."""
    with conn.transaction():
        conn.execute(f"set local role {TRANSFORMER}")
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.publish'))")
        if not _schema_exists(conn, BUILD_SCHEMA):
            raise PublishError(f"nothing to publish: schema {BUILD_SCHEMA} does not exist")
        # Counts only: the checks' text quotes sample rows of failed checks, which name provinces' figures.
        conn.execute(
            f"""create view {BUILD_SCHEMA}.publish_log as
                select publish_id, published_at, action, cardinality(submission_ids) as submissions,
                       checks_passed, note
                from meta.publish_log"""
        )
        grant_readers(conn, BUILD_SCHEMA)
        conn.execute(f"drop schema if exists {PREVIOUS_SCHEMA} cascade")
        if _schema_exists(conn, LIVE_SCHEMA):
            conn.execute(f"alter schema {LIVE_SCHEMA} rename to {PREVIOUS_SCHEMA}")
            revoke_readers(conn, PREVIOUS_SCHEMA)
        conn.execute(f"alter schema {BUILD_SCHEMA} rename to {LIVE_SCHEMA}")
        publish_to_readers(conn, LIVE_SCHEMA, small_cell_provinces)
        return conn.execute(
            """insert into meta.publish_log (action, submission_ids, checks_passed, note, checks)
               values ('publish', %s, %s, %s, %s) returning publish_id""",
            [_counted_submissions(conn), checks_passed, note, checks],
        ).fetchone()[0]


def _counted_submissions(conn: psycopg.Connection) -> list[int]:
    """The submissions the live marts count. The next build counts them again for a province × period
    whose newer version is held (int_counted_submissions)."""
    if conn.execute(f"select to_regclass('{LIVE_SCHEMA}.fct_submission')").fetchone()[0] is None:
        return []
    return [
        row[0]
        for row in conn.execute(
            f"""select current_submission_id from {LIVE_SCHEMA}.fct_submission
                where current_submission_id is not null order by 1"""
        )
    ]


def rollback(conn: psycopg.Connection, small_cell_provinces: int = 3) -> int:
    """Put the previous marts back (and keep the rolled-back version as the new previous)."""
    with conn.transaction():
        conn.execute(f"set local role {TRANSFORMER}")
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.publish'))")
        if not _schema_exists(conn, PREVIOUS_SCHEMA):
            raise PublishError("no previous marts to roll back to")
        conn.execute(f"alter schema {LIVE_SCHEMA} rename to marts_rolling_back")
        conn.execute(f"alter schema {PREVIOUS_SCHEMA} rename to {LIVE_SCHEMA}")
        conn.execute(f"alter schema marts_rolling_back rename to {PREVIOUS_SCHEMA}")
        grant_readers(conn, LIVE_SCHEMA)
        revoke_readers(conn, PREVIOUS_SCHEMA)
        publish_to_readers(conn, LIVE_SCHEMA, small_cell_provinces)
        return conn.execute(
            "insert into meta.publish_log (action, submission_ids, note) values ('rollback', %s,"
            " 'previous marts restored') returning publish_id",
            [_counted_submissions(conn)],
        ).fetchone()[0]
