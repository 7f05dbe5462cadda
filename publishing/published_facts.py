"""The published facts (`published.fct_indicator_value`), rebuilt at every publish and rollback inside its
transaction (publishing/publish.py): the facts of the published submissions and of no other, one partition per
province, kept in step with the live `fct_submission` by adding and deleting whole submissions.
`marts.fct_indicator_value`, a view over the whole fact store while it is checked in `build`, is re-pointed at
it on publishing; BI never reads the fact store, which also holds unpublished versions. A first publish's copy
is made ahead, in `published_fill`, which no reader can reach (fill_ahead).

Why copies and not predicates: a reader must never reach a row it may not read, by any plan, and a predicate
does not ensure that. Postgres evaluates leakproof comparisons (on numbers, text, dates) before a row-level
policy or a security-barrier view's condition, and EXPLAIN ANALYZE then shows how many hidden rows they matched
("never executed", "Rows Removed by Filter", loops). So every relation a reader can read holds only rows that
reader may see: these facts, and each province's analysts' copies (publishing/access.py).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import sql

from core import schemas
from core.security import TRANSFORMER

FACT_STORE = schemas.FACT_STORE
REMAPPED_SUBMISSIONS = schemas.REMAPPED_SUBMISSIONS
PUBLISHED_SCHEMA = schemas.PUBLISHED
PUBLISHED_FACTS = "fct_indicator_value"
FACTS = "fct_indicator_value"  # a view of the province's partition of the published facts
PUBLISHED_SUBMISSIONS = "submission"
# Each partition is one province: by submission (a publish's deletes), by period and indicator (a province's
# units in a period, where a figure comes from: 5 ms and 45 ms at national-10y). It replaces two, by province
# and period and by indicator and period, which served nothing more: each took 47 s to 2 min of a first
# publish at national-10y (49M facts). Dropped where found.
FACT_INDEXES = (("submission_id",), ("period_code", "indicator_code"))
RETIRED_FACT_INDEXES = (("province_code", "period_code"), ("indicator_code", "period_code"))
# For the session that builds those indexes over millions of rows (a first publish): with Postgres's default
# of 64MB each index is sorted on disk in several passes (measured on 5.3M facts when the fact store was a
# table: its submission index in 6.0 s with 64MB, 4.1 s with 1GB; 512MB itself was not measured, a bound for
# a shared server). Set for the publish's transaction only, never for the server's readers.
MAINTENANCE_WORK_MEM_MB = 512
MAINTENANCE_WORK_MEM = f"{MAINTENANCE_WORK_MEM_MB}MB"
T = TypeVar("T")


def identifier(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


def relation_columns(conn: psycopg.Connection, schema: str, relation: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            """select attname from pg_attribute
               where attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass
                 and attnum > 0 and not attisdropped order by attnum""",
            [schema, relation],
        )
    ]


def relation_exists(conn: psycopg.Connection, schema: str, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", [f"{schema}.{relation}"]).fetchone()[0] is not None


def provinces(conn: psycopg.Connection) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select unit_code from ref.unit where map = 'current' and unit_level = 'province' order by 1"
        )
    ]


def partition_name(code: str | None) -> str:
    return f"{PUBLISHED_FACTS}_{code or 'other'}"


def _index_name(columns: tuple[str, ...]) -> str:
    return f"{PUBLISHED_FACTS}_{'_'.join(columns)}"


def sync_published_facts(conn: psycopg.Connection, live: str, codes: list[str]) -> dict[str, int]:
    """Add the facts of the submissions `live` counts and the published facts do not hold yet; delete the
    facts of submissions it no longer counts. A publish costs the rows of what changed, not the store."""
    for relation in (FACT_STORE, f"{live}.{FACTS}", f"{live}.fct_submission"):
        if conn.execute("select to_regclass(%s)", [relation]).fetchone()[0] is None:
            return {"added": 0, "removed": 0}
    facts = identifier(PUBLISHED_SCHEMA, PUBLISHED_FACTS)
    published = identifier(PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS)
    # Each DDL statement only when needed: even `if not exists` takes a lock that waits for every reader.
    _partitioned_facts(conn, PUBLISHED_SCHEMA, [])  # its partitions below, once it has every column
    if not relation_exists(conn, PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS):
        conn.execute(sql.SQL("create table {} (submission_id bigint primary key)").format(published))
    if "copied_at" not in relation_columns(conn, PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS):
        conn.execute(sql.SQL("alter table {} add column copied_at timestamptz default now()").format(published))
    # The fact store only ever gains columns, at the end (int_indicator_values); the copy follows.
    store_schema, store_table = FACT_STORE.split(".")
    for column in relation_columns(conn, store_schema, store_table)[
        len(relation_columns(conn, PUBLISHED_SCHEMA, PUBLISHED_FACTS)) :
    ]:
        kind = conn.execute(
            "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = %s::regclass and attname = %s",
            [FACT_STORE, column],
        ).fetchone()[0]
        conn.execute(sql.SQL("alter table {} add column {} {}").format(facts, identifier(column), sql.SQL(kind)))
        conn.execute(sql.SQL("truncate {}, {}").format(facts, published))  # refilled below, with the new column
    filled = _attach_fill(conn, codes)
    _partitioned_facts(conn, PUBLISHED_SCHEMA, codes)
    target = {
        row[0]
        for row in conn.execute(
            sql.SQL("select current_submission_id from {} where current_submission_id is not null").format(
                identifier(live, "fct_submission")
            )
        )
    }
    present = {row[0] for row in conn.execute(sql.SQL("select submission_id from {}").format(published))}
    # A copy made before a build re-mapped its submission's facts (a reference refresh moved a unit) is stale:
    # it is deleted, and copied again if the submission is still counted.
    stale = set()
    if conn.execute("select to_regclass(%s)", [REMAPPED_SUBMISSIONS]).fetchone()[0]:
        stale = {
            row[0]
            for row in conn.execute(
                sql.SQL(
                    "select p.submission_id from {} as p join {} as r on r.submission_id = p.submission_id"
                    " where r.remapped_at > coalesce(p.copied_at, '-infinity')"
                ).format(published, sql.SQL(REMAPPED_SUBMISSIONS))
            )
        }
    good = present - stale
    removed, added = sorted(present - (good & target)), sorted(target - good)
    columns = sql.SQL(", ").join(map(identifier, relation_columns(conn, PUBLISHED_SCHEMA, PUBLISHED_FACTS)))
    conn.execute(sql.SQL("delete from {} where submission_id = any(%s)").format(facts), [removed])
    conn.execute(sql.SQL("delete from {} where submission_id = any(%s)").format(published), [removed])
    conn.execute(
        sql.SQL("insert into {} ({}) select {} from {} where submission_id = any(%s)").format(
            facts, columns, columns, sql.SQL(FACT_STORE)
        ),
        [added],
    )
    conn.execute(sql.SQL("insert into {} select unnest(%s::bigint[])").format(published), [added])
    if filled or len(added) > len(present) / 10:  # a first fill or a large backfill: plans need statistics now
        conn.execute(sql.SQL("analyze {}").format(facts))
    # After the rows on a first fill: building an index once is cheaper than maintaining it row by row, and
    # sorting its millions of keys in memory cheaper than on disk (Postgres's default allows 64MB).
    named = {_index_name(index): index for index in FACT_INDEXES}
    missing = {name: index for name, index in named.items() if not relation_exists(conn, PUBLISHED_SCHEMA, name)}
    for index in RETIRED_FACT_INDEXES:
        if relation_exists(conn, PUBLISHED_SCHEMA, _index_name(index)):
            conn.execute(sql.SQL("drop index {}").format(identifier(PUBLISHED_SCHEMA, _index_name(index))))
    if missing:
        conn.execute(f"set local maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    for name, index in missing.items():
        conn.execute(
            sql.SQL("create index {} on {} ({})").format(
                identifier(name), facts, sql.SQL(", ").join(map(identifier, index))
            )
        )
    view_columns = sql.SQL(", ").join(map(identifier, relation_columns(conn, live, FACTS)))
    conn.execute(
        sql.SQL("create or replace view {} as select {} from {}").format(identifier(live, FACTS), view_columns, facts)
    )
    return {"added": len(added), "removed": len(removed)}


def _partitioned_facts(conn: psycopg.Connection, schema: str, codes: list[str], options: str = "") -> None:
    """The published facts' table in `schema` (shaped like the fact store), with a partition for each of
    `codes` and a default one when `codes` are given (`with (options)`); what exists already is left as it is."""
    facts = identifier(schema, PUBLISHED_FACTS)
    if not relation_exists(conn, schema, PUBLISHED_FACTS):
        conn.execute(
            sql.SQL("create table {} (like {}) partition by list (province_code)").format(facts, sql.SQL(FACT_STORE))
        )
    for code in [*codes, None] if codes else []:
        if relation_exists(conn, schema, partition_name(code)):
            continue
        conn.execute(
            sql.SQL("create table {} partition of {} {} {}").format(
                identifier(schema, partition_name(code)),
                facts,
                _bound(code),
                sql.SQL(f"with ({options})" if options else ""),
            )
        )


def _bound(code: str | None) -> sql.Composable:
    """The partition bound of a province's published facts (None: the default partition)."""
    return sql.SQL("for values in ({})").format(sql.Literal(code)) if code else sql.SQL("default")


def _nothing_published(conn: psycopg.Connection) -> bool:
    """No published partition yet (the default is made with the others): the next publish is the first."""
    return not relation_exists(conn, PUBLISHED_SCHEMA, partition_name(None))


# The first publish copies every published fact: at national-10y 49M rows in one transaction, 110.7 s of
# copying and 49.5 s of indexing (Postgres already builds each index with two workers), 172.6 s in all. So
# before the publishing transaction two sessions copy them into tables of their own in PUBLISHED_FILL, which
# no reader can reach, and index them (82 s + 49 s: two sessions writing at once make each copy slower, 157 s
# of statements for 110.7 s alone); the transaction then attaches those tables as the published partitions
# (renames, and attaches that read nothing: each table carries a check of its province) and copies only what
# differs: 12 s. A fill is attached only if complete; one left by a failed publish is taken by the next if it
# is still what the build counts, and made again if not. Later publishes copy what changed, in the transaction.
FILL = schemas.PUBLISHED_FILL
FILL_SESSIONS = 2
FILL_AT_LEAST_ROWS = 1_000_000  # smaller first fills stay in the transaction: a few seconds at most
SUBMISSIONS_PER_COPY = 50
FILL_PROVINCE_CHECK = "fill_province"
FILL_COMPLETE = "complete"  # made last: the fill holds every fact of its submissions, indexed
PUBLISH_LOCK = "antq.publish"  # the advisory lock a publish holds (publishing/publish.py)


def fill_ahead(url: str, build: str, at_least_rows: int = FILL_AT_LEAST_ROWS, sessions: int = FILL_SESSIONS) -> int:
    """Copy ahead, in `sessions` sessions at once, the facts of every submission `build` counts, when the
    published facts hold none and those are at least `at_least_rows` facts. Returns the submissions copied."""
    filled = identifier(FILL, PUBLISHED_SUBMISSIONS)
    with _session(url) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", [PUBLISH_LOCK])  # one publish, or fill, at a time
        for relation in (FACT_STORE, f"{build}.fct_submission"):
            if conn.execute("select to_regclass(%s)", [relation]).fetchone()[0] is None:
                return 0
        if not _nothing_published(conn):
            return 0  # not the first publish: a publish copies what changed
        # By province: two sessions then mostly write to different partitions (not both extending one).
        by_province = conn.execute(
            sql.SQL(
                "select array_agg(submission_id order by submission_id), sum(row_count) from {}"
                " where submission_id in (select current_submission_id from {}) group by province_code order by 1"
            ).format(identifier(schemas.INGEST, "submission"), identifier(build, "fct_submission"))
        ).fetchall()
        target = sorted(submission for ids, _ in by_province for submission in ids)
        if sum(rows for _, rows in by_province) < at_least_rows:
            return 0
        codes = provinces(conn)
        store_columns = relation_columns(conn, *FACT_STORE.split("."))
        if _fill_complete(conn, codes, store_columns) and target == [
            row[0] for row in conn.execute(sql.SQL("select submission_id from {} order by 1").format(filled))
        ]:
            return len(target)  # made by a run whose publish did not happen
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(identifier(FILL)))
        conn.execute(sql.SQL("create schema {}").format(identifier(FILL)))
        # Never autovacuumed: a worker analyzing a fill table when the publish detaches it makes the publish
        # wait a second for its cancellation (deadlock_timeout), 35 s in all. The publish analyzes them.
        _partitioned_facts(conn, FILL, codes, "autovacuum_enabled = false")
        conn.execute(
            sql.SQL("create table {} (submission_id bigint primary key, copied_at timestamptz not null)").format(filled)
        )
        columns = sql.SQL(", ").join(map(identifier, store_columns))

        def copy(session: psycopg.Connection, chunk: list[int]) -> None:
            with session.transaction():
                session.execute(
                    sql.SQL("insert into {} ({}) select {} from {} where submission_id = any(%s)").format(
                        identifier(FILL, PUBLISHED_FACTS), columns, columns, sql.SQL(FACT_STORE)
                    ),
                    [chunk],
                )
                session.execute(
                    sql.SQL("insert into {} select unnest(%s::bigint[]), now()").format(
                        identifier(FILL, PUBLISHED_SUBMISSIONS)
                    ),
                    [chunk],
                )

        def index(session: psycopg.Connection, code: str | None) -> None:
            partition = identifier(FILL, partition_name(code))
            for key in FACT_INDEXES:
                session.execute(
                    sql.SQL("create index on {} ({})").format(partition, sql.SQL(", ").join(map(identifier, key)))
                )
            if code:  # lets the attach skip reading the table to prove its rows belong there
                session.execute(
                    sql.SQL(
                        "alter table {} add constraint {} check (province_code is not null and province_code = {})"
                    ).format(partition, identifier(FILL_PROVINCE_CHECK), sql.Literal(code))
                )

        chunks = [
            ids[i : i + SUBMISSIONS_PER_COPY]
            for ids, _ in by_province
            for i in range(0, len(ids), SUBMISSIONS_PER_COPY)
        ]
        _in_sessions(url, sessions, copy, chunks)
        _in_sessions(url, sessions, index, [*codes, None])
        conn.execute(sql.SQL("create table {} ()").format(identifier(FILL, FILL_COMPLETE)))
    return len(target)


@contextmanager
def _session(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("set role {}").format(identifier(TRANSFORMER)))
        yield conn


def _in_sessions(url: str, sessions: int, step: Callable[[psycopg.Connection, T], None], items: list[T]) -> None:
    """`step(conn, item)` for every item, by `sessions` sessions at once, each taking the next item left;
    the first error stops them all and is raised."""
    left = queue.SimpleQueue()
    for item in items:
        left.put(item)
    failed: list[BaseException] = []

    def work() -> None:
        try:
            with _session(url) as conn:
                # Each session builds its own indexes on one core, in at most its share of the memory.
                conn.execute("set max_parallel_maintenance_workers = 0")
                conn.execute(f"set maintenance_work_mem = '{MAINTENANCE_WORK_MEM_MB // sessions}MB'")
                while not failed:
                    try:
                        item = left.get_nowait()
                    except queue.Empty:
                        return
                    step(conn, item)
        except BaseException as error:  # noqa: BLE001 (raised again below, in the caller's thread)
            failed.append(error)

    threads = [threading.Thread(target=work) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]


def _fill_complete(conn: psycopg.Connection, codes: list[str], columns: list[str]) -> bool:
    """Whether a fill was made to its end, with these columns and a partition for each of these provinces."""
    if not relation_exists(conn, FILL, FILL_COMPLETE):
        return False
    partitions = {
        row[0]
        for row in conn.execute(
            "select c.relname from pg_inherits as i join pg_class as c on c.oid = i.inhrelid"
            " where i.inhparent = %s::regclass",
            [f"{FILL}.{PUBLISHED_FACTS}"],
        )
    }
    return relation_columns(conn, FILL, PUBLISHED_FACTS) == columns and partitions == {
        partition_name(code) for code in [*codes, None]
    }


def _attach_fill(conn: psycopg.Connection, codes: list[str]) -> bool:
    """Inside the first publish: make a complete fill (fill_ahead) the published partitions, when it has their
    shape; drop any fill left. Returns whether it was attached."""
    if not relation_exists(conn, FILL, PUBLISHED_FACTS):
        return False
    fill, facts = identifier(FILL, PUBLISHED_FACTS), identifier(PUBLISHED_SCHEMA, PUBLISHED_FACTS)
    usable = _nothing_published(conn) and _fill_complete(
        conn, codes, relation_columns(conn, PUBLISHED_SCHEMA, PUBLISHED_FACTS)
    )
    if usable:
        for code in [*codes, None]:  # the default last: a partition attached beside a default reads the default
            table = partition_name(code)
            conn.execute(sql.SQL("alter table {} detach partition {}").format(fill, identifier(FILL, table)))
            conn.execute(
                sql.SQL("alter table {} set schema {}").format(identifier(FILL, table), identifier(PUBLISHED_SCHEMA))
            )
            conn.execute(
                sql.SQL("alter table {} attach partition {} {}").format(
                    facts, identifier(PUBLISHED_SCHEMA, table), _bound(code)
                )
            )
            conn.execute(
                sql.SQL("alter table {} drop constraint if exists {}, reset (autovacuum_enabled)").format(
                    identifier(PUBLISHED_SCHEMA, table), identifier(FILL_PROVINCE_CHECK)
                )
            )
        conn.execute(
            sql.SQL("insert into {} (submission_id, copied_at) select submission_id, copied_at from {}").format(
                identifier(PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS), identifier(FILL, PUBLISHED_SUBMISSIONS)
            )
        )
    conn.execute(sql.SQL("drop schema {} cascade").format(identifier(FILL)))
    return usable
