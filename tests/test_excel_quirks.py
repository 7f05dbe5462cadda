"""Files as Vietnamese offices make them: Excel's dates, `;` and tab separated CSV, names typed in TCVN3 and VNI
fonts; the dry run `python -m warehouse check`; `python -m warehouse ingest` on a new warehouse."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime

import openpyxl
import psycopg

from ingestion.contract import column_label, sheet_columns, sheet_title
from ingestion.generator import write_submission
from ingestion.legacy_fonts import from_tcvn3, from_vni, looks_legacy
from ingestion.loader import ingest_file
from ingestion.template import write_template
from tests.helpers import counter, indicator_workbook, make_settings
from warehouse.airflow_runner import airflow_env

HEADERS = [c.header_vi for c in sheet_columns()]


def _folder(settings, province="38", period="2026-09"):
    folder = settings.landing_dir / province / period
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_template_keeps_periods_and_codes_as_typed(tmp_path):
    workbook = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx", "38", "2026-09"))
    data = workbook[sheet_title()]
    formats = {data.cell(1, i).value: data.column_dimensions[chr(64 + i)].number_format for i in range(1, 8)}
    text = {column_label(name).split(" (")[0] for name in ("period", "unit_code", "indicator_code", "category")}
    assert {header for header, number_format in formats.items() if number_format == "@"} == text


def test_a_month_excel_made_a_date_is_read_as_the_month_and_another_date_is_refused_saying_why(settings, conn):
    folder = _folder(settings)
    typed_month = datetime(2026, 9, 1)  # what Excel stores when 2026-09 is typed in a General cell
    good = indicator_workbook(
        folder / "thang9.xlsx",
        [[typed_month, "14797", "security_teams", None, 12, None, None]],
    )
    result = ingest_file(conn, good, settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    assert conn.execute("select period from raw.indicator_value").fetchall() == [("2026-09",)]

    bad = indicator_workbook(
        folder / "thang9-sua.xlsx",
        [
            [typed_month, "14797", "security_teams", None, 13, None, None],
            [datetime(2026, 9, 15), "14758", "security_teams", None, 8, None, None],
        ],
    )
    result = ingest_file(conn, bad, settings)
    assert result.status == "rejected"
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column, problem.code) == (
        sheet_title(),
        3,
        "period",
        "excel_date_period",
    )
    assert "15/09/2026" in problem.reason_en and "as Text" in problem.reason_en and "Văn bản" in problem.reason_vi


def _rewrite_csv(source, target, delimiter):
    """The generated CSV as Excel saves it in a Vietnamese locale: Vietnamese headers, a byte order mark,
    CRLF line ends, the given separator."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows([HEADERS, *rows[1:]])
    return len(rows) - 1


def test_semicolon_and_tab_separated_csv_are_read_like_a_comma_one(settings, conn):
    plain = write_submission(settings.landing_dir, "38", "2026-09")
    for name, delimiter in (("excel-vn.csv", ";"), ("tab.csv", "\t")):
        rows = _rewrite_csv(plain, plain.with_name(name), delimiter)
        result = ingest_file(conn, plain.with_name(name), settings)
        assert result.status == "accepted", [p.describe() for p in result.problems[:3]]
        assert result.row_count == rows
    first, second = (
        conn.execute(
            "select md5(string_agg(concat_ws('|', unit_code, indicator_code, category, value, numerator, denominator),"
            " ',' order by source_row)) from raw.indicator_value where submission_id = %s",
            [sid],
        ).fetchone()[0]
        for (sid,) in conn.execute("select submission_id from ingest.submission order by 1").fetchall()
    )
    assert first == second, "both files give the same rows"


def test_a_bad_cell_in_a_semicolon_csv_names_its_row_and_column(settings, conn):
    folder = _folder(settings)
    with (folder / "vn.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        handle.write(";".join(HEADERS) + "\r\n")
        handle.write("2026-09;14797;security_teams;;12;;\r\n")
        handle.write("2026-09;14758;security_teams;;4.351;;\r\n")
    result = ingest_file(conn, folder / "vn.csv", settings)
    assert result.status == "rejected"
    (problem,) = result.problems
    assert (problem.row, problem.column, problem.value, problem.code) == (3, "value", "4.351", "not_a_whole_number")


# Real strings as the legacy fonts store them. TCVN3 (.VnTime): ư is the soft hyphen byte, ờ is ê, ạ is ¹,
# à is µ, ồ is å. VNI (VNI-Times): ư is ö, ơ is ô, a tone is a letter after the vowel (ø huyền, ï nặng).
TCVN3 = {"Ph\u00adêng H¹c Thµnh": "14797", "Ph\u00adêng Hµm Rång": "14758"}
VNI = {"Phöôøng Haïc Thaønh": "14797", "Phöôøng Haøm Roàng": "14758"}


def test_the_legacy_font_strings_read_as_the_names_they_are():
    assert [from_tcvn3(name) for name in TCVN3] == ["Phường Hạc Thành", "Phường Hàm Rồng"]
    assert [from_vni(name) for name in VNI] == ["Phường Hạc Thành", "Phường Hàm Rồng"]
    assert from_vni("Thaønh phoá Hoà Chí Minh") == "Thành phố Hồ Chí Minh"
    assert from_vni("Ñaék Laék") == "Đắk Lắk" and from_tcvn3("§¾k L¾k") == "Đắk Lắk"
    assert not looks_legacy("Phường Hạc Thành") and all(map(looks_legacy, [*TCVN3, *VNI]))


def test_names_typed_in_tcvn3_or_vni_fonts_match_their_units(settings, conn):
    folder = _folder(settings)
    rows = [
        ["2026-09", "Ph\u00adêng H¹c Thµnh", "security_teams", None, 10, None, None],  # TCVN3
        ["2026-09", "Phöôøng Haøm Roàng", "security_teams", None, 11, None, None],  # VNI
    ]
    result = ingest_file(conn, indicator_workbook(folder / "phong-cu.xlsx", rows), settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    stored = conn.execute("select unit_code, value from raw.indicator_value order by value").fetchall()
    assert stored == [("14797", 10), ("14758", 11)]


def test_a_name_that_only_may_be_a_legacy_font_is_refused_naming_the_font_and_the_unit(settings, conn):
    # 'Saàm Sôn' is made of Vietnamese letters, so it may be a typo as well as VNI for Sầm Sơn: never guessed.
    folder = _folder(settings)
    rows = [["2026-09", "Saàm Sôn", "security_teams", None, 10, None, None]]
    result = ingest_file(conn, indicator_workbook(folder / "doan.xlsx", rows), settings)
    assert result.status == "rejected"
    (problem,) = result.problems
    assert (problem.row, problem.column, problem.value, problem.code) == (2, "unit_code", "Saàm Sôn", "legacy_font")
    assert "VNI font it reads 'Sầm Sơn' (16531)" in problem.reason_en and "phông VNI" in problem.reason_vi


def _cli(settings, *args, **run):
    env = airflow_env(settings, settings.warehouse_url)  # the settings, as a child process reads them
    return subprocess.run(
        [sys.executable, "-m", "warehouse", *args], env=env, capture_output=True, text=True, timeout=300, **run
    )


def test_check_reports_every_reason_and_stores_nothing(settings, conn, tmp_path):
    folder = tmp_path / "officer"
    folder.mkdir()
    rows = [
        ["2026-09", "14797", "security_teams", None, -3, None, None],
        ["2026-09", "99999", "security_teams", None, 4, None, None],
    ]
    path = indicator_workbook(folder / "38_2026-09.xlsx", rows)
    before = path.read_bytes()
    done = _cli(settings, "check", str(path))
    assert done.returncode == 1, done.stderr
    assert "would be refused, 2 reason(s)" in done.stdout
    assert "row 2, column value: must not be negative" in done.stdout
    assert "row 3, column unit_code: is not a unit code valid in 2026-09" in done.stdout
    assert conn.execute("select count(*) from ingest.submission").fetchone()[0] == 0
    assert conn.execute("select count(*) from ingest.rejection").fetchone()[0] == 0
    assert path.read_bytes() == before and not any(settings.data_dir.glob("quarantine/**/*.xlsx"))

    good = indicator_workbook(folder / "tot.xlsx", [["2026-09", "14797", "security_teams", None, 3, None, None]])
    done = _cli(settings, "check", str(good), "--province", "38", "--period", "2026-09")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "would be accepted for province 38, period 2026-09, as version 1 (1 rows)" in done.stdout
    assert "    security_teams: 3\n" in done.stdout, "the province's figure it would publish"
    assert conn.execute("select count(*) from raw.indicator_value").fetchone()[0] == 0


def test_ingest_on_a_new_warehouse_prepares_it_first(server_url, smtp_server, tmp_path):
    settings = make_settings(server_url, tmp_path, f"antq_new_{os.getpid()}_{next(counter)}", smtp_server.port)
    write_submission(settings.landing_dir, "38", "2026-09")
    done = _cli(settings, "ingest")
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"accepted": 1' in done.stdout
    with psycopg.connect(settings.warehouse_url) as conn:
        assert conn.execute("select status from ingest.submission").fetchall() == [("accepted",)]


def test_check_prints_each_figure_against_the_last_published_period_of_its_kind():
    from ingestion.figures import ProvinceFigure
    from warehouse.__main__ import figure_line

    count = ProvinceFigure("security_teams", "count", 24037, None, None, "2026-Q2", 24000, None, None)
    ratio = ProvinceFigure("households_in_anxh", "ratio", None, 975, 1000, "2026-Q2", None, 900, 1000)
    assert figure_line(count) == "security_teams: 24037 (published 2026-Q2: 24000, change +37)"
    assert figure_line(ratio) == "households_in_anxh: 975/1000 = 97.5% (published 2026-Q2: 90.0%, change +7.5)"
