"""The star schema and marts with real dbt on worked examples taken from the seed articles."""

from __future__ import annotations

import multiprocessing
import time
from contextlib import contextmanager

import psycopg
import pytest

from core import schemas
from core.settings import DBT_PROJECT_DIR
from ingestion.loader import ingest_file
from publishing.transform import DbtFailed
from tests.helpers import make_settings
from tests.test_ingest import write_csv
from warehouse import pipeline
from warehouse.__main__ import main


def communes(conn, province: str, count: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select unit_code from ref.unit where map = 'current' and province_code = %s and unit_level = 'commune'"
            " order by 1 limit %s",
            [province, count],
        )
    ]


def count_rows(period, unit, values: dict[str, int]) -> list[list[str]]:
    return [[period, unit, code, "", str(value), "", ""] for code, value in values.items()]


@pytest.fixture(scope="module")
def built(server_url, smtp_server, prepared_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("marts")
    settings = make_settings(server_url, folder, "antq_marts", smtp_server.port, prepared_template)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        a, b = communes(conn, "38", 2)
        # Thanh Hóa's year (seed 000): 4,351 teams with 8,702 members, 34,931 ANXH teams with 99% of
        # households, 909 models of which 165 launched in the year; spread over two communes.
        rows = count_rows(
            "2026",
            a,
            {
                "security_teams": 4000,
                "security_team_members": 8000,
                "anxh_teams": 30000,
                "models_active": 900,
                "models_launched": 160,
            },
        )
        rows += count_rows(
            "2026",
            b,
            {
                "security_teams": 351,
                "security_team_members": 702,
                "anxh_teams": 4931,
                "models_active": 9,
                "models_launched": 5,
            },
        )
        rows += [
            ["2026", a, "households_in_anxh", "", "", "990", "1000"],
            ["2026", b, "households_in_anxh", "", "", "9900", "10000"],
        ]
        assert ingest_file(conn, write_csv(settings, "38", "2026", rows), settings).status == "accepted"
        (hanoi,) = communes(conn, "01", 1)
        monthly = {"2026-07": (10, 5, 900), "2026-08": (11, 6, 950), "2026-09": (12, 7, 980)}
        for month, (teams, sessions, households) in monthly.items():
            rows = count_rows(month, hanoi, {"security_teams": teams, "propaganda_sessions": sessions})
            rows.append([month, hanoi, "households_in_anxh", "", "", str(households), "1000"])
            assert ingest_file(conn, write_csv(settings, "01", month, rows), settings).status == "accepted"
    pipeline.build_marts(settings)
    return settings


def province_value(settings, province, period, indicator, columns="value"):
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute(
            f"select {columns} from build.mart_province_indicator"
            " where province_code = %s and period_code = %s and indicator_code = %s",
            [province, period, indicator],
        ).fetchone()


def test_the_seed_province_figures_come_out_as_reported(built):
    for indicator, expected in {
        "security_teams": 4351,
        "security_team_members": 8702,
        "anxh_teams": 34931,
        "models_active": 909,
        "models_launched": 165,
    }.items():
        assert province_value(built, "38", "2026", indicator) == (expected,), indicator


def test_a_ratio_is_the_sum_of_numerators_over_the_sum_of_denominators(built):
    numerator, denominator, pct = province_value(
        built, "38", "2026", "households_in_anxh", "numerator, denominator, ratio_pct"
    )
    assert (numerator, denominator) == (10890, 11000)
    assert float(pct) == 99.0, "Σ10890/Σ11000, not the mean of 99% and 99%"


def test_a_quarter_takes_its_last_months_stock_and_sums_its_flows(built):
    assert province_value(built, "01", "2026-Q3", "security_teams", "value, source, is_complete") == (
        12,
        "rolled_up_from_month",
        True,
    )
    assert province_value(built, "01", "2026-Q3", "propaganda_sessions") == (18,)
    assert province_value(built, "01", "2026-Q3", "households_in_anxh", "numerator, denominator") == (980, 1000)


def test_a_year_rolled_up_from_three_months_is_marked_incomplete(built):
    assert province_value(built, "01", "2026", "propaganda_sessions", "value, is_complete") == (18, False)
    assert province_value(built, "01", "2026-H2", "security_teams", "value, is_complete") == (12, False)


def test_the_national_figure_is_the_sum_over_provinces(built):
    with psycopg.connect(built.warehouse_url) as conn:
        national = conn.execute(
            "select value, provinces_reporting from build.mart_national_indicator"
            " where period_code = '2026' and indicator_code = 'security_teams'"
        ).fetchone()
        ratio = conn.execute(
            "select numerator, denominator, ratio_pct from build.mart_national_indicator"
            " where period_code = '2026' and indicator_code = 'households_in_anxh'"
        ).fetchone()
    assert national == (4351 + 12, 2)
    assert ratio[:2] == (10890 + 980, 11000 + 1000)
    assert float(ratio[2]) == round(100 * 11870 / 12000, 2)


def test_every_table_the_build_makes_is_analyzed_before_the_gate_reads_it(built):
    # The gate queries these tables seconds after the build; without statistics the planner takes 170k rows
    # for a few hundred and nested-loops them (the first gate at national-10y ran past 10 minutes).
    models = [path.stem for path in (DBT_PROJECT_DIR / "models").rglob("*.sql")]
    with psycopg.connect(built.warehouse_url) as conn:
        tables = conn.execute(
            "select schemaname || '.' || relname, last_analyze is not null from pg_stat_user_tables"
            " where schemaname = any(%s) and relname = any(%s)",
            [[schemas.INTERMEDIATE, schemas.BUILD], models],
        ).fetchall()
    assert {"intermediate.int_submission_totals", "build.mart_province_indicator"} <= {t for t, _ in tables}
    assert [table for table, analyzed in tables if not analyzed] == []
    with psycopg.connect(built.warehouse_url) as conn:
        sampled = {
            row[0]
            for row in conn.execute(
                "select attname from pg_stats where schemaname = 'build' and tablename = 'mart_province_indicator'"
            )
        }
    # Only the columns BI and the gate pick its rows by (its meta analyze_columns): not its 28.
    assert {"province_code", "period_code", "indicator_code", "period_start", "is_complete"} <= sampled
    assert "indicator_name_vi" not in sampled


def test_the_planner_knows_roughly_how_many_figures_are_new(built):
    # The gate's reconciliation joins the new submitted figures with their sums. Taken for 284 when a first
    # build at national-10y has 106,080, they were joined in a nested loop: over 17 minutes instead of one.
    new = (
        "select * from intermediate.int_province_indicator_periods"
        " where cardinality(new_submission_ids) > 0 and source = 'submitted'"
    )
    with psycopg.connect(built.warehouse_url) as conn:
        actual = conn.execute(f"select count(*) from ({new}) as figures").fetchone()[0]
        estimated = conn.execute(f"explain (format json) {new}").fetchone()[0][0]["Plan"]["Plan Rows"]
        submitted = conn.execute(
            "select count(*) from intermediate.int_province_figures where source = 'submitted'"
        ).fetchone()[0]
    assert actual == submitted > 10, "nothing is published: every submitted figure is new"
    assert estimated >= actual / 5, f"{estimated} new figures expected, {actual} found"


def test_completeness_lists_every_province_for_every_expected_period(built):
    with psycopg.connect(built.warehouse_url) as conn:
        rows = conn.execute(
            "select province_code, status from build.mart_reporting_completeness where period_code = '2026-Q3'"
        ).fetchall()
    assert len(rows) == 34
    # 2026-Q3 was due on 2026-10-15; Hà Nội's monthly files are not the quarterly report.
    assert {status for _, status in rows} == {"missing"}


def test_a_resubmission_changes_the_marts_exactly_where_it_should(built):
    query = (
        "select province_code, period_code, indicator_code, value, numerator, denominator, yoy_change,"
        " province_rank, is_complete from build.mart_province_indicator"
    )
    with psycopg.connect(built.warehouse_url, autocommit=True) as conn:
        before = {row[:3]: row for row in conn.execute(query)}
        (hanoi,) = communes(conn, "01", 1)
        rows = count_rows("2026-08", hanoi, {"security_teams": 11, "propaganda_sessions": 60})
        rows.append(["2026-08", hanoi, "households_in_anxh", "", "", "950", "1000"])
        result = ingest_file(conn, write_csv(built, "01", "2026-08", rows, name="v2.csv"), built)
        assert (result.status, result.version) == ("accepted", 2)
    pipeline.build_marts(built)
    with psycopg.connect(built.warehouse_url) as conn:
        after = {row[:3]: row for row in conn.execute(query)}
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert changed == {("01", period, "propaganda_sessions") for period in ("2026-08", "2026-Q3", "2026-H2", "2026")}
    assert after[("01", "2026-Q3", "propaganda_sessions")][3] == 5 + 60 + 7


def stored_figures(settings) -> dict[tuple, tuple]:
    """The stored province figures by key: (the transaction that wrote the row, the row)."""
    with psycopg.connect(settings.warehouse_url) as conn:
        rows = conn.execute(f"select xmin::text, * from {schemas.INTERMEDIATE}.int_province_figures").fetchall()
    return {row[1:4]: (row[0], row[1:]) for row in rows}


def analyze_runs(settings, table: str) -> int:
    """How many times the table was analyzed by a command (autovacuum's own are counted apart)."""
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute(
            "select analyze_count from pg_stat_user_tables where relid = %s::regclass", [table]
        ).fetchone()[0]


def test_a_resubmission_makes_only_its_provinces_figures_again_and_as_a_full_rebuild_would(built, monkeypatch):
    before = stored_figures(built)
    figures = f"{schemas.INTERMEDIATE}.int_province_figures"
    analyzed = analyze_runs(built, figures)
    assert analyzed >= 1, "analyzed when it was made"
    with psycopg.connect(built.warehouse_url, autocommit=True) as conn:
        (hanoi,) = communes(conn, "01", 1)
        rows = count_rows("2026-09", hanoi, {"security_teams": 13, "propaganda_sessions": 70})
        rows.append(["2026-09", hanoi, "households_in_anxh", "", "", "980", "1000"])
        assert ingest_file(conn, write_csv(built, "01", "2026-09", rows, name="v2.csv"), built).status == "accepted"
    pipeline.build_marts(built)
    after = stored_figures(built)
    assert {key[0] for key, (xmin, _) in after.items() if before.get(key, ("",))[0] != xmin} == {"01"}
    assert {"01", "38"} <= {key[0] for key in after}
    assert after[("01", "2026-Q3", "propaganda_sessions")][1][3] == 5 + 60 + 70
    # One province's rows of many: the statistics of the table still hold, and analyzing it again at every
    # publish cost 0.5-1 s at national-10y (macros/analyze_built.sql).
    assert analyze_runs(built, figures) == analyzed
    assert analyze_runs(built, "build.mart_province_indicator") == 1, "a table is made anew, and analyzed"

    # What a data engineer runs after changing the SQL the figures are made from (README).
    monkeypatch.setenv("ANTQ_WAREHOUSE_URL", built.warehouse_url)
    monkeypatch.setenv("ANTQ_DATA_DIR", str(built.data_dir))
    rebuild = ["build", "--full-refresh", "--select", "int_province_figures", "int_province_indicator_periods"]
    assert main(["dbt", *rebuild]) == 0
    rebuilt = stored_figures(built)
    assert {key: row for key, (_, row) in rebuilt.items()} == {key: row for key, (_, row) in after.items()}


@contextmanager
def a_repeated_fact(settings):
    """One fact stored twice while the block runs, for the history tests to find; removed after it."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute(
            "insert into raw.indicator_value"
            " select * from raw.indicator_value where indicator_code = 'security_teams' limit 1"
        )
    try:
        yield
    finally:
        with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
            conn.execute(
                "delete from raw.indicator_value where ctid = (select max(ctid)"
                " from raw.indicator_value where indicator_code = 'security_teams')"
            )


def test_the_history_tests_pass_on_the_fact_store_and_catch_a_repeated_fact(built):
    pipeline.check_fact_history(built)
    with a_repeated_fact(built), pytest.raises(DbtFailed, match="unique_combination_int_indicator_values"):
        pipeline.check_fact_history(built)


def _run_in_child(step: str, settings, answers) -> None:
    try:
        getattr(pipeline, step)(settings)
        answers.put((step, "ok"))
    except Exception as error:  # the answer names what failed in the child
        answers.put((step, f"{type(error).__name__}: {error}"))


def _waiting(conn) -> int:
    return conn.execute(
        "select count(*) from pg_locks where not granted"
        " and (database = (select oid from pg_database where datname = current_database()) or locktype = 'advisory')"
    ).fetchone()[0]


def test_the_history_tests_wait_for_a_build_in_another_process_instead_of_failing(built):
    """A build drops the fact store view (cascade from the staging view it replaces) and makes it again after
    the units. Here a reader holds the units, so the build stops with no fact store, and the history tests
    start in another process. They must wait and then run (finding the repeated fact put in for them): before,
    they failed with "int_indicator_values does not exist", or skipped as if nothing were built."""
    with a_repeated_fact(built):  # what they must find, so they ran
        outcomes = _history_tests_started_while_a_build_has_no_fact_store(built)
    assert outcomes["build_marts"] == "ok"
    assert outcomes["check_fact_history"].startswith("DbtFailed"), outcomes["check_fact_history"]
    assert "unique_combination_int_indicator_values" in outcomes["check_fact_history"]
    assert "does not exist" not in outcomes["check_fact_history"]


def _history_tests_started_while_a_build_has_no_fact_store(built) -> dict[str, str]:
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    with psycopg.connect(built.warehouse_url) as reader:
        reader.execute(f"select count(*) from {schemas.INTERMEDIATE}.int_units").fetchone()  # held until commit
        build = context.Process(target=_run_in_child, args=("build_marts", built, answers))
        build.start()
        with psycopg.connect(built.warehouse_url, autocommit=True) as watcher:

            def store_gone_and_build_waiting() -> bool:
                gone = watcher.execute("select to_regclass(%s) is null", [schemas.FACT_STORE]).fetchone()[0]
                return gone and _waiting(watcher) >= 1

            deadline = time.monotonic() + 120
            while not store_gone_and_build_waiting() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert store_gone_and_build_waiting(), "the build never stopped without its fact store"
            history = context.Process(target=_run_in_child, args=("check_fact_history", built, answers))
            history.start()
            while _waiting(watcher) < 2 and history.is_alive() and time.monotonic() < deadline:
                time.sleep(0.2)
    for process in (build, history):
        process.join(300)
    return dict(answers.get(timeout=10) for _ in range(2))


def test_a_repeated_total_or_figure_is_refused_by_the_warehouse(built):
    """int_submission_totals and int_province_figures keep one row per key with a unique index: a build that
    would repeat one fails, as the test that read every row at each publish did."""
    for table in ("int_submission_totals", "int_province_figures"):
        with psycopg.connect(built.warehouse_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                f"insert into {schemas.INTERMEDIATE}.{table} select * from {schemas.INTERMEDIATE}.{table} limit 1"
            )
