"""Thousands of damaged files, made by mutating real ones, through the check (the portal's and `python -m
warehouse check`) and the ingest: none raises, each gets a verdict, none is a fault of ours (`not_checked`),
and a refused one leaves everything stored as it was.

Bounded and repeatable: ANTQ_FUZZ_SEED and ANTQ_FUZZ_CASES choose the mutants (a failure prints its seed, case
and mutation, and keeps the file under the test's tmp folder); run more by hand with a larger count.
"""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from collections.abc import Callable
from itertools import islice

import pytest

from ingestion.contract import MODEL_SHEET, sheet_columns, sheet_title
from ingestion.generator import province_models, province_rows
from ingestion.loader import dry_run, ingest_file
from ingestion.periods import parse_period
from ingestion.template import build_workbook
from tests.test_hostile_files import _stored

pytestmark = pytest.mark.slow  # a minute or more: make test runs it, make test-fast does not

SEED = int(os.environ.get("ANTQ_FUZZ_SEED", "20261207"))
CASES = int(os.environ.get("ANTQ_FUZZ_CASES", "2000"))
INGESTED_EVERY = 8  # one mutant in so many is ingested for real, the others checked (rolled back)
PROVINCE, PERIOD = "38", "2026-Q3"
COLUMNS = [c.name for c in sheet_columns()]

# Cells people and programs write, and cells only a damaged or hostile file holds.
ODD_CELLS = [
    "",
    " ",
    "0",
    "-1",
    "4 351",
    "4\u00a0351",
    "4.351",
    "4,351",
    "1e309",
    "1e999999999",
    "NaN",
    "Infinity",
    "9" * 19,
    "9" * 5000,
    "=SUM(E2:E9)",
    "\x00",
    "\ufeff",
    "\U0001d7d8",
    "' or 1=1 --",
    "\\.",
    "\r\n",
    '"',
    "2026-Q3",
    "2012",
    "0001-01",
    "9999-12",
    "Quý III/2026",
    "%s",
    "{}",
    "null",
    "Xã Không Có Thật",
    "x" * 70000,
]
ODD_JSON = [None, True, -1, 1.5, 10**40, "9" * 5000, [], {}, [[[]]], {"a": {"b": [1]}}, "\u0000", 1e308]
ODD_BYTES = [b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b'"', b"\n", b"\r", b",", b";", b"\t", b"\\.", b"<", b"&", b"]]>"]
CELL_TYPES = [b"s", b"n", b"b", b"e", b"str", b"inlineStr", b"d", b"x"]


def _rows() -> list[dict]:
    return [{c: row.get(c) for c in COLUMNS} for row in islice(province_rows(PROVINCE, parse_period(PERIOD)), 30)]


def _csv(rows: list[dict]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join("" if r[c] is None else str(r[c]) for c in COLUMNS) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _xlsx(rows: list[dict]) -> bytes:
    """The template filled in with the rows and the province's models, as an office sends it."""
    workbook = build_workbook(PROVINCE, PERIOD)
    for row in rows:
        workbook[sheet_title()].append([row[c] for c in COLUMNS])
    models = workbook[sheet_title(MODEL_SHEET)]
    names = [c.name for c in sheet_columns(MODEL_SHEET)]
    for model in islice(province_models(PROVINCE, parse_period(PERIOD)), 5):
        models.append([model.get(name, "") for name in names])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Mutations: each takes the file's bytes and a random source and gives new bytes and what it did.
def flip(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    at = rnd.randrange(len(data))
    return data[:at] + bytes([rnd.randrange(256)]) + data[at + 1 :], f"flip byte {at}"


def cut(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    at = rnd.randrange(len(data))
    return data[:at], f"truncate at {at}"


def drop(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    at = rnd.randrange(len(data))
    size = rnd.choice([1, 8, 64, 512])
    return data[:at] + data[at + size :], f"drop {size} at {at}"


def repeat(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    at = rnd.randrange(len(data))
    size = rnd.choice([1, 16, 200])
    return data[:at] + data[at : at + size] * rnd.choice([2, 50]) + data[at:], f"repeat {size} at {at}"


def insert(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    at, odd = rnd.randrange(len(data)), rnd.choice(ODD_BYTES)
    return data[:at] + odd + data[at:], f"insert {odd!r} at {at}"


BYTES = [flip, cut, drop, repeat, insert]


def odd_cell(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    """A CSV with one cell (or the header's) replaced by an odd value."""
    lines = data.decode().split("\n")
    line = rnd.randrange(len(lines) - 1)
    cells = lines[line].split(",")
    column, odd = rnd.randrange(len(cells)), rnd.choice(ODD_CELLS)
    cells[column] = f'"{odd}"' if rnd.random() < 0.5 else odd
    lines[line] = ",".join(cells)
    return "\n".join(lines).encode(), f"line {line + 1} cell {column + 1} = {odd[:20]!r}"


def odd_value(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    """A JSON file with one value, one record or the whole shape replaced."""
    document = json.loads(data)
    records = document["indicators"]
    choice = rnd.randrange(4)
    if choice == 0:
        record, key, odd = rnd.choice(records), rnd.choice(COLUMNS + ["extra"]), rnd.choice(ODD_JSON)
        record[key] = odd
        what = f"{key} = {str(odd)[:20]}"
    elif choice == 1:
        records[rnd.randrange(len(records))] = rnd.choice(ODD_JSON)
        what = "a record replaced"
    elif choice == 2:
        document = rnd.choice([records, {"indicators": {}}, {"models": records}, "text", 7, None])
        what = "the shape replaced"
    else:
        record = rnd.choice(records)
        del record[rnd.choice(list(record))]
        what = "a key removed"
    return json.dumps(document).encode(), what


def in_part(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    """A workbook with one of its parts (the sheets most often) damaged inside the zip, which stays valid."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    names = sorted(parts)
    sheets = [n for n in names if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml"]
    name = rnd.choice(sheets) if rnd.random() < 0.7 else rnd.choice(names)
    part = parts[name]
    choice = rnd.randrange(4)
    if choice == 0 and b' t="' in part:
        at = rnd.choice([i for i in range(len(part)) if part.startswith(b' t="', i)][:400])
        end = part.index(b'"', at + 4)
        kind = rnd.choice(CELL_TYPES)
        part, what = part[: at + 4] + kind + part[end:], f"a cell's type = {kind!r}"
    elif choice == 1 and b"<v>" in part:
        at = rnd.choice([i for i in range(len(part)) if part.startswith(b"<v>", i)][:400])
        end = part.index(b"</v>", at)
        odd = rnd.choice(ODD_CELLS).encode(errors="ignore")[:100].replace(b"<", b"&lt;").replace(b"&", b"&amp;")
        part, what = part[: at + 3] + odd + part[end:], f"a value = {odd[:20]!r}"
    elif choice == 2 and b' r="' in part:
        at = rnd.choice([i for i in range(len(part)) if part.startswith(b' r="', i)][:400])
        end = part.index(b'"', at + 4)
        ref = rnd.choice([b"", b"A0", b"XFE1", b"A1048577", b"!!", b"E2", b"A99999999999"])
        part, what = part[: at + 4] + ref + part[end:], f"a cell reference = {ref!r}"
    else:
        part, what = rnd.choice(BYTES)(part, rnd) if part else (part, "nothing")
    parts[name] = part
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for each, content in parts.items():
            out.writestr(each, content)
    return buffer.getvalue(), f"{name}: {what}"


def mutants(bases: dict[str, bytes], count: int) -> list[tuple[int, str, bytes, str]]:
    """`count` mutants (case, suffix, bytes, what was done), the same for the same seed."""
    rnd = random.Random(SEED)
    structural: dict[str, Callable] = {".csv": odd_cell, ".json": odd_value, ".xlsx": in_part}
    made = []
    for case in range(count):
        suffix = rnd.choice(sorted(bases))
        data, steps = bases[suffix], []
        for _ in range(rnd.choice([1, 1, 2, 3])):
            mutation = structural[suffix] if rnd.random() < 0.6 else rnd.choice(BYTES)
            try:
                data, what = mutation(data, rnd) if data else (data, "empty")
            except Exception:  # a structural mutation of bytes an earlier one damaged: a byte-level one instead
                data, what = rnd.choice(BYTES)(data, rnd) if data else (data, "empty")
            steps.append(what)
        made.append((case, suffix, data, "; ".join(steps)))
    return made


@pytest.fixture(scope="module")
def bases() -> dict[str, bytes]:
    rows = _rows()
    return {".csv": _csv(rows), ".json": json.dumps({"indicators": rows}).encode(), ".xlsx": _xlsx(rows)}


def test_the_unmutated_files_are_accepted(settings, conn, bases):
    folder = settings.landing_dir / PROVINCE / PERIOD
    folder.mkdir(parents=True)
    for suffix, data in bases.items():
        path = folder / f"base{suffix}"
        path.write_bytes(data)
        result = dry_run(conn, path, PROVINCE, PERIOD, settings)
        assert result.status == "accepted", [p.describe() for p in result.problems]


def test_every_mutated_file_gets_a_verdict_and_a_refused_one_changes_nothing(settings, conn, bases, tmp_path):
    folder = settings.landing_dir / PROVINCE / PERIOD
    folder.mkdir(parents=True)
    kept = tmp_path / "failing"
    failures, verdicts = [], {}
    for case, suffix, data, what in mutants(bases, CASES):
        path = folder / f"mutant-{case}{suffix}"
        path.write_bytes(data)
        try:
            if case % INGESTED_EVERY:
                result = dry_run(conn, path, PROVINCE, PERIOD, settings)
                changed = False
            else:
                before = _stored(conn)
                result = ingest_file(conn, path, settings)
                changed = result.status != "accepted" and _stored(conn) != before
            codes = {p.code for p in result.problems}
            if "not_checked" in codes or changed:
                failures.append(f"case {case} ({what}): {'stored changed; ' if changed else ''}{codes}")
            verdicts[result.status] = verdicts.get(result.status, 0) + 1
        except Exception as error:  # the very thing this test is for
            failures.append(f"case {case} ({what}): {type(error).__name__}: {error}"[:300])
        if failures and failures[-1].startswith(f"case {case} "):
            kept.mkdir(exist_ok=True)
            (kept / path.name).write_bytes(data)
        path.unlink(missing_ok=True)
    print(f"seed {SEED}, {CASES} mutants: {verdicts}")
    assert not failures, f"seed {SEED}; files kept in {kept}:\n" + "\n".join(failures[:20])
    assert verdicts.get("rejected", 0) > CASES // 4, "the mutations damage files (else they test nothing)"
    assert verdicts.get("accepted", 0) > 0, "and leave some acceptable (odd but valid cells)"
