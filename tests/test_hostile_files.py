"""Files made to break the readers: every one gets a verdict (refused, with a reason that says where), never
an exception; nothing stored changes for it; and the other provinces' files go on being ingested."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import psycopg
import pytest

from ingestion.generator import write_submission
from ingestion.loader import dry_run
from tests.helpers import indicator_workbook
from tests.test_portal import _csrf, _logged_in, portal, small_files  # noqa: F401 (fixtures)
from warehouse import pipeline

PERIOD = "2026-09"
ROW = ["2026-09", "14797", "security_teams", None, 12, None, None]  # a good row of Thanh Hóa (38)


def _sheet_part(archive: zipfile.ZipFile) -> str:
    return next(name for name in archive.namelist() if name.startswith("xl/worksheets/sheet"))


def rezipped(source: Path, target: Path, edit) -> Path:
    """`source` (a workbook) written to `target` with its indicator sheet's XML changed by `edit(text)`."""
    with zipfile.ZipFile(source) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
        sheet = _sheet_part(archive)
    parts[sheet] = edit(parts[sheet].decode()).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    source.unlink()
    return target


def _value_cell(xml: str, replacement: str) -> str:
    """The sheet XML with the cell of the row's count (E2, holding 12) replaced."""
    start = xml.index('<c r="E2"')
    end = xml.index("</c>", start) + len("</c>")
    return xml[:start] + replacement + xml[end:]


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10))
    + "]>"
)


def _poison(folder: Path, name: str) -> Path:
    """One hostile file, named for what it does, in `folder`."""
    path = folder / name
    stem = name.rsplit(".", 1)[0]
    if name.endswith(".xlsx"):
        good = indicator_workbook(folder / f".{stem}.good.xlsx", [ROW])
        edits = {
            "undefined-entity": lambda x: _value_cell(x, '<c r="E2" t="inlineStr"><is><t>&nope;</t></is></c>'),
            "billion-laughs": lambda x: LAUGHS + _value_cell(x, '<c r="E2" t="inlineStr"><is><t>&lol9;</t></is></c>'),
            "truncated-sheet": lambda x: x[: len(x) // 2],
            "number-abc": lambda x: _value_cell(x, '<c r="E2" t="n"><v>abc</v></c>'),
            "date-not-a-date": lambda x: _value_cell(x, '<c r="E2" t="d"><v>not-a-date</v></c>'),
            "bad-cell-reference": lambda x: _value_cell(x, '<c r="E!2" t="n"><v>12</v></c>'),
        }
        return rezipped(good, path, edits[stem])
    if stem == "nul-byte":
        good = write_submission(folder.parent.parent, "38", PERIOD)
        lines = good.read_text(encoding="utf-8").splitlines()
        lines[3] = lines[3].replace("security", "secu\x00rity", 1)
        good.unlink()
        path.write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    elif stem == "deep-json":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif stem == "huge-integer":
        columns = ["period", "unit_code", "indicator_code", "category", "value", "numerator", "denominator"]
        document = json.dumps({"indicators": [dict(zip(columns, ROW, strict=True))]})
        path.write_text(document.replace('"value": 12', '"value": ' + "9" * 5000))
    return path


POISONS = {
    "undefined-entity.xlsx": {"unreadable_file"},
    "billion-laughs.xlsx": {"unsafe_xml"},
    "truncated-sheet.xlsx": {"unreadable_file"},
    "number-abc.xlsx": {"unreadable_file"},
    "date-not-a-date.xlsx": {"unreadable_file"},
    "bad-cell-reference.xlsx": {"unreadable_file"},
    "nul-byte.csv": {"control_character"},
    "deep-json.json": {"json_too_deep"},
    "huge-integer.json": {"too_large"},
}


def _stored(conn: psycopg.Connection) -> tuple:
    """What a refusal must leave as it was: raw's rows and the accepted versions."""
    return conn.execute(
        """select (select count(*) from raw.indicator_value), (select count(*) from raw.model),
                  (select array_agg(submission_id order by submission_id) from ingest.submission
                   where status = 'accepted')"""
    ).fetchone()


@pytest.mark.parametrize("name", sorted(POISONS))
def test_a_hostile_file_is_refused_with_a_reason_kept_alerted_and_taken_out_of_landing(settings, conn, name):
    folder = settings.landing_dir / "38" / PERIOD
    folder.mkdir(parents=True)
    write_submission(settings.landing_dir, "38", PERIOD)  # an accepted version that must stay as it is
    pipeline.ingest(str(folder / f"38_{PERIOD}.csv"), settings)
    before = _stored(conn)
    path = _poison(folder, name)

    checked = dry_run(conn, path, "38", PERIOD, settings)  # the portal's check, and `python -m warehouse check`
    assert checked.status == "rejected"
    outcome = pipeline.ingest(str(path), settings)

    assert outcome["status"] == "rejected", outcome
    codes = conn.execute(
        "select reason_code from ingest.rejection where submission_id = %s", [outcome["submission_id"]]
    ).fetchall()
    assert {code for (code,) in codes} <= POISONS[name] and codes, (codes, outcome["problems"])
    assert {p.code for p in checked.problems} == {code for (code,) in codes}, "the check says what the ingest says"
    assert all(name in problem for problem in outcome["problems"]), "each reason names the file"
    assert not path.exists(), "the landing file is taken away"
    stored_path = conn.execute(
        "select stored_path from ingest.submission where submission_id = %s", [outcome["submission_id"]]
    ).fetchone()[0]
    assert Path(stored_path).is_file() and "quarantine" in stored_path
    queued = conn.execute(
        "select count(*) from meta.alert_outbox where alert_key like %s", [f"%{outcome['submission_id']}%"]
    ).fetchone()[0]
    assert queued == 1, "the refusal is alerted"
    assert _stored(conn) == before, "nothing stored changed"


def test_the_reason_of_an_unreadable_sheet_names_the_sheet_and_the_last_row_read(settings, conn):
    folder = settings.landing_dir / "38" / PERIOD
    folder.mkdir(parents=True)
    good = indicator_workbook(folder / ".good.xlsx", [ROW, ROW[:4] + [13, None, None]])
    path = rezipped(
        good, folder / "bad.xlsx", lambda x: x.replace('<c r="E3" t="n"><v>13</v>', '<c r="E3" t="n"><v>x</v>')
    )
    (problem,) = pipeline.ingest(str(path), settings)["problems"]
    assert problem.startswith("bad.xlsx, sheet ") and "row 2:" in problem and "after row 2" in problem, problem
    assert "không đọc được tệp" in problem


def test_a_backfill_ingests_every_other_file_around_a_hostile_one(settings, conn):
    for province in ("38", "40", "42"):
        write_submission(settings.landing_dir, province, PERIOD)
    _poison(settings.landing_dir / "40" / PERIOD, "number-abc.xlsx")
    assert pipeline.ingest_waiting(settings, workers=2) == {"accepted": 3, "rejected": 1}
    assert list(settings.landing_dir.glob("*/*/*")) == []


def test_the_portal_answers_a_hostile_file_with_its_reasons_not_an_error(small_files, portal, tmp_path):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    folder = tmp_path / "made" / "38" / PERIOD
    folder.mkdir(parents=True)
    for name in ("billion-laughs.xlsx", "deep-json.json"):
        path = _poison(folder, name)
        for action in ("check", "submit"):
            form = {"period": PERIOD, "action": action, "csrf": _csrf(client)}
            response = client.post("/upload", data=form, files={"file": (name, path.read_bytes())})
            assert response.status_code == 200, response.text[:500]
            assert name in response.text and ("XML" in response.text or "JSON" in response.text)
    assert list(small_files.landing_dir.glob("*/*/*")) == [], "nothing left in landing"


def _csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
