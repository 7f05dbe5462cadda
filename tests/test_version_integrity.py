"""Integrity of versions, with real ingestion, dbt, Great Expectations, SMTP and the portal served for real: a new
version replaces its predecessor whole, so one that drops most of what the province reported before is held
for review (the province keeps its published figures until the data team confirms it), and the dry run warns
the officer before the file is sent. A complete correction is never held by this rule.

The module starts from three months of all 34 provinces, published (conftest.national_template).
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import dry_run, ingest_file
from review import holds
from tests.helpers import national_copy
from tests.test_portal import _csrf, _logged_in, portal, small_files  # noqa: F401 (fixtures)
from warehouse import pipeline
from warehouse.__main__ import check_report

CHECK = "version_keeps_most"


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_versions")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute("insert into ref.province_contact values ('38', 'pv05@thanhhoa.antq.test')")
    return settings


def one_row_file(folder: Path, province: str, period: str, value: int) -> Path:
    """A test file of one row: the province's own security teams, as a province sent by mistake."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{province}_{period}_test.csv"
    path.write_text(
        f"period,unit_code,indicator_code,category,value,numerator,denominator\n{period},{province},security_teams,,{value},,\n",
        encoding="utf-8",
    )
    return path


def part_of(source: Path, target: Path, share: float) -> Path:
    """The province's file with only the first `share` of its units (every indicator of those units)."""
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    units = list(dict.fromkeys(row["unit_code"] for row in rows))
    kept = set(units[: int(len(units) * share)])
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(row for row in rows if row["unit_code"] in kept)
    return target


def current(settings, province: str, period: str) -> tuple[int, int, int, int]:
    """The accepted version of a province × period: its id, and its rows, figures and units as stored."""
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute(
            """select s.submission_id, s.row_count, count(distinct (r.unit_code, r.indicator_code)),
                      count(distinct r.unit_code)
               from ingest.submission as s inner join raw.indicator_value as r using (submission_id)
               where s.province_code = %s and s.period_code = %s and s.status = 'accepted'
               group by s.submission_id, s.row_count""",
            [province, period],
        ).fetchone()


def province_figures(settings, province: str, period: str) -> dict[str, int | None]:
    with psycopg.connect(settings.warehouse_url) as conn:
        rows = conn.execute(
            "select indicator_code, coalesce(value, numerator) from marts.mart_province_indicator"
            " where province_code = %s and period_code = %s",
            [province, period],
        ).fetchall()
    return dict(rows)


def ingest(settings, path: Path):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        result = ingest_file(conn, path, settings)
    assert result.status == "accepted", result.problems
    return result


def check(settings, path: Path, province: str, period: str):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        return dry_run(conn, path, province, period, settings)


def test_a_complete_corrected_version_is_neither_warned_of_nor_held(warehouse, tmp_path):
    before = province_figures(warehouse, "01", "2026-08")
    original = write_submission(tmp_path / "landing", "01", "2026-08")
    corrected = rewrite_submission(original, tmp_path / "01_2026-08_v2.csv", "security_teams", lambda v: v + 1)
    assert check(warehouse, corrected, "01", "2026-08").warnings == [], "it keeps every figure it replaces"

    landed = warehouse.landing_dir / "01" / "2026-08" / corrected.name
    landed.parent.mkdir(parents=True, exist_ok=True)
    version_2 = ingest(warehouse, corrected.replace(landed))
    outcome = pipeline.publish_new_figures(warehouse)

    assert outcome["held"] == [] and outcome["new_holds"] == []
    assert province_figures(warehouse, "01", "2026-08")["security_teams"] > before["security_teams"], "published"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        counted = conn.execute(
            "select current_submission_id from marts.fct_submission"
            " where province_code = '01' and period_code = '2026-08'"
        ).fetchone()[0]
    assert counted == version_2.submission_id
    with psycopg.connect(warehouse.warehouse_url) as conn:
        from ingestion.versions import dropped

        assert dropped(conn, version_2.submission_id, 1.0) == [], "judged: it keeps all, even at the strictest ratio"


def test_the_dry_run_of_a_one_row_file_warns_that_it_replaces_the_whole_period(warehouse, tmp_path):
    submission_id, rows, figures, units = current(warehouse, "38", "2026-09")
    path = one_row_file(tmp_path, "38", "2026-09", 115)
    with psycopg.connect(warehouse.warehouse_url) as conn:
        stored = conn.execute("select count(*), max(submission_id) from ingest.submission").fetchone()

    result = check(warehouse, path, "38", "2026-09")

    assert (result.status, result.version, result.row_count, result.problems) == ("accepted", 2, 1, [])
    [drop] = result.warnings
    assert (drop.rows, drop.previous_rows, drop.figures, drop.previous_figures) == (1, rows, 1, figures)
    assert (drop.units, drop.previous_units, drop.kept_units, drop.previous_version) == (1, units, 0, 1)
    said = check_report(result)
    assert f"this replaces your whole 2026-09 report: 1 row(s) against {rows:,} in version 1" in said
    assert f"toàn bộ báo cáo kỳ 2026-09 đã gửi: 1 dòng so với {rows:,} dòng".replace(",", ".") in said
    assert "would be accepted" in said, "a warning, not a refusal: the file keeps the contract"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        assert conn.execute("select count(*), max(submission_id) from ingest.submission").fetchone() == stored
    assert current(warehouse, "38", "2026-09")[0] == submission_id, "nothing stored: version 1 is still current"


def test_a_one_row_version_2_is_held_and_published_only_once_confirmed(warehouse, mailbox):
    version_1, _, figures, units = current(warehouse, "38", "2026-09")
    before = province_figures(warehouse, "01", "2026-09"), province_figures(warehouse, "38", "2026-09")
    teams = before[1]["security_teams"]  # the same total: no outlier, only the versions' rule can hold it
    folder = warehouse.landing_dir / "38" / "2026-09"
    version_2 = ingest(warehouse, one_row_file(folder, "38", "2026-09", teams))
    assert version_2.version == 2

    outcome = pipeline.publish_new_figures(warehouse)

    assert outcome["held"] == ["38 Thanh Hóa 2026-09"]
    with psycopg.connect(warehouse.warehouse_url) as conn:
        [hold] = [h for h in holds.holds(conn, pending_only=True) if h.province_code == "38"]
    assert (hold.submission_id, hold.check_name, hold.version) == (version_2.submission_id, CHECK, 2)
    words = (
        "version 2 reports 1 figure of 1 unit and 1 indicator where version 1 reported"
        f" {figures:,} figures of {units:,} units"
    )
    assert words in hold.figure()
    assert province_figures(warehouse, "38", "2026-09") == before[1], "the marts keep version 1 whole"
    mails = {m["To"]: m for m in mailbox.take()}
    assert set(mails) == {"data-team@antq.test", "pv05@thanhhoa.antq.test"}
    team = mails["data-team@antq.test"].get_body(("plain",)).get_content()
    assert words in team and f"Rules: {CHECK}: A new version keeps at least 50%" in team

    pipeline.review_hold(hold.hold_id, holds.CONFIRMED, "the province means it: only the teams", "ms.lan", warehouse)
    outcome = pipeline.publish_new_figures(warehouse)

    assert outcome["held"] == [] and outcome["new_holds"] == []
    assert province_figures(warehouse, "38", "2026-09") == {"security_teams": teams}, "version 2 is published"
    assert province_figures(warehouse, "01", "2026-09") == before[0], "the other provinces were never held back"
    assert mailbox.take() == [], "nothing is mailed twice"


def test_the_share_a_version_must_keep_comes_from_settings(warehouse, tmp_path):
    assert Settings.from_env({}).version_keep_ratio == 0.5
    lenient = Settings.from_env({"ANTQ_VERSION_KEEP_RATIO": "0.3"})
    assert lenient.version_keep_ratio == 0.3
    original = write_submission(tmp_path / "landing", "79", "2026-07")
    path = part_of(original, tmp_path / "79_2026-07_part.csv", 0.4)  # 40% of its units

    [drop] = check(warehouse, path, "79", "2026-07").warnings
    assert drop.kept_units / drop.previous_units == pytest.approx(0.4, abs=0.01)
    warned = check(replace(warehouse, version_keep_ratio=lenient.version_keep_ratio), path, "79", "2026-07")
    assert (warned.status, warned.warnings) == ("accepted", []), "40% kept is enough when the setting asks for 30%"

    from expectations.suites import submission_suites

    [rule] = submission_suites(replace(warehouse, version_keep_ratio=0.3))["int_counted_submissions"].expectations
    assert rule.meta["check"] == CHECK and "at least 30%" in rule.description and "0.3 *" in rule.unexpected_rows_query


def test_the_portals_check_page_warns_before_a_file_replaces_the_whole_period(small_files, portal, tmp_path):  # noqa: F811
    full = ingest(small_files, write_submission(small_files.landing_dir, "38", "2026-09"))
    client = _logged_in(portal, "thanhhoa")
    path = one_row_file(tmp_path, "38", "2026-09", 115)
    form = {"period": "2026-09", "action": "check", "csrf": _csrf(client)}

    response = client.post("/upload", data=form, files={"file": (path.name, path.read_bytes())})

    assert response.status_code == 200
    assert "Tệp hợp lệ: sẽ được nhận là bản 2" in response.text, "still accepted as far as the contract goes"
    rows = f"{full.row_count:,}".replace(",", ".")
    assert f"thay thế toàn bộ báo cáo kỳ 2026-09 đã gửi: 1 dòng so với {rows} dòng của bản 1" in response.text
