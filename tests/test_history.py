"""A province's history across the 2025 reorganisation: per-commune counts fall by two thirds when
communes merge, and the outlier check must not call that an anomaly."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import namedtuple_row

from expectations.suites import SUBMISSION_SCHEMA, submission_suites
from ingestion.loader import ingest_file
from tests.helpers import make_settings
from tests.test_ingest import write_csv
from warehouse import pipeline


@pytest.fixture(scope="module")
def built(server_url, smtp_server, prepared_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    settings = make_settings(server_url, folder, "antq_history", smtp_server.port, prepared_template)
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
        # Security teams in four of those years: none is reported for 2021 (see the year-over-year test).
        teams = {2019: 40, 2020: 44, 2022: 50, 2023: 55}
        for year in range(2019, 2025):
            rows = [[str(year), legacy, "steering_committees", "", "547", "", ""]]
            if year in teams:
                rows.append([str(year), legacy, "security_teams", "", str(teams[year]), "", ""])
            assert ingest_file(conn, write_csv(settings, "38", str(year), rows), settings).status == "accepted"
        rows = [["2025", current, "steering_committees", "", "166", "", ""]]
        assert ingest_file(conn, write_csv(settings, "38", "2025", rows), settings).status == "accepted"
        # A year of months at 100 propaganda sessions, then July 2026 alone at 30: its quarter so far (30)
        # is a tenth of the full quarters before it (300) only because two of its months are not in yet.
        for month in [*(f"2025-{m:02d}" for m in range(7, 13)), *(f"2026-{m:02d}" for m in range(1, 8))]:
            rows = [[month, current, "propaganda_sessions", "", "30" if month == "2026-07" else "100", "", ""]]
            assert ingest_file(conn, write_csv(settings, "38", month, rows), settings).status == "accepted"
    pipeline.check_submissions(settings)
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


def test_a_figure_is_compared_with_the_same_period_a_year_earlier_and_only_with_it(built):
    with psycopg.connect(built.warehouse_url) as conn:
        rows = {
            (indicator, period): rest
            for indicator, period, *rest in conn.execute(
                "select indicator_code, period_code, previous_year_value, yoy_change, yoy_change_pct"
                " from build.mart_province_indicator where province_code = '38'"
                " and indicator_code in ('security_teams', 'propaganda_sessions')"
            )
        }
    assert rows["security_teams", "2019"] == [None, None, None]
    assert rows["security_teams", "2020"] == [40, 4, 10.0]
    assert rows["security_teams", "2022"] == [None, None, None], "2021 is missing: 2020 is not a year earlier"
    assert rows["security_teams", "2023"] == [50, 5, 10.0]
    assert rows["propaganda_sessions", "2025-08"] == [None, None, None]
    assert rows["propaganda_sessions", "2026-07"] == [100, -70, -70.0]
    assert rows["propaganda_sessions", "2026-Q3"] == [300, -270, -90.0]


def outliers(settings) -> list[tuple]:
    """The (period, indicator) of the figures the outlier check finds (one row per submission behind each)."""
    import great_expectations as gx

    gx.get_context(mode="ephemeral")
    check = next(e for e in submission_suites()[TABLE].expectations if e.meta["check"] == "outlier")
    with psycopg.connect(settings.warehouse_url, row_factory=namedtuple_row) as conn:
        query = check.unexpected_rows_query.format(batch=f"{SUBMISSION_SCHEMA}.{TABLE}")
        return sorted({(row.period_code, row.indicator_code) for row in conn.execute(query).fetchall()})


TABLE = "int_province_indicator_periods"
STORED = "int_province_figures"  # the figures TABLE (a view) shows with the submissions not yet published


def test_the_drop_at_the_reorganisation_is_not_an_outlier(built):
    assert ("2025", "steering_committees") not in outliers(built)


def test_a_quarter_with_only_some_of_its_months_is_not_an_outlier(built):
    with psycopg.connect(built.warehouse_url) as conn:
        quarter = conn.execute(
            "select value, median_last_6, is_complete from build.mart_province_indicator"
            " where province_code = '38' and indicator_code = 'propaganda_sessions' and period_code = '2026-Q3'"
        ).fetchone()
    assert quarter == (30, 300, False), "ten times below its history, because it is incomplete"
    assert outliers(built) == []


def test_a_real_jump_is_still_an_outlier(built):
    with psycopg.connect(built.warehouse_url, autocommit=True) as conn:
        conn.execute(
            f"update {SUBMISSION_SCHEMA}.{STORED} set value = 2000 where province_code = '38'"
            " and indicator_code = 'propaganda_sessions' and period_code = '2026-Q2'"
        )
    assert outliers(built) == [("2026-Q2", "propaganda_sessions")]
