"""Every kind of faulty file a province can send gets its precise reason, and nothing is half-stored."""

from __future__ import annotations

import threading
from dataclasses import replace

import psycopg
import pytest

from ingestion.faults import FAULTS, good_rows, write_fault
from ingestion.loader import ingest_file
from tests.test_ingest import write_csv
from warehouse.__main__ import file_status


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_each_fault_gets_its_reason_and_stores_nothing_but_the_record(settings, conn, kind):
    fault = FAULTS[kind]
    result = ingest_file(conn, write_fault(settings.landing_dir, kind), settings)
    stored_rows = conn.execute("select count(*) from raw.indicator_value").fetchone()[0]
    if not fault.expected:
        assert result.status == "accepted", [p.describe() for p in result.problems]
        assert stored_rows == len(good_rows())
        return
    assert result.status == "rejected"
    assert fault.expected in {p.code for p in result.problems}, [p.describe() for p in result.problems]
    assert stored_rows == 0
    for problem in result.problems:
        assert problem.file_name == fault.file_name and problem.reason_en and problem.reason_vi
    recorded = conn.execute(
        "select count(*) from ingest.rejection where submission_id = %s", [result.submission_id]
    ).fetchone()[0]
    assert recorded == len(result.problems)


def test_a_file_over_the_size_limit_is_refused_unread(settings, conn):
    small = replace(settings, max_file_bytes=64 * 1024)
    big = write_csv(small, "01", "2026-09", good_rows() * 2000, name="huge.csv")
    assert big.stat().st_size > small.max_file_bytes
    result = ingest_file(conn, big, small)
    assert {p.code for p in result.problems} == {"file_too_large"}


def test_two_versions_arriving_at_once_load_one_after_the_other(settings):
    rows_v1, rows_v2 = good_rows(), good_rows()
    rows_v2[0][4] = "27"
    paths = [
        write_csv(settings, "01", "2026-09", rows_v1, name="a.csv"),
        write_csv(settings, "01", "2026-09", rows_v2, name="b.csv"),
    ]
    results = {}
    start = threading.Barrier(2)

    def load(path):
        with psycopg.connect(settings.warehouse_url, autocommit=True) as own:
            start.wait()
            results[path.name] = ingest_file(own, path, settings)

    threads = [threading.Thread(target=load, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.version for r in results.values()) == [1, 2]
    with psycopg.connect(settings.warehouse_url) as conn:
        statuses = sorted(r[0] for r in conn.execute("select status from ingest.submission"))
        rows = conn.execute("select count(*) from raw.indicator_value").fetchone()[0]
    assert statuses == ["accepted", "superseded"]
    assert rows == 2 * len(good_rows()), "both versions kept whole, neither half-written"


def test_the_status_command_shows_versions_and_every_reason(settings, conn):
    ingest_file(conn, write_fault(settings.landing_dir, "negative count"), settings)
    ingest_file(conn, write_fault(settings.landing_dir, "period mismatch"), settings)
    shown = file_status(conn, "negative")
    assert "negative.csv" in shown and "rejected" in shown
    assert "row 2, value: '-26' must not be negative / không được là số âm" in shown
    assert "no file matching" in file_status(conn, "nothing-like-this")
