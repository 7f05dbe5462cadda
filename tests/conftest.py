"""Fixtures: one embedded Postgres for the session (or ANTQ_WAREHOUSE_URL), a fresh database per test."""

from __future__ import annotations

import itertools
import os
import socket
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller

from warehouse import backup
from warehouse.db import start_embedded
from warehouse.migrate import migrate
from warehouse.settings import Settings

_counter = itertools.count()
CHAOS = pytest.StashKey[list]()


@pytest.fixture
def chaos_table(request) -> list[tuple[str, str, str]]:
    """Rows (fault, what was checked, result) of tests/test_chaos.py, printed at the end of the run."""
    return request.config.stash.setdefault(CHAOS, [])


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker: its rows go to the controller
        session.config.workeroutput["chaos"] = session.config.stash.get(CHAOS, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: a worker finished, with the rows of its chaos tests."""
    node.config.stash.setdefault(CHAOS, []).extend(tuple(row) for row in node.workeroutput.get("chaos", []))


def pytest_terminal_summary(terminalreporter, config):
    rows = config.stash.get(CHAOS, [])
    if rows:
        terminalreporter.section("faults injected")
        for fault, checked, result in rows:
            terminalreporter.write_line(f"{fault:48} | {checked:78} | {result}")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> str:
    """URL of a database on the server the tests may create databases on."""
    given = os.environ.get("ANTQ_WAREHOUSE_URL")
    if given:
        return given
    settings = Settings.from_env({"ANTQ_DATA_DIR": str(tmp_path_factory.mktemp("embedded"))})
    return start_embedded(settings)


@pytest.fixture
def own_server(tmp_path):
    """A Postgres server of this test's own (with an empty database `antq`), to restore into or to stop."""
    import pgserver

    server = pgserver.get_server(tmp_path / "own-pg", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("create database antq")
    yield server
    server.cleanup()


def publish_run(settings) -> None:
    """Build, gate and publish (without the submission checks, which only decide holds)."""
    from warehouse import pipeline

    pipeline.build_marts(settings)
    pipeline.publish_marts(pipeline.validate_marts(settings), settings)


def _database_url(server_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        if template:  # Great Expectations' connection pools stay open after a run in this process
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", [template])
        conn.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return f"{base}?{query}" if query else base


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


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    smtp_server.take()
    return smtp_server


def make_settings(
    server_url: str, data_dir: Path, name: str, smtp_port: int = 0, template: str | None = None
) -> Settings:
    url = _database_url(server_url, name, template)
    env = {
        "ANTQ_DATA_DIR": str(data_dir),
        "ANTQ_SMTP_HOST": "127.0.0.1",
        "ANTQ_SMTP_PORT": str(smtp_port),
        "ANTQ_DATA_TEAM": "data-team@antq.test",
    }
    return replace(Settings.from_env(env), warehouse_url=url)


@pytest.fixture(scope="session")
def prepared_template(server_url, tmp_path_factory) -> str:
    """A database with the schema and reference data loaded once, copied for each test (much faster)."""
    from warehouse.pipeline import prepare_warehouse

    name = f"antq_template_{os.getpid()}"
    prepare_warehouse(make_settings(server_url, tmp_path_factory.mktemp("template"), name))
    return name


@pytest.fixture
def settings(server_url, smtp_server, prepared_template, tmp_path) -> Settings:
    """Settings pointing at a brand-new database and data folder, with the schema and reference loaded."""
    from warehouse.pipeline import prepare_warehouse

    name = f"antq_test_{os.getpid()}_{next(_counter)}"
    settings = make_settings(server_url, tmp_path, name, smtp_server.port, template=prepared_template)
    prepare_warehouse(settings)  # database-level grants are not copied from a template
    return settings


NATIONAL_MONTHS = ("2026-07", "2026-08", "2026-09")


@pytest.fixture(scope="session")
def national_template(server_url, smtp_server, tmp_path_factory) -> str:
    """A warehouse with NATIONAL_MONTHS from all 34 provinces ingested and published, built once and copied
    by national_copy for each module that starts from it."""
    from ingestion.generator import current_province_codes, write_submission
    from ingestion.loader import ingest_file
    from warehouse import pipeline

    name = f"antq_national_{os.getpid()}"
    settings = make_settings(server_url, tmp_path_factory.mktemp("national"), name, smtp_server.port)
    pipeline.prepare_warehouse(settings)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for month in NATIONAL_MONTHS:
            for province in current_province_codes():
                ingest_file(conn, write_submission(settings.landing_dir, province, month), settings)
    assert pipeline.publish_new_figures(settings)["held"] == []
    smtp_server.take()
    return name


def national_copy(server_url, smtp_server, tmp_path_factory, national_template: str, name: str) -> Settings:
    """A new database copied from national_template, with its own data folder."""
    from warehouse.pipeline import prepare_warehouse

    settings = make_settings(
        server_url, tmp_path_factory.mktemp(name), f"{name}_{os.getpid()}", smtp_server.port, national_template
    )
    prepare_warehouse(settings)  # database-level grants are not copied from a template
    return settings


@pytest.fixture
def conn(settings):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as connection:
        migrate(connection)
        yield connection


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
