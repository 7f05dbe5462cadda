"""Administrative units and the 2025 crosswalk, loaded from pinned PyPI packages into ref.*, idempotently.

- Current units (34 provinces, 3,321 communes, official codes): vietnam-provinces.
- Legacy units (63 provinces, ~700 districts, ~10,000 communes) and the official 2025 conversion tables,
  split communes with their default target included: vietnamadminunits.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import astuple, dataclass
from datetime import date, timedelta
from functools import cache
from importlib.metadata import version
from importlib.resources import files

import psycopg

from ingestion.periods import REORGANISATION_DATE
from ingestion.unit_names import fold

CURRENT_SOURCE = "vietnam-provinces"
LEGACY_SOURCE = "vietnamadminunits"
LEGACY_VALID_FROM = date(2000, 1, 1)  # the package holds the last legacy list, not its history
LEGACY_VALID_TO = REORGANISATION_DATE - timedelta(days=1)


@dataclass(frozen=True)
class UnitRecord:
    map: str
    unit_code: str
    unit_level: str
    name: str
    division_type: str
    parent_code: str | None
    province_code: str
    valid_from: date
    valid_to: date | None
    source: str


@dataclass(frozen=True)
class MapRecord:
    legacy_level: str
    legacy_code: str
    current_level: str
    current_code: str
    is_default: bool
    source: str = LEGACY_SOURCE


def _current(code: str, level: str, name: str, kind: str, parent: str | None, province: str) -> UnitRecord:
    return UnitRecord("current", code, level, name, kind, parent, province, REORGANISATION_DATE, None, CURRENT_SOURCE)


@cache
def current_units() -> tuple[UnitRecord, ...]:
    """The 34 provinces and 3,321 communes in force since 2025-07-01, with official codes."""
    import vietnam_provinces as vp

    records = []
    for province in json.loads(vp.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8")):
        code = f"{province['code']:02d}"
        records.append(_current(code, "province", province["name"], province["division_type"], None, code))
        for ward in province["wards"]:
            records.append(_current(f"{ward['code']:05d}", "commune", ward["name"], ward["division_type"], code, code))
    return tuple(records)


def _legacy_data() -> tuple[sqlite3.Connection, dict]:
    data = files("vietnamadminunits") / "data"
    conversion = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
    return sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True), conversion


def _division_type(name: str) -> str:
    for prefix in ("Thành phố", "Thị trấn", "Thị xã", "Tỉnh", "Huyện", "Quận", "Phường", "Xã"):
        if name.startswith(prefix):
            return prefix.lower()
    return "khác"


@cache
def legacy_units() -> tuple[UnitRecord, ...]:
    """The 63 provinces, ~700 districts and ~10,000 communes in force until 2025-06-30."""
    db, _ = _legacy_data()
    rows = db.execute(
        "select provinceCode, province, districtCode, district, wardCode, ward from admin_units_legacy"
    ).fetchall()
    units: dict[tuple[str, str], UnitRecord] = {}

    def add(level: str, code: str, name: str, parent: str | None, province: str) -> None:
        record = UnitRecord(
            "legacy",
            code,
            level,
            name,
            _division_type(name),
            parent,
            province,
            LEGACY_VALID_FROM,
            LEGACY_VALID_TO,
            LEGACY_SOURCE,
        )
        units.setdefault((level, code), record)

    for province_code, province, district_code, district, ward_code, ward in rows:
        add("province", province_code, province, None, province_code)
        add("district", district_code, district, province_code, province_code)
        if ward_code:
            add("commune", ward_code, ward, district_code, province_code)
    return tuple(units.values())


@cache
def legacy_crosswalk() -> tuple[MapRecord, ...]:
    """Legacy unit -> current unit(s), from the package's 2025 conversion tables, on official current codes.

    The conversion tables name units by keys, which resolve to codes through the package's own lists. The
    package numbers some new communes differently from vietnam-provinces (the official codes used here),
    so a new commune keeps its code where code and name agree, and is otherwise found by name in its province.
    """
    db, conversion = _legacy_data()
    legacy_province = dict(db.execute("select distinct provinceKey, provinceCode from admin_units_legacy"))
    # A key names a commune; an island district without communes (Hoàng Sa, Bạch Long Vĩ) has an empty
    # commune part and maps as the district it is.
    legacy_key = {}
    for p, d, w, district_code, ward_code in db.execute(
        "select provinceKey, districtKey, wardKey, districtCode, wardCode from admin_units_legacy"
    ):
        legacy_key[f"{p}_{d}_{w or ''}"] = ("commune", ward_code) if ward_code else ("district", district_code)
    new_province = dict(db.execute("select distinct provinceKey, provinceCode from admin_units"))
    official_names = {u.unit_code: fold(u.name) for u in current_units() if u.unit_level == "commune"}
    official_by_name = {
        (u.province_code, fold(u.name)): u.unit_code for u in current_units() if u.unit_level == "commune"
    }
    new_commune = {}
    for province_key, ward_key, code, name in db.execute(
        "select provinceKey, wardKey, wardCode, ward from admin_units"
    ):
        if official_names.get(code) != fold(name):
            code = official_by_name.get((new_province[province_key], fold(name)), code)
        new_commune[(province_key, ward_key)] = code

    records: list[MapRecord] = []
    for new_key, old_keys in conversion["DICT_PROVINCE"].items():
        for old_key in old_keys:
            records.append(MapRecord("province", legacy_province[old_key], "province", new_province[new_key], True))
    for new_key, wards in conversion["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward_key, old_keys in wards.items():
            for old_key in old_keys:
                records.append(MapRecord(*legacy_key[old_key], "commune", new_commune[(new_key, ward_key)], True))
    for new_key, old_wards in conversion["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, targets in old_wards.items():
            for target in targets:
                code = new_commune[(new_key, target["newWardKey"])]
                records.append(MapRecord(*legacy_key[old_key], "commune", code, target["isDefaultNewWard"]))
    province_of = {r.legacy_code: r.current_code for r in records if r.legacy_level == "province"}
    for unit in legacy_units():
        if unit.unit_level == "district":
            records.append(MapRecord("district", unit.unit_code, "province", province_of[unit.province_code], True))
    return tuple(dict.fromkeys(records))


def load_reference(conn: psycopg.Connection) -> dict[str, int]:
    """Replace the units and crosswalk of each source in one transaction; a second run leaves the same rows."""
    loaded = {}
    with conn.transaction():
        conn.execute("delete from ref.legacy_unit_map")
        for source, units in ((CURRENT_SOURCE, current_units()), (LEGACY_SOURCE, legacy_units())):
            conn.execute(
                """insert into ref.reference_source (source, version, row_count) values (%s, %s, %s)
                   on conflict (source) do update
                   set version = excluded.version, row_count = excluded.row_count, loaded_at = now()""",
                [source, version(source), len(units)],
            )
            conn.execute("delete from ref.unit where source = %s", [source])
            with conn.cursor().copy(
                "copy ref.unit (map, unit_code, unit_level, name, division_type, parent_code, province_code,"
                " valid_from, valid_to, source) from stdin"
            ) as copy:
                for unit in units:
                    copy.write_row(astuple(unit))
            loaded[source] = len(units)
        crosswalk = legacy_crosswalk()
        with conn.cursor().copy(
            "copy ref.legacy_unit_map (legacy_level, legacy_code, current_level, current_code, is_default, source)"
            " from stdin"
        ) as copy:
            for record in crosswalk:
                copy.write_row(astuple(record))
        loaded["legacy_unit_map"] = len(crosswalk)
    return loaded
