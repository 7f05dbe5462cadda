"""Row and header rules of the submission contract, each with its reason for the officer."""

import pytest

from ingestion.contract import FileRejected, RowValidator, map_headers
from ingestion.periods import parse_period

UNITS = {
    "00070": ("01", "Phường Hoàn Kiếm"),
    "00073": ("01", "Phường Cửa Nam"),
    "00100": ("01", "Xã Hòa Bình"),
    "00200": ("01", "Phường Hoà Bình"),
    "04045": ("38", "Phường Hạc Thành"),
}


def validator(province="01", period="2026-Q3"):
    return RowValidator("01_2026-Q3.csv", province, parse_period(period), UNITS)


def row(**overrides):
    base = {
        "period": "2026-Q3",
        "unit_code": "00070",
        "indicator_code": "security_teams",
        "category": "",
        "value": "26",
        "numerator": "",
        "denominator": "",
    }
    return {**base, **overrides}


def problems_of(record, v=None):
    good, problems = (v or validator()).check(7, record)
    assert good is None
    return {(p.column, p.code) for p in problems}, problems


def test_a_good_count_row_becomes_a_typed_row():
    good, problems = validator().check(2, row())
    assert problems == []
    assert (good.unit_code, good.indicator_code, good.category, good.value) == (
        "00070",
        "security_teams",
        "total",
        26,
    )


def test_a_good_ratio_row_keeps_numerator_and_denominator():
    good, problems = validator().check(
        2, row(indicator_code="households_in_anxh", value="", numerator="9900", denominator="10000")
    )
    assert problems == [], [p.describe() for p in problems]
    assert (good.value, good.numerator, good.denominator) == (None, 9900, 10000)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"value": "-3"}, ("value", "negative")),
        ({"value": "2.5"}, ("value", "not_a_whole_number")),
        ({"value": "mười"}, ("value", "not_a_number")),
        ({"value": ""}, ("value", "required")),
        ({"indicator_code": "tanks"}, ("indicator_code", "unknown_indicator")),
        ({"unit_code": "99999"}, ("unit_code", "unknown_unit")),
        ({"unit_code": "04045"}, ("unit_code", "unit_of_other_province")),
        ({"unit_code": ""}, ("unit_code", "required")),
        ({"period": "2026-Q2"}, ("period", "period_mismatch")),
        ({"period": "Q3/2026"}, ("period", "bad_period")),
        ({"category": "tanks"}, ("category", "unknown_category")),
        (
            {"indicator_code": "households_in_anxh", "value": "", "numerator": "11", "denominator": "10"},
            ("numerator", "numerator_over_denominator"),
        ),
        (
            {"indicator_code": "households_in_anxh", "value": "", "numerator": "11", "denominator": ""},
            ("denominator", "required"),
        ),
    ],
)
def test_a_bad_field_is_named_with_its_row_column_and_reason(overrides, expected):
    found, problems = problems_of(row(**overrides))
    assert expected in found
    problem = next(p for p in problems if (p.column, p.code) == expected)
    assert problem.row == 7 and problem.file_name == "01_2026-Q3.csv" and problem.sheet == "indicators"
    assert problem.reason_en and problem.reason_vi
    assert "row 7" in problem.describe() and expected[0] in problem.describe()


def test_a_number_with_thousands_separators_is_refused_rather_than_guessed():
    _, problems = problems_of(row(value="4.351"))
    assert problems[0].code == "not_a_whole_number"
    assert "4351, not 4.351" in problems[0].reason_en


def test_a_category_indicator_accepts_its_categories_only():
    v = validator()
    good, problems = v.check(2, row(indicator_code="weapons_surrendered", category="homemade_gun", value="20"))
    assert problems == [] and good.category == "homemade_gun"
    found, _ = problems_of(row(indicator_code="weapons_surrendered", category="", value="20"), v)
    assert ("category", "unknown_category") in found


def test_the_same_unit_indicator_and_category_twice_is_a_duplicate_naming_the_first_row():
    v = validator()
    assert v.check(2, row())[1] == []
    good, problems = v.check(3, row(value="30"))
    assert good is None
    assert [p.code for p in problems] == ["duplicate_row"]
    assert "row 2" in problems[0].reason_en


def test_headers_may_be_codes_or_vietnamese_labels_in_any_case():
    headers = ["Kỳ báo cáo", "MÃ ĐƠN VỊ", "indicator_code", "Phân loại", "Giá trị", "Tử số", "mẫu số"]
    assert map_headers(headers, "f.csv") == [
        "period",
        "unit_code",
        "indicator_code",
        "category",
        "value",
        "numerator",
        "denominator",
    ]


def test_missing_unknown_and_repeated_headers_are_all_reported_at_once():
    with pytest.raises(FileRejected) as caught:
        map_headers(["period", "unit_code", "unit_code", "colour", "value"], "f.csv")
    codes = {(p.column, p.code) for p in caught.value.problems}
    assert {
        ("unit_code", "duplicate_column"),
        ("colour", "unknown_column"),
        ("indicator_code", "missing_column"),
        ("denominator", "missing_column"),
    } <= codes


@pytest.mark.parametrize("name", ["Phường Hoàn Kiếm", "P. Hoan Kiem", "hoàn  kiếm", "PHƯỜNG HOÀN KIẾM"])
def test_a_unit_may_be_named_instead_of_coded_with_or_without_diacritics_and_prefix(name):
    good, problems = validator().check(2, row(unit_code=name))
    assert problems == [] and good.unit_code == "00070"


def test_a_name_shared_by_several_units_is_refused_with_the_candidates():
    found, problems = problems_of(row(unit_code="Hòa Bình"))
    assert found == {("unit_code", "ambiguous_unit")}
    assert "Xã Hòa Bình (00100)" in problems[0].reason_en and "Phường Hoà Bình (00200)" in problems[0].reason_en


def test_a_name_of_a_unit_of_another_province_is_not_found_in_this_one():
    found, _ = problems_of(row(unit_code="Phường Hạc Thành"))
    assert found == {("unit_code", "unknown_unit")}


def test_an_indicator_is_refused_outside_the_dates_it_is_collected():
    from dataclasses import replace
    from datetime import date

    v = validator(period="2026-Q3")
    retired = replace(v.catalogue["security_teams"], until=date(2025, 6, 30))
    v.catalogue = {**v.catalogue, "security_teams": retired}
    found, problems = problems_of(row(), v)
    assert found == {("indicator_code", "indicator_not_collected")}
    assert "to 2025-06-30, not in 2026-Q3" in problems[0].reason_en
