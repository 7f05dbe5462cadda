"""Publishing per province × period, with real ingestion, dbt, Great Expectations and SMTP: one province's
early, unusual or held file never holds back the others, and a held figure is reviewed, not lost.

The module publishes three months from all 34 provinces once; each test then works on its own provinces.
"""

from __future__ import annotations

import psycopg
import pytest

from ingestion.generator import current_province_codes, rewrite_submission, write_submission
from ingestion.loader import ingest_file
from tests.conftest import make_settings, marts_checksums
from warehouse import holds, pipeline

MONTHS = ("2026-07", "2026-08", "2026-09")


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory):
    settings = make_settings(server_url, tmp_path_factory.mktemp("holds"), "antq_holds", smtp_server.port)
    pipeline.prepare_warehouse(settings)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for month in MONTHS:
            for province in current_province_codes():
                ingest_file(conn, write_submission(settings.landing_dir, province, month), settings)
        conn.execute("insert into ref.province_contact values ('38', 'pv05@thanhhoa.antq.test')")
    assert pipeline.publish_new_figures(settings)["held"] == []
    smtp_server.take()
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


def published(settings, province: str, period: str, indicator: str = "security_teams") -> int | None:
    with psycopg.connect(settings.warehouse_url) as conn:
        row = conn.execute(
            "select value from marts.mart_province_indicator"
            " where province_code = %s and period_code = %s and indicator_code = %s",
            [province, period, indicator],
        ).fetchone()
    return row and row[0]


def pending(settings, province: str) -> list[holds.Hold]:
    with psycopg.connect(settings.warehouse_url) as conn:
        return [h for h in holds.holds(conn, pending_only=True) if h.province_code == province]


def test_a_province_sending_a_period_first_publishes_it_as_provisional_with_the_others_new_files(warehouse):
    before_01 = published(warehouse, "01", "2026-09")
    send(warehouse, "38", "2026-10")  # Thanh Hóa is first with October
    send(warehouse, "01", "2026-09", lambda v: v + 1)  # Hà Nội corrects September
    outcome = pipeline.publish_new_figures(warehouse)
    assert outcome["held"] == []
    with psycopg.connect(warehouse.warehouse_url) as conn:
        national = conn.execute(
            "select provinces_reporting, provinces_expected, publication_status, value"
            " from marts.mart_national_indicator where period_code = '2026-10' and indicator_code = 'security_teams'"
        ).fetchone()
        september = conn.execute(
            "select publication_status, provinces_reporting from marts.mart_national_indicator"
            " where period_code = '2026-09' and indicator_code = 'security_teams'"
        ).fetchone()
    assert national[:3] == (1, 34, "provisional")
    assert national[3] == published(warehouse, "38", "2026-10")
    assert september == ("final", 34)
    assert published(warehouse, "01", "2026-09") > before_01, "the other province's correction published too"


def test_an_outlier_holds_only_its_province_which_keeps_its_published_figure(warehouse, mailbox):
    before_38 = published(warehouse, "38", "2026-09")
    before_79 = published(warehouse, "79", "2026-09")
    held_id = send(warehouse, "38", "2026-09", lambda v: v * 10)
    send(warehouse, "79", "2026-09", lambda v: v + 2)
    outcome = pipeline.publish_new_figures(warehouse)

    assert outcome["held"] == ["38 Thanh Hóa 2026-09"]
    assert published(warehouse, "38", "2026-09") == before_38, "the held province keeps its published figure"
    assert published(warehouse, "79", "2026-09") > before_79, "the other province's new figures are published"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        status = conn.execute(
            "select status, held_submission_id, current_submission_id <> held_submission_id from marts.fct_submission"
            " where province_code = '38' and period_code = '2026-09'"
        ).fetchone()
    assert status == ("held", held_id, True)
    [hold] = pending(warehouse, "38")
    assert (hold.submission_id, hold.check_name, hold.indicator_code) == (held_id, "outlier", "security_teams")
    assert hold.detail["value"] > 5 * hold.detail["median_last_6"]

    mails = {m["To"]: m for m in mailbox.take()}
    assert set(mails) == {"data-team@antq.test", "pv05@thanhhoa.antq.test"}
    team = mails["data-team@antq.test"].get_body(("plain",)).get_content()
    for expected in ("38 Thanh Hóa", "2026-09", "security_teams", str(hold.detail["value"]), "outlier_ratio", "median"):
        assert expected in team, expected
    province = mails["pv05@thanhhoa.antq.test"].get_body(("plain",)).get_content()
    assert "chưa được công bố" in province and "gửi lại" in province, "the province is asked, in Vietnamese"

    again = pipeline.publish_new_figures(warehouse)
    assert again["new_holds"] == [] and again["held"] == ["38 Thanh Hóa 2026-09"]
    assert mailbox.take() == [], "a hold is mailed once"

    # The province sends its real figures again: the new version replaces the hold and is published.
    send(warehouse, "38", "2026-09", lambda v: v + 1, version=3)
    released = pipeline.publish_new_figures(warehouse)
    assert released["held"] == []
    assert published(warehouse, "38", "2026-09") > before_38
    with psycopg.connect(warehouse.warehouse_url) as conn:
        assert holds.holds(conn, ids=[hold.hold_id])[0].is_replaced


def test_a_confirmed_figure_is_published_by_the_next_run_and_never_held_again(warehouse, mailbox):
    before = published(warehouse, "48", "2026-09")
    send(warehouse, "48", "2026-09", lambda v: v * 10)
    pipeline.publish_new_figures(warehouse)
    [hold] = pending(warehouse, "48")
    assert published(warehouse, "48", "2026-09") == before
    mailbox.take()

    confirmed = pipeline.review_hold(hold.hold_id, holds.CONFIRMED, "province phoned: new teams", "ms.lan", warehouse)
    assert (confirmed.status, confirmed.reviewed_by, confirmed.review_reason) == (
        "confirmed",
        "ms.lan",
        "province phoned: new teams",
    )
    outcome = pipeline.publish_new_figures(warehouse)
    assert outcome["held"] == [] and outcome["new_holds"] == []
    assert published(warehouse, "48", "2026-09") == hold.detail["value"]
    assert mailbox.take() == []
    with pytest.raises(holds.ReviewError, match="already confirmed"):
        pipeline.review_hold(hold.hold_id, holds.REJECTED, "changed my mind", "ms.lan", warehouse)


def test_a_rejected_figure_stays_out_and_the_province_is_told(warehouse, mailbox):
    before = published(warehouse, "38", "2026-09")
    send(warehouse, "38", "2026-09", lambda v: v * 20, version=4)
    pipeline.publish_new_figures(warehouse)
    [hold] = pending(warehouse, "38")
    mailbox.take()
    with pytest.raises(holds.ReviewError, match="say why"):
        pipeline.review_hold(hold.hold_id, holds.REJECTED, " ", "mr.hai", warehouse)

    pipeline.review_hold(hold.hold_id, holds.REJECTED, "typo: one zero too many", "mr.hai", warehouse)
    mails = mailbox.take()
    assert [m["To"] for m in mails] == ["pv05@thanhhoa.antq.test"]
    body = mails[0].get_body(("plain",)).get_content()
    assert "Lý do: typo: one zero too many" in body and "Reason: typo: one zero too many" in body
    outcome = pipeline.publish_new_figures(warehouse)
    assert outcome["held"] == [], "a rejected hold is not waiting for review any more"
    assert published(warehouse, "38", "2026-09") == before, "but its figure stays out"


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
