"""A province's history across the 2025 reorganisation: per-commune counts fall by two thirds when
communes merge, and the outlier check must not call that an anomaly."""

from __future__ import annotations

import psycopg
import pytest

from ingestion.loader import ingest_file
from tests.conftest import make_settings
from tests.test_ingest import write_csv
from warehouse import pipeline


@pytest.fixture(scope="module")
def built(server_url, smtp_server, tmp_path_factory):
    settings = make_settings(server_url, tmp_path_factory.mktemp("history"), "antq_history", smtp_server.port)
    pipeline.prepare_warehouse(settings)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        legacy, current = (
            conn.execute(
                "select unit_code from ref.unit where map = %s and province_code = '38' and unit_level = 'commune'"
                " order by 1 limit 1",
                [unit_map],
            ).fetchone()[0]
            for unit_map in ("legacy", "current")
        )
        # Thanh Hóa had ~550 communes, each with its steering committee; since 2025-07 it has 166.
        for year in range(2019, 2025):
            rows = [[str(year), legacy, "steering_committees", "", "547", "", ""]]
            assert ingest_file(conn, write_csv(settings, "38", str(year), rows), settings).status == "accepted"
        rows = [["2025", current, "steering_committees", "", "166", "", ""]]
        assert ingest_file(conn, write_csv(settings, "38", "2025", rows), settings).status == "accepted"
    pipeline.build_marts(settings)
    return settings


def test_the_median_of_history_stays_on_the_map_of_the_period(built):
    with psycopg.connect(built.warehouse_url) as conn:
        rows = dict(
            (period, (median, periods))
            for period, median, periods in conn.execute(
                "select period_code, median_last_6, periods_in_median from build.mart_province_indicator"
                " where province_code = '38' and indicator_code = 'steering_committees'"
            )
        )
    assert rows["2024"] == (547, 5), "five legacy years before 2024"
    assert rows["2025"] == (None, 0), "2025 ends on the current map: no history there yet"


def test_the_drop_at_the_reorganisation_is_not_an_outlier(built):
    report = pipeline.validate_marts(built)  # raises GateFailed on any critical finding
    assert not [f for f in report["findings"] if f["check"] == "outlier"]
