"""Administrative units and the 2025 crosswalk, loaded from pinned PyPI packages into ref.*, idempotently.

- Current units (34 provinces, 3,321 communes, official codes): vietnam-provinces, and newer lists of it
  applied by a reviewed change (`reference_change`).
- Legacy units (63 provinces, ~700 districts, ~10,000 communes) and the official 2025 conversion tables,
  split communes with their default target included: vietnamadminunits (the list of 2025-06-30).
- Legacy units of earlier years: the dated lists of ingestion/unit_history.py, with what became of each
  unit retired before 2025.

ref.unit_era holds what each list says of each unit (name, parent) for the days it is taken to describe;
ref.unit one row per unit, valid for every day any list has it, named and placed as its last list has it.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from importlib.metadata import version
from importlib.resources import files

import psycopg

from ingestion import unit_history
from ingestion.periods import REORGANISATION_DATE, Period
from ingestion.unit_history import Listed, Units
from ingestion.unit_names import fold

CURRENT_SOURCE = "vietnam-provinces"
LEGACY_SOURCE = "vietnamadminunits"
LEGACY_VALID_FROM = date(2000, 1, 1)  # the first dated list (2020) is taken to hold back to here
LEGACY_VALID_TO = REORGANISATION_DATE - timedelta(days=1)
# How a legacy unit's figures reach today's map (ref.legacy_unit_map.basis).
CONVERSION_2025 = "conversion_2025"  # the official 2025 conversion tables
MERGED_INTO = "merged_into"  # retired before 2025 into via_code (unit_history.successors), then its conversion
DISTRICT_OF_THE_TIME = "district_of_the_time"  # retired, absorber unknown: its district's province only


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class MapRecord:
    legacy_level: str
    legacy_code: str
    current_level: str
    current_code: str
    is_default: bool
    source: str = LEGACY_SOURCE
    basis: str = CONVERSION_2025
    via_code: str | None = None


DatedLists = list[tuple[date, str, Units]]


@cache
def _installed_current() -> Units:
    import vietnam_provinces as vp

    return unit_history.current_list(json.loads(vp.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8")))


def current_lists(applied: tuple[str, ...] = ()) -> DatedLists:
    """The installed list of today's map (taken to hold from 2025-07-01), then the newer lists applied, by date."""
    newer = [s for s in unit_history.CURRENT_SNAPSHOTS if s.version in applied]
    return [(REORGANISATION_DATE, CURRENT_SOURCE, _installed_current())] + [
        (s.as_of, s.source, unit_history.current_list(s.read())) for s in sorted(newer, key=lambda s: s.as_of)
    ]


def _record(map_: str, era: unit_history.Era) -> UnitRecord:
    kind = era.unit.division_type or _division_type(era.unit.name)
    return UnitRecord(
        map_, era.code, era.level, era.unit.name, kind, era.unit.parent_code, era.unit.province_code,
        era.valid_from, era.valid_to, era.source,
    )  # fmt: skip


def _eras(map_: str, lists: DatedLists) -> tuple[UnitRecord, ...]:
    first, last = (REORGANISATION_DATE, None) if map_ == "current" else (LEGACY_VALID_FROM, LEGACY_VALID_TO)
    return tuple(_record(map_, era) for era in unit_history.eras(lists, first, last))


def _spans(eras: tuple[UnitRecord, ...]) -> tuple[UnitRecord, ...]:
    """One record per unit: valid over all its eras, as its latest era gives it (eras come oldest first)."""
    spans: dict[tuple[str, str], UnitRecord] = {}
    for era in eras:
        seen = spans.get((era.unit_level, era.unit_code))
        if seen:
            ends = None if None in (seen.valid_to, era.valid_to) else max(seen.valid_to, era.valid_to)
            era = replace(era, valid_from=min(seen.valid_from, era.valid_from), valid_to=ends)
        spans[era.unit_level, era.unit_code] = era
    return tuple(spans.values())


@cache
def current_eras(applied: tuple[str, ...] = ()) -> tuple[UnitRecord, ...]:
    return _eras("current", current_lists(applied))


@cache
def current_units(applied: tuple[str, ...] = ()) -> tuple[UnitRecord, ...]:
    """The 34 provinces and 3,321 communes in force since 2025-07-01, with official codes; with `applied`,
    also the units of those newer lists (a unit they dropped valid until the day before the list)."""
    return _spans(current_eras(applied))


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
def _legacy_final() -> Units:
    """The list of 2025-06-30: the last day of the legacy map."""
    db, _ = _legacy_data()
    rows = db.execute(
        "select provinceCode, province, districtCode, district, wardCode, ward from admin_units_legacy"
    ).fetchall()
    units: Units = {}
    for province_code, province, district_code, district, ward_code, ward in rows:
        units.setdefault(("province", province_code), Listed(province, None, province_code))
        units.setdefault(("district", district_code), Listed(district, province_code, province_code))
        if ward_code:
            units.setdefault(("commune", ward_code), Listed(ward, district_code, province_code))
    return units


@cache
def legacy_lists() -> DatedLists:
    """The dated lists of the legacy map, oldest first, the last of them of 2025-06-30."""
    dated = [(s.as_of, s.source, unit_history.legacy_list(s.read())) for s in unit_history.LEGACY_SNAPSHOTS]
    return dated + [(LEGACY_VALID_TO, LEGACY_SOURCE, _legacy_final())]


@cache
def legacy_eras() -> tuple[UnitRecord, ...]:
    return _eras("legacy", legacy_lists())


@cache
def legacy_units() -> tuple[UnitRecord, ...]:
    """Every unit of the legacy map since 2020: the 63 provinces, ~700 districts and ~10,000 communes in force
    until 2025-06-30, and the ~850 districts and communes retired before, each valid while a list had it."""
    return _spans(legacy_eras())


@cache
def units_of_period(period: Period, applied: tuple[str, ...] = ()) -> tuple[UnitRecord, ...]:
    """The one list in force at the end of the period (the latest dated on or before it, else the first), on
    the period's map: what a province's file of that period names, and what the generator and template use
    (`applied`: the newer lists of today's map the warehouse applied, applied_changes). The same rule picks
    a unit's name in force in SQL, from the database, in loader._units_for: change both together."""
    lists = current_lists(applied) if period.on_current_map else legacy_lists()
    in_force = [dated for dated in lists if dated[0] <= period.end] or lists[:1]
    source = in_force[-1][1]
    eras = current_eras(applied) if period.on_current_map else legacy_eras()
    return tuple(unit for unit in eras if unit.source == source)


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
    final = _legacy_final()
    for (level, code), unit in final.items():
        if level == "district":
            records.append(MapRecord("district", code, "province", province_of[unit.province_code], True))
    return tuple(dict.fromkeys(records + _retired_crosswalk(records, province_of)))


def _retired_crosswalk(official: list[MapRecord], province_of: dict[str, str]) -> list[MapRecord]:
    """Units retired before 2025: a commune merged into a unit of 2025-06-30 takes that unit's conversion,
    a district its province; a commune whose absorber is not known counts in its province only."""
    targets: dict[str, list[MapRecord]] = {}
    for record in official:
        if record.legacy_level == "commune":
            targets.setdefault(record.legacy_code, []).append(record)
    last_list = _legacy_final()
    spans = {(u.unit_level, u.unit_code): u for u in legacy_units()}
    succession = unit_history.successors(legacy_lists())
    records = []
    for (level, code), absorber in succession.items():
        unit = spans[level, code]
        province = province_of[unit.province_code]
        if level == "commune" and absorber is not None and absorber[0] == "commune":
            for target in targets[absorber[1]]:
                records.append(
                    MapRecord(level, code, target.current_level, target.current_code, target.is_default,
                              unit.source, MERGED_INTO, absorber[1])
                )  # fmt: skip
        elif level == "district" and absorber is not None:
            records.append(MapRecord(level, code, "province", province, True, unit.source, MERGED_INTO, absorber[1]))
        else:
            # via: its district of the time, or the district of 2025-06-30 that district merged into
            district = ("district", unit.parent_code) if level == "commune" else None
            via = (district if district in last_list else succession.get(district)) or (None, None)
            records.append(
                MapRecord(level, code, "province", province, True, unit.source, DISTRICT_OF_THE_TIME, via[1])
            )
    return records


def applied_changes(conn: psycopg.Connection) -> tuple[str, ...]:
    """Versions of newer lists of today's map that a reviewed change applied."""
    return tuple(version for (version,) in conn.execute("select version from ref.reference_change order by as_of"))


def load_reference(conn: psycopg.Connection) -> dict[str, int]:
    """Replace every unit, era and crosswalk row in one transaction; a second run leaves the same rows."""
    applied = applied_changes(conn)
    eras = current_eras(applied) + legacy_eras()
    units = current_units(applied) + legacy_units()
    crosswalk = legacy_crosswalk()
    sources = {CURRENT_SOURCE: version(CURRENT_SOURCE), LEGACY_SOURCE: version(LEGACY_SOURCE)}
    sources |= {s.source: s.version for s in unit_history.LEGACY_SNAPSHOTS}
    sources |= {s.source: s.version for s in unit_history.CURRENT_SNAPSHOTS if s.version in applied}
    counts = Counter(era.source for era in eras)
    loaded = {}
    with conn.transaction():
        for source, source_version in sources.items():
            count = counts[source]
            conn.execute(
                """insert into ref.reference_source (source, version, row_count) values (%s, %s, %s)
                   on conflict (source) do update
                   set version = excluded.version, row_count = excluded.row_count, loaded_at = now()""",
                [source, source_version, count],
            )
            loaded[source] = count
        conn.execute("delete from ref.legacy_unit_map")
        conn.execute("delete from ref.unit_era")
        conn.execute("delete from ref.unit")
        columns = (
            "map, unit_code, unit_level, name, division_type, parent_code, province_code, valid_from, valid_to, source"
        )
        for table, rows in (("ref.unit", units), ("ref.unit_era", eras)):
            with conn.cursor().copy(f"copy {table} ({columns}) from stdin") as copy:
                for row in rows:
                    copy.write_row(_values(row))
        with conn.cursor().copy(
            "copy ref.legacy_unit_map (legacy_level, legacy_code, current_level, current_code, is_default, source,"
            " basis, via_code) from stdin"
        ) as copy:
            for record in crosswalk:
                copy.write_row(_values(record))
        loaded["units"] = len(units)
        loaded["legacy_unit_map"] = len(crosswalk)
    return loaded


def _values(record: UnitRecord | MapRecord) -> tuple:
    """A record's fields in order, as COPY takes them (dataclasses.astuple deep-copies every value: 3 s of CPU
    for the 86k records of a load, against 0.2 s)."""
    return tuple(getattr(record, name) for name in record.__slots__)


def current_change(conn: psycopg.Connection, version: str) -> dict:
    """What a newer list of today's map (pinned in unit_history.CURRENT_SNAPSHOTS) changes against the newest
    list loaded: units added, renamed (or moved) and retired; a unit retired and one added under the same
    name in the same province are also shown as recoded. Nothing is changed."""
    pinned = {s.version: s for s in unit_history.CURRENT_SNAPSHOTS}
    if version not in pinned:
        known = ", ".join(pinned) or "none"
        raise ValueError(f"{version} is not a pinned list of today's map (ingestion/unit_history.py has: {known})")
    applied = applied_changes(conn)
    if version in applied:
        raise ValueError(f"{pinned[version].source} is applied already")
    snapshot = pinned[version]
    before_as_of, before_source, before = current_lists(applied)[-1]
    if snapshot.as_of <= before_as_of:
        raise ValueError(f"{snapshot.source} ({snapshot.as_of}) is not newer than {before_source} ({before_as_of})")
    after = unit_history.current_list(snapshot.read())

    def shown(key: tuple[str, str], unit: Listed) -> dict:
        return {"level": key[0], "code": key[1], "name": unit.name, "province": unit.province_code}

    retired = [shown(k, u) for k, u in sorted(before.items()) if k not in after]
    added = [shown(k, u) for k, u in sorted(after.items()) if k not in before]
    renamed = [
        {**shown(k, u), "was": before[k].name}
        for k, u in sorted(after.items())
        if k in before and (u.name, u.parent_code) != (before[k].name, before[k].parent_code)
    ]
    new_by_name = {(u["province"], fold(u["name"])): u["code"] for u in added}
    recoded = [
        {"from": u["code"], "to": new_by_name[u["province"], fold(u["name"])], "name": u["name"]}
        for u in retired
        if (u["province"], fold(u["name"])) in new_by_name
    ]
    return {
        "version": version,
        "source": snapshot.source,
        "as_of": snapshot.as_of.isoformat(),
        "after": before_source,
        "added": added,
        "renamed": renamed,
        "retired": retired,
        "recoded": recoded,
    }


def apply_current_change(conn: psycopg.Connection, version: str) -> dict:
    """Record what the newer list changes, then reload every unit with it, in one transaction. Submissions
    are not touched: a unit it retires stays valid for the periods before the list (unit_history.eras)."""
    change = current_change(conn, version)
    with conn.transaction():
        conn.execute(
            """insert into ref.reference_change (version, source, as_of, added, renamed, retired, changes)
               values (%s, %s, %s, %s, %s, %s, %s)""",
            [
                version,
                change["source"],
                change["as_of"],
                len(change["added"]),
                len(change["renamed"]),
                len(change["retired"]),
                json.dumps(change, ensure_ascii=False),
            ],
        )
        change["loaded"] = load_reference(conn)
    return change


def describe_change(change: dict) -> str:
    """The change as a data engineer reviews it: counts, then every unit, one line each."""
    lines = [
        f"{change['source']} (as of {change['as_of']}) against {change['after']}: {len(change['added'])} added,"
        f" {len(change['renamed'])} renamed or moved, {len(change['retired'])} retired"
        f" ({len(change['recoded'])} of them recoded: same name, new code)"
    ]
    lines += [f"  recoded  {u['from']} -> {u['to']}  {u['name']}" for u in change["recoded"]]
    lines += [f"  added    {u['code']}  {u['name']} ({u['province']})" for u in change["added"]]
    lines += [f"  renamed  {u['code']}  {u['was']} -> {u['name']} ({u['province']})" for u in change["renamed"]]
    lines += [f"  retired  {u['code']}  {u['name']} ({u['province']})" for u in change["retired"]]
    return "\n".join(lines)
