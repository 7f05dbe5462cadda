"""Readers cannot starve the pipeline, and the portal's role gets no login from an officer's password.

In docker-compose.yml's shape (the pipeline's user owns its database and is no superuser, set up once by one),
with limits lowered for the test: every reader login opens the connections it may and is refused the next;
readers together fill every connection the server does not reserve, and a file is still ingested and
published; a query that spills too much to disk, a long statement and an idle transaction are ended, and a
reader cannot lift the disk limit. Roles belong to the whole server: each test puts back what it changed.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from core import db, security
from core.settings import Settings
from ingestion.generator import current_province_codes, write_submission
from ingestion.loader import ingest_file
from tests.helpers import publish_run
from warehouse import pipeline

OWNER, DATABASE = "starve_owner", "antq_starve"
CONNECTIONS = 3  # per reader login: 35 readers could hold 105, more than the server's 100 - 13 reserved
LIMITS = {
    "ANTQ_READER_CONNECTION_LIMIT": str(CONNECTIONS),
    "ANTQ_READER_STATEMENT_TIMEOUT": "1s",
    "ANTQ_BI_READER_STATEMENT_TIMEOUT": "2s",
    "ANTQ_READER_TEMP_FILE_LIMIT": "8MB",
    "ANTQ_READER_IDLE_IN_TRANSACTION_TIMEOUT": "1s",
}
READERS = [security.BI_READER, *(security.analyst_role(code) for code in current_province_codes())]
ANALYST_38 = security.analyst_role("38")
# Sorting 5M random numbers spills about 100 MB at the default work_mem.
TEMP_FILE_BOMB = "select * from generate_series(1, 5000000) as n order by random() limit 1"


def as_user(url: str, user: str, dbname: str) -> str:
    """The URL of `dbname` on the same server, logging in as `user` (the test server trusts local logins)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rsplit('@', 1)[-1]}", path=f"/{dbname}"))


@pytest.fixture(scope="module")
def compose(server_url, smtp_server, tmp_path_factory):
    """A warehouse as docker-compose.yml runs it, prepared with LIMITS and a login for every reader."""
    if os.environ.get("ANTQ_WAREHOUSE_URL"):
        pytest.skip("fills the server's connections: only on the test session's own embedded Postgres")
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"drop database if exists {DATABASE} with (force)")
        if not admin.execute("select 1 from pg_roles where rolname = %s", [OWNER]).fetchone():
            admin.execute(f"create role {OWNER} login createrole")
        admin.execute(f"create database {DATABASE} owner {OWNER}")
    env = {
        "ANTQ_DATA_DIR": str(tmp_path_factory.mktemp("starve")),
        "ANTQ_SMTP_HOST": "127.0.0.1",
        "ANTQ_SMTP_PORT": str(smtp_server.port),
        "ANTQ_DATA_TEAM": "data-team@antq.test",
    }
    settings = replace(
        Settings.from_env(env),
        warehouse_url=as_user(server_url, OWNER, DATABASE),
        superuser_url=as_user(server_url, "postgres", DATABASE),
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LIMITS.items():
            patch.setenv(name, value)
        for role in READERS:
            patch.setenv(f"ANTQ_{role.removeprefix('antq_').upper()}_PASSWORD", "reader-test-password")
        pipeline.prepare_warehouse(settings)
    yield settings
    with psycopg.connect(server_url, autocommit=True) as admin:
        for role in READERS:
            admin.execute(f"alter role {role} nologin password null connection limit -1")


def reader(settings: Settings, role: str, **options) -> psycopg.Connection:
    return psycopg.connect(as_user(settings.warehouse_url, role, DATABASE), autocommit=True, **options)


def close(settings: Settings, connections: list[psycopg.Connection]) -> None:
    """Close them, and wait until their server processes have ended: until then they count against the limit."""
    pids = [conn.info.backend_pid for conn in connections]
    for conn in connections:
        conn.close()
    with psycopg.connect(settings.superuser_url, autocommit=True) as admin:
        for _ in range(100):
            if not admin.execute("select 1 from pg_stat_activity where pid = any(%s)", [pids]).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError("the closed connections' server processes did not end")


def test_a_reader_login_opens_its_connections_and_no_more(compose):
    for role in (security.BI_READER, ANALYST_38):
        held = [reader(compose, role) for _ in range(CONNECTIONS)]
        with pytest.raises(psycopg.OperationalError, match=f'too many connections for role "{role}"'):
            reader(compose, role)
        close(compose, held)


def test_readers_filling_the_server_leave_the_pipeline_its_reserved_connections(compose):
    """Every reader opens what it may: the server refuses readers once only the reserved connections are left,
    and the pipeline, no superuser, still ingests and publishes a file on them."""
    held, refusals = [], []
    try:
        for role in READERS:
            for _ in range(CONNECTIONS + 1):
                try:
                    held.append((role, reader(compose, role)))
                except psycopg.OperationalError as error:
                    refusals.append(str(error))
        reserved = 'reserved for roles with privileges of the "pg_use_reserved_connections" role'
        assert any(reserved in refusal for refusal in refusals), refusals[:3]
        assert max(sum(1 for role, _ in held if role == r) for r in READERS) == CONNECTIONS
        with psycopg.connect(compose.superuser_url, autocommit=True) as admin:
            in_use, most = admin.execute(
                "select count(*), current_setting('max_connections')::int from pg_stat_activity"
                " where backend_type = 'client backend'"
            ).fetchone()
        free = most - in_use + 1  # this admin session ended
        assert free <= db.RESERVED_CONNECTIONS + 3, f"{free} connections left: the readers did not fill the server"

        started = time.monotonic()
        with psycopg.connect(compose.warehouse_url, autocommit=True) as conn:
            path = write_submission(compose.landing_dir, "38", "2026-09")
            assert ingest_file(conn, path, compose).status == "accepted"
        publish_run(compose)
        print(f"ingested and published with {len(held)} reader connections open: {time.monotonic() - started:.1f} s")
    finally:
        close(compose, [conn for _, conn in held])
    published = "select count(*) from marts.mart_province_indicator where province_code = '38' and period_code = %s"
    with psycopg.connect(compose.warehouse_url) as conn:
        assert conn.execute(published, ["2026-09"]).fetchone()[0] > 0
    with reader(compose, security.BI_READER) as bi:
        assert bi.execute("select count(*) from marts.mart_province_indicator").fetchone()[0] > 0


def test_a_temp_file_bomb_is_cancelled_and_no_reader_can_lift_the_limit(compose):
    with reader(compose, ANALYST_38) as conn:
        assert conn.execute("show temp_file_limit").fetchone() == ("8MB",)
        conn.execute("set statement_timeout = '1min'")  # a reader may: the disk limit is what stops this one
        with pytest.raises(psycopg.errors.ConfigurationLimitExceeded, match="temp_file_limit"):
            conn.execute(TEMP_FILE_BOMB)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("set temp_file_limit = -1")
    with pytest.raises(psycopg.OperationalError, match="permission denied to set parameter"):
        reader(compose, ANALYST_38, options="-c temp_file_limit=-1")


def test_a_long_statement_and_an_idle_transaction_are_ended(compose):
    with reader(compose, security.BI_READER) as bi:
        assert bi.execute("show statement_timeout").fetchone() == ("2s",), "BI's exports may run longer"
    with reader(compose, ANALYST_38) as conn:
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute("select pg_sleep(30)")
        assert time.monotonic() - started < 5
    with reader(compose, ANALYST_38) as conn:
        conn.execute("begin")
        conn.execute("select 1")
        time.sleep(2)
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            conn.execute("select 1")


def test_a_person_granted_a_reader_role_gets_the_readers_limits(compose, caplog):
    """Postgres counts a person's own login, not the reader role granted to it: the pipeline's user sets the
    readers' limits on the logins it administers (those it created) and names the others."""
    ours, theirs = "starve_person", "starve_person_by_superuser"
    with psycopg.connect(compose.warehouse_url, autocommit=True) as conn:
        conn.execute(f"create role {ours} login in role {ANALYST_38}")
    with psycopg.connect(compose.superuser_url, autocommit=True) as admin:
        admin.execute(f"create role {theirs} login in role {security.BI_READER}")
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in LIMITS.items():
                patch.setenv(name, value)
            pipeline.prepare_warehouse(replace(compose, superuser_url=None))
        with psycopg.connect(compose.superuser_url) as admin:
            rows = admin.execute(
                """select rolname, rolconnlimit, s.setconfig from pg_roles
                   left join pg_db_role_setting as s on s.setrole = pg_roles.oid and s.setdatabase = 0
                   where rolname = any(%s)""",
                [[ours, theirs]],
            ).fetchall()
        limits = {role: (limit, config) for role, limit, config in rows}
        assert limits[ours][0] == CONNECTIONS
        assert {"statement_timeout=1s", "temp_file_limit=8MB", "idle_in_transaction_session_timeout=1s"} <= set(
            limits[ours][1]
        )
        assert limits[theirs] == (-1, None)
        assert any(theirs in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
    finally:
        with psycopg.connect(compose.superuser_url, autocommit=True) as admin:
            for role in (ours, theirs):
                admin.execute(f"drop role {role}")


@pytest.fixture
def portal_role(server_url):
    """antq_portal as no test left it: no login; put back so after the test."""
    nologin = f"alter role {security.PORTAL} nologin password null"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(nologin)
    yield
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(nologin)


def can_log_in(settings: Settings, role: str) -> bool:
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute("select rolcanlogin from pg_roles where rolname = %s", [role]).fetchone()[0]


def test_the_officers_password_variable_gives_the_portal_role_no_login(settings, portal_role, monkeypatch):
    monkeypatch.setenv("ANTQ_PORTAL_PASSWORD", "an-officers-password")
    pipeline.prepare_warehouse(settings)
    assert not can_log_in(settings, security.PORTAL)
    monkeypatch.setenv("ANTQ_PORTAL_DB_PASSWORD", "the-portals-own-password")
    pipeline.prepare_warehouse(settings)
    assert can_log_in(settings, security.PORTAL)


def test_account_reads_the_password_from_stdin_and_never_from_a_variable(settings, monkeypatch, capsys):
    from portal.__main__ import main
    from portal.auth import log_in

    monkeypatch.setenv("ANTQ_WAREHOUSE_URL", settings.warehouse_url)
    monkeypatch.setenv("ANTQ_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANTQ_PORTAL_PASSWORD", "a-variable-password")
    monkeypatch.setattr("sys.stdin", io.StringIO("dung-mat-khau-nay\n"))
    assert main(["account", "thanhhoa", "--province", "38", "--password-stdin"]) == 0
    assert "thanhhoa (province 38) can log in" in capsys.readouterr().out
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        assert log_in(conn, "thanhhoa", "a-variable-password", "test") is None
        assert log_in(conn, "thanhhoa", "dung-mat-khau-nay", "test") is not None
