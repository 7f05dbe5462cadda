"""Deadline day at small scale (bench/load.py): ten officers' sessions and the data team's on the portal served
for real (`python -m portal`), BI reading the marts, and the antq_publish steps run in this process whenever a
send waits (Airflow's services are what `make bench` uses; here they would cost minutes). Afterwards the
warehouse agrees with every page the portal showed."""

from __future__ import annotations

import pytest

from bench.load import DASHBOARD_QUERIES, LoadError, deadline_load, percentile
from tests.helpers import national_copy
from warehouse import pipeline

PERIOD = "2026-09"  # the last of conftest.NATIONAL_MONTHS: published for all 34 provinces


@pytest.fixture
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    return national_copy(server_url, smtp_server, tmp_path_factory, national_template, "load")


@pytest.mark.slow
def test_a_short_deadline_load_loses_nothing_and_registers_nothing_twice(warehouse):
    result = deadline_load(
        warehouse,
        PERIOD,
        sessions=10,
        minutes=0.5,
        think_seconds=0.3,
        team_every=2,
        bi_readers=2,
        publisher=pipeline.publish_new_figures,
        settle_seconds=120,
    )
    agreed, counts = result["agreement"], result["counts"]
    assert result["errors"] == {"count": 0, "first": []}
    assert agreed["lost"] == [] and agreed["duplicated"] == [] and agreed["problems"] == []
    assert agreed["accepted"] >= 5, "every session sent at least once"
    assert counts.get("faulty checks refused with reasons", 0) >= 1
    assert "faulty checks refused without reasons" not in counts
    for page in ("login", "home", "check CSV", "send", "form open", "form send", "team page"):
        assert result["pages"][page]["count"] >= 1, page
    assert result["readable"]["not_readable_count"] == 0 and result["readable"]["p95_s"] < 120
    assert result["bi"]["queries"] > 0 and result["memory_mb"]["portal"]["peak_process_mb"] > 0


def test_a_period_not_published_is_refused_before_anything_runs(settings):
    with pytest.raises(LoadError, match="no published marts for 2026-09"):
        deadline_load(settings, PERIOD, sessions=1, minutes=0.1)
    with pytest.raises(LoadError, match="legacy map"):
        deadline_load(settings, "2024-03", sessions=1, minutes=0.1)


def test_the_loads_bi_queries_are_the_benchs():
    """Copied from bench/run.py (which imports bench/load.py, so it cannot import them back): kept alike."""
    from bench.run import BI_QUERIES

    assert [query for role, query in BI_QUERIES.values() if role == "antq_bi_reader"] == DASHBOARD_QUERIES


def test_the_bench_reads_a_p95_by_nearest_rank():
    """One rule for every p95 the bench reports: of 5 runs the slowest, of 100 the 95th, of 20 the 19th."""
    assert percentile([3.0, 1.0, 2.0, 5.0, 4.0], 0.95) == 5.0
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert percentile([float(n) for n in range(1, 21)], 0.95) == 19.0
    assert percentile([7.0], 0.5) == 7.0
