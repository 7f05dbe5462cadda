"""Roles, grants and what each reader can reach. Only the pipeline writes; readers read copies made for them.

- antq_loader: ingestion; writes ingest and raw, loads ref.
- antq_transformer: dbt and publishing; reads raw, ingest, ref; owns staging, intermediate, build, marts.
- antq_bi_reader: SELECT on `marts`, every published row of every province. Never `marts_previous`.
- antq_analyst_<code>: SELECT on schema `province_<code>` and nothing else: that province's published rows,
  copied there at each publish (publishing/publish.py), the national figures that pass the small-cell rule,
  and the reference tables. Give a person access as the pipeline's user (`python -m warehouse psql`) with
  `create role nguyen_van_a login password '...' in role antq_analyst_38;`, then `python -m warehouse prepare`
  gives nguyen_van_a the readers' limits (below).
  A predicate (row-level security, a view's where clause) is not enough: Postgres evaluates leakproof
  comparisons before it, and EXPLAIN ANALYZE then counts the hidden rows they match. An analyst's relations
  hold no other rows, so no plan can touch one.
- antq_province_analyst: the group of every antq_analyst_<code>; it reads nothing itself.
- antq_portal: the submission portal's pages for an officer. It reads no table of ingest, meta or portal:
  only the functions of PORTAL_FUNCTIONS (core/migrations/0014_portal_functions.sql), which return the
  rows of the session its request carries (antq.session, portal.session_province()) and record that
  session's uploads; with no session they return nothing. Besides, the reference units (ref.unit,
  ref.reference_change). A function is opaque to the caller's plans, so EXPLAIN ANALYZE shows nothing of
  another province's rows (a row-level security predicate did: it counted them). It logs in only under its
  own variable, ANTQ_PORTAL_DB_PASSWORD: ANTQ_PORTAL_PASSWORD was once an officer's.
Functions a reader could use to stall the pipeline or fill the disk (advisory locks, large objects) are
revoked from PUBLIC and granted to the pipeline's roles only.
Readers cannot starve the pipeline (limits in core/settings.py, set on every reader login: the reader
roles and each person granted one, as Postgres counts and applies them per login): at most
reader_connection_limit connections each (10); temp_file_limit (1GB) per process, which a reader cannot
lift (only a superuser, or the pipeline's user granted it, may set it); statement_timeout (5 min, BI's
exports 30 min) and idle_in_transaction_session_timeout (60 s) are defaults that end a forgotten query or
transaction, but any login may change them in its own session: they are no bound. The server keeps
reserved_connections (embedded: core/db.py; compose: the postgres command) for
pg_use_reserved_connections, granted to the pipeline's and the portal's roles (and Airflow's user in
compose), so readers filling every other slot still leave the pipeline its connections.
Still open to a reader: work_mem, which any login may raise (memory, not disk), and its connections times
temp_file_limit times the parallel workers of each query on disk.
A role logs in only if its password is given in the environment (ANTQ_<ROLE>_PASSWORD, e.g.
ANTQ_BI_READER_PASSWORD; antq_portal's is ANTQ_PORTAL_DB_PASSWORD); passwords are never stored in the
repository.
"""

from __future__ import annotations

import logging
import os

import psycopg
from psycopg import sql

from core import schemas
from core.settings import Settings

LOADER = "antq_loader"
TRANSFORMER = "antq_transformer"
BI_READER = "antq_bi_reader"
ANALYST = "antq_province_analyst"
PORTAL = "antq_portal"
ROLES = (LOADER, TRANSFORMER, BI_READER, ANALYST, PORTAL)
# All that antq_portal may run: each returns or records the rows of its request's session only.
PORTAL_FUNCTIONS = (
    "portal.session_province()",
    "portal.is_published(bigint)",
    "portal.submissions(bigint)",
    "portal.rejections(bigint)",
    "portal.submission_of(text, text)",
    "portal.record_upload(text, text, bigint, text)",
    "portal.record_upload_result(bigint, text, bigint)",
    "portal.submission_figures(bigint)",  # 0016_province_figures.sql
)
# Tables antq_portal once read and wrote itself, under row-level security: taken back from a warehouse set up
# before (the policies dropped; row-level security stays on, so a role without its own policy sees nothing).
PORTAL_TABLES_BEFORE = ("ingest.submission", "ingest.rejection", "meta.hold", "portal.upload")
# The variable a role's login password is read from, when not ANTQ_<ROLE>_PASSWORD: ANTQ_PORTAL_PASSWORD was
# the officer's password of `python -m portal account`, and gave this role a login along with it.
PASSWORD_VARIABLES = {PORTAL: "ANTQ_PORTAL_DB_PASSWORD"}
# What ends a reader's runaway statement or forgotten transaction, and bounds the temporary files of each of
# its processes (a sort or hash that spills): set per reader login with ALTER ROLE ... SET.
READER_PARAMETERS = ("statement_timeout", "temp_file_limit", "idle_in_transaction_session_timeout")
# Built-in functions no reader needs and any login could otherwise run: advisory locks (the pipeline's
# publish and ingest locks), large objects (storage outside every table and quota), and the statistics
# collector's counters of a table (pg_stat_user_tables and its kin read them): they told any login, to the
# row, how many holds, rejections, accounts and login attempts had been written, in tables it cannot read.
PIPELINE_ONLY_FUNCTIONS = """
    select p.oid::regprocedure::text from pg_proc as p
    where p.pronamespace = 'pg_catalog'::regnamespace
      and (p.proname like 'pg\\_%advisory\\_%' or p.proname like 'lo\\_%' or p.proname in ('lowrite', 'loread')
           or (p.proname like 'pg\\_stat\\_get\\_%' and p.proargtypes = '26'::oidvector))
    order by 1"""


def analyst_role(province_code: str) -> str:
    return f"antq_analyst_{province_code}"


def analyst_schema(province_code: str) -> str:
    return f"province_{province_code}"


def password_variable(role: str) -> str:
    return PASSWORD_VARIABLES.get(role, f"ANTQ_{role.removeprefix('antq_').upper()}_PASSWORD")


def ensure_role(conn: psycopg.Connection, role: str) -> None:
    if not conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone():
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
    password = os.environ.get(password_variable(role))
    if password:
        conn.execute(sql.SQL("alter role {} login password {}").format(sql.Identifier(role), sql.Literal(password)))


def bootstrap(conn: psycopg.Connection, province_codes: list[str], settings: Settings | None = None) -> None:
    """Create the roles and grants; idempotent, and safe while other sessions run. The readers' limits come
    from `settings` (default: the environment, as the passwords do)."""
    ident = sql.Identifier
    settings = settings or Settings.from_env()
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.security'))")
        if is_superuser(conn):
            _superuser_only(conn, conn.info.user, settings)
        else:
            _check_superuser_only(conn)
            _check_reserved_connections(conn)
        for role in (*ROLES, *(analyst_role(code) for code in province_codes)):
            ensure_role(conn, role)
        for code in province_codes:
            conn.execute(sql.SQL("grant {} to {}").format(ident(ANALYST), ident(analyst_role(code))))
        # The connecting user runs the pipeline and the portal's pages under these roles.
        conn.execute(
            sql.SQL("grant {}, {}, {} to current_user").format(ident(LOADER), ident(TRANSFORMER), ident(PORTAL))
        )
        database = ident(conn.info.dbname)
        conn.execute(sql.SQL("revoke create, temporary on database {} from public").format(database))
        conn.execute(sql.SQL("grant create, temporary on database {} to {}").format(database, ident(TRANSFORMER)))
        # Ingestion checks a file in a temporary table before anything of it reaches raw.
        conn.execute(sql.SQL("grant temporary on database {} to {}").format(database, ident(LOADER)))
        conn.execute("revoke create on schema public from public")
        for schema in (schemas.INGEST, schemas.RAW, schemas.REF, schemas.META):
            conn.execute(
                sql.SQL("grant usage on schema {} to {}, {}").format(ident(schema), ident(LOADER), ident(TRANSFORMER))
            )
        for schema in (schemas.INGEST, schemas.RAW, schemas.REF):
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
        outbox = sql.SQL("grant select, insert, update on meta.alert_outbox to {}, {}")
        conn.execute(outbox.format(ident(LOADER), ident(TRANSFORMER)))
        conn.execute(sql.SQL("grant select, insert on meta.publish_log to {}").format(ident(TRANSFORMER)))
        # dbt reads which periods the data team closed for a province (mart_national_indicator: final or not).
        conn.execute(sql.SQL("grant select on meta.period_closure to {}").format(ident(TRANSFORMER)))
        # ... and the horizon of the publish run under way: the last submission it counts with (0024).
        conn.execute(sql.SQL("grant select on meta.build_horizon to {}").format(ident(TRANSFORMER)))
        # Who a province's alerts go to (notify/alerts.py, province_contacts): its officers' emails, not
        # their password hashes.
        conn.execute(sql.SQL("grant usage on schema portal to {}, {}").format(ident(LOADER), ident(TRANSFORMER)))
        conn.execute(
            sql.SQL("grant select (province_code, email, disabled) on portal.account to {}, {}").format(
                ident(LOADER), ident(TRANSFORMER)
            )
        )
        # The transformer records holds; dbt reads them to decide which version of a submission counts.
        conn.execute(sql.SQL("grant select, insert, update on meta.hold to {}").format(ident(TRANSFORMER)))
        for sequence in ("meta.publish_log_publish_id_seq", "meta.hold_hold_id_seq"):
            conn.execute(sql.SQL("grant usage on sequence {} to {}").format(sql.SQL(sequence), ident(TRANSFORMER)))
        _portal_functions(conn)
        _limit_readers(conn, province_codes, settings)


def is_superuser(conn: psycopg.Connection) -> bool:
    return conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]


def superuser_setup(conn: psycopg.Connection, owner: str, settings: Settings | None = None) -> None:
    """What only a superuser may do, run once per database through ANTQ_SUPERUSER_URL when the pipeline's own
    user (`owner`) is not one, as in docker-compose.yml. Not needed with the embedded Postgres."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.security'))")
        _superuser_only(conn, owner, settings or Settings.from_env())


def _superuser_only(conn: psycopg.Connection, owner: str, settings: Settings) -> None:
    """The pipeline roles read and write every province's rows, with COPY, which row-level security forbids:
    they bypass it. Functions no reader needs are revoked from PUBLIC (only their owner, a superuser, can).
    The connections the server reserves (reserved_connections) are for the pipeline's and the portal's roles
    (and settings.reserved_connection_users, e.g. Airflow's), whose members readers cannot crowd out; only a
    superuser administers pg_use_reserved_connections. temp_file_limit may be set only by a superuser or who
    was granted it: the pipeline's user is, to set it on the readers it creates.
    The pipeline's user gets every antq_ role that exists with ADMIN OPTION, to grant and use them from then
    on (it creates the others itself, and so administers them)."""
    ident = sql.Identifier
    for role in (LOADER, TRANSFORMER):
        ensure_role(conn, role)
        conn.execute(sql.SQL("alter role {} bypassrls").format(ident(role)))
    ensure_role(conn, PORTAL)
    reserved = [ident(role) for role in (LOADER, TRANSFORMER, PORTAL, *settings.reserved_connection_users)]
    conn.execute(sql.SQL("grant pg_use_reserved_connections to {}").format(sql.SQL(", ").join(reserved)))
    if owner != conn.info.user:
        conn.execute(sql.SQL("grant set on parameter temp_file_limit to {}").format(ident(owner)))
        roles = conn.execute(r"select rolname from pg_roles where rolname like 'antq\_%%' and rolname <> %s", [owner])
        for (role,) in roles.fetchall():
            conn.execute(sql.SQL("grant {} to {} with admin option").format(ident(role), ident(owner)))
    _restrict_functions(conn)


def _check_superuser_only(conn: psycopg.Connection) -> None:
    """Fail, saying how to mend it, if _superuser_only was never run for this database."""
    bypassing = conn.execute(
        "select count(*) from pg_roles where rolname = any(%s) and rolbypassrls", [[LOADER, TRANSFORMER]]
    ).fetchone()[0]
    reserved, limits = conn.execute(
        "select pg_has_role('pg_use_reserved_connections', 'usage'), has_parameter_privilege('temp_file_limit', 'set')"
    ).fetchone()
    if bypassing < 2 or not (reserved and limits) or _still_public(conn):
        raise PermissionError(
            f"{conn.info.user} is not a superuser, and this database was never set up by one: set"
            " ANTQ_SUPERUSER_URL to a superuser's URL of this database and run `python -m warehouse prepare`"
            " once (docker-compose.yml's airflow-init does)"
        )


def _check_reserved_connections(conn: psycopg.Connection) -> None:
    """Warn if the server reserves no connection: readers could then take every one the pipeline needs."""
    if conn.execute("select current_setting('reserved_connections')::int").fetchone()[0] == 0:
        logging.getLogger(__name__).warning(
            "this Postgres reserves no connection for the pipeline: readers may take them all. Start it with"
            " reserved_connections (docker-compose.yml's postgres command does)"
        )


def _limit_readers(conn: psycopg.Connection, province_codes: list[str], settings: Settings) -> None:
    """Each reader login's connection limit and READER_PARAMETERS (see the module's docstring). Postgres counts
    a connection limit and applies ALTER ROLE ... SET per login, never through a group: so each reader role
    gets them, and so does each person granted one, if this user administers the person's login (made through
    `python -m warehouse psql`); any other is named in a warning, for a superuser to limit or to remake."""
    ident = sql.Identifier
    readers = {BI_READER: True, **{analyst_role(code): False for code in province_codes}}
    people = conn.execute(
        """select r.rolname, pg_has_role(r.oid, %(bi)s, 'usage'),
                  pg_has_role(current_user, r.oid, 'member with admin option')
           from pg_roles as r
           where r.rolcanlogin and not r.rolsuper and r.rolname <> all(%(readers)s)
             and (pg_has_role(r.oid, %(bi)s, 'usage') or pg_has_role(r.oid, %(analyst)s, 'usage'))
             and not pg_has_role(r.oid, %(loader)s, 'usage') and not pg_has_role(r.oid, %(transformer)s, 'usage')
           order by 1""",
        {"bi": BI_READER, "analyst": ANALYST, "readers": list(readers), "loader": LOADER, "transformer": TRANSFORMER},
    ).fetchall()
    refused = [person for person, _, may_alter in people if not may_alter]
    if refused:
        logging.getLogger(__name__).warning(
            f"{conn.info.user} may not set the readers' limits on {', '.join(refused)}, who may read the warehouse:"
            " make such logins as this user (`python -m warehouse psql`), or set their limits as a superuser"
        )
    readers.update({person: bi for person, bi, may_alter in people if may_alter})
    for role, bi in readers.items():
        values = {
            "statement_timeout": settings.bi_reader_statement_timeout if bi else settings.reader_statement_timeout,
            "temp_file_limit": settings.reader_temp_file_limit,
            "idle_in_transaction_session_timeout": settings.reader_idle_in_transaction_timeout,
        }
        limit = sql.SQL("alter role {} connection limit {}")
        conn.execute(limit.format(ident(role), sql.Literal(settings.reader_connection_limit)))
        for parameter in READER_PARAMETERS:
            setting = sql.SQL("alter role {} set {} = {}")
            conn.execute(setting.format(ident(role), ident(parameter), sql.Literal(values[parameter])))


def _still_public(conn: psycopg.Connection) -> list[str]:
    """The PIPELINE_ONLY_FUNCTIONS that PUBLIC (any login) may still run: ACL the default, or granting PUBLIC."""
    still = []
    for function, acl in conn.execute(
        f"select f, proacl::text[] from ({PIPELINE_ONLY_FUNCTIONS}) as listed (f) join pg_proc on oid = f::regprocedure"
    ).fetchall():
        if acl is None or any(entry.startswith("=") and "X" in entry.split("/")[0] for entry in acl):
            still.append(function)
    return still


def _portal_functions(conn: psycopg.Connection) -> None:
    """Grants for antq_portal: its functions and the reference units, nothing else (the module's docstring)."""
    ident = sql.Identifier
    portal = ident(PORTAL)
    for table in PORTAL_TABLES_BEFORE:
        name = sql.SQL(table)
        conn.execute(sql.SQL("revoke all on {} from {}").format(name, portal))
        conn.execute(sql.SQL("drop policy if exists portal_session on {}").format(name))
    conn.execute(sql.SQL("revoke all on sequence portal.upload_upload_id_seq from {}").format(portal))
    for schema in ("ingest", "meta"):
        conn.execute(sql.SQL("revoke usage on schema {} from {}").format(ident(schema), portal))
    for schema in ("ref", "portal"):
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(ident(schema), portal))
    conn.execute(sql.SQL("grant select on ref.unit, ref.reference_change to {}").format(portal))
    for function in PORTAL_FUNCTIONS:
        conn.execute(sql.SQL("grant execute on function {} to {}").format(sql.SQL(function), portal))


def _restrict_functions(conn: psycopg.Connection) -> None:
    """Revoke PIPELINE_ONLY_FUNCTIONS from PUBLIC. Only their owner (the bootstrap superuser) can; anyone
    else gets a warning from Postgres and nothing revoked, so the result is checked, not assumed."""
    ident = sql.Identifier
    functions = [row[0] for row in conn.execute(PIPELINE_ONLY_FUNCTIONS)]
    for function in functions:
        conn.execute(sql.SQL("revoke execute on function {} from public").format(sql.SQL(function)))
        pipeline = sql.SQL("{}, {}").format(ident(LOADER), ident(TRANSFORMER))
        conn.execute(sql.SQL("grant execute on function {} to {}").format(sql.SQL(function), pipeline))
    still_public = _still_public(conn)
    if still_public:
        raise PermissionError(
            f"{len(still_public)} functions (e.g. {still_public[0]}) stay executable by every login: run"
            " `python -m warehouse prepare` as the owner of the database's system functions (a superuser)"
        )


def grant_readers(conn: psycopg.Connection, schema: str) -> None:
    """Let the BI reader read every relation of a schema about to be published (inside the publishing
    transaction, so `marts` is never unreadable to BI for an instant)."""
    ident = sql.Identifier
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(ident(schema), ident(BI_READER)))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(ident(schema), ident(BI_READER)))


def revoke_readers(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(sql.SQL("revoke usage on schema {} from {}").format(sql.Identifier(schema), sql.Identifier(BI_READER)))
