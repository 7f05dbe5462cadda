"""Schemas readers may still be reading are retired at a publish, never dropped in it.

Dropping a schema needs every table in it to itself: one BI query still running on the marts of two publishes
ago, or a dashboard idle in a transaction, would make the publish wait for as long as it lasts, and every
reader queued behind that wait would wait too. So a publish only renames (which waits for nobody: a query in
flight keeps the tables it opened) and the retired schemas are dropped after it commits, each in its own
short transaction that gives up at once when a reader still holds a table, names that reader, and leaves the
schema for the next publish. Nobody is killed; nothing is left for longer than its last reader.
"""

from __future__ import annotations

import psycopg
from psycopg import errors, sql

from core import schemas

PREFIX = "retired_"
READER_PATTERNS = [r"province\_%", PREFIX.replace("_", r"\_") + "%"]
# How long a publish's statements wait for a lock before giving up (and trying again); a drop of a retired
# schema waits much less: it is tried again at every publish anyway.
LOCK_TIMEOUT = "2s"
DROP_LOCK_TIMEOUT = "200ms"


def retire(conn: psycopg.Connection, schema: str) -> str | None:
    """Rename `schema` out of every reader's way (inside the caller's transaction); return its new name."""
    if conn.execute("select 1 from pg_namespace where nspname = %s", [schema]).fetchone() is None:
        return None
    # The transaction id makes the name unique; 63 bytes is Postgres's limit for a name.
    suffix = conn.execute("select txid_current()").fetchone()[0]
    name = f"{PREFIX}{suffix}_{schema}"[:63]
    conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(schema), sql.Identifier(name)))
    return name


def drop_retired(conn: psycopg.Connection) -> list[str]:
    """Drop every retired schema no reader holds any more; return a line for each one still held, naming
    the sessions that hold it. Runs outside a publish (its own transactions)."""
    still_read = []
    names = [
        row[0]
        for row in conn.execute(
            "select nspname from pg_namespace where nspname like %s order by 1", [READER_PATTERNS[1]]
        )
    ]
    for name in names:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(DROP_LOCK_TIMEOUT)))
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))
        except errors.LockNotAvailable:
            readers = "; ".join(readers_of(conn, [name])) or "a session that has just ended"
            still_read.append(f"{name} is still read by {readers}: dropped at a later publish")
    for line in still_read:
        print(line)
    return still_read


def readers_of(conn: psycopg.Connection, names: list[str] | None = None) -> list[str]:
    """The other sessions holding a lock on a relation of these schemas (default: every schema a reader can
    reach), each described: pid, role, state, for how long, and the start of its query. A lock names its
    relation by oid, unique only within a database: a copy of the warehouse on the same server has the same."""
    exact, like = (names, []) if names else ([schemas.LIVE, schemas.PREVIOUS, schemas.PUBLISHED], READER_PATTERNS)
    rows = conn.execute(
        """select a.pid, a.usename, coalesce(a.state, ''), date_trunc('second', now() - a.xact_start),
                  left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120)
           from pg_stat_activity as a
           where a.pid <> pg_backend_pid() and exists (
               select from pg_locks as l
               inner join pg_class as c on l.relation = c.oid
               inner join pg_namespace as n on c.relnamespace = n.oid
               where l.pid = a.pid and l.granted and l.database = (
                         select oid from pg_database where datname = current_database())
                     and (n.nspname = any(%s) or n.nspname like any(%s)))
           order by a.xact_start""",
        [exact, like],
    ).fetchall()
    return [f"pid {pid} ({user}, {state} for {age}: {query})" for pid, user, state, age, query in rows]
