"""Load administrative units from pinned PyPI packages into ref.unit, idempotently."""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass
from datetime import date
from importlib.metadata import version

import psycopg

from ingestion.periods import REORGANISATION_DATE

CURRENT_SOURCE = "vietnam-provinces"


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


def current_units() -> list[UnitRecord]:
    """The 34 provinces and 3,321 communes in force since 2025-07-01, with official codes."""
    import vietnam_provinces as vp

    records = []
    for province in vp.Province.iter_all():
        records.append(
            UnitRecord(
                "current",
                f"{province.code.value:02d}",
                "province",
                province.name,
                province.division_type.value,
                None,
                f"{province.code.value:02d}",
                REORGANISATION_DATE,
                None,
                CURRENT_SOURCE,
            )
        )
    nested = json.loads(vp.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    for province in nested:
        province_code = f"{province['code']:02d}"
        for ward in province["wards"]:
            records.append(
                UnitRecord(
                    "current",
                    f"{ward['code']:05d}",
                    "commune",
                    ward["name"],
                    ward["division_type"],
                    province_code,
                    province_code,
                    REORGANISATION_DATE,
                    None,
                    CURRENT_SOURCE,
                )
            )
    return records


def load_reference(conn: psycopg.Connection) -> dict[str, int]:
    """Replace the units of each source in one transaction; a second run leaves the same rows."""
    loaded = {}
    with conn.transaction():
        units = current_units()
        conn.execute(
            """insert into ref.reference_source (source, version, row_count) values (%s, %s, %s)
               on conflict (source) do update
               set version = excluded.version, row_count = excluded.row_count, loaded_at = now()""",
            [CURRENT_SOURCE, version(CURRENT_SOURCE), len(units)],
        )
        conn.execute("delete from ref.unit where source = %s", [CURRENT_SOURCE])
        with conn.cursor().copy(
            "copy ref.unit (map, unit_code, unit_level, name, division_type, parent_code, province_code,"
            " valid_from, valid_to, source) from stdin"
        ) as copy:
            for unit in units:
                copy.write_row(astuple(unit))
        loaded[CURRENT_SOURCE] = len(units)
    return loaded
