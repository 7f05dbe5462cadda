"""Ingestion against a real Postgres: nothing lost, nothing half-written, every refusal explained."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from ingestion.contract import sheet_columns
from ingestion.generator import write_submission
from ingestion.loader import discover, ingest_file

HEADER = [c.name for c in sheet_columns()]


def write_csv(
    settings,
    province: str,
    period: str,
    rows: list[list[str]],
    name: str | None = None,
    encoding: str = "utf-8",
    header: list[str] = HEADER,
) -> Path:
    folder = settings.landing_dir / province / period
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{province}_{period}.csv")
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def registry(conn):
    return conn.execute(
        "select submission_id, province_code, period_code, status, version, row_count"
        " from ingest.submission order by submission_id"
    ).fetchall()


def raw_count(conn) -> int:
    return conn.execute("select count(*) from raw.indicator_value").fetchone()[0]


def test_a_generated_province_file_is_accepted_whole_with_every_row_copied(settings, conn):
    path = write_submission(settings.landing_dir, "38", "2026-Q3")
    expected_rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    result = ingest_file(conn, path, settings)
    assert (result.status, result.version, result.row_count) == ("accepted", 1, expected_rows)
    assert raw_count(conn) == expected_rows
    assert not path.exists(), "an ingested file leaves the landing folder"
    stored = Path(conn.execute("select stored_path from ingest.submission").fetchone()[0])
    assert stored.read_bytes() and stored.is_relative_to(settings.data_dir / "archive")


def test_resending_the_identical_file_is_a_no_op(settings, conn):
    path = write_submission(settings.landing_dir, "38", "2026-Q3")
    content = path.read_bytes()
    first = ingest_file(conn, path, settings)
    before = (registry(conn), raw_count(conn))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    again = ingest_file(conn, path, settings)
    assert (again.status, again.submission_id) == ("duplicate", first.submission_id)
    assert (registry(conn), raw_count(conn)) == before


def test_a_new_file_for_the_same_province_and_period_supersedes_and_keeps_history(settings, conn):
    first = ingest_file(
        conn,
        write_csv(settings, "01", "2026-09", [["2026-09", "00070", "security_teams", "", "26", "", ""]]),
        settings,
    )
    second = ingest_file(
        conn,
        write_csv(
            settings,
            "01",
            "2026-09",
            [["2026-09", "00070", "security_teams", "", "27", "", ""]],
            name="v2.csv",
        ),
        settings,
    )
    assert (first.version, second.version) == (1, 2)
    rows = registry(conn)
    assert [(r[3], r[4]) for r in rows] == [("superseded", 1), ("accepted", 2)]
    superseded_by = conn.execute(
        "select superseded_by from ingest.submission where submission_id = %s", [first.submission_id]
    ).fetchone()[0]
    assert superseded_by == second.submission_id
    assert raw_count(conn) == 2, "the superseded version's rows are kept"


def test_one_bad_row_rejects_the_file_and_records_every_problem_with_its_place(settings, conn):
    path = write_csv(
        settings,
        "01",
        "2026-Q3",
        [
            ["2026-Q3", "00070", "security_teams", "", "26", "", ""],
            ["2026-Q3", "00073", "security_teams", "", "-4", "", ""],
            ["2026-Q3", "00073", "households_in_anxh", "", "", "120", "100"],
            ["2026-Q3", "99999", "anxh_teams", "", "3", "", ""],
        ],
    )
    result = ingest_file(conn, path, settings)
    assert result.status == "rejected"
    assert raw_count(conn) == 0, "nothing of a rejected file is stored as data"
    reasons = conn.execute(
        "select row_number, column_name, value, reason_code, reason_vi from ingest.rejection order by row_number"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in reasons] == [
        (3, "value", "-4", "negative"),
        (4, "numerator", "120", "numerator_over_denominator"),
        (5, "unit_code", "99999", "unknown_unit"),
    ]
    assert all(r[4] for r in reasons)
    status, bad_rows, stored = conn.execute(
        "select status, rejected_row_count, stored_path from ingest.submission"
    ).fetchone()
    assert (status, bad_rows) == ("rejected", 3)
    assert Path(stored).is_relative_to(settings.quarantine_dir) and Path(stored).exists()
    assert not path.exists()


def test_a_rejected_resubmission_leaves_the_accepted_version_current(settings, conn):
    good = ingest_file(
        conn,
        write_csv(settings, "01", "2026-09", [["2026-09", "00070", "security_teams", "", "26", "", ""]]),
        settings,
    )
    bad = ingest_file(
        conn,
        write_csv(
            settings,
            "01",
            "2026-09",
            [["2026-09", "00070", "security_teams", "", "x", "", ""]],
            name="v2.csv",
        ),
        settings,
    )
    assert bad.status == "rejected"
    assert (
        conn.execute("select submission_id from ingest.submission where status = 'accepted'").fetchone()[0]
        == good.submission_id
    )


def test_structural_faults_reject_the_file_with_a_file_level_reason(settings, conn):
    empty = settings.landing_dir / "01" / "2026-09" / "empty.csv"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    photo = settings.landing_dir / "01" / "2026-09" / "photo.csv"  # a photo renamed: no encoding of text
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\n\x80\x81\n")
    renamed = write_csv(
        settings,
        "01",
        "2026-09",
        [["2026-09", "00070", "security_teams", "", "1", "", ""]],
        name="renamed.csv",
        header=[*HEADER[:4], "amount", *HEADER[5:]],
    )
    header_only = write_csv(settings, "01", "2026-09", [], name="header_only.csv")
    pdf = settings.landing_dir / "01" / "2026-09" / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    codes = {}
    for path in (empty, photo, renamed, header_only, pdf):
        result = ingest_file(conn, path, settings)
        assert result.status == "rejected", path.name
        codes[path.name] = {p.code for p in result.problems}
    assert codes == {
        "empty.csv": {"empty_file"},
        "photo.csv": {"bad_encoding"},
        "renamed.csv": {"unknown_column", "missing_column"},
        "header_only.csv": {"no_rows"},
        "report.pdf": {"unsupported_format"},
    }
    assert raw_count(conn) == 0


def test_a_file_outside_a_province_and_period_folder_is_refused(settings, conn):
    wrong_period = write_csv(settings, "01", "quy-3", [["2026-Q3", "00070", "security_teams", "", "1", "", ""]])
    wrong_province = write_csv(settings, "XX", "2026-Q3", [["2026-Q3", "00070", "security_teams", "", "1", "", ""]])
    assert {p.code for p in ingest_file(conn, wrong_period, settings).problems} == {"bad_period_folder"}
    assert {p.code for p in ingest_file(conn, wrong_province, settings).problems} == {"unknown_province"}


def test_a_bom_at_the_start_of_a_csv_is_accepted(settings, conn):
    path = write_csv(
        settings,
        "01",
        "2026-09",
        [["2026-09", "00070", "security_teams", "", "26", "", ""]],
        encoding="utf-8-sig",
    )
    assert ingest_file(conn, path, settings).status == "accepted"


def test_discover_lists_files_in_arrival_order(settings):
    older = write_csv(settings, "01", "2026-09", [], name="a.csv")
    newer = write_csv(settings, "01", "2026-09", [], name="b.csv")
    os.utime(older, (1_000, 1_000))
    assert discover(settings.landing_dir) == [older, newer]


def test_a_file_refused_for_its_folder_is_checked_again_once_put_in_the_right_folder(settings, conn):
    rows = [["2026-09", "00070", "security_teams", "", "26", "", ""]]
    misplaced = ingest_file(conn, write_csv(settings, "01", "september", rows), settings)
    placed = ingest_file(conn, write_csv(settings, "01", "2026-09", rows), settings)
    assert (misplaced.status, placed.status) == ("rejected", "accepted")


def test_resending_a_superseded_version_reverts_to_it_as_a_new_version(settings, conn):
    v1 = [["2026-09", "00070", "security_teams", "", "26", "", ""]]
    v2 = [["2026-09", "00070", "security_teams", "", "27", "", ""]]
    ingest_file(conn, write_csv(settings, "01", "2026-09", v1), settings)
    ingest_file(conn, write_csv(settings, "01", "2026-09", v2), settings)
    again = ingest_file(conn, write_csv(settings, "01", "2026-09", v1), settings)
    assert (again.status, again.version) == ("accepted", 3)
    current = conn.execute(
        "select value from raw.indicator_value join ingest.submission using (submission_id) where status = 'accepted'"
    ).fetchone()
    assert current == (26,)


def test_resending_a_rejected_file_unchanged_is_a_no_op(settings, conn):
    rows = [["2026-09", "00070", "security_teams", "", "-1", "", ""]]
    first = ingest_file(conn, write_csv(settings, "01", "2026-09", rows), settings)
    again = ingest_file(conn, write_csv(settings, "01", "2026-09", rows), settings)
    assert (first.status, again.status, again.submission_id) == ("rejected", "duplicate", first.submission_id)
    assert conn.execute("select count(*) from ingest.rejection").fetchone()[0] == 1


def test_hostile_file_names_are_kept_as_data_and_stored_under_a_safe_name(settings, conn):
    names = [
        "x'; drop table raw.indicator_value; --.csv",
        "$(reboot) ; rm -rf ~ `id`.csv",
        "Báo cáo tổng kết phong trào " * 7 + ".csv",
    ]
    for index, name in enumerate(names):
        rows = [["2026-09", "00070", "security_teams", "", str(26 + index), "", ""]]
        result = ingest_file(conn, write_csv(settings, "01", "2026-09", rows, name=name), settings)
        assert result.status == "accepted", name
    stored = conn.execute("select file_name, stored_path from ingest.submission order by submission_id").fetchall()
    assert [row[0] for row in stored] == names, "the registry keeps the name the province sent"
    for _, path in stored:
        kept = Path(path)
        assert kept.exists() and kept.parent.is_relative_to(settings.data_dir / "archive")
        assert len(kept.name.encode()) <= 210 and not set(kept.name) & set("'`$;~ /")
    assert raw_count(conn) == 3


def test_sql_looking_cell_values_are_refused_as_data_and_never_executed(settings, conn):
    attack = "00070'); drop table ingest.submission; --"
    path = write_csv(settings, "01", "2026-09", [["2026-09", attack, "security_teams", "", "1", "", ""]])
    result = ingest_file(conn, path, settings)
    assert result.status == "rejected"
    assert conn.execute("select value from ingest.rejection").fetchone()[0] == attack
    assert conn.execute("select count(*) from ingest.submission").fetchone()[0] == 1


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(settings, conn):
    from dataclasses import replace

    small = replace(settings, max_file_bytes=1024)
    rows = [["2026-09", "00070", "security_teams", "", "26", "", ""]] * 100
    result = ingest_file(conn, write_csv(small, "01", "2026-09", rows), small)
    assert result.status == "rejected" and {p.code for p in result.problems} == {"file_too_large"}
    assert raw_count(conn) == 0


def raw_rows(conn) -> list[tuple]:
    return conn.execute(
        "select source_row, unit_code, indicator_code, category, value, numerator, denominator"
        " from raw.indicator_value order by source_row"
    ).fetchall()


PLAIN = [
    ["2026-09", "00070", "security_teams", "", "26", "", ""],
    ["2026-09", "00073", "weapons_surrendered", "homemade_gun", "3", "", ""],
    ["2026-09", "00070", "households_in_anxh", "", "", "990", "1000"],
]
# The same figures written the way people write them: a name for a code, "2026-q3"-style case, padded
# cells, a space in a number, "total" spelled out, a value left in a ratio row. All valid, none plain.
ODD = [
    ["2026-09", "Phường Hoàn Kiếm", "security_teams", "total", " 26 ", "", ""],
    ["2026-09", " 00073", " weapons_surrendered", " homemade_gun ", "3", "", ""],
    ["2026-09", "P. Hoan Kiem", "households_in_anxh", "", "7", "990", "1 000"],
]


def test_figures_written_unusually_load_exactly_as_the_plain_ones(settings, conn):
    plain = ingest_file(conn, write_csv(settings, "01", "2026-09", PLAIN, name="plain.csv"), settings)
    expected = raw_rows(conn)
    conn.execute("delete from raw.indicator_value")
    odd = ingest_file(conn, write_csv(settings, "01", "2026-09", ODD, name="odd.csv"), settings)
    assert (plain.status, odd.status) == ("accepted", "accepted"), odd.problems
    assert raw_rows(conn) == expected
    assert expected[0][1:5] == ("00070", "security_teams", None, 26), "raw keeps no category for the total"
    assert expected[2][4:] == (None, 990, 1000)


def test_a_unit_named_once_by_code_and_once_by_name_is_a_duplicate(settings, conn):
    rows = [PLAIN[0], ["2026-09", "Phường Hoàn Kiếm", "security_teams", "", "27", "", ""]]
    result = ingest_file(conn, write_csv(settings, "01", "2026-09", rows), settings)
    assert result.status == "rejected"
    assert [(p.row, p.code) for p in result.problems] == [(3, "duplicate_row")]
    assert "row 2" in result.problems[0].reason_en
    assert raw_count(conn) == 0


def test_blank_lines_and_a_copy_end_marker_in_a_csv_neither_end_nor_shift_the_rows(settings, conn):
    folder = settings.landing_dir / "01" / "2026-09"
    folder.mkdir(parents=True)
    path = folder / "blank.csv"
    lines = [",".join(HEADER), ",".join(PLAIN[0]), "", "\\.", ",".join(PLAIN[1]), "", ",".join(PLAIN[2]) + ",,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest_file(conn, path, settings)
    assert result.status == "rejected"
    # The "\." line is a row like any other: a row of one cell, refused with its number; nothing is skipped.
    assert {(p.row, p.column) for p in result.problems} >= {(4, "unit_code"), (4, "indicator_code")}
    assert all(p.row == 4 for p in result.problems)
    lines[3] = ""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted" and result.row_count == 3
    assert [row[0] for row in raw_rows(conn)] == [2, 5, 7]


def test_row_numbers_from_the_fast_path_are_the_rows_the_officer_sees(settings, conn):
    rows = [PLAIN[0], PLAIN[1], PLAIN[2], ["2026-09", "00073", "security_teams", "", "-1", "", ""]]
    result = ingest_file(conn, write_csv(settings, "01", "2026-09", rows), settings)
    assert [(p.row, p.column, p.code) for p in result.problems] == [(5, "value", "negative")]
    assert raw_count(conn) == 0, "the rows copied before the check found the bad one are gone"


def test_a_plain_csv_is_written_once_straight_into_raw(settings, conn, monkeypatch):
    from ingestion import bulk

    def staged(*args):
        raise AssertionError("a plain CSV should not be staged")

    monkeypatch.setattr(bulk, "_stage", staged)
    result = ingest_file(conn, write_csv(settings, "01", "2026-09", PLAIN), settings)
    assert result.status == "accepted" and result.row_count == 3
    assert [row[0] for row in raw_rows(conn)] == [2, 3, 4]
    assert conn.execute("select distinct period from raw.indicator_value").fetchall() == [("2026-09",)]
    # An odd one is staged: the probe's error, like any fault of ours, becomes a refusal that names it
    odd = ingest_file(conn, write_csv(settings, "01", "2026-08", ODD[:1], name="odd.csv"), settings)
    assert [p.code for p in odd.problems] == ["not_checked"] and "should not be staged" in odd.problems[0].reason_en


def test_a_repeat_far_from_its_first_line_is_found_across_copy_blocks(settings, conn, monkeypatch):
    from ingestion import bulk

    monkeypatch.setattr(bulk, "BLOCK_BYTES", 4096)
    path = write_submission(settings.landing_dir, "01", "2026-09")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines, lines[1]]))
    result = ingest_file(conn, path, settings)
    assert result.status == "rejected"
    assert [(p.row, p.code) for p in result.problems] == [(len(lines) + 1, "duplicate_row")]
    assert "row 2" in result.problems[0].reason_en
    assert raw_count(conn) == 0


def test_a_csv_with_the_columns_in_another_order_loads_the_same_rows(settings, conn):
    order = [3, 1, 0, 2, 6, 5, 4]
    header = [HEADER[i] for i in order]
    write_csv(settings, "01", "2026-09", [[row[i] for i in order] for row in PLAIN], header=header)
    result = ingest_file(conn, settings.landing_dir / "01" / "2026-09" / "01_2026-09.csv", settings)
    assert result.status == "accepted", result.problems
    reordered = raw_rows(conn)
    conn.execute("delete from raw.indicator_value")
    ingest_file(conn, write_csv(settings, "01", "2026-08", [["2026-08", *row[1:]] for row in PLAIN]), settings)
    assert raw_rows(conn) == reordered


@pytest.mark.parametrize(
    ("cell", "outcome"),
    [
        ("0x1A", "not_a_number"),  # Postgres 16 reads 26; the contract does not
        ("0o32", "not_a_number"),
        ("0b11010", "not_a_number"),
        ('"26"', 26),  # quoted by a spreadsheet
        ("2_6", 26),  # both read 26
        ("+26", 26),
        ("26.0", 26),
        ("-0", 0),
    ],
)
def test_numbers_postgres_and_the_contract_read_differently_go_to_the_validator(settings, conn, cell, outcome):
    folder = settings.landing_dir / "01" / "2026-09"
    folder.mkdir(parents=True)
    path = folder / "figures.csv"
    path.write_text(",".join(HEADER) + f"\n2026-09,00070,security_teams,,{cell},,\n", encoding="utf-8")
    result = ingest_file(conn, path, settings)
    if isinstance(outcome, int):
        assert result.status == "accepted", result.problems
        assert conn.execute("select value from raw.indicator_value").fetchall() == [(outcome,)]
    else:
        assert [(p.row, p.column, p.code) for p in result.problems] == [(2, "value", outcome)]
        assert raw_count(conn) == 0


def test_a_backfill_ingests_every_waiting_file_in_one_process(settings, conn):
    from warehouse import pipeline

    for month in ("2026-07", "2026-08"):
        write_csv(settings, "01", month, [[month, "00070", "security_teams", "", "26", "", ""]])
    write_csv(settings, "01", "2026-09", [["2026-09", "00070", "security_teams", "", "-1", "", ""]])
    started = conn.execute("select clock_timestamp()").fetchone()[0]
    assert pipeline.ingest_waiting(settings) == {"accepted": 2, "rejected": 1}
    assert pipeline.ingest_waiting(settings) == {}, "nothing is left waiting"
    assert raw_count(conn) == 2
    conn.execute("select pg_stat_clear_snapshot()")
    tidied = conn.execute(
        """select relname, last_vacuum >= %(started)s, last_analyze >= %(started)s from pg_stat_user_tables
           where schemaname = 'raw' and relname in ('indicator_value', 'model') order by relname""",
        {"started": started},
    ).fetchall()
    assert tidied == [("indicator_value", True, True), ("model", True, True)], "vacuumed and analyzed for the build"


def test_a_backfill_shares_the_provinces_among_two_workers_and_keeps_each_provinces_versions_in_order(settings, conn):
    from warehouse import pipeline

    first = write_csv(settings, "01", "2026-08", [["2026-08", "00070", "security_teams", "", "26", "", ""]], "a.csv")
    others = [write_submission(settings.landing_dir, province, "2026-08") for province in ("38", "79", "48")]
    second = write_csv(settings, "01", "2026-08", [["2026-08", "00070", "security_teams", "", "27", "", ""]], "b.csv")
    for order, path in enumerate([first, *others, second]):  # arrival order, whatever the clock's resolution
        os.utime(path, ns=(10**18 + order, 10**18 + order))
    shares = pipeline.province_shares(pipeline.find_new_files(settings), 2)
    assert len(shares) == 2
    (ours,) = [share for share in shares if str(first) in share]
    assert str(second) in ours and ours.index(str(first)) < ours.index(str(second)), "a province in one share, in order"
    assert not any(str(second) in share for share in shares if share is not ours)

    assert pipeline.ingest_waiting(settings, workers=2) == {"accepted": 5}
    versions = conn.execute(
        """select s.file_name, s.version, s.status, v.value from ingest.submission s
           join raw.indicator_value v using (submission_id)
           where s.province_code = '01' order by s.version"""
    ).fetchall()
    assert versions == [("a.csv", 1, "superseded", 26), ("b.csv", 2, "accepted", 27)]
    assert conn.execute("select count(distinct province_code) from ingest.submission").fetchone()[0] == 4


def test_province_shares_are_about_even_and_never_split_a_province():
    from warehouse.pipeline import province_shares

    paths = [f"landing/{p}/2026-0{m}/f.csv" for m in range(1, 5) for p in ("01", "38", "79")]
    paths.append("landing/48/2026-01/f.csv")
    shares = province_shares(paths, 2)
    assert sorted(len(share) for share in shares) == [5, 8]  # 4 + 1 and 4 + 4: as even as whole provinces allow
    for share in shares:
        assert share == [path for path in paths if path in share]
        elsewhere = {path.split("/")[1] for path in paths if path not in share}
        assert not {path.split("/")[1] for path in share} & elsewhere
    assert province_shares(paths[:1], 2) == [paths[:1]]
    assert province_shares([], 2) == []


def test_a_file_reporting_a_retired_indicator_is_refused_by_both_paths(settings, conn, monkeypatch):
    from dataclasses import replace
    from datetime import date

    from ingestion import bulk, catalogue, contract

    retired = dict(catalogue.load_catalogue())
    retired["security_teams"] = replace(retired["security_teams"], until=date(2025, 6, 30))
    monkeypatch.setattr(bulk, "load_catalogue", lambda: retired)
    monkeypatch.setattr(contract, "load_catalogue", lambda: retired)
    result = ingest_file(conn, write_csv(settings, "01", "2026-09", PLAIN), settings)
    assert [(p.row, p.code) for p in result.problems] == [(2, "indicator_not_collected")]
    assert raw_count(conn) == 0
