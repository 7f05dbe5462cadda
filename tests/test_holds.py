"""Publishing per province × period, with real ingestion, dbt, Great Expectations and SMTP: one province's
early, unusual or held file never holds back the others, and a held figure is reviewed, not lost.

The module starts from three months of all 34 provinces, published (conftest.national_template).
"""

from __future__ import annotations

import re

import psycopg
import pytest

from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import ingest_file
from review import holds
from tests.helpers import marts_checksums, national_copy, published
from warehouse import pipeline


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_holds")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute(
            "insert into ref.province_contact values ('38', 'pv05@thanhhoa.antq.test'), ('79', 'pv@hcm.antq.test')"
        )
    return settings


def send(settings, province: str, month: str, change=None, version: int = 2) -> int:
    """The province sends its file for the month again, with security_teams changed by `change`."""
    original = write_submission(settings.landing_dir, province, month)
    path = original
    if change is not None:
        path = rewrite_submission(
            original, original.with_name(f"{province}_{month}_v{version}.csv"), "security_teams", change
        )
        original.unlink()
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        result = ingest_file(conn, path, settings)
    assert result.status == "accepted", result.problems
    return result.submission_id


def pending(settings, province: str) -> list[holds.Hold]:
    with psycopg.connect(settings.warehouse_url) as conn:
        return [h for h in holds.holds(conn, pending_only=True) if h.province_code == province]


def test_one_run_publishes_an_early_province_and_corrections_while_holding_an_outlier(warehouse, mailbox):
    before_01 = published(warehouse, "01", "2026-09")
    before_79 = published(warehouse, "79", "2026-09")
    send(warehouse, "38", "2026-10")  # Thanh Hóa is first with October
    send(warehouse, "01", "2026-09", lambda v: v + 1)  # Hà Nội corrects September
    held_id = send(warehouse, "79", "2026-09", lambda v: v * 10)  # Hồ Chí Minh: ten times its history
    outcome = pipeline.publish_new_figures(warehouse)

    assert outcome["held"] == ["79 Thành phố Hồ Chí Minh 2026-09"]
    assert published(warehouse, "79", "2026-09") == before_79, "the held province keeps its published figure"
    assert published(warehouse, "01", "2026-09") > before_01, "another province's correction is published"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        october = conn.execute(
            "select provinces_reporting, provinces_expected, publication_status, value"
            " from marts.mart_national_indicator where period_code = '2026-10' and indicator_code = 'security_teams'"
        ).fetchone()
        september = conn.execute(
            "select publication_status, provinces_reporting from marts.mart_national_indicator"
            " where period_code = '2026-09' and indicator_code = 'security_teams'"
        ).fetchone()
        status = conn.execute(
            "select status, held_submission_id, current_submission_id <> held_submission_id from marts.fct_submission"
            " where province_code = '79' and period_code = '2026-09'"
        ).fetchone()
    assert october[:3] == (1, 34, "provisional") and october[3] == published(warehouse, "38", "2026-10")
    assert september == ("provisional", 34), "the held province still counts, at its previous version: final waits"
    assert status == ("held", held_id, True)
    [hold] = pending(warehouse, "79")
    assert (hold.submission_id, hold.check_name, hold.indicator_code) == (held_id, "outlier", "security_teams")
    assert hold.detail["value"] > 5 * hold.detail["median_last_6"]

    mails = {m["To"]: m for m in mailbox.take()}
    assert set(mails) == {"data-team@antq.test", "pv@hcm.antq.test"}
    team = mails["data-team@antq.test"].get_body(("plain",)).get_content()
    for expected in (
        "79 Thành phố Hồ Chí Minh",
        "2026-09",
        "security_teams",
        str(hold.detail["value"]),
        "median",
        "outlier_ratio",
    ):
        assert expected in team, expected
    assert "Rules: outlier: A province's count stays within the catalogue's outlier_ratio" in team
    province = mails["pv@hcm.antq.test"].get_body(("plain",)).get_content()
    assert "chưa được công bố" in province and "gửi lại" in province, "the province is asked, in Vietnamese"


def test_the_next_run_publishes_confirmed_figures_keeps_rejected_ones_out_and_releases_resubmitted_ones(
    warehouse, mailbox
):
    before_38 = published(warehouse, "38", "2026-09")
    send(warehouse, "48", "2026-09", lambda v: v * 10)
    send(warehouse, "38", "2026-09", lambda v: v * 20)
    assert pipeline.publish_new_figures(warehouse)["held"] == [
        "38 Thanh Hóa 2026-09",
        "48 Thành phố Đà Nẵng 2026-09",
        "79 Thành phố Hồ Chí Minh 2026-09",
    ], "a hold stays until it is reviewed or replaced"
    assert len(mailbox.take()) == 3, "the new holds only: one email to the data team, one per province"
    [confirm], [reject], [replaced] = (pending(warehouse, code) for code in ("48", "38", "79"))

    confirmed = pipeline.review_hold(
        confirm.hold_id, holds.CONFIRMED, "province phoned: new teams", "ms.lan", warehouse
    )
    assert (confirmed.status, confirmed.reviewed_by, confirmed.review_reason) == (
        "confirmed",
        "ms.lan",
        "province phoned: new teams",
    )
    with pytest.raises(holds.ReviewError, match="say why"):
        pipeline.review_hold(reject.hold_id, holds.REJECTED, " ", "mr.hai", warehouse)
    pipeline.review_hold(reject.hold_id, holds.REJECTED, "typo: one zero too many", "mr.hai", warehouse)
    [told] = mailbox.take()
    assert told["To"] == "pv05@thanhhoa.antq.test"
    assert "Lý do: typo: one zero too many" in told.get_body(("plain",)).get_content()
    send(warehouse, "79", "2026-09", lambda v: v + 1, version=3)  # Hồ Chí Minh sends its real figures

    outcome = pipeline.publish_new_figures(warehouse)
    assert outcome["held"] == [] and outcome["new_holds"] == [], "a confirmed figure is never held again"
    assert published(warehouse, "48", "2026-09") == confirm.detail["value"], "confirmed: published"
    assert published(warehouse, "38", "2026-09") == before_38, "rejected: kept out"
    assert published(warehouse, "79", "2026-09") < replaced.detail["value"], "the new version is published"
    assert mailbox.take() == [], "nothing is mailed twice"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        assert holds.holds(conn, ids=[replaced.hold_id])[0].is_replaced
    with pytest.raises(holds.ReviewError, match="already confirmed"):
        pipeline.review_hold(confirm.hold_id, holds.REJECTED, "changed my mind", "ms.lan", warehouse)


def test_a_whole_build_failure_still_blocks_every_province(warehouse, mailbox):
    before = marts_checksums(warehouse.warehouse_url)
    send(warehouse, "01", "2026-08", lambda v: v + 3)
    pipeline.check_submissions(warehouse)
    pipeline.build_marts(warehouse)
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as conn:
        conn.execute(
            "update build.mart_national_indicator set value = value + 1"
            " where indicator_code = 'anxh_teams' and period_code = '2026-07'"
        )
    with pytest.raises(pipeline.GateFailed, match="reconciliation"):
        pipeline.validate_marts(warehouse)
    assert marts_checksums(warehouse.warehouse_url) == before
    assert [m["To"] for m in mailbox.take()] == ["data-team@antq.test"]


def test_the_build_checks_catch_a_held_submission_counted_or_a_figure_its_rows_do_not_add_up_to(warehouse):
    from expectations.gate import run_gate
    from expectations.suites import suites

    pipeline.check_submissions(warehouse)
    pipeline.build_marts(warehouse)
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as conn:
        rejected = conn.execute("select submission_id from meta.hold where status = 'rejected'").fetchone()[0]
        conn.execute(
            "update build.fct_submission set current_submission_id = %s where province_code = '38'"
            " and period_code = '2026-09'",
            [rejected],
        )
        conn.execute(
            "update build.mart_province_indicator set value = value + 1"
            " where province_code = '01' and period_code = '2026-08' and indicator_code = 'security_teams'"
        )
    report = run_gate("build", lambda: suites("build", warehouse.freshness_days), warehouse.warehouse_url)
    [held] = [f for f in report.errors if f.check == "holds_respected"]
    assert held.sample[0]["submission_id"] == rejected
    [rows] = [f for f in report.errors if f.check == "reconciliation" and "unit-level rows" in f.description]
    assert rows.provinces == ["01 Thành phố Hà Nội"] and rows.periods == ["2026-08"]


def test_each_runs_report_is_kept_lists_every_check_and_is_named_by_its_holds_and_publish(warehouse, mailbox):
    """A gate report was one file per schema, overwritten by the next run: the report of the run that held a
    province was gone when the hold was reviewed, and a passed report listed no check."""
    send(warehouse, "40", "2026-09", lambda v: v * 10)  # Nghệ An: an outlier, held
    pipeline.check_submissions(warehouse)
    with psycopg.connect(warehouse.warehouse_url) as conn:
        (hold,) = [h for h in holds.holds(conn, pending_only=True) if h.province_code == "40"]
    reports = warehouse.data_dir / "gx" / "reports"
    held_by = reports / hold.gate_report
    page = held_by.read_text(encoding="utf-8")
    assert "Các kiểm tra đã chạy / Checks run" in page and "outlier" in page and "không đạt / failed" in page
    run = int(re.search(r"(\d+) kiểm tra / checks", page).group(1))
    listed = page.count(">đạt / passed<") + page.count(">không đạt / failed<")
    assert listed == run >= 3 and ">đạt / passed<" in page, "every check, the passed ones too"
    publish_id = pipeline.publish_new_figures(warehouse)["publish_id"]
    assert held_by.exists(), "the next runs leave the report of the run that held Nghệ An"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        published_with = conn.execute(
            "select gate_report from meta.publish_log where publish_id = %s", [publish_id]
        ).fetchone()[0]
        assert (reports / published_with).exists() and published_with != hold.gate_report
        pipeline.review_hold(hold.hold_id, holds.CONFIRMED, "the new teams are real", "doidulieu", warehouse)
    pipeline.publish_new_figures(warehouse)
    with psycopg.connect(warehouse.warehouse_url) as conn:
        (done,) = holds.holds(conn, ids=[hold.hold_id])
    history = done.describe()
    assert f"report {hold.gate_report}" in history and "confirmed by doidulieu" in history
    assert f"published in publish #{done.published_in}" in history and done.published_in > publish_id
    mailbox.take()


def test_a_submission_rejected_on_review_is_shown_so_to_its_officer(warehouse):
    """It stays out of the marts (dbt counts rejected holds with open ones), but the officer's page said
    'accepted'."""
    from core import security
    from portal.auth import create_account, log_in
    from portal.queries import submissions

    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as conn:
        rejected = conn.execute(
            "select submission_id from meta.hold where status = 'rejected' and province_code = '38'"
        ).fetchone()[0]
        create_account(conn, "pv38", "mat-khau-thu-nghiem", "38")
        session = log_in(conn, "pv38", "mat-khau-thu-nghiem", "127.0.0.1")
        conn.execute(f"set role {security.PORTAL}")
        conn.execute("select set_config('antq.session', %s, false)", [session.token])
        (shown,) = submissions(conn, rejected)
    assert shown["status"] == "accepted" and shown["state"] == "refused_on_review"
    assert not shown["published"], "and it is indeed out of the marts"
