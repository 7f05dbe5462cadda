"""A publish run counts the registry as it stood when the run began (meta.build_horizon, core/migrations/0024):
files accepted while it checks and builds wait for the next run, and the run's gate is not broken by them.

On deadline day files arrive every few seconds; before, the staging views read the registry live, so a file
accepted between the checks and the gate was counted by the views the gate read last but not by the tables
built first, and the gate's reconciliations blocked the publish (16 of 18 runs in a 10-minute load)."""

from __future__ import annotations

import psycopg
import pytest

from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import ingest_file
from tests.helpers import national_copy, published
from warehouse import pipeline

PERIOD = "2026-09"


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    return national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_horizon")


def send(settings, province: str, raise_by: int) -> None:
    """The province's month with every security_teams figure raised by `raise_by`, accepted."""
    made = write_submission(settings.landing_dir, province, PERIOD)
    fixed = rewrite_submission(
        made, made.with_name(f"{province}_{PERIOD}_plus{raise_by}.csv"), "security_teams", lambda v: v + raise_by
    )
    made.unlink()
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute("set role antq_loader")
        result = ingest_file(conn, fixed, settings)
        assert result.status == "accepted", [p.describe() for p in result.problems][:3]


@pytest.mark.parametrize("holds_changed", [False, True], ids=["no new hold", "the counted set built again"])
def test_files_accepted_during_a_run_wait_for_the_next_and_the_run_passes_its_gate(warehouse, holds_changed):
    first = {code: published(warehouse, code, PERIOD) for code in ("01", "04")}
    step = 10 if holds_changed else 0  # new bytes in each case: the same file again would be a duplicate
    send(warehouse, "01", step + 1)
    checked = pipeline.check_submissions(warehouse)
    assert checked["new_holds"] == []
    # While the run builds: a newer version of the province it checked, and another province's file.
    send(warehouse, "01", step + 2)
    send(warehouse, "04", step + 3)
    pipeline.build_marts(warehouse, after_checks=True, holds_changed=holds_changed)
    gate = pipeline.validate_marts(warehouse)  # raises GateFailed on a reconciliation the late files broke
    assert not [f for f in gate["findings"] if f["severity"] == "critical"]
    pipeline.publish_marts(gate, warehouse)
    once = {code: published(warehouse, code, PERIOD) for code in ("01", "04")}
    assert once["04"] == first["04"], "a file accepted after the run began waits for the next run"
    assert once["01"] != first["01"], "the version the run checked is published"
    assert pipeline.waiting_to_publish(warehouse) == 2, "the newer version and the other province's file wait"

    pipeline.publish_new_figures(warehouse)
    again = {code: published(warehouse, code, PERIOD) for code in ("01", "04")}
    assert again["01"] != once["01"] and again["04"] != first["04"], "the next run publishes them"
    assert pipeline.waiting_to_publish(warehouse) == 0
