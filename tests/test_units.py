"""Administrative units across the 2025 reorganisation: reference data, crosswalk, and one series per province."""

from __future__ import annotations

import os
from dataclasses import replace

import psycopg
import pytest

from ingestion.loader import ingest_file
from ingestion.reference import load_reference
from tests.helpers import counter, make_settings
from tests.test_ingest import write_csv
from warehouse import pipeline


def scalar(conn, query, *params):
    return conn.execute(query, params).fetchone()[0]


def test_the_reference_holds_both_maps_with_their_counts(conn):
    counts = dict(
        ((m, level), n)
        for m, level, n in conn.execute(
            "select map, unit_level, count(*) from ref.unit where valid_to is null or valid_to = '2025-06-30'"
            " group by 1, 2"
        ).fetchall()
    )
    assert counts == {
        ("current", "province"): 34,
        ("current", "commune"): 3321,
        ("legacy", "province"): 63,
        ("legacy", "district"): 696,
        ("legacy", "commune"): 10035,
    }
    versions = dict(conn.execute("select source, version from ref.reference_source").fetchall())
    assert versions["vietnam-provinces"] == "2025.10.1" and versions["vietnamadminunits"] == "1.0.4"


def test_each_dated_list_of_the_legacy_map_is_held_whole(conn):
    """The counts of each release's data file (issue 19 counted them from the files): 63 provinces in each."""
    counts = {
        (source, level): n
        for source, level, n in conn.execute(
            "select source, unit_level, count(*) from ref.unit_era where map = 'legacy' group by 1, 2"
        ).fetchall()
    }
    expected = {
        "vietnam-provinces==0.2": (707, 10767),
        "vietnam-provinces==0.3.0": (705, 10603),
        "vietnam-provinces==0.5.0": (705, 10598),
        "vietnam-provinces==0.5.8": (696, 10051),
        "vietnamadminunits": (696, 10035),
    }
    for source, (districts, communes) in expected.items():
        assert (counts[source, "province"], counts[source, "district"], counts[source, "commune"]) == (
            63,
            districts,
            communes,
        )
    retired = scalar(conn, "select count(*) from ref.unit where map = 'legacy' and valid_to < '2025-06-30'")
    assert retired == 842 + 17, "communes and districts of 2020-2025 that the list of 2025-06-30 no longer has"


def test_every_legacy_commune_maps_to_a_current_commune_or_its_province_and_every_current_commune_has_a_province(
    conn,
):
    assert (
        scalar(
            conn,
            """select count(*) from ref.unit u where map = 'legacy' and unit_level = 'commune'
                           and valid_to = '2025-06-30'
                           and not exists (select 1 from ref.legacy_unit_map m where m.legacy_level = 'commune'
                           and m.legacy_code = u.unit_code and m.current_level = 'commune')""",
        )
        == 0
    ), "every commune of 2025-06-30 has a commune of today"
    placements = dict(
        conn.execute(
            """select m.basis || ':' || m.current_level, count(distinct u.unit_code) from ref.unit u
               join ref.legacy_unit_map m on m.legacy_level = u.unit_level and m.legacy_code = u.unit_code
               where u.map = 'legacy' and u.unit_level = 'commune' and u.valid_to < '2025-06-30' group by 1"""
        ).fetchall()
    )
    assert set(placements) == {"merged_into:commune", "district_of_the_time:province"}
    assert sum(placements.values()) == 842, "each retired commune placed once, one way"
    assert (
        scalar(
            conn,
            """select count(*) from ref.legacy_unit_map m where current_level = 'commune'
                           and not exists (select 1 from ref.unit u where u.map = 'current'
                           and u.unit_level = 'commune' and u.unit_code = m.current_code)""",
        )
        == 0
    )
    assert (
        scalar(
            conn,
            """select count(*) from ref.unit c where map = 'current' and unit_level = 'commune'
                           and not exists (select 1 from ref.unit p where p.map = 'current'
                           and p.unit_level = 'province' and p.unit_code = c.parent_code)""",
        )
        == 0
    )
    split_without_one_default = scalar(
        conn,
        """select count(*) from (select legacy_code from ref.legacy_unit_map
        where legacy_level = 'commune' and current_level = 'commune'
        group by legacy_code having count(*) filter (where is_default) <> 1) as s""",
    )
    assert split_without_one_default == 0


@pytest.mark.parametrize(
    ("legacy", "current"),
    [
        ("Tỉnh Nam Định", "Ninh Bình"),
        ("Tỉnh Kiên Giang", "An Giang"),
        ("Tỉnh An Giang", "An Giang"),
        ("Tỉnh Thanh Hóa", "Thanh Hóa"),
        ("Tỉnh Sơn La", "Sơn La"),
    ],
)
def test_the_seed_provinces_map_to_their_current_province(conn, legacy, current):
    found = conn.execute(
        """select c.name from ref.unit l
        join ref.legacy_unit_map m on m.legacy_level = 'province' and m.legacy_code = l.unit_code
        join ref.unit c on c.map = 'current' and c.unit_level = 'province' and c.unit_code = m.current_code
        where l.map = 'legacy' and l.unit_level = 'province' and l.name = %s""",
        [legacy],
    ).fetchall()
    assert found == [(current,)]


def test_song_ma_district_communes_map_to_current_communes_of_son_la(conn):
    provinces = conn.execute("""select distinct c.province_code from ref.unit d
        join ref.unit l on l.map = 'legacy' and l.unit_level = 'commune' and l.parent_code = d.unit_code
        join ref.legacy_unit_map m on m.legacy_level = 'commune' and m.legacy_code = l.unit_code
        join ref.unit c on c.map = 'current' and c.unit_level = 'commune' and c.unit_code = m.current_code
        where d.map = 'legacy' and d.unit_level = 'district' and d.name = 'Huyện Sông Mã'""").fetchall()
    assert provinces == [("14",)]


def test_reloading_the_reference_leaves_the_same_rows(conn):
    before = scalar(conn, "select md5(string_agg(u::text, '|' order by u::text)) from ref.legacy_unit_map u")
    load_reference(conn)
    assert scalar(conn, "select md5(string_agg(u::text, '|' order by u::text)) from ref.legacy_unit_map u") == before


def test_the_first_runs_of_four_dags_on_a_new_warehouse_make_it_ready_together(server_url, smtp_server, tmp_path):
    """Airflow started on a new warehouse runs the ingest, reference, reminder and alert DAGs at once: each
    makes it ready first (the other three failed when they ran before an ingest had), and their reference
    loads do not collide."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import date

    settings = make_settings(server_url, tmp_path, f"antq_new_units_{os.getpid()}_{next(counter)}", smtp_server.port)
    steps = (
        lambda: pipeline.prepare_warehouse(settings),
        lambda: pipeline.refresh_reference(settings),
        # reminders from 2025-07 asked for: a new warehouse otherwise reminds no one (nothing was ever received)
        lambda: pipeline.remind_late_provinces(date(2026, 10, 12), replace(settings, reminders_from=date(2025, 7, 1))),
        lambda: pipeline.deliver_alerts(settings),
    )
    with ThreadPoolExecutor(len(steps)) as pool:
        _, refreshed, reminded, _ = [future.result() for future in [pool.submit(step) for step in steps]]
    assert reminded["due"] > 0, "every province is due for the periods asked for: nothing was ever received"
    with psycopg.connect(settings.warehouse_url) as conn:
        units = scalar(conn, "select count(*) from ref.unit")
        assert load_reference(conn) == refreshed and scalar(conn, "select count(*) from ref.unit") == units
    assert units > 10_000, "both maps, loaded whole"


def test_a_legacy_unit_in_a_period_after_the_reorganisation_is_refused(settings, conn):
    legacy_only = scalar(
        conn,
        """select unit_code from ref.unit l where map = 'legacy' and unit_level = 'commune'
        and province_code = '14' and not exists (select 1 from ref.unit c where c.map = 'current'
        and c.unit_code = l.unit_code) order by 1 limit 1""",
    )
    result = ingest_file(
        conn,
        write_csv(settings, "14", "2025-Q3", [["2025-Q3", legacy_only, "security_teams", "", "25", "", ""]]),
        settings,
    )
    assert result.status == "rejected" and result.problems[0].code == "unknown_unit"
    assert "current map" in result.problems[0].reason_en


def test_nam_dinh_reports_under_its_own_legacy_code_before_2025(settings, conn):
    commune = scalar(
        conn,
        "select unit_code from ref.unit where map = 'legacy' and unit_level = 'commune'"
        " and province_code = '36' order by 1 limit 1",
    )
    result = ingest_file(
        conn,
        write_csv(settings, "36", "2017", [["2017", commune, "villages_without_crime", "", "1081", "", ""]]),
        settings,
    )
    assert result.status == "accepted"
    late = ingest_file(
        conn,
        write_csv(settings, "36", "2025-Q3", [["2025-Q3", commune, "villages_without_crime", "", "1", "", ""]]),
        settings,
    )
    assert late.problems[0].code == "unknown_province", "Nam Định is no longer a province after 2025-07-01"


def test_a_2023_song_ma_report_and_a_2025_report_form_one_son_la_series(settings):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        song_ma = [
            r[0]
            for r in conn.execute("""select l.unit_code from ref.unit l join ref.unit d
            on d.map = 'legacy' and d.unit_level = 'district' and d.unit_code = l.parent_code
            where l.map = 'legacy' and l.unit_level = 'commune' and d.name = 'Huyện Sông Mã' order by 1 limit 2""")
        ]
        today = [
            r[0]
            for r in conn.execute(
                "select unit_code from ref.unit where map = 'current'"
                " and unit_level = 'commune' and province_code = '14' order by 1 limit 2"
            )
        ]
        # Sông Mã 2023 (seed 004): 53 models kept active in the district.
        rows_2023 = [
            ["2023", song_ma[0], "models_active", "", "30", "", ""],
            ["2023", song_ma[1], "models_active", "", "23", "", ""],
        ]
        rows_2025 = [
            ["2025-Q3", today[0], "models_active", "", "40", "", ""],
            ["2025-Q3", today[1], "models_active", "", "20", "", ""],
        ]
        assert ingest_file(conn, write_csv(settings, "14", "2023", rows_2023), settings).status == "accepted"
        assert ingest_file(conn, write_csv(settings, "14", "2025-Q3", rows_2025), settings).status == "accepted"
    pipeline.build_marts(settings)
    with psycopg.connect(settings.warehouse_url) as conn:
        series = conn.execute("""select period_code, value, is_remapped, province_name
            from build.mart_province_indicator where province_code = '14' and indicator_code = 'models_active'
            and source = 'submitted' order by period_start""").fetchall()
        remapped = conn.execute("select count(*) from build.fct_indicator_value where is_remapped").fetchone()[0]
    assert series == [("2023", 53, True, "Sơn La"), ("2025-Q3", 60, False, "Sơn La")]
    assert remapped == 2


def test_a_changed_mapping_re_maps_the_stored_facts_at_the_next_build(settings):
    """The official default target of a split commune is corrected: its published facts move to the new
    target at the next build and publish, and the history test sees stale facts until then."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        split, old_target, new_target = conn.execute("""select m.legacy_code,
                max(m.current_code) filter (where m.is_default), max(m.current_code) filter (where not m.is_default)
            from ref.legacy_unit_map m join ref.unit l on l.map = 'legacy' and l.unit_level = 'commune'
                and l.unit_code = m.legacy_code and l.province_code = '38'
            where m.legacy_level = 'commune' and m.current_level = 'commune'
            group by m.legacy_code having count(*) = 2 and count(*) filter (where m.is_default) = 1
            order by 1 limit 1""").fetchone()
        other = scalar(
            conn,
            "select unit_code from ref.unit where map = 'legacy' and unit_level = 'commune'"
            " and province_code = '38' and unit_code <> %s order by 1 limit 1",
            split,
        )
        rows = [["2024", split, "security_teams", "", "7", "", ""], ["2024", other, "security_teams", "", "5", "", ""]]
        assert ingest_file(conn, write_csv(settings, "38", "2024", rows), settings).status == "accepted"

    def build_and_publish() -> None:  # no submission checks: nothing here is new enough to be held
        pipeline.build_marts(settings)
        pipeline.publish_marts(pipeline.validate_marts(settings), settings)

    build_and_publish()

    def placed(schema: str) -> list[tuple]:
        with psycopg.connect(settings.warehouse_url) as conn:
            return conn.execute(
                f"""select f.current_unit_key, f.unit_map_version, f.value from {schema}.fct_indicator_value f
                where f.unit_key = 'legacy:commune:' || %s""",
                [split],
            ).fetchall()

    assert placed("marts") == [(f"current:commune:{old_target}", 1, 7)]
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute(
            "update ref.legacy_unit_map set is_default = (current_code = %s)"
            " where legacy_level = 'commune' and legacy_code = %s",
            [new_target, split],
        )
    # int_units rebuilt on its own (and the fact store, the view over it that its rebuild drops): the
    # published facts are now stale, and the history test names them.
    from publishing.transform import DbtFailed, run_dbt

    run_dbt("run", "--select", "int_units", "int_indicator_values", settings=settings)
    with pytest.raises(DbtFailed, match="placed_by_current_unit_map"):
        pipeline.check_fact_history(settings)

    build_and_publish()
    assert placed("marts") == [(f"current:commune:{new_target}", 2, 7)]
    assert placed("published") == placed("marts")
    with psycopg.connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from intermediate.remapped_submissions").fetchone()[0] == 1
        total = conn.execute("""select value from marts.mart_province_indicator
            where province_code = '38' and period_code = '2024' and indicator_code = 'security_teams'""").fetchone()
        summed_by = conn.execute("select distinct unit_map_version from intermediate.int_submission_totals").fetchall()
    assert total == (12,) and summed_by == [(2,)], "the submission is summed again, placed by today's map"
    pipeline.check_fact_history(settings)  # nothing stale is left


def test_todays_province_is_whole_for_a_legacy_month_only_when_each_of_its_old_provinces_sent_it(settings):
    """The country's figure of a month before 2025-07 is complete when every one of the 63 provinces of its
    map sent it. In 2024-06 Nam Định (36) sent nothing: today's 34 provinces all have a figure, but Ninh Bình's
    (37) lacks one of the three provinces it was made of, so the country's is not complete."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        communes = conn.execute(
            """select distinct on (province_code) province_code, unit_code from ref.unit
               where map = 'legacy' and unit_level = 'commune' and coalesce(valid_from, '-infinity') <= '2024-05-01'
                 and coalesce(valid_to, 'infinity') >= '2024-07-01'
               order by province_code, unit_code"""
        ).fetchall()
        assert len(communes) == 63
        for period in ("2024-05", "2024-06"):
            for province, commune in communes:
                if (period, province) == ("2024-06", "36"):
                    continue
                rows = [[period, commune, "security_teams", "", "10", "", ""]]
                result = ingest_file(conn, write_csv(settings, province, period, rows), settings)
                assert result.status == "accepted", (province, period, result.problems[:1])
    pipeline.build_marts(settings)
    with psycopg.connect(settings.warehouse_url) as conn:
        national = conn.execute(
            """select period_code, value, provinces_reporting, provinces_complete, is_complete
               from build.mart_national_indicator
               where indicator_code = 'security_teams' and period_code in ('2024-05', '2024-06')
               order by period_code"""
        ).fetchall()
    assert national == [("2024-05", 630, 34, 34, True), ("2024-06", 620, 34, 34, False)]
