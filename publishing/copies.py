"""What readers can reach, rebuilt at every publish and rollback inside its transaction (publishing/publish.py).

A reader must never reach a row it may not read, by any plan. A predicate does not ensure that: Postgres
evaluates leakproof comparisons (on numbers, text, dates) before a row-level policy or a security-barrier
view's condition, and EXPLAIN ANALYZE then shows how many hidden rows they matched ("never executed",
"Rows Removed by Filter", loops). So every relation a reader can read holds only rows that reader may see:

- `published.fct_indicator_value`: the facts of the published submissions and of no other, one partition
  per province, kept in step with the live `fct_submission` by adding and deleting whole submissions.
  `marts.fct_indicator_value`, a view over the whole fact store while it is checked in `build`, is
  re-pointed at it on publishing; BI never reads the fact store, which also holds unpublished versions.
  A first publish's copy is made ahead, in `published_fill`, which no reader can reach (fill_ahead).
- `province_<code>`, one schema per province for its analysts (antq_analyst_<code>): copies of the live
  marts restricted to the province, a view of its own partition of the published facts, the national
  figures that pass the small-cell rule, and the reference tables. Nothing else is readable by them.

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

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import sql

from core import schemas
from core.security import TRANSFORMER, analyst_role, analyst_schema
from publishing.retired import retire

FACT_STORE = schemas.FACT_STORE
REMAPPED_SUBMISSIONS = schemas.REMAPPED_SUBMISSIONS
PUBLISHED_SCHEMA = schemas.PUBLISHED
PUBLISHED_FACTS = "fct_indicator_value"
PUBLISHED_SUBMISSIONS = "submission"
NATIONAL_FOR_ANALYSTS = "national_for_analysts"
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
FACTS = "fct_indicator_value"  # a view of the province's partition of the published facts
DERIVED = ("mart_figure_source",)  # views of the live marts, re-created over the province's copies
ANALYST_RELATIONS = (*PROVINCE_ROWS, *REFERENCE, SMALL_CELL, FACTS, *DERIVED)


def _ident(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


def _columns(conn: psycopg.Connection, schema: str, relation: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            """select attname from pg_attribute
               where attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass
                 and attnum > 0 and not attisdropped order by attnum""",
            [schema, relation],
        )
    ]


def _exists(conn: psycopg.Connection, schema: str, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", [f"{schema}.{relation}"]).fetchone()[0] is not None


def provinces(conn: psycopg.Connection) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select unit_code from ref.unit where map = 'current' and unit_level = 'province' order by 1"
        )
    ]


def publish_to_readers(conn: psycopg.Connection, live: str, small_cell_provinces: int) -> dict[str, int]:
    """Make the published facts match `live`'s counted submissions and rebuild every province's schema."""
    codes = provinces(conn)
    conn.execute(sql.SQL("create schema if not exists {}").format(_ident(PUBLISHED_SCHEMA)))
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
    national = _ident(PUBLISHED_SCHEMA, NATIONAL_FOR_ANALYSTS)
    options = conn.execute(
        "select reloptions from pg_class where oid = to_regclass(%s)", [f"{PUBLISHED_SCHEMA}.{NATIONAL_FOR_ANALYSTS}"]
    ).fetchone()
    columns = _columns(conn, live, SMALL_CELL)
    # (a table made before rows were replaced in place was not vacuumed: it is made again, once)
    if (
        options
        and _columns(conn, PUBLISHED_SCHEMA, NATIONAL_FOR_ANALYSTS) == columns
        and ("autovacuum_enabled=false" not in (options[0] or []))
    ):
        conn.execute(sql.SQL("delete from {}").format(national))
    else:
        conn.execute(sql.SQL("drop table if exists {}").format(national))
        conn.execute(sql.SQL("create table {} (like {})").format(national, _ident(live, SMALL_CELL)))
    # Marts built before the mart said whether a figure is complete (a rollback to them): every one of today's
    # provinces in it, and no year-earlier column.
    complete = sql.SQL("is_complete" if "is_complete" in columns else "provinces_reporting >= {}").format(
        sql.Literal(len(provinces(conn)))
    )
    year_before = sql.SQL("previous_year_is_complete" if "previous_year_is_complete" in columns else "false")
    shown = sql.SQL(", ").join(
        sql.SQL("case when {} then {} end").format(year_before, _ident(column))
        if column in PREVIOUS_YEAR
        else _ident(column)
        for column in columns
    )
    conn.execute(
        sql.SQL("insert into {} select {} from {} where {} and provinces_reporting >= {}").format(
            national, shown, _ident(live, SMALL_CELL), complete, sql.Literal(small_cell_provinces)
        )
    )
    conn.execute(sql.SQL("analyze {}").format(national))


def _province_schema(conn: psycopg.Connection, live: str, code: str, relations: set[str]) -> None:
    schema = analyst_schema(code)
    conn.execute(sql.SQL("create schema {}").format(_ident(schema)))
    for name in REFERENCE:
        if name in relations:
            conn.execute(sql.SQL("create view {} as select * from {}").format(_ident(schema, name), _ident(live, name)))
    for name in PROVINCE_ROWS:
        if name in relations:
            # Never vacuumed (never updated; replaced whole at the next publish) and analyzed here: an
            # autovacuum worker on a copy would only delay the drop of its retired schema.
            conn.execute(
                sql.SQL(
                    "create table {} with (autovacuum_enabled = false) as select * from {} where province_code = {}"
                ).format(_ident(schema, name), _ident(live, name), sql.Literal(code))
            )
            conn.execute(sql.SQL("analyze {}").format(_ident(schema, name)))
    if SMALL_CELL in relations:
        conn.execute(
            sql.SQL("create view {} as select * from {}").format(
                _ident(schema, SMALL_CELL), _ident(PUBLISHED_SCHEMA, NATIONAL_FOR_ANALYSTS)
            )
        )
    if FACTS in relations:
        conn.execute(
            sql.SQL("create view {} as select * from {}").format(
                _ident(schema, FACTS), _ident(PUBLISHED_SCHEMA, _partition(code))
            )
        )
    path = conn.execute("select current_setting('search_path')").fetchone()[0]
    for name in DERIVED:
        if name not in relations:
            continue
        # The live view's SQL, printed with its own schema on the search path so that the relations it reads
        # are unqualified, then run with only the province's schema on the path: it reads the copies, and a
        # relation the province has no copy of is an error, never a silent read of the national one.
        conn.execute(sql.SQL("set local search_path = {}").format(_ident(live)))
        definition = conn.execute("select pg_get_viewdef(%s::regclass)", [f"{live}.{name}"]).fetchone()[0]
        conn.execute(sql.SQL("set local search_path = {}").format(_ident(schema)))
        conn.execute(sql.SQL("create view {} as ").format(_ident(schema, name)) + sql.SQL(definition))
        conn.execute("select set_config('search_path', %s, true)", [path])
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(_ident(schema), _ident(analyst_role(code))))
    conn.execute(
        sql.SQL("grant select on all tables in schema {} to {}").format(_ident(schema), _ident(analyst_role(code)))
    )


def _partition(code: str | None) -> str:
    return f"{PUBLISHED_FACTS}_{code or 'other'}"


def _index_name(columns: tuple[str, ...]) -> str:
    return f"{PUBLISHED_FACTS}_{'_'.join(columns)}"


def sync_published_facts(conn: psycopg.Connection, live: str, codes: list[str]) -> dict[str, int]:
    """Add the facts of the submissions `live` counts and the published facts do not hold yet; delete the
    facts of submissions it no longer counts. A publish costs the rows of what changed, not the store."""
    for relation in (FACT_STORE, f"{live}.{FACTS}", f"{live}.fct_submission"):
        if conn.execute("select to_regclass(%s)", [relation]).fetchone()[0] is None:
            return {"added": 0, "removed": 0}
    facts = _ident(PUBLISHED_SCHEMA, PUBLISHED_FACTS)
    published = _ident(PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS)
    # Each DDL statement only when needed: even `if not exists` takes a lock that waits for every reader.
    _partitioned_facts(conn, PUBLISHED_SCHEMA, [])  # its partitions below, once it has every column
    if not _exists(conn, PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS):
        conn.execute(sql.SQL("create table {} (submission_id bigint primary key)").format(published))
    if "copied_at" not in _columns(conn, PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS):
        conn.execute(sql.SQL("alter table {} add column copied_at timestamptz default now()").format(published))
    # The fact store only ever gains columns, at the end (int_indicator_values); the copy follows.
    store_schema, store_table = FACT_STORE.split(".")
    for column in _columns(conn, store_schema, store_table)[len(_columns(conn, PUBLISHED_SCHEMA, PUBLISHED_FACTS)) :]:
        kind = conn.execute(
            "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = %s::regclass and attname = %s",
            [FACT_STORE, column],
        ).fetchone()[0]
        conn.execute(sql.SQL("alter table {} add column {} {}").format(facts, _ident(column), sql.SQL(kind)))
        conn.execute(sql.SQL("truncate {}, {}").format(facts, published))  # refilled below, with the new column
    filled = _attach_fill(conn, codes)
    _partitioned_facts(conn, PUBLISHED_SCHEMA, codes)
    target = {
        row[0]
        for row in conn.execute(
            sql.SQL("select current_submission_id from {} where current_submission_id is not null").format(
                _ident(live, "fct_submission")
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
    columns = sql.SQL(", ").join(map(_ident, _columns(conn, PUBLISHED_SCHEMA, PUBLISHED_FACTS)))
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
    missing = {name: index for name, index in named.items() if not _exists(conn, PUBLISHED_SCHEMA, name)}
    for index in RETIRED_FACT_INDEXES:
        if _exists(conn, PUBLISHED_SCHEMA, _index_name(index)):
            conn.execute(sql.SQL("drop index {}").format(_ident(PUBLISHED_SCHEMA, _index_name(index))))
    if missing:
        conn.execute(f"set local maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    for name, index in missing.items():
        conn.execute(
            sql.SQL("create index {} on {} ({})").format(_ident(name), facts, sql.SQL(", ").join(map(_ident, index)))
        )
    view_columns = sql.SQL(", ").join(map(_ident, _columns(conn, live, FACTS)))
    conn.execute(
        sql.SQL("create or replace view {} as select {} from {}").format(_ident(live, FACTS), view_columns, facts)
    )
    return {"added": len(added), "removed": len(removed)}


def _partitioned_facts(conn: psycopg.Connection, schema: str, codes: list[str], options: str = "") -> None:
    """The published facts' table in `schema` (shaped like the fact store), with a partition for each of
    `codes` and a default one when `codes` are given (`with (options)`); what exists already is left as it is."""
    facts = _ident(schema, PUBLISHED_FACTS)
    if not _exists(conn, schema, PUBLISHED_FACTS):
        conn.execute(
            sql.SQL("create table {} (like {}) partition by list (province_code)").format(facts, sql.SQL(FACT_STORE))
        )
    for code in [*codes, None] if codes else []:
        if _exists(conn, schema, _partition(code)):
            continue
        conn.execute(
            sql.SQL("create table {} partition of {} {} {}").format(
                _ident(schema, _partition(code)), facts, _bound(code), sql.SQL(f"with ({options})" if options else "")
            )
        )


def _bound(code: str | None) -> sql.Composable:
    """The partition bound of a province's published facts (None: the default partition)."""
    return sql.SQL("for values in ({})").format(sql.Literal(code)) if code else sql.SQL("default")


def _nothing_published(conn: psycopg.Connection) -> bool:
    """No published partition yet (the default is made with the others): the next publish is the first."""
    return not _exists(conn, PUBLISHED_SCHEMA, _partition(None))


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
    filled = _ident(FILL, PUBLISHED_SUBMISSIONS)
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
            ).format(_ident(schemas.INGEST, "submission"), _ident(build, "fct_submission"))
        ).fetchall()
        target = sorted(submission for ids, _ in by_province for submission in ids)
        if sum(rows for _, rows in by_province) < at_least_rows:
            return 0
        codes = provinces(conn)
        store_columns = _columns(conn, *FACT_STORE.split("."))
        if _fill_complete(conn, codes, store_columns) and target == [
            row[0] for row in conn.execute(sql.SQL("select submission_id from {} order by 1").format(filled))
        ]:
            return len(target)  # made by a run whose publish did not happen
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(_ident(FILL)))
        conn.execute(sql.SQL("create schema {}").format(_ident(FILL)))
        # Never autovacuumed: a worker analyzing a fill table when the publish detaches it makes the publish
        # wait a second for its cancellation (deadlock_timeout), 35 s in all. The publish analyzes them.
        _partitioned_facts(conn, FILL, codes, "autovacuum_enabled = false")
        conn.execute(
            sql.SQL("create table {} (submission_id bigint primary key, copied_at timestamptz not null)").format(filled)
        )
        columns = sql.SQL(", ").join(map(_ident, store_columns))

        def copy(session: psycopg.Connection, chunk: list[int]) -> None:
            with session.transaction():
                session.execute(
                    sql.SQL("insert into {} ({}) select {} from {} where submission_id = any(%s)").format(
                        _ident(FILL, PUBLISHED_FACTS), columns, columns, sql.SQL(FACT_STORE)
                    ),
                    [chunk],
                )
                session.execute(
                    sql.SQL("insert into {} select unnest(%s::bigint[]), now()").format(
                        _ident(FILL, PUBLISHED_SUBMISSIONS)
                    ),
                    [chunk],
                )

        def index(session: psycopg.Connection, code: str | None) -> None:
            partition = _ident(FILL, _partition(code))
            for key in FACT_INDEXES:
                session.execute(
                    sql.SQL("create index on {} ({})").format(partition, sql.SQL(", ").join(map(_ident, key)))
                )
            if code:  # lets the attach skip reading the table to prove its rows belong there
                session.execute(
                    sql.SQL(
                        "alter table {} add constraint {} check (province_code is not null and province_code = {})"
                    ).format(partition, _ident(FILL_PROVINCE_CHECK), sql.Literal(code))
                )

        chunks = [
            ids[i : i + SUBMISSIONS_PER_COPY]
            for ids, _ in by_province
            for i in range(0, len(ids), SUBMISSIONS_PER_COPY)
        ]
        _in_sessions(url, sessions, copy, chunks)
        _in_sessions(url, sessions, index, [*codes, None])
        conn.execute(sql.SQL("create table {} ()").format(_ident(FILL, FILL_COMPLETE)))
    return len(target)


@contextmanager
def _session(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("set role {}").format(_ident(TRANSFORMER)))
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
    if not _exists(conn, FILL, FILL_COMPLETE):
        return False
    partitions = {
        row[0]
        for row in conn.execute(
            "select c.relname from pg_inherits as i join pg_class as c on c.oid = i.inhrelid"
            " where i.inhparent = %s::regclass",
            [f"{FILL}.{PUBLISHED_FACTS}"],
        )
    }
    return _columns(conn, FILL, PUBLISHED_FACTS) == columns and partitions == {
        _partition(code) for code in [*codes, None]
    }


def _attach_fill(conn: psycopg.Connection, codes: list[str]) -> bool:
    """Inside the first publish: make a complete fill (fill_ahead) the published partitions, when it has their
    shape; drop any fill left. Returns whether it was attached."""
    if not _exists(conn, FILL, PUBLISHED_FACTS):
        return False
    fill, facts = _ident(FILL, PUBLISHED_FACTS), _ident(PUBLISHED_SCHEMA, PUBLISHED_FACTS)
    usable = _nothing_published(conn) and _fill_complete(conn, codes, _columns(conn, PUBLISHED_SCHEMA, PUBLISHED_FACTS))
    if usable:
        for code in [*codes, None]:  # the default last: a partition attached beside a default reads the default
            table = _partition(code)
            conn.execute(sql.SQL("alter table {} detach partition {}").format(fill, _ident(FILL, table)))
            conn.execute(sql.SQL("alter table {} set schema {}").format(_ident(FILL, table), _ident(PUBLISHED_SCHEMA)))
            conn.execute(
                sql.SQL("alter table {} attach partition {} {}").format(
                    facts, _ident(PUBLISHED_SCHEMA, table), _bound(code)
                )
            )
            conn.execute(
                sql.SQL("alter table {} drop constraint if exists {}, reset (autovacuum_enabled)").format(
                    _ident(PUBLISHED_SCHEMA, table), _ident(FILL_PROVINCE_CHECK)
                )
            )
        conn.execute(
            sql.SQL("insert into {} (submission_id, copied_at) select submission_id, copied_at from {}").format(
                _ident(PUBLISHED_SCHEMA, PUBLISHED_SUBMISSIONS), _ident(FILL, PUBLISHED_SUBMISSIONS)
            )
        )
    conn.execute(sql.SQL("drop schema {} cascade").format(_ident(FILL)))
    return usable
