"""What test modules share besides fixtures (those are in conftest.py): warehouses made for a test, a mailbox,
a free port, locks held, checksums, workbooks."""

from __future__ import annotations

import itertools
import os
import socket
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
from psycopg import sql

from core.settings import Settings
from warehouse import backup

# Numbers the databases a worker makes (with its pid in their names, as two workers share one server).
counter = itertools.count()


def publish_run(settings) -> None:
    """Build, gate and publish (without the submission checks, which only decide holds)."""
    from warehouse import pipeline

    pipeline.build_marts(settings)
    pipeline.publish_marts(pipeline.validate_marts(settings), settings)


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """A new database `name` (empty, or a copy of `template` with its grants) on the server of `server_url`;
    its URL. A copy of a prepared warehouse is ready: nothing needs preparing again."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        if template:  # Great Expectations' connection pools stay open after a run in this process
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", [template])
        conn.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
        if template:
            copy_database_grants(conn, template, name)
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return f"{base}?{query}" if query else base


def database_grants(conn: psycopg.Connection, name: str) -> list[tuple[str, str, bool]]:
    """The grants on database `name` itself, other than its owner's: (grantee, privilege, with grant option)."""
    return conn.execute(
        """select coalesce(r.rolname, 'public'), a.privilege_type, a.is_grantable
           from pg_database as d cross join aclexplode(d.datacl) as a
           left join pg_roles as r on r.oid = a.grantee
           where d.datname = %s and a.grantee <> d.datdba
           order by 1, 2""",
        [name],
    ).fetchall()


def copy_database_grants(conn: psycopg.Connection, template: str, name: str) -> None:
    """Give database `name` the grants on `template` itself (security.bootstrap's revoke from public and its
    grants to the pipeline's roles), which CREATE DATABASE ... TEMPLATE does not copy: they are the server's
    catalogue, not the database's. Checked, as a copy that lost them would pass tests it should fail."""
    grants = database_grants(conn, template)
    if not grants:  # the template has the defaults (no ACL), as the new database does
        return
    database = sql.Identifier(name)
    conn.execute(sql.SQL("revoke all on database {} from public").format(database))
    for grantee, privilege, grantable in grants:
        role = sql.SQL("public") if grantee == "public" else sql.Identifier(grantee)
        option = sql.SQL(" with grant option" if grantable else "")
        conn.execute(sql.SQL("grant {} on database {} to {}{}").format(sql.SQL(privilege), database, role, option))
    assert database_grants(conn, name) == grants, f"{name} has not the grants of its template {template}"


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """A real SMTP server (aiosmtpd) on localhost that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def take(self) -> list[EmailMessage]:
        taken, self.messages = self.messages, []
        return taken


def make_settings(
    server_url: str, data_dir: Path, name: str, smtp_port: int = 0, template: str | None = None
) -> Settings:
    url = create_database(server_url, name, template)
    env = {
        "ANTQ_DATA_DIR": str(data_dir),
        "ANTQ_SMTP_HOST": "127.0.0.1",
        "ANTQ_SMTP_PORT": str(smtp_port),
        "ANTQ_DATA_TEAM": "data-team@antq.test",
    }
    return replace(Settings.from_env(env), warehouse_url=url)


def national_copy(server_url, smtp_server, tmp_path_factory, national_template: str, name: str) -> Settings:
    """A new database copied from national_template, with its own data folder."""
    return make_settings(
        server_url, tmp_path_factory.mktemp(name), f"{name}_{os.getpid()}", smtp_server.port, national_template
    )


def held_by(url: str, table: str) -> psycopg.Connection:
    """A session that holds `table` exclusively, so that whoever needs it next waits there."""
    blocker = psycopg.connect(url)
    blocker.execute(f"lock table {table} in access exclusive mode")
    return blocker


def marts_checksums(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return backup.marts_checksums(conn)


def indicator_workbook(path: Path, rows: list[list]) -> Path:
    """A workbook with the contract's indicator sheet: its Vietnamese headers, then `rows` as given."""
    import openpyxl

    from ingestion.contract import sheet_columns, sheet_title

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title()
    sheet.append([c.header_vi for c in sheet_columns()])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def published(settings, province: str, period: str, indicator: str = "security_teams") -> int | None:
    """The province's published figure of the indicator for the period (marts.mart_province_indicator)."""
    with psycopg.connect(settings.warehouse_url) as conn:
        row = conn.execute(
            "select value from marts.mart_province_indicator"
            " where province_code = %s and period_code = %s and indicator_code = %s",
            [province, period, indicator],
        ).fetchone()
    return row and row[0]
