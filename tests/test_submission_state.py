"""What became of each submission is decided once (the view ingest.submission_state) and dbt, the pipeline and
the portal agree on it: on a warehouse with every state, each reader's answer is compared with the truth
written out here by hand.

The module starts from three months of all 34 provinces, published (conftest.national_template).
"""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from core import security
from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import ingest_file
from review import holds
from tests.helpers import national_copy
from tests.test_portal import _browser, _sign_in, portal  # noqa: F401 (fixtures)
from warehouse import pipeline

MONTH = "2026-09"


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    return national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_states")


@pytest.fixture
def small_files(warehouse):
    """The portal of tests/test_portal.py, served on this module's warehouse."""
    return replace(warehouse, max_file_bytes=1024 * 1024)


def send(settings, province: str, change, month: str = MONTH) -> int:
    original = write_submission(settings.landing_dir, province, month)
    path = rewrite_submission(original, original.with_name(f"{province}_{month}_v2.csv"), "security_teams", change)
    original.unlink()
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        result = ingest_file(conn, path, settings)
    assert result.status == "accepted", result.problems
    return result.submission_id


def first_version(settings, province: str) -> int:
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute(
            "select submission_id from ingest.submission where province_code = %s and period_code = %s and version = 1",
            [province, MONTH],
        ).fetchone()[0]


def officer_states(settings, province: str) -> dict[int, str]:
    """The states the province's officer is shown, read as the portal reads them (its role, the session)."""
    from portal.auth import create_account, log_in
    from portal.queries import submissions

    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        create_account(conn, f"pv{province}", "mat-khau-thu-nghiem", province)
        session = log_in(conn, f"pv{province}", "mat-khau-thu-nghiem", "127.0.0.1")
        conn.execute(f"set role {security.PORTAL}")
        conn.execute("select set_config('antq.session', %s, false)", [session.token])
        return {row["submission_id"]: row["state"] for row in submissions(conn) if row["period_code"] == MONTH}


def counted_by_dbt(settings) -> set[int]:
    """What dbt's staging counts, at the horizon a run under way would take now (a run reads the registry as it
    stood when it began: tests/test_horizon.py)."""
    pipeline.set_horizon(settings)
    with psycopg.connect(settings.warehouse_url) as conn:
        return {
            row[0]
            for row in conn.execute(
                "select submission_id from intermediate.int_counted_submissions where submission_id is not null"
            )
        }


def counted_by_the_view(settings) -> set[int]:
    with psycopg.connect(settings.warehouse_url) as conn:
        return {row[0] for row in conn.execute("select submission_id from ingest.submission_state where counts")}


def test_dbt_the_pipeline_and_the_portal_agree_on_every_state(warehouse, mailbox):
    first = {province: first_version(warehouse, province) for province in ("01", "38", "40", "48", "79")}
    corrected = send(warehouse, "01", lambda v: v + 1)  # a correction, published by the next run
    held = send(warehouse, "79", lambda v: v * 10)  # ten times its history: held, never reviewed
    refused = send(warehouse, "38", lambda v: v * 20)  # held, then rejected on review
    confirmed = send(warehouse, "48", lambda v: v * 10)  # held, then confirmed: waits for the next run
    outcome = pipeline.publish_new_figures(warehouse)
    assert len(outcome["held"]) == 3, outcome["held"]
    with psycopg.connect(warehouse.warehouse_url) as conn:
        pending = {h.province_code: h for h in holds.holds(conn, pending_only=True)}
    pipeline.review_hold(pending["38"].hold_id, holds.REJECTED, "one zero too many", "mr.hai", warehouse)
    pipeline.review_hold(pending["48"].hold_id, holds.CONFIRMED, "province phoned: new teams", "ms.lan", warehouse)
    waiting = send(warehouse, "40", lambda v: v + 2)  # sent after the run: waits for the next
    bad = write_submission(warehouse.landing_dir, "01", "2026-10")
    bad.write_text(bad.read_text(encoding="utf-8").replace(",security_teams,,", ",security_teams,,-", 1))
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as conn:
        rejected_file = ingest_file(conn, bad, warehouse)
    assert rejected_file.status == "rejected"

    truth = {  # submission: (what its officer is told, whether the next build counts it)
        first["01"]: ("superseded", False),
        corrected: ("published", True),
        first["79"]: ("superseded", True),  # its newer version is held: the published one goes on counting
        held: ("held", False),
        first["38"]: ("superseded", True),
        refused: ("refused_on_review", False),
        first["48"]: ("superseded", False),  # a confirmed hold holds nothing back
        confirmed: ("accepted", True),
        first["40"]: ("superseded", False),
        waiting: ("accepted", True),
    }
    shown = {}
    for province in ("01", "38", "40", "48", "79"):
        shown |= officer_states(warehouse, province)
    assert shown == {submission: state for submission, (state, _) in truth.items()}, "the portal"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        (october,) = conn.execute(
            "select state from ingest.submission_state where submission_id = %s", [rejected_file.submission_id]
        ).fetchone()
    assert october == "rejected"

    should_count = {submission for submission, (_, counts) in truth.items() if counts}
    ours = set(truth) | {rejected_file.submission_id}
    assert counted_by_dbt(warehouse) & ours == should_count, "dbt"
    assert counted_by_the_view(warehouse) == counted_by_dbt(warehouse), "and for every other province and month"
    assert pipeline.waiting_to_publish(warehouse) == 2, "the pipeline: the confirmed and the late version"

    pipeline.publish_new_figures(warehouse)
    with psycopg.connect(warehouse.warehouse_url) as conn:
        live = {
            row[0]
            for row in conn.execute(
                "select current_submission_id from marts.fct_submission where current_submission_id is not null"
            )
        }
    assert live & ours == should_count and live == counted_by_the_view(warehouse), "what the publish counted"
    assert pipeline.waiting_to_publish(warehouse) == 0
    assert officer_states(warehouse, "48")[confirmed] == "published"
    assert officer_states(warehouse, "38")[refused] == "refused_on_review"


@pytest.mark.browser
def test_the_officer_sees_a_figure_rejected_on_review_as_rejected_in_a_browser(warehouse, portal, tmp_path):  # noqa: F811
    """After the test above: Thanh Hóa's September, held and rejected on review, is shown so on the province's
    page and on the submission's own page, in Chromium."""
    from selenium.webdriver.common.by import By

    with psycopg.connect(warehouse.warehouse_url) as conn:
        (refused,) = conn.execute(
            "select submission_id from ingest.submission_state where province_code = '38' and is_refused_on_review"
        ).fetchone()
    driver = _browser(tmp_path)
    try:
        _sign_in(driver, portal, "thanhhoa")
        driver.get(f"{portal}/")
        row = driver.find_element(By.XPATH, f"//a[@href='/submission/{refused}']/ancestor::tr").text
        assert "bị bác bỏ khi xem xét, không công bố" in row, row
        driver.get(f"{portal}/submission/{refused}")
        assert driver.find_element(By.ID, "status").text == "bị bác bỏ khi xem xét, không công bố"
    finally:
        driver.quit()
