"""Figures reported at several levels count once, the parts must fit the whole, and every published figure
explains itself: real ingestion, dbt, Great Expectations and publishing on one warehouse."""

from __future__ import annotations

import psycopg
import pytest

from ingestion.loader import ingest_file
from publishing.lineage import explain
from tests.helpers import make_settings
from tests.test_ingest import write_csv
from warehouse import pipeline


def units(conn, unit_map: str, province: str, level: str, parent: str | None = None, count: int = 2) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select unit_code from ref.unit where map = %s and province_code = %s and unit_level = %s"
            " and (%s::text is null or parent_code = %s) order by unit_code limit %s",
            [unit_map, province, level, parent, parent, count],
        )
    ]


def count(period, unit, indicator, value, category=""):
    return [period, unit, indicator, category, str(value), "", ""]


def ratio(period, unit, indicator, numerator, denominator, category=""):
    return [period, unit, indicator, category, "", str(numerator), str(denominator)]


@pytest.fixture(scope="module")
def published(server_url, smtp_server, prepared_template, tmp_path_factory):
    """Thanh Hóa (38) and Sơn La (14) files mixing levels, ingested and published once."""
    folder = tmp_path_factory.mktemp("levels")
    settings = make_settings(server_url, folder, "antq_levels", smtp_server.port, prepared_template)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        c1, c2 = units(conn, "current", "38", "commune")
        rows = [
            count("2026-07", "38", "security_teams", 100),  # the province's own total ...
            count("2026-07", c1, "security_teams", 60),  # ... and two of its communes: detail
            count("2026-07", c2, "security_teams", 40),
            count("2026-07", c1, "anxh_teams", 60),  # communes only: their sum is the province's figure
            count("2026-07", c2, "anxh_teams", 40),
            ratio("2026-07", "38", "households_in_anxh", 50, 100),
            ratio("2026-07", c1, "households_in_anxh", 30, 60),
            ratio("2026-07", c2, "households_in_anxh", 20, 40),
            count("2026-07", c1, "propaganda_sessions", 10),
        ]
        assert ingest_file(conn, write_csv(settings, "38", "2026-07", rows), settings).status == "accepted"
        for month, sessions in (("2026-08", 20), ("2026-09", 30)):
            rows = [count(month, c1, "propaganda_sessions", sessions), count(month, "38", "security_teams", 90)]
            assert ingest_file(conn, write_csv(settings, "38", month, rows), settings).status == "accepted"
        # 2024, legacy map: Thanh Hóa's own total from the source article, with two communes under it.
        l1, l2 = units(conn, "legacy", "38", "commune")
        rows = [count("2024", "38", "security_teams", 4351), count("2024", l1, "security_teams", 30)]
        rows.append(count("2024", l2, "security_teams", 25))
        assert ingest_file(conn, write_csv(settings, "38", "2024", rows), settings).status == "accepted"
        # Sơn La 2023: the legacy district Sông Mã (126) and a commune of another district.
        other = next(d for d in units(conn, "legacy", "14", "district", count=5) if d != "126")
        [commune] = units(conn, "legacy", "14", "commune", parent=other, count=1)
        rows = [count("2023", "126", "training_conferences", 9), count("2023", commune, "training_conferences", 5)]
        assert ingest_file(conn, write_csv(settings, "14", "2023", rows), settings).status == "accepted"
    outcome = pipeline.publish_new_figures(settings)
    assert outcome["held"] == []
    return settings


def figure(settings, province, period, indicator) -> tuple:
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute(
            "select value, numerator, denominator from marts.mart_province_indicator"
            " where province_code = %s and period_code = %s and indicator_code = %s",
            [province, period, indicator],
        ).fetchone()


def test_a_province_total_with_its_communes_below_counts_once(published):
    assert figure(published, "38", "2026-07", "security_teams")[0] == 100
    with psycopg.connect(published.warehouse_url) as conn:
        rows = conn.execute(
            "select unit_level, value, is_counted from marts.fct_indicator_value"
            " where period_code = '2026-07' and indicator_code = 'security_teams' order by unit_level desc, value"
        ).fetchall()
    assert rows == [("province", 100, True), ("commune", 40, False), ("commune", 60, False)], "detail is kept"


def test_communes_without_a_province_row_add_up_to_the_province_figure(published):
    assert figure(published, "38", "2026-07", "anxh_teams")[0] == 100


def test_a_ratio_counts_its_parent_numerator_and_denominator_once(published):
    assert figure(published, "38", "2026-07", "households_in_anxh") == (None, 50, 100)


def test_a_stock_rolled_up_to_the_quarter_takes_the_last_month_at_the_level_given(published):
    assert figure(published, "38", "2026-Q3", "security_teams")[0] == 90


def test_a_legacy_district_and_a_commune_of_another_district_add_up_at_the_province(published):
    assert figure(published, "14", "2023", "training_conferences")[0] == 14
    with psycopg.connect(published.warehouse_url) as conn:
        rows = dict(
            conn.execute(
                "select unit_level, current_unit_key from marts.fct_indicator_value"
                " where period_code = '2023' and indicator_code = 'training_conferences'"
            ).fetchall()
        )
    assert rows["district"] is None, "a district maps to its province, never to an invented commune"
    assert rows["commune"].startswith("current:commune:"), "the commune keeps its today's unit"


def test_summing_the_counted_fact_rows_of_a_province_gives_the_province_mart(published):
    with psycopg.connect(published.warehouse_url) as conn:
        differences = conn.execute(
            """select m.period_code, m.indicator_code, m.value, f.value
               from marts.mart_province_indicator as m
               inner join (
                   select province_code, period_code, indicator_code, sum(value) as value,
                          sum(numerator) as numerator, sum(denominator) as denominator
                   from marts.fct_indicator_value where is_counted group by 1, 2, 3
               ) as f using (province_code, period_code, indicator_code)
               where m.value is distinct from f.value or m.numerator is distinct from f.numerator
                  or m.denominator is distinct from f.denominator"""
        ).fetchall()
        submitted = conn.execute("select count(*) from marts.mart_province_indicator where source = 'submitted'")
        assert submitted.fetchone()[0] >= 8
    assert differences == []


def test_explain_names_the_file_and_row_of_thanh_hoa_s_4351_security_teams(published):
    with psycopg.connect(published.warehouse_url) as conn:
        text = explain(conn, "38", "2024", "security_teams")
    lines = text.splitlines()
    assert "4,351" in lines[0] and "as submitted" in lines[0]
    [row] = [line for line in lines if "38_2024.csv v1" in line]
    assert "sheet indicators row 2" in row and "legacy:province:38" in row and "4,351" in row
    assert "sum of 1 rows: 4,351 (published: 4,351)" in text
    assert "2 more rows of these files are detail" in text


def test_explain_lists_each_month_of_a_figure_rolled_up_from_months(published):
    with psycopg.connect(published.warehouse_url) as conn:
        text = explain(conn, "38", "2026-Q3", "propaganda_sessions")
    assert "rolled up from month: 2026-07, 2026-08, 2026-09" in text
    for month in ("2026-07", "2026-08", "2026-09"):
        assert f"38_{month}.csv v1" in text
    assert "sum of 3 rows: 60 (published: 60)" in text


def test_a_file_whose_parts_exceed_the_whole_is_refused_naming_the_parent_and_its_rows(settings, conn):
    c1, c2 = units(conn, "current", "38", "commune")
    rows = [
        count("2026-07", c1, "security_teams", 70),
        count("2026-07", "38", "security_teams", 100),
        count("2026-07", c2, "security_teams", 40),
        ratio("2026-07", "38", "households_in_anxh", 50, 100),
        ratio("2026-07", c1, "households_in_anxh", 30, 60),
        ratio("2026-07", c2, "households_in_anxh", 20, 50),
    ]
    result = ingest_file(conn, write_csv(settings, "38", "2026-07", rows), settings)
    assert result.status == "rejected"
    problems = {p.row: p for p in result.problems}
    assert set(problems) == {3, 5}, [p.describe() for p in result.problems]
    teams = problems[3]
    assert (teams.code, teams.column, teams.value) == ("parts_exceed_whole", "value", "100")
    assert "add up to 110 (rows 2, 4)" in teams.reason_en and "(dòng 2, 4)" in teams.reason_vi
    assert "unit 38 Thanh Hóa gives 100 for security_teams" in teams.reason_en
    households = problems[5]
    assert households.column == "denominator" and "50/110 (rows 6, 7)" in households.reason_en
    stored = conn.execute("select count(*) from raw.indicator_value").fetchone()[0]
    assert stored == 0, "nothing of a refused file is stored"
