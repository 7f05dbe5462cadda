"""The small-cell rule attacked as an analyst of Thanh Hóa (38) would: no national figure they see, alone, with
another figure they see (another period, a roll-up) or with one they saw at an earlier publish, may be worked
out into a figure of one or two other provinces (publishing/access.py).

The warehouse starts from three published months of all 34 provinces (conftest.national_template). Then:
Hà Nội (01) alone sends 2025-09 (the year before September), April and May 2026, which are long past their
deadline (final); the 33 others send June; Hà Nội's June, ten times its history, is held; the legacy map's
provinces send December 2024 but one, merged with another into one of today's provinces. That is published
and recorded; then the hold is confirmed and the late legacy province sends, and it is published again.

Each attack compares what the analyst sees with the truth per province (marts.mart_province_indicator, read
as the pipeline): a combination of two figures tells a small cell when the figures differ in the figure of
only one or two provinces other than 38.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import psycopg
import pytest

from ingestion.generator import province_codes_for, rewrite_submission, write_submission
from ingestion.loader import ingest_file
from review import holds
from tests.helpers import national_copy
from tests.test_access import ANALYST_38, as_role
from warehouse import pipeline

OWN = "38"


def send(conn, settings, province: str, period: str, change=None) -> int:
    path = write_submission(settings.landing_dir, province, period)
    if change is not None:
        changed = rewrite_submission(path, path.with_name(f"{province}_{period}_v2.csv"), "security_teams", change)
        path.unlink()
        path = changed
    result = ingest_file(conn, path, settings)
    assert result.status == "accepted", result.problems
    return result.submission_id


def seen(conn) -> dict[tuple[str, str], dict]:
    """Every national figure the analyst of 38 reads, by period and indicator."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor, cursor.connection.transaction():
        cursor.execute(f"set local role {ANALYST_38}")
        rows = cursor.execute("select * from province_38.mart_national_indicator").fetchall()
    return {(row["period_code"], row["indicator_code"]): row for row in rows}


def truth(conn) -> dict[tuple[str, str], dict[str, tuple]]:
    """Each published national figure's provinces and their figures, as the pipeline reads them."""
    figures: dict[tuple[str, str], dict[str, tuple]] = {}
    for period, indicator, province, *figure in conn.execute(
        "select period_code, indicator_code, province_code, value, numerator, denominator, is_complete"
        " from marts.mart_province_indicator"
    ):
        figures.setdefault((period, indicator), {})[province] = tuple(figure)
    return figures


def snapshot(conn) -> SimpleNamespace:
    return SimpleNamespace(seen=seen(conn), truth=truth(conn))


def provinces_apart(one: dict[str, tuple], other: dict[str, tuple]) -> set[str]:
    """The provinces other than the analyst's whose figure is not the same in both: what their difference
    is made of."""
    return {
        p for p in (one.keys() | other.keys()) - {OWN} if one.get(p, (None,) * 4)[:3] != other.get(p, (None,) * 4)[:3]
    }


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_small_cells")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for period in ("2025-09", "2026-04", "2026-05"):
            send(conn, settings, "01", period)
        others = [code for code in province_codes_for("2026-06") if code != "01"]
        for code in others:
            send(conn, settings, code, "2026-06")
        # A legacy province that, with another, became one of today's provinces (not 38): without it, December
        # 2024 still has all 34 of today's provinces.
        late, merged_into = conn.execute(
            """select legacy_code, current_code from ref.legacy_unit_map
               where legacy_level = 'province' and current_code <> %s and current_code in (
                   select current_code from ref.legacy_unit_map where legacy_level = 'province'
                   group by current_code having count(*) > 1)
               order by 1 limit 1""",
            [OWN],
        ).fetchone()
        for code in province_codes_for("2024-12"):
            if code != late:
                send(conn, settings, code, "2024-12")
        pipeline.publish_new_figures(settings)
        held = send(conn, settings, "01", "2026-06", lambda v: v * 10)
        assert pipeline.publish_new_figures(settings)["held"] == ["01 Thành phố Hà Nội 2026-06"]
        before = snapshot(conn)

        [hold] = [h for h in holds.holds(conn, pending_only=True) if h.submission_id == held]
        pipeline.review_hold(hold.hold_id, holds.CONFIRMED, "province phoned: new teams", "ms.lan", settings)
        send(conn, settings, late, "2024-12")
        assert pipeline.publish_new_figures(settings)["held"] == []
        after = snapshot(conn)
    smtp_server.take()
    return SimpleNamespace(settings=settings, before=before, after=after, late=late, merged_into=merged_into)


@pytest.fixture(scope="module")
def containing(warehouse) -> dict[str, set[str]]:
    """Each period and the periods containing it (its quarter, half-year, year), as the analyst reads them."""
    with psycopg.connect(warehouse.settings.warehouse_url, autocommit=True) as conn:
        rows = as_role(
            conn, ANALYST_38, "select period_code, quarter_code, half_year_code, year_code from province_38.dim_period"
        )
    return {period: {period, *(code for code in codes if code)} for period, *codes in rows}


def test_no_national_figure_an_analyst_sees_is_made_of_fewer_than_three_other_provinces(warehouse):
    """Attack 1: read them. Final figures of Hà Nội alone (April, May) and the year-earlier columns of a
    complete September (2025-09: Hà Nội alone) were visible."""
    for view in (warehouse.before, warehouse.after):
        assert view.seen, "the analyst sees national figures"
        for (period, indicator), row in view.seen.items():
            others = view.truth[(period, indicator)].keys() - {OWN}
            assert len(others) >= 3, f"{period} {indicator}: {sorted(others)}"
            assert row["provinces_reporting"] == row["provinces_expected"], f"{period} {indicator} is complete"
            year_before = [row[c] for c in ("previous_year_value", "previous_year_ratio_pct", "yoy_change")]
            if any(value is not None for value in year_before):
                earlier = view.truth.get((previous_year(period), indicator), {})
                assert len(earlier.keys() - {OWN}) >= 3, f"{period} {indicator}: a year earlier, {sorted(earlier)}"
    september = warehouse.after.seen[("2026-09", "security_teams")]
    assert september["previous_year_value"] is None and september["yoy_change"] is None


def previous_year(period: str) -> str:
    year, _, rest = period.partition("-")
    return f"{int(year) - 1}-{rest}" if rest else str(int(year) - 1)


def test_no_two_figures_an_analyst_sees_differ_by_one_or_two_provinces(warehouse, containing):
    """Attack 2: subtract one figure from another of a period containing it (2026-Q2 minus June: Hà Nội's
    April and May; the year minus its half), at one publish."""
    for view in (warehouse.before, warehouse.after):
        for (inner, indicator), (outer, other) in itertools.product(view.seen, view.seen):
            if other != indicator or outer == inner or outer not in containing[inner]:
                continue
            apart = provinces_apart(view.truth[(outer, indicator)], view.truth[(inner, indicator)])
            assert len(apart) not in (1, 2), f"{outer} - {inner} {indicator} is the figure of {sorted(apart)}"


def test_what_an_analyst_saw_before_a_hold_was_confirmed_and_a_late_province_sent_tells_neither(warehouse, containing):
    """Attack 3: the same figures before and after Hà Nội's held June is confirmed and the late legacy province
    sends December 2024 (June went from 33 provinces to 34; December 2024 from one legacy province short to
    whole), and every figure of a period containing another across the two publishes."""
    before, after = warehouse.before, warehouse.after
    for key in before.seen.keys() & after.seen.keys():
        assert before.seen[key] == after.seen[key], f"{key} changed though no province corrected it"
    for (old, indicator), (new, other) in itertools.product(before.seen, after.seen):
        if other != indicator or not (old in containing[new] or new in containing[old]):
            continue
        apart = provinces_apart(before.truth[(old, indicator)], after.truth[(new, indicator)])
        assert len(apart) not in (1, 2), f"{new} (after) - {old} (before) {indicator} is the figure of {sorted(apart)}"
    # The scenario did what it says: both are whole now, and shown.
    assert ("2026-06", "security_teams") in after.seen and ("2024-12", "security_teams") in after.seen
    assert len(before.truth[("2026-06", "security_teams")]) == 33
    assert before.truth[("2024-12", "security_teams")].keys() == after.truth[("2024-12", "security_teams")].keys()
    december = "2024-12", "security_teams"
    assert provinces_apart(before.truth[december], after.truth[december]) == {warehouse.merged_into}
