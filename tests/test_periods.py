from datetime import date

import pytest

from ingestion.periods import parse_period


@pytest.mark.parametrize(
    ("code", "period_type", "start", "end"),
    [
        ("2026-09", "month", date(2026, 9, 1), date(2026, 9, 30)),
        ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-q4", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("2025-H1", "half_year", date(2025, 1, 1), date(2025, 6, 30)),
        ("2017", "year", date(2017, 1, 1), date(2017, 12, 31)),
    ],
)
def test_each_period_form_parses_to_its_first_and_last_day(code, period_type, start, end):
    period = parse_period(code)
    assert (period.period_type, period.start, period.end) == (period_type, start, end)


def test_periods_from_july_2025_are_on_the_current_map():
    assert parse_period("2025-H2").on_current_map
    assert not parse_period("2025-06").on_current_map
    assert parse_period("2025").on_current_map, "a year that ends on the current map is reported on it"
    assert not parse_period("2025-H1").on_current_map


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26-Q1", "2026/09", "", "Q3-2026"])
def test_a_malformed_period_is_refused_with_the_accepted_forms(bad):
    with pytest.raises(ValueError, match="2026-Q3"):
        parse_period(bad)
