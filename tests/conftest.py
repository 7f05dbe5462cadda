"""Fixtures: one embedded Postgres for the session (or ANTQ_WAREHOUSE_URL), a fresh database per test."""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from warehouse.db import start_embedded
from warehouse.migrate import migrate
from warehouse.settings import Settings

_counter = itertools.count()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> str:
    """URL of a database on the server the tests may create databases on."""
    given = os.environ.get("ANTQ_WAREHOUSE_URL")
    if given:
        return given
    settings = Settings.from_env({"ANTQ_DATA_DIR": str(tmp_path_factory.mktemp("embedded"))})
    return start_embedded(settings)


def _database_url(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return f"{base}?{query}" if query else base


def make_settings(server_url: str, data_dir: Path, name: str) -> Settings:
    url = _database_url(server_url, name)
    return replace(Settings.from_env({"ANTQ_DATA_DIR": str(data_dir), "ANTQ_SMTP_PORT": "0"}), warehouse_url=url)


@pytest.fixture
def settings(server_url, tmp_path) -> Settings:
    """Settings pointing at a brand-new database and data folder, with the schema and reference loaded."""
    from warehouse.pipeline import prepare_warehouse

    settings = make_settings(server_url, tmp_path, f"antq_test_{os.getpid()}_{next(_counter)}")
    prepare_warehouse(settings)
    return settings


@pytest.fixture
def conn(settings):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as connection:
        migrate(connection)
        yield connection
