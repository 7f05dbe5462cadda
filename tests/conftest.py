"""Fixtures: one embedded Postgres for the session (or ANTQ_WAREHOUSE_URL), a fresh database per test. What
test modules import besides fixtures is in tests/helpers.py."""

from __future__ import annotations

import os

import psycopg
import pytest
from aiosmtpd.controller import Controller

from core.db import start_embedded
from core.settings import Settings
from tests.helpers import Mailbox, counter, free_port, make_settings

CHAOS = pytest.StashKey[list]()
# Beside e2e (pyproject.toml): what make test-fast leaves out, as make test runs everything.
MARKERS = (
    "browser: drives a real Chromium (selenium); make test installs it",
    "chaos: injects a fault (kill -9, Postgres stopped, a full disk) into the work and checks what holds after",
    "slow: a minute or more, or on the national warehouse (slow to build); left out of make test-fast",
)


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(config, items):
    """A test on the national warehouse is slow: national_template ingests and publishes three months of all 34
    provinces (102 files) on each worker before the first such test, and these tests build and publish it again
    (half the time of what make test-fast would otherwise run)."""
    for item in items:
        if "national_template" in item.fixturenames:
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="session")
def prepared_template(server_url, tmp_path_factory) -> str:
    """A database with the schema and reference data loaded once, copied for each test (much faster)."""
    from warehouse.pipeline import prepare_warehouse

    name = f"antq_template_{os.getpid()}"
    prepare_warehouse(make_settings(server_url, tmp_path_factory.mktemp("template"), name))
    return name


@pytest.fixture
def settings(server_url, smtp_server, prepared_template, tmp_path) -> Settings:
    """Settings pointing at a brand-new database and data folder: a copy of prepared_template (schema,
    reference and grants), prepared once per worker and not again here."""
    name = f"antq_test_{os.getpid()}_{next(counter)}"
    return make_settings(server_url, tmp_path, name, smtp_server.port, template=prepared_template)


NATIONAL_MONTHS = ("2026-07", "2026-08", "2026-09")


@pytest.fixture(scope="session")
def national_template(server_url, smtp_server, tmp_path_factory) -> str:
    """A warehouse with NATIONAL_MONTHS from all 34 provinces ingested and published, built once and copied
    by tests.helpers.national_copy for each module that starts from it."""
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


@pytest.fixture
def conn(settings):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as connection:
        yield connection
