"""Units as they were in every year (ingestion/unit_history.py), with the real lists of vietnam-provinces 0.2 to
0.5.8, vietnamadminunits' list of 2025-06-30 and vietnam-provinces 2026.9.0 as a newer list of today's map.

Hà Nội's wards used here, as the lists give them: Phường Quốc Tử Giám (00184, district Đống Đa) is in the
lists of 2020 to 2023 and gone from that of 2025-01-04, where Phường Văn Miếu (00181) became "Phường Văn
Miếu - Quốc Tử Giám"; Phường Nguyễn Trung Trực (00010, Ba Đình) is gone too, and no unit of the next list
carries its name.
"""

from __future__ import annotations

import pytest

from ingestion.loader import ingest_file
from ingestion.reference import apply_current_change, current_change, describe_change
from ingestion.template import UNITS, build_workbook
from tests.test_ingest import write_csv
from warehouse import pipeline

HANOI = "01"
QUOC_TU_GIAM, VAN_MIEU, NGUYEN_TRUNG_TRUC = "00184", "00181", "00010"


def rows(period: str, figures: dict[str, int], indicator: str = "villages_without_crime") -> list[list[str]]:
    return [[period, unit, indicator, "", str(value), "", ""] for unit, value in figures.items()]


def ingest(settings, conn, period: str, figures: dict[str, int], name: str | None = None):
    return ingest_file(conn, write_csv(settings, HANOI, period, rows(period, figures), name=name), settings)


def scalar(conn, query: str, *params):
    return conn.execute(query, params).fetchone()[0]


def test_the_lists_say_what_the_tests_below_rely_on(conn):
    eras = dict(
        conn.execute(
            "select source, name from ref.unit_era where map = 'legacy' and unit_code = %s", [QUOC_TU_GIAM]
        ).fetchall()
    )
    assert set(eras) == {"vietnam-provinces==0.2", "vietnam-provinces==0.3.0", "vietnam-provinces==0.5.0"}
    assert scalar(conn, "select count(*) from ref.unit where map = 'current' and unit_code = %s", QUOC_TU_GIAM) == 0
    valid = conn.execute(
        "select unit_code, valid_from::text, valid_to::text from ref.unit where map = 'legacy' and unit_code in"
        " (%s, %s, %s) and unit_level = 'commune' order by 1",
        [NGUYEN_TRUNG_TRUC, VAN_MIEU, QUOC_TU_GIAM],
    ).fetchall()
    assert valid == [
        (NGUYEN_TRUNG_TRUC, "2000-01-01", "2025-01-03"),  # the day before the first list without it
        (VAN_MIEU, "2000-01-01", "2025-06-30"),  # the last day of the legacy map
        (QUOC_TU_GIAM, "2000-01-01", "2025-01-03"),
    ]


def test_a_commune_retired_before_2025_is_accepted_in_its_era_and_refused_after(settings, conn):
    assert ingest(settings, conn, "2017", {QUOC_TU_GIAM: 4}).status == "accepted"
    assert ingest(settings, conn, "2024", {QUOC_TU_GIAM: 4}).status == "accepted"
    for period in ("2025-Q1", "2026-Q1"):  # after the list of 2025-01-04 without it; today's map
        refused = ingest(settings, conn, period, {QUOC_TU_GIAM: 4})
        assert refused.status == "rejected", period
        assert [p.code for p in refused.problems] == ["unknown_unit"]
        assert f"valid in {period}" in refused.problems[0].reason_en


def test_a_file_may_name_a_unit_as_its_era_did_or_as_another_list_does(settings, conn):
    accepted = ingest(settings, conn, "2017", {"Phường Quốc Tử Giám": 3, "Văn Miếu": 5})
    assert accepted.status == "accepted", accepted.problems
    stored = conn.execute(
        "select unit_code, value from raw.indicator_value where submission_id = %s order by 1",
        [accepted.submission_id],
    ).fetchall()
    assert stored == [(VAN_MIEU, 5), (QUOC_TU_GIAM, 3)]
    # 2024 is in the list of 2023 (Phường Văn Miếu); the list of 2025-01-04 calls it Văn Miếu - Quốc Tử Giám.
    later_name = ingest(settings, conn, "2024", {"Phường Văn Miếu - Quốc Tử Giám": 8})
    assert later_name.status == "accepted", later_name.problems
    found = "select unit_code from raw.indicator_value where submission_id = %s"
    assert scalar(conn, found, later_name.submission_id) == VAN_MIEU


def test_a_2017_total_is_the_same_whichever_eras_communes_the_file_names(settings, conn):
    """The 2017 file names the wards of 2017; its resubmission the same figures on the wards of 2025-06-30.
    Hà Nội's figure is the same; Quốc Tử Giám's counts where Văn Miếu's does; Nguyễn Trung Trực's, whose
    absorber the lists do not name, counts in Hà Nội only, never in a commune."""
    ba_dinh = scalar(
        conn,
        "select min(unit_code) from ref.unit where map = 'legacy' and unit_level = 'commune' and parent_code = '001'"
        " and valid_to = '2025-06-30'",
    )
    of_2017 = {NGUYEN_TRUNG_TRUC: 5, QUOC_TU_GIAM: 7, VAN_MIEU: 3, ba_dinh: 11}
    of_2025 = {VAN_MIEU: 10, ba_dinh: 16}
    target = scalar(
        conn,
        "select 'current:commune:' || current_code from ref.legacy_unit_map"
        " where legacy_level = 'commune' and legacy_code = %s and is_default",
        VAN_MIEU,
    )
    figures = []
    for i, units in enumerate((of_2017, of_2025)):
        assert ingest(settings, conn, "2017", units, name=f"{HANOI}_2017_v{i + 1}.csv").status == "accepted"
        pipeline.build_marts(settings)
        figures.append(
            (
                scalar(
                    conn,
                    "select value from build.mart_province_indicator where province_code = %s and period_code ="
                    " '2017' and indicator_code = 'villages_without_crime' and source = 'submitted'",
                    HANOI,
                ),
                scalar(
                    conn,
                    "select sum(value) from build.fct_indicator_value where period_code = '2017'"
                    " and current_unit_key = %s",
                    target,
                ),
            )
        )
        if i == 0:
            placed = conn.execute(
                """select u.unit_code, f.province_code, f.current_unit_key, u.placement_basis, u.via_unit_key
                   from build.fct_indicator_value f join build.dim_unit u using (unit_key)
                   where f.period_code = '2017' and u.unit_code in (%s, %s) order by 1""",
                [NGUYEN_TRUNG_TRUC, QUOC_TU_GIAM],
            ).fetchall()
            assert placed == [
                (NGUYEN_TRUNG_TRUC, HANOI, None, "district_of_the_time", "legacy:district:001"),
                (QUOC_TU_GIAM, HANOI, target, "merged_into", f"legacy:commune:{VAN_MIEU}"),
            ]
    assert figures == [(26, 10), (26, 10)]
    mapped = conn.execute(
        "select basis, via_unit_key, current_unit_key from build.map_legacy_unit"
        " where legacy_unit_key = %s and is_default",
        [f"legacy:commune:{QUOC_TU_GIAM}"],
    ).fetchall()
    assert mapped == [("merged_into", f"legacy:commune:{VAN_MIEU}", target)]


def test_a_newer_list_of_todays_map_is_reviewed_then_applied_without_touching_submissions(settings, conn):
    """vietnam-provinces 2026.9.0 against the installed 2025.10.1: among its changes, Hà Nội's Phường Cửa Nam
    has a new code (00073 -> 00082). A figure sent for 00073 in 2026-08 stays; after the list, 00073 is
    refused and 00082 accepted."""
    before = ingest(settings, conn, "2026-08", {"00073": 9})
    assert before.status == "accepted", before.problems
    assert ingest(settings, conn, "2026-10", {"00082": 1}).status == "rejected", "not before it is applied"
    stored = "select md5(string_agg(r::text, '|' order by r::text)) from {} as r"
    kept = {table: scalar(conn, stored.format(table)) for table in ("ingest.submission", "raw.indicator_value")}

    change = current_change(conn, "2026.9.0")
    assert (len(change["added"]), len(change["retired"])) == (114, 114)
    assert {"from": "00073", "to": "00082", "name": "Phường Cửa Nam"} in change["recoded"]
    assert {"level": "commune", "code": "00226", "name": "Phường Văn Miếu - Quốc Tử Giám", "province": HANOI,
            "was": "Phường Kim Liên"} in change["renamed"]  # fmt: skip
    report = describe_change(change)
    assert "114 added" in report and "recoded  00073 -> 00082  Phường Cửa Nam" in report
    assert scalar(conn, "select count(*) from ref.reference_change") == 0, "a review changes nothing"

    apply_current_change(conn, "2026.9.0")
    assert scalar(conn, "select retired from ref.reference_change where version = '2026.9.0'") == 114
    assert {table: scalar(conn, stored.format(table)) for table in kept} == kept
    with pytest.raises(ValueError, match="applied already"):
        current_change(conn, "2026.9.0")
    assert scalar(conn, "select valid_to::text from ref.unit where map = 'current' and unit_code = '00073'") == (
        "2026-09-19"
    )
    refused = ingest(settings, conn, "2026-10", {"00073": 2})
    assert refused.status == "rejected" and refused.problems[0].code == "unknown_unit"
    assert ingest(settings, conn, "2026-10", {"00082": 2}, name="01_2026-10_b.csv").status == "accepted"
    pipeline.build_marts(settings)
    built = conn.execute(
        "select period_code, value from build.mart_province_indicator where province_code = %s"
        " and indicator_code = 'villages_without_crime' and source = 'submitted' order by 1",
        [HANOI],
    ).fetchall()
    assert built == [("2026-08", 9), ("2026-10", 2)]
    assert pipeline.refresh_reference(settings)["vietnam-provinces==2026.9.0"] > 0, "a refresh keeps the change"


def test_the_template_lists_the_units_of_the_list_in_force_for_its_period():
    def codes(period: str, applied: tuple[str, ...] = ()) -> set[str]:
        sheet = build_workbook(HANOI, period, applied)[UNITS]
        return {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}

    assert QUOC_TU_GIAM in codes("2017") and QUOC_TU_GIAM not in codes("2025-Q2")
    assert "00073" in codes("2026-10") and "00082" not in codes("2026-10")
    assert "00082" in codes("2026-10", ("2026.9.0",)) and "00073" not in codes("2026-10", ("2026.9.0",))
