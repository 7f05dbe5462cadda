"""Roles, grants and row-level security. Only the pipeline writes; BI reads `marts` and nothing else.

- antq_loader: ingestion; writes ingest and raw, loads ref.
- antq_transformer: dbt and publishing; reads raw, ingest, ref; owns staging, intermediate, build, marts.
- antq_bi_reader: SELECT on every table of `marts`, every row.
- antq_province_analyst: SELECT on `marts`, but on tables with a province_code column only the rows of the
  provinces whose group role (antq_analyst_<code>) it is a member of. National marts have no province_code
  and stay readable: they are the published national figures. Give a person access to one province with
  `grant antq_analyst_38 to nguyen_van_a;`.
A role logs in only if its password is given in the environment (ANTQ_<ROLE>_PASSWORD, e.g.
ANTQ_BI_READER_PASSWORD); passwords are never stored in the repository.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

LOADER = "antq_loader"
TRANSFORMER = "antq_transformer"
BI_READER = "antq_bi_reader"
ANALYST = "antq_province_analyst"
ROLES = (LOADER, TRANSFORMER, BI_READER, ANALYST)
READERS = (BI_READER, ANALYST)


def analyst_role(province_code: str) -> str:
    return f"antq_analyst_{province_code}"


def _ensure_role(conn: psycopg.Connection, role: str) -> None:
    if not conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone():
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
    password = os.environ.get(f"ANTQ_{role.removeprefix('antq_').upper()}_PASSWORD")
    if password:
        conn.execute(sql.SQL("alter role {} login password {}").format(sql.Identifier(role), sql.Literal(password)))


def bootstrap(conn: psycopg.Connection, province_codes: list[str]) -> None:
    """Create the roles and grants; idempotent, and safe while other sessions run."""
    ident = sql.Identifier
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.security'))")
        for role in (*ROLES, *(analyst_role(code) for code in province_codes)):
            _ensure_role(conn, role)
        for code in province_codes:
            conn.execute(sql.SQL("grant {} to {}").format(ident(ANALYST), ident(analyst_role(code))))
        # The connecting user runs the pipeline under the two pipeline roles.
        conn.execute(sql.SQL("grant {}, {} to current_user").format(ident(LOADER), ident(TRANSFORMER)))
        database = ident(conn.info.dbname)
        conn.execute(sql.SQL("revoke create, temporary on database {} from public").format(database))
        conn.execute(sql.SQL("grant create, temporary on database {} to {}").format(database, ident(TRANSFORMER)))
        # Ingestion checks a file in a temporary table before anything of it reaches raw.
        conn.execute(sql.SQL("grant temporary on database {} to {}").format(database, ident(LOADER)))
        conn.execute("revoke create on schema public from public")
        for schema in ("ingest", "raw", "ref", "meta"):
            conn.execute(
                sql.SQL("grant usage on schema {} to {}, {}").format(ident(schema), ident(LOADER), ident(TRANSFORMER))
            )
        for schema in ("ingest", "raw", "ref"):
            conn.execute(
                sql.SQL("grant select, insert, update, delete on all tables in schema {} to {}").format(
                    ident(schema), ident(LOADER)
                )
            )
            conn.execute(
                sql.SQL("grant usage on all sequences in schema {} to {}").format(ident(schema), ident(LOADER))
            )
            conn.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(ident(schema), ident(TRANSFORMER))
            )
        conn.execute(
            sql.SQL("grant select, insert on meta.alert_log to {}, {}").format(ident(LOADER), ident(TRANSFORMER))
        )
        conn.execute(sql.SQL("grant select, insert on meta.publish_log to {}").format(ident(TRANSFORMER)))
        # The transformer records holds; dbt reads them to decide which version of a submission counts.
        conn.execute(sql.SQL("grant select, insert, update on meta.hold to {}").format(ident(TRANSFORMER)))
        for sequence in ("meta.publish_log_publish_id_seq", "meta.hold_hold_id_seq"):
            conn.execute(sql.SQL("grant usage on sequence {} to {}").format(sql.SQL(sequence), ident(TRANSFORMER)))


def secure_schema(conn: psycopg.Connection, schema: str) -> list[str]:
    """Grant readers SELECT on a schema about to be published and put RLS on its province-level tables.

    Called inside the publishing transaction, so the new `marts` is never readable without its policies
    nor unreadable to BI for an instant. Returns the tables that got row-level security.
    """
    ident = sql.Identifier
    readers = sql.SQL(", ").join(ident(role) for role in READERS)
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(ident(schema), readers))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(ident(schema), readers))
    tables = [
        row[0]
        for row in conn.execute(
            """select c.table_name from information_schema.columns as c
           join information_schema.tables as t using (table_schema, table_name)
           where c.table_schema = %s and c.column_name = 'province_code' and t.table_type = 'BASE TABLE'
           order by 1""",
            [schema],
        )
    ]
    for table in tables:
        target = sql.Identifier(schema, table)
        conn.execute(sql.SQL("alter table {} enable row level security").format(target))
        conn.execute(
            sql.SQL("create policy national_readers on {} for select to {} using (true)").format(
                target, ident(BI_READER)
            )
        )
        conn.execute(
            sql.SQL(
                "create policy own_province on {} for select to {}"
                " using (exists (select 1 from pg_roles as r where r.rolname = 'antq_analyst_' || province_code"
                " and pg_has_role(current_user, r.oid, 'member')))"
            ).format(target, ident(ANALYST))
        )
    return tables
