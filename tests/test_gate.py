"""The quality gate with real dbt, Great Expectations and SMTP: a failed check publishes nothing and sends
exactly one email naming the check and where; a warning publishes and is reported.

The module builds one warehouse with three months of submissions from all 34 provinces and publishes it;
each test then seeds one fault into a new build.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from tests.helpers import marts_checksums, national_copy
from warehouse import pipeline


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    return national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_gate")


def fails_gate(settings, mailbox) -> str:
    """Run the gate on the current build; it must fail, leave marts alone and send one email."""
    before = marts_checksums(settings.warehouse_url)
    with pytest.raises(pipeline.GateFailed):
        pipeline.validate_marts(settings)
    assert marts_checksums(settings.warehouse_url) == before
    mails = mailbox.take()
    assert len(mails) == 1, [m["Subject"] for m in mails]
    assert mails[0]["To"] == "data-team@antq.test"
    assert mails[0].get_body(("html",)) is not None
    text = mails[0].get_body(("plain",)).get_content()
    docs = next(line for line in text.splitlines() if "data docs" in line).split(": ", 1)[1]
    assert Path(docs.removeprefix("file://")).exists(), "the email links the data docs of the failed run"
    return mails[0]["Subject"] + "\n" + text


def tamper(settings, statement: str) -> None:
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute(statement)


def test_a_national_figure_that_is_not_the_sum_of_provinces_blocks_publishing(warehouse, mailbox):
    pipeline.build_marts(warehouse)
    tamper(
        warehouse,
        "update build.mart_national_indicator set value = value + 1"
        " where indicator_code = 'security_teams' and period_code = '2026-09'",
    )
    mail = fails_gate(warehouse, mailbox)
    assert "reconciliation" in mail and "2026-09" in mail and "security_teams" in mail


def test_a_ratio_over_100_percent_blocks_publishing_and_names_the_province(warehouse, mailbox):
    pipeline.build_marts(warehouse)
    tamper(
        warehouse,
        "update build.mart_province_indicator set numerator = denominator + 1"
        " where province_code = '38' and indicator_code = 'households_in_anxh'",
    )
    mail = fails_gate(warehouse, mailbox)
    assert "ratio_within_100" in mail and "38 Thanh Hóa" in mail


def test_a_finding_counts_every_bad_row_with_one_query_and_returns_at_most_200(warehouse):
    from expectations.gate import run_gate
    from expectations.suites import suites

    pipeline.build_marts(warehouse)
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as conn:
        broken = conn.execute(
            "update build.mart_province_indicator set numerator = denominator + 1 where measure = 'ratio'"
        ).rowcount
    assert broken > 200
    report = run_gate("build", lambda: suites("build", warehouse.freshness_days), warehouse.warehouse_url)
    finding = next(
        f for f in report.findings if (f.check, f.table) == ("published_ratio_within_100", "mart_province_indicator")
    )
    assert finding.unexpected_count == broken, "the count is of every row, not of the rows returned"
    assert 0 < len(finding.sample) <= 200


def test_the_same_failure_found_again_by_a_retry_is_not_mailed_twice(warehouse, mailbox):
    pipeline.build_marts(warehouse)
    tamper(
        warehouse,
        "update build.mart_national_indicator set value = value + 7"
        " where indicator_code = 'anxh_teams' and period_code = '2026-08'",
    )
    fails_gate(warehouse, mailbox)
    with pytest.raises(pipeline.GateFailed):
        pipeline.validate_marts(warehouse)
    assert mailbox.take() == []


def test_a_submission_check_that_cannot_run_fails_closed_instead_of_holding_nothing(warehouse):
    from expectations.gate import run_gate
    from expectations.suites import submission_suites

    tamper(
        warehouse,
        "create schema broken; create table broken.int_province_indicator_periods (province_code text);"
        " create table broken.int_counted_submissions (province_code text)",
    )
    report = run_gate("broken", submission_suites, warehouse.warehouse_url)
    assert not report.passed
    assert {(f.check, f.severity) for f in report.findings} == {
        ("outlier", "critical"),
        ("ratio_within_100", "critical"),
        ("version_keeps_most", "critical"),
    }
    assert all("the check itself failed" in f.description for f in report.findings)


def test_a_warning_publishes_and_is_reported_in_a_digest(warehouse, mailbox):
    strict = replace(warehouse, freshness_days=1)
    before = marts_checksums(warehouse.warehouse_url)
    pipeline.build_marts(strict)
    gate = pipeline.validate_marts(strict)
    pipeline.publish_marts(gate, strict)
    after = marts_checksums(warehouse.warehouse_url)
    assert after["publish_log"] != before["publish_log"], "published"
    mails = mailbox.take()
    assert len(mails) == 1 and "warning" in mails[0]["Subject"] and "freshness" in mails[0]["Subject"]


def test_a_rejected_file_is_reported_to_the_province_contact_in_both_languages(warehouse, mailbox):
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as conn:
        conn.execute(
            "insert into ref.province_contact values ('38', 'pv05@thanhhoa.antq.test')"
            " on conflict (province_code) do update set email = excluded.email"
        )
    folder = warehouse.landing_dir / "38" / "2026-10"
    folder.mkdir(parents=True)
    bad = folder / "38_2026-10.csv"
    bad.write_text(
        "period,unit_code,indicator_code,category,value,numerator,denominator\n2026-10,00070,security_teams,,-5,,\n",
        encoding="utf-8",
    )
    outcome = pipeline.ingest(str(bad), warehouse)
    assert outcome["status"] == "rejected"
    mails = mailbox.take()
    assert len(mails) == 1 and mails[0]["To"] == "pv05@thanhhoa.antq.test"
    body = mails[0].get_body(("plain",)).get_content()
    assert "38_2026-10.csv" in body and "không được là số âm" in body and "must not be negative" in body
    assert "belongs to province 01" in body, "the unit of another province is named too"
    assert "Giá trị (value)" in body, "columns are named as the template heads them"


def test_a_crashed_task_alerts_the_data_team_once(warehouse, mailbox, monkeypatch):
    for name, value in {
        "ANTQ_WAREHOUSE_URL": warehouse.warehouse_url,
        "ANTQ_SMTP_HOST": warehouse.smtp_host,
        "ANTQ_SMTP_PORT": str(warehouse.smtp_port),
        "ANTQ_DATA_TEAM": "data-team@antq.test",
    }.items():
        monkeypatch.setenv(name, value)
    context = {
        "ti": SimpleNamespace(dag_id="antq_ingest", run_id="manual__1", task_id="ingest_file"),
        "exception": RuntimeError("disk full"),
    }
    pipeline.alert_task_failure(context)
    pipeline.alert_task_failure(context)
    mails = mailbox.take()
    assert len(mails) == 1 and "antq_ingest.ingest_file" in mails[0]["Subject"]
    assert "disk full" in mails[0].get_body(("plain",)).get_content()
    pipeline.alert_task_failure({**context, "exception": pipeline.GateFailed("already mailed")})
    assert mailbox.take() == []
