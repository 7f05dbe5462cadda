"""Each hold's emails name its own finding: what that kind of check saw, in the province's language first,
with its figures in the language's notation (not one sentence for every kind of hold)."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.settings import Settings
from notify import alerts
from review.holds import Hold

OUTLIER = {"value": 43510, "median_last_6": 4351, "outlier_ratio": 3}
RATIO = {"numerator": 1200, "denominator": 1000}
DROP = {
    "period_code": "2026-09",
    "version": 2,
    "previous_version": 1,
    "rows": 1,
    "previous_rows": 6806,
    "figures": 1,
    "previous_figures": 6806,
    "kept_figures": 1,
    "units": 1,
    "previous_units": 167,
    "kept_units": 1,
    "indicators": 1,
    "previous_indicators": 26,
    "kept_indicators": 1,
}


def hold(check: str, indicator: str | None, detail: dict, **changes) -> Hold:
    values = dict(
        hold_id=7,
        submission_id=70,
        file_name="38_2026-09.csv",
        version=2,
        province_code="38",
        province_name="Thanh Hóa",
        period_code="2026-09",
        check_name=check,
        indicator_code=indicator,
        figure_period="2026-09" if indicator else None,
        rule="...",
        detail=detail,
        status="open",
        held_at=datetime(2026, 10, 5, 8, 0),
        reviewed_by=None,
        reviewed_at=None,
        review_reason=None,
        is_replaced=False,
    )
    return Hold(**(values | changes))


@pytest.mark.parametrize(
    ("held", "vietnamese", "english"),
    [
        (
            hold("outlier", "security_teams", OUTLIER),
            "Tổ bảo vệ ANTT ở cơ sở kỳ 2026-09 là 43.510, khác xa các kỳ trước của tỉnh (trung vị 4.351",
            "far from the province's earlier periods (median 4,351",
        ),
        (
            hold("ratio_within_100", "households_in_anxh", RATIO),
            "tử số 1.200 lớn hơn mẫu số 1.000 (tỷ lệ trên 100%)",
            "numerator 1,200 exceeds denominator 1,000",
        ),
        (
            hold("version_keeps_most", None, DROP),
            "bản 2 chỉ có 1 số liệu của 1 đơn vị, trong khi bản 1 có 6.806 số liệu của 167 đơn vị",
            "version 2 has 1 figures of 1 units where version 1 had 6,806 of 167",
        ),
    ],
)
def test_each_kind_of_hold_says_what_it_found(held, vietnamese, english):
    from ingestion.catalogue import load_catalogue

    if held.indicator_code == "security_teams":
        assert load_catalogue()["security_teams"].name_vi in vietnamese, "the catalogue's own name"
    assert vietnamese in held.finding("vi")
    assert english in held.finding("en")
    settings = Settings.from_env({"ANTQ_DATA_TEAM": "data-team@antq.test"})
    told = "\n".join(alerts.hold_province_alert([held], ("pv@thanhhoa.antq.test",), settings).lines)
    assert vietnamese in told and english in told
    others = {"outlier": "khác xa các kỳ trước", "ratio_within_100": "lớn hơn mẫu số", "version_keeps_most": "bản 2"}
    assert [kind for kind, words in others.items() if words in told] == [held.check_name], "its own finding only"
    rejected = held.__class__(**(held.__dict__ | {"status": "rejected", "review_reason": "sai", "reviewed_by": "x"}))
    assert vietnamese in "\n".join(alerts.hold_rejected_alert(rejected, (), settings).lines)
