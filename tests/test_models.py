"""Self-management models listed in a submission: checked row by row, stored whole, refused precisely."""

from __future__ import annotations

from datetime import date
from itertools import islice

import psycopg
import pytest

from ingestion.contract import MODEL_SHEET, sheet_columns, sheet_title
from ingestion.generator import province_models, province_rows, write_submission
from ingestion.loader import ingest_file
from ingestion.periods import parse_period
from ingestion.template import build_workbook

COLUMNS = [c.name for c in sheet_columns(MODEL_SHEET)]


def with_models(settings, province: str, period: str, models: list[dict]):
    """A small XLSX submission: the province's template with three generated rows and `models` as its list."""
    path = settings.landing_dir / province / period / f"{province}_{period}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = build_workbook(province, period)
    indicators = workbook[sheet_title()]
    for row in islice(province_rows(province, parse_period(period)), 3):
        indicators.append([row.get(column.name) for column in sheet_columns()])
    listed = workbook[sheet_title(MODEL_SHEET)]
    for model in models:
        listed.append([model.get(column, "") for column in COLUMNS])
    workbook.save(path)
    return path


GOOD = {
    "model_code": "TH-0001",
    "model_name": "Tổ an ninh công nhân",
    "model_type": "worker_security_team",
    "host_unit_code": "14797",
    "level": "commune",
    "launch_date": "2024-05-19",
    "status": "active",
    "replicated_from": "",
}


def test_the_generated_model_list_is_stored_with_the_submission(settings, conn):
    path = write_submission(settings.landing_dir, "38", "2026-Q3", file_format="xlsx")
    expected = list(province_models("38", parse_period("2026-Q3")))
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted", [p.describe() for p in result.problems[:3]]
    stored = conn.execute("select count(*), count(replicated_from_code) from raw.model").fetchone()
    assert stored == (len(expected), sum(1 for m in expected if m["replicated_from"]))
    assert conn.execute("select model_count from ingest.submission").fetchone()[0] == len(expected)
    national = conn.execute(
        "select model_type, level, launch_date from raw.model where model_code = 'TH-ANCN'"
    ).fetchone()
    assert national == ("worker_security_team", "province", date(2015, 3, 26))


def test_a_model_may_be_dated_the_vietnamese_way_and_its_unit_named(settings, conn):
    model = {**GOOD, "launch_date": "19/05/2024", "host_unit_code": "Phường Hạc Thành", "replicated_from": "01/HN-7"}
    result = ingest_file(conn, with_models(settings, "38", "2026-Q3", [model]), settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    assert conn.execute(
        "select host_unit_code, launch_date, replicated_from_province, replicated_from_code from raw.model"
    ).fetchone() == ("14797", date(2024, 5, 19), "01", "HN-7")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"model_type": "tank_brigade"}, ("model_type", "unknown_model_type")),
        ({"level": "national"}, ("level", "not_in_list")),
        ({"status": "sleeping"}, ("status", "not_in_list")),
        ({"model_name": ""}, ("model_name", "required")),
        ({"launch_date": "2024-13-01"}, ("launch_date", "bad_date")),
        ({"launch_date": "2026-10-01"}, ("launch_date", "launched_after_period")),
        ({"host_unit_code": "00070"}, ("host_unit_code", "unit_of_other_province")),
        ({"host_unit_code": ""}, ("host_unit_code", "required")),
        ({"replicated_from": "TH-0001"}, ("replicated_from", "replicates_itself")),
    ],
)
def test_a_bad_model_row_rejects_the_file_naming_sheet_row_and_column(settings, conn, overrides, expected):
    other = {**GOOD, "model_code": "TH-0002"}
    result = ingest_file(conn, with_models(settings, "38", "2026-Q3", [other, {**GOOD, **overrides}]), settings)
    assert result.status == "rejected"
    found = {(p.column, p.code): p for p in result.problems}
    assert expected in found, [p.describe() for p in result.problems]
    problem = found[expected]
    assert (problem.sheet, problem.row) == (sheet_title(MODEL_SHEET), 3)
    assert problem.reason_en and problem.reason_vi
    assert conn.execute("select count(*) from raw.model").fetchone()[0] == 0
    assert conn.execute("select count(*) from raw.indicator_value").fetchone()[0] == 0, "nothing of the file"


def test_a_model_listed_twice_is_refused_naming_the_first_row(settings, conn):
    result = ingest_file(conn, with_models(settings, "38", "2026-Q3", [GOOD, GOOD]), settings)
    assert [(p.row, p.code) for p in result.problems] == [(3, "duplicate_model")]
    assert "row 2" in result.problems[0].reason_en


def test_a_csv_submission_has_no_model_list_and_needs_none(settings, conn):
    result = ingest_file(conn, write_submission(settings.landing_dir, "38", "2026-Q3"), settings)
    assert result.status == "accepted"
    assert conn.execute("select count(*) from raw.model").fetchone()[0] == 0


@pytest.fixture(scope="module")
def built(server_url, smtp_server, prepared_template, tmp_path_factory):
    """Thanh Hóa and Hà Nội send their 2026-Q3 workbooks with their model lists; the marts are built."""
    from tests.helpers import make_settings
    from warehouse import pipeline

    folder = tmp_path_factory.mktemp("models")
    settings = make_settings(server_url, folder, "antq_models", smtp_server.port, prepared_template)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for province in ("38", "01"):
            path = write_submission(settings.landing_dir, province, "2026-Q3", file_format="xlsx")
            assert ingest_file(conn, path, settings).status == "accepted"
    pipeline.build_marts(settings)
    expected = {p: list(province_models(p, parse_period("2026-Q3"))) for p in ("38", "01")}
    with psycopg.connect(settings.warehouse_url) as conn:
        yield conn, expected


def test_every_listed_model_is_one_row_of_dim_model_in_its_province(built):
    conn, expected = built
    counts = dict(conn.execute("select province_code, count(*) from build.dim_model group by 1").fetchall())
    assert counts == {p: len(models) for p, models in expected.items()}
    by_type = conn.execute(
        "select sum(models), sum(models_closed) from build.mart_model_counts where province_code = '38'"
    ).fetchone()
    assert by_type == (len(expected["38"]), sum(m["status"] == "closed" for m in expected["38"]))


def test_closing_and_launching_are_events(built):
    conn, expected = built
    events = dict(conn.execute("select event_type, count(*) from build.fct_model_event group by 1").fetchall())
    everything = expected["38"] + expected["01"]
    assert events["launched"] == len(everything)
    assert events["closed"] == sum(m["status"] == "closed" for m in everything)


def test_thanh_hoas_worker_security_team_is_replicated_across_provinces(built):
    conn, expected = built
    in_hanoi = sum(m["replicated_from"] == "38/TH-ANCN" for m in expected["01"])
    at_home = sum(m["replicated_from"] == "TH-ANCN" for m in expected["38"])
    row = conn.execute(
        "select replicas, replicas_in_other_provinces, provinces_reached, province_name"
        " from build.mart_model_replication where model_code = 'TH-ANCN'"
    ).fetchone()
    assert in_hanoi > 0 and at_home > 0
    assert row == (in_hanoi + at_home, in_hanoi, 2, "Thanh Hóa")
    top = conn.execute(
        "select model_code, replicas from build.mart_model_replication where replication_rank = 1"
    ).fetchone()
    assert top[1] == conn.execute("select max(replicas) from build.mart_model_replication").fetchone()[0]


def test_a_json_submission_carries_its_models_under_their_key(settings, conn):
    import json

    folder = settings.landing_dir / "38" / "2026-Q3"
    folder.mkdir(parents=True)
    path = folder / "38_2026-Q3.json"
    blank = {"category": None, "numerator": None, "denominator": None}
    indicators = [
        {"period": "2026-Q3", "unit_code": "14797", "indicator_code": "security_teams", "value": 26, **blank},
        {"period": "2026-Q3", "unit_code": "14797", "indicator_code": "models_active", "value": 2, **blank},
    ]
    headers = {c.name: c.header_vi for c in sheet_columns(MODEL_SHEET)}  # keys may be the Vietnamese labels
    models = [{headers[k]: v for k, v in model.items()} for model in (GOOD, {**GOOD, "model_code": "TH-0002"})]
    models[1]["Trạng thái"] = "closed"
    path.write_text(json.dumps({"indicators": indicators, "models": models}, ensure_ascii=False), encoding="utf-8")
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted", [p.describe() for p in result.problems]
    assert conn.execute("select model_code, status from raw.model order by 1").fetchall() == [
        ("TH-0001", "active"),
        ("TH-0002", "closed"),
    ]
