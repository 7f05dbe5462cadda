"""Backup and restore into an empty server: identical marts, and ingestion continues where it stopped."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import ingest_file
from tests.helpers import marts_checksums, publish_run
from warehouse.backup import MANIFEST, RestoreError, backup, restore

PERIOD = "2026-09"


@pytest.fixture
def other_server(own_server):
    """An empty Postgres server of its own, as a machine rebuilt after a disk was lost would have."""
    return own_server.get_uri("antq")


def test_a_restored_warehouse_has_the_same_marts_and_goes_on_ingesting(settings, tmp_path, other_server):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for province in ("01", "38"):
            sent = write_submission(settings.landing_dir, province, PERIOD)
            shutil.copy(sent, tmp_path / sent.name)  # what the province keeps of what it sent
            assert ingest_file(conn, sent, settings).status == "accepted"
    publish_run(settings)
    manifest = backup(settings, tmp_path / "backup")
    assert manifest["submissions"] == 2 and manifest["last_publish_id"] == 1
    with pytest.raises(RestoreError, match="not empty"):
        backup(settings, tmp_path / "backup")

    moved = tmp_path / "rebuilt"
    rebuilt = replace(
        settings,
        data_dir=moved,
        landing_dir=moved / "landing",
        quarantine_dir=moved / "quarantine",
        warehouse_url=other_server,
    )
    restore(rebuilt, tmp_path / "backup")
    assert marts_checksums(other_server) == marts_checksums(settings.warehouse_url)
    with psycopg.connect(other_server, autocommit=True) as conn:
        paths = [Path(r[0]) for r in conn.execute("select stored_path from ingest.submission order by 1")]
        assert all(p.is_relative_to(moved / "archive") and p.exists() for p in paths), (
            "the received files are in the new folders, where the restored registry says"
        )
        # The same file sent again is known; a corrected one is the next version.
        resent = rebuilt.landing_dir / "38" / PERIOD / "38_2026-09.csv"
        resent.parent.mkdir(parents=True)
        shutil.copy(tmp_path / "38_2026-09.csv", resent)
        assert ingest_file(conn, resent, rebuilt).status == "duplicate"
        corrected = rewrite_submission(tmp_path / "38_2026-09.csv", resent, "security_teams", lambda v: v + 1)
        result = ingest_file(conn, corrected, rebuilt)
        assert (result.status, result.version) == ("accepted", 2)
    publish_run(rebuilt)  # the restored warehouse builds, checks and publishes
    with psycopg.connect(other_server, autocommit=True) as conn:
        conn.execute("set role antq_bi_reader")
        assert conn.execute("select count(*) from marts.fct_submission where current_version = 2").fetchone()[0] == 1
        assert conn.execute("select max(publish_id) from marts.publish_log").fetchone()[0] == 2

    with pytest.raises(RestoreError, match="not empty"):
        restore(rebuilt, tmp_path / "backup")


def test_a_damaged_backup_restores_nothing_and_says_why(settings, tmp_path, other_server):
    backup(settings, tmp_path / "backup")
    dump = tmp_path / "backup" / "warehouse.dump"
    whole = dump.read_bytes()
    dump.write_bytes(whole[: len(whole) // 2])
    target = replace(settings, data_dir=tmp_path / "rebuilt", warehouse_url=other_server)
    with pytest.raises(RestoreError, match="pg_restore failed"):
        restore(target, tmp_path / "backup")
    with psycopg.connect(other_server) as conn:
        assert conn.execute("select count(*) from pg_namespace where nspname in ('meta', 'raw')").fetchone()[0] == 0
    dump.write_bytes(whole)
    manifest = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    manifest["marts"]["dim_unit"] = "1:not-what-was-dumped"
    (tmp_path / "backup" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RestoreError, match="differ from the backup's checksums: dim_unit"):
        restore(target, tmp_path / "backup")
