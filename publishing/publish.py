"""Blue/green publishing: the build schema becomes `marts` in one transaction; the old one is kept, out of
BI's reach, for a rollback. The same transaction rebuilds what readers reach (publishing/published_facts.py,
publishing/access.py).

A publish waits for no reader: it renames schemas and changes rows, and what it replaces is retired, then
dropped once no query reads it (publishing/retired.py). Should one of its statements still wait for a lock
(a new column in the published facts, once), it gives up after a short lock timeout, names the sessions in
the way, and tries again; after the last try it fails with that message, and marts stay as they were."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
from psycopg import errors, sql

from core import schemas
from core.security import TRANSFORMER, grant_readers, revoke_readers
from core.settings import Settings
from publishing.access import publish_to_readers
from publishing.published_facts import PUBLISH_LOCK
from publishing.retired import LOCK_TIMEOUT, drop_retired, readers_of, retire
from publishing.transform import BUILD_SCHEMA

SMALL_CELL_PROVINCES = Settings.small_cell_provinces  # the default: ANTQ_SMALL_CELL_PROVINCES (core/settings.py)

LIVE_SCHEMA = schemas.LIVE
PREVIOUS_SCHEMA = schemas.PREVIOUS
TRIES = 3


class PublishError(RuntimeError):
    pass


def _schema_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_namespace where nspname = %s", [name]).fetchone() is not None


def publish(
    conn: psycopg.Connection,
    checks_passed: int,
    note: str = "",
    checks: str = "",
    small_cell_provinces: int = SMALL_CELL_PROVINCES,
    on_published: Callable[[psycopg.Connection, int], None] | None = None,
    gate_report: str | None = None,
) -> int:
    """Swap the checked build schema in as `marts`; return the publish id. BI never sees a half-state.
    `on_published(conn, publish_id)` runs inside the publishing transaction (the warnings' alert)."""

    def swap() -> int:
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
        retire(conn, PREVIOUS_SCHEMA)
        if _schema_exists(conn, LIVE_SCHEMA):
            conn.execute(f"alter schema {LIVE_SCHEMA} rename to {PREVIOUS_SCHEMA}")
            revoke_readers(conn, PREVIOUS_SCHEMA)
        conn.execute(f"alter schema {BUILD_SCHEMA} rename to {LIVE_SCHEMA}")
        publish_to_readers(conn, LIVE_SCHEMA, small_cell_provinces)
        publish_id = conn.execute(
            """insert into meta.publish_log (action, submission_ids, checks_passed, note, checks, gate_report)
               values ('publish', %s, %s, %s, %s, %s) returning publish_id""",
            [_counted_submissions(conn), checks_passed, note, checks, gate_report],
        ).fetchone()[0]
        if on_published:
            on_published(conn, publish_id)
        return publish_id

    return _in_one_transaction(conn, swap)


def _in_one_transaction(conn: psycopg.Connection, step: Callable[[], int]) -> int:
    """Run a publish or rollback in one transaction that waits at most LOCK_TIMEOUT for any lock, tried
    TRIES times; then drop the retired schemas no reader holds any more."""
    for attempt in range(1, TRIES + 1):
        try:
            with conn.transaction():
                conn.execute(f"set local role {TRANSFORMER}")
                conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                conn.execute("select pg_advisory_xact_lock(hashtext(%s))", [PUBLISH_LOCK])
                result = step()
            break
        except errors.LockNotAvailable:
            readers = "; ".join(readers_of(conn)) or "no session any more"
            message = f"publishing waited {LOCK_TIMEOUT} for a lock held by {readers} (try {attempt} of {TRIES})"
            if attempt == TRIES:
                raise PublishError(message + ": nothing was published, marts are as they were") from None
            print(message)
            time.sleep(2 * attempt)
    drop_retired(conn)
    return result


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


def rollback(conn: psycopg.Connection, small_cell_provinces: int = SMALL_CELL_PROVINCES) -> int:
    """Put the previous marts back (and keep the rolled-back version as the new previous)."""

    def swap() -> int:
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

    return _in_one_transaction(conn, swap)
