"""Realistic provincial submissions, with magnitudes taken from the seed articles (shared/seeds).

Thanh Hóa 2024 (166 communes after 2025): 4,351 security teams with 8,702 members, 34,931 ANXH teams with
99% of households, 909 active models of which 165 launched that year, 1,120 fire-safety groups and 1,670
public fire points. Per commune that is about 26 teams, 210 ANXH teams, 5-6 models, 7 groups and 10 fire
points; Chiềng Cang (Sơn La) reports 25 teams for 25 villages and 168 household groups.
Values are drawn per commune from a generator seeded by the commune code, so a file for the same
province and period is the same file every time, and stocks drift slowly from period to period.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

from ingestion.catalogue import TOTAL
from ingestion.contract import MODEL_SHEET, sheet_columns, sheet_title
from ingestion.periods import Period, parse_period
from ingestion.reference import UnitRecord, current_units, units_of_period

Row = dict[str, object]


def _commune_rows(unit: UnitRecord, period: Period, seed: int) -> Iterator[Row]:
    base = random.Random(f"{seed}:{unit.map}:{unit.unit_code}")
    rng = random.Random(f"{seed}:{unit.map}:{unit.unit_code}:{period.code}")
    months = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}[period.period_type]
    drift = 1 + (period.start.year - 2025) * 0.02 + rng.uniform(-0.01, 0.01)
    # About 10,000 legacy communes became 3,321: a legacy commune was about a third of today's.
    size = 1.0 if unit.map == "current" else 0.33
    households = int(base.randint(3_000, 14_000) * drift * size)
    villages = max(3, round(base.randint(10, 45) * size))

    def count(code: str, value: float, category: str = TOTAL) -> Row:
        return {"indicator_code": code, "category": category, "value": max(0, round(value))}

    def ratio(code: str, share: float, denominator: int, category: str = TOTAL) -> Row:
        numerator = min(denominator, round(denominator * share))
        return {
            "indicator_code": code,
            "category": category,
            "numerator": numerator,
            "denominator": denominator,
        }

    teams = villages + base.randint(-2, 3)
    yield count("steering_committees", 1)
    yield count("security_teams", teams)
    yield count("security_team_members", teams * 2 + base.randint(0, 4))
    yield count("anxh_teams", households / base.uniform(35, 45))
    yield ratio("households_in_anxh", base.uniform(0.95, 1.0), households)
    yield count("fire_safety_groups", base.randint(3, 11) * drift)
    yield count("public_fire_points", base.randint(5, 15) * drift)
    yield ratio("households_second_member_trained_pccc", base.uniform(0.70, 0.90) * drift, households)
    yield ratio("households_second_escape_route", base.uniform(0.95, 1.0), households)
    yield ratio("households_with_extinguisher", base.uniform(0.90, 1.0), households)
    yield count("models_launched", sum(rng.random() < 0.09 for _ in range(months)))
    yield count("models_active", base.randint(2, 9) * drift)
    units = {
        "kdc": villages,
        "commune": 1,
        "agency": base.randint(3, 15),
        "enterprise": base.randint(1, 40),
        "school": base.randint(3, 12),
        "health_station": 1,
    }
    for unit_type, total in units.items():
        yield ratio("units_meeting_antt_standard", base.uniform(0.85, 1.0), total, unit_type)
    yield count("villages_without_crime", villages * base.uniform(0.7, 0.95))
    yield count("villages_without_drug_users", villages * base.uniform(0.5, 0.8))
    yield count("communes_without_drug_users", base.random() < 0.1)
    sessions = rng.randint(2, 10) * months
    yield count("propaganda_sessions", sessions)
    yield count("propaganda_attendees", sessions * rng.randint(30, 90))
    conferences = rng.randint(0, 1) * (1 if months < 12 else 3)
    yield count("training_conferences", conferences)
    yield count("training_participants", conferences * rng.randint(60, 120))
    yield count("prestigious_persons_engaged", rng.randint(0, 4) * months)
    levels = (
        ("central", "province", "commune") if period.on_current_map else ("central", "province", "district", "commune")
    )
    for level in levels:
        weight = {"central": 0.02, "province": 0.2, "district": 0.5, "commune": 1.0}[level]
        yield count("collectives_commended", sum(rng.random() < 0.3 * weight for _ in range(months)), level)
        yield count("individuals_commended", sum(rng.randint(0, 3) * weight for _ in range(months)), level)
    for weapon, most in (
        ("homemade_gun", 2),
        ("military_gun", 0.3),
        ("explosive", 1),
        ("ammunition", 8),
        ("support_tool", 1.5),
    ):
        yield count("weapons_surrendered", rng.uniform(0, most) * months / 3, weapon)
    yield count("key_areas", base.random() < 0.3, "stable")
    yield count("key_areas", base.random() < 0.2, "contained")
    yield count("key_areas", base.random() < 0.03, "complex")
    yield count("review_conferences", months >= 6 or rng.random() < 0.2, "commune")


def province_rows(province_code: str, period: Period, seed: int = 2025) -> Iterator[Row]:
    """Every commune of the province, every indicator of the catalogue, for one period, on the map of the
    period: a legacy province code and its legacy communes before 2025-07-01, a current one after."""
    units = units_of_period(period)
    for unit in units:
        if unit.unit_level == "commune" and unit.province_code == province_code:
            for row in _commune_rows(unit, period, seed):
                yield {"period": period.code, "unit_code": unit.unit_code, **row}


# Thanh Hóa's "Tổ an ninh công nhân" in FDI enterprises was notified by the Ministry for replication
# nationwide (seed 000): other provinces' worker security teams are copies of it.
NATIONAL_MODEL = ("38", "TH-ANCN")
MODEL_NAMES = {
    "worker_security_team": "Tổ an ninh công nhân",
    "drug_free_commune": "Xã tự quản không ma túy",
    "safe_school_gate": "Cổng trường an toàn giao thông",
    "security_camera": "Camera an ninh",
    "fire_safety_group": "Tổ liên gia an toàn PCCC",
    "public_fire_point": "Điểm chữa cháy công cộng",
    "self_managed_residential_area": "Tự quản, tự phòng, tự bảo vệ",
    "religious_community_security": "Giáo xứ bình yên",
}


def province_models(province_code: str, period: Period, seed: int = 2025) -> Iterator[Row]:
    """The province's self-management models at the end of the period: one to four per commune, launched
    from 2015 on, a few closed; many are copies of a provincial model, and worker security teams outside
    Thanh Hóa are copies of Thanh Hóa's."""
    units = units_of_period(period)
    communes = [u for u in units if u.unit_level == "commune" and u.province_code == province_code]
    is_thanh_hoa = province_code == NATIONAL_MODEL[0]
    source = NATIONAL_MODEL[1] if is_thanh_hoa else f"{province_code}-TQ01"
    yield {
        "model_code": source,
        "model_name": "Tổ an ninh công nhân trong doanh nghiệp FDI" if is_thanh_hoa else "Tự quản, tự phòng, tự bảo vệ",
        "model_type": "worker_security_team" if is_thanh_hoa else "self_managed_residential_area",
        "host_unit_code": province_code,
        "level": "province",
        "launch_date": date(2015, 3, 26),
        "status": "active",
        "replicated_from": "",
    }
    for unit in communes:
        rng = random.Random(f"{seed}:models:{unit.map}:{unit.unit_code}")
        for number in range(1, rng.randint(1, 4) + 1):
            model_type = rng.choice(list(MODEL_NAMES))
            launched = date(2015, 1, 1) + timedelta(days=rng.randint(0, 4_300))
            if launched > period.end:
                continue
            closed_on = launched + timedelta(days=rng.randint(300, 2_500) if rng.random() < 0.1 else 100_000)
            copied = ""
            if model_type == "worker_security_team" and not is_thanh_hoa:
                copied = "/".join(NATIONAL_MODEL)
            elif rng.random() < 0.4:
                copied = source
            yield {
                "model_code": f"{unit.unit_code}-{number}",
                "model_name": f"{MODEL_NAMES[model_type]} {unit.name}",
                "model_type": model_type,
                "host_unit_code": unit.unit_code,
                "level": "village" if rng.random() < 0.6 else "commune",
                "launch_date": launched,
                "status": "closed" if closed_on <= period.end else "active",
                "replicated_from": copied,
            }


def write_submission(
    landing_dir: Path, province_code: str, period_code: str, seed: int = 2025, file_format: str = "csv"
) -> Path:
    """A province's file for the period, as CSV or as the XLSX template filled in."""
    period = parse_period(period_code)
    folder = landing_dir / province_code / period.code
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{province_code}_{period.code}.{file_format}"
    columns = [c.name for c in sheet_columns()]
    if file_format == "xlsx":
        from ingestion.template import build_workbook

        workbook = build_workbook(province_code, period.code)
        sheet = workbook[sheet_title()]
        for row in province_rows(province_code, period, seed):
            values = {**row, "category": "" if row["category"] == TOTAL else row["category"]}
            sheet.append([values.get(column) for column in columns])
        models = workbook[sheet_title(MODEL_SHEET)]
        model_columns = [c.name for c in sheet_columns(MODEL_SHEET)]
        for model in province_models(province_code, period, seed):
            models.append([model[column] for column in model_columns])
        workbook.save(path)
        return path
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in province_rows(province_code, period, seed):
            writer.writerow({**row, "category": "" if row["category"] == TOTAL else row["category"]})
    return path


def current_province_codes() -> list[str]:
    return [u.unit_code for u in current_units() if u.unit_level == "province"]


def province_codes_for(period_code: str) -> list[str]:
    """The 34 current provinces, or the 63 provinces of the legacy map for a period before 2025-07-01."""
    units = units_of_period(parse_period(period_code))
    return [u.unit_code for u in units if u.unit_level == "province"]


def generate_national(
    landing_dir: Path, period_code: str, provinces: list[str] | None = None, seed: int = 2025, file_format: str = "csv"
) -> list[Path]:
    codes = provinces or province_codes_for(period_code)
    return [write_submission(landing_dir, code, period_code, seed, file_format) for code in codes]


def rewrite_submission(source: Path, target: Path, indicator_code: str, change: Callable[[int], int]) -> Path:
    """A corrected (or faulty) resubmission: the same CSV with one indicator's values changed."""
    with source.open(encoding="utf-8") as reader_file, target.open("w", encoding="utf-8", newline="") as out:
        reader = csv.DictReader(reader_file)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if row["indicator_code"] == indicator_code:
                row["value"] = str(change(int(row["value"])))
            writer.writerow(row)
    return target
