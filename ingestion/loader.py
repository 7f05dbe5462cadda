"""Ingest one landing file: check it against the contract and COPY it in one transaction, or quarantine it.

Policy for row errors: one bad row rejects the whole file. A submission is a province's official figures
for a period; storing part of it would publish provincial totals that nobody sent. Every bad row is still
recorded in ingest.rejection with its reason, so the officer can fix all of them in one go.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path

import psycopg

from core.settings import Settings
from ingestion import rules
from ingestion.bulk import load_indicators
from ingestion.catalogue import load_catalogue
from ingestion.contract import FileRejected, Problem, RowValidator, map_headers
from ingestion.figures import ProvinceFigure, province_figures
from ingestion.levels import check_levels
from ingestion.models import load_models
from ingestion.periods import Period, parse_period
from ingestion.readers import open_table
from ingestion.versions import VersionDrop, dropped

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    file_name: str
    status: str  # accepted | rejected | duplicate
    submission_id: int
    province_code: str | None = None
    period_code: str | None = None
    version: int | None = None
    row_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    # What the officer should know of an accepted file before sending it (dry_run): it does not change the
    # status, the file keeps the contract. For now: it replaces a version and drops most of it.
    warnings: list[VersionDrop] = field(default_factory=list)
    # How the file was read, for the officer to see in the dry run: rows skipped above a workbook's header,
    # cells read as the value saved with their formula. (Vietnamese, English) each.
    notes: list[tuple[str, str]] = field(default_factory=list)
    # What an accepted file would give its province per indicator (dry_run): what would be published.
    figures: list[ProvinceFigure] = field(default_factory=list)


OnRejected = Callable[[psycopg.Connection, IngestResult], None]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(landing_dir: Path) -> list[Path]:
    """Files waiting in landing/<province>/<period>/, oldest first so versions follow arrival order."""
    if not landing_dir.exists():
        return []
    files = [p for p in landing_dir.glob("*/*/*") if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, str(p)))


def _target(path: Path, settings: Settings) -> tuple[str | None, str | None, list[Problem]]:
    """Province and period as named by the folders landing/<province>/<period>/ the file was put in."""
    landing_dir = settings.landing_dir
    parts = path.relative_to(landing_dir).parts if path.is_relative_to(landing_dir) else ()
    province_dir, period_dir = (parts[0], parts[1]) if len(parts) > 2 else (None, None)
    try:
        period = parse_period(period_dir or "")
    except ValueError:
        return province_dir, period_dir, [rules.BAD_PERIOD_FOLDER.problem(path.name, value=period_dir)]
    if period.start > date.today():
        problem = rules.FUTURE_PERIOD.problem(path.name, value=period.code, period=period.code, start=period.start)
        return province_dir, period.code, [problem]
    first = first_period_day(settings)
    if period.start < first:
        return (
            province_dir,
            period.code,
            [rules.PERIOD_TOO_OLD.problem(path.name, value=period.code, period=period.code, first=first)],
        )
    return province_dir, period.code, []


def first_period_day(settings: Settings) -> date:
    """The first day a period may start: the catalogue's first indicator's `since`, or a later day in settings
    (ANTQ_EARLIEST_PERIOD), so that a typing slip such as 2012 for 2026 is refused, not stored as history."""
    catalogue = min((i.since or date.min for i in load_catalogue().values()), default=date.min)
    return max(catalogue, settings.earliest_period or date.min)


def _unfit(
    conn: psycopg.Connection, path: Path, settings: Settings, province_code: str | None, period_code: str
) -> list[Problem]:
    """What makes a file for a valid period unfit before it is read: its size, a folder naming no province."""
    problems = []
    size = path.stat().st_size
    if size > settings.max_file_bytes:
        limit, megabytes = settings.max_file_bytes // (1024 * 1024), size // (1024 * 1024)
        problems.append(rules.FILE_TOO_LARGE.problem(path.name, value=f"{megabytes} MB", limit=limit))
    if period_code and province_code not in _provinces_for(conn, parse_period(period_code)):
        problems.append(rules.UNKNOWN_PROVINCE.problem(path.name, value=province_code, period=period_code))
    return problems


def _units_for(conn: psycopg.Connection, period: Period) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Units of the map valid at the period's end: code -> (province code, its name then, its other names).

    Its name then is the one of the list in force that day (the latest dated on or before it: of the lists
    whose days include it, the one that starts first; reference.units_of_period); other names, other lists'.
    """
    rows = conn.execute(
        """select unit.unit_code, unit.province_code,
                  coalesce((array_agg(era.name order by era.valid_from) filter (
                      where era.valid_from <= %(end)s and (era.valid_to is null or era.valid_to >= %(end)s)))[1],
                      unit.name),
                  array_agg(distinct era.name) filter (where era.name is not null)
           from ref.unit as unit
           left join ref.unit_era as era using (map, unit_level, unit_code)
           where unit.map = %(map)s and unit.valid_from <= %(end)s
             and (unit.valid_to is null or unit.valid_to >= %(end)s)
           group by unit.unit_code, unit.province_code, unit.name""",
        {"map": period.unit_map, "end": period.end},
    )
    return {
        code: (province, name, tuple(other for other in names or () if other != name))
        for code, province, name, names in rows
    }


def _provinces_for(conn: psycopg.Connection, period: Period) -> set[str]:
    rows = conn.execute("select unit_code from ref.unit where map = %s and unit_level = 'province'", [period.unit_map])
    return {code for (code,) in rows}


def _earlier_copy(
    conn: psycopg.Connection, digest: str, province_code: str | None, period_code: str | None
) -> int | None:
    """The same bytes for the same province and period, as the current version or an earlier rejection.

    Sending again the bytes of a superseded version is a deliberate revert and becomes a new version.
    """
    row = conn.execute(
        """select submission_id from ingest.submission
           where sha256 = %s and province_code is not distinct from %s and period_code is not distinct from %s
             and status in ('accepted', 'rejected')
           order by submission_id desc limit 1""",
        [digest, province_code, period_code],
    ).fetchone()
    return row[0] if row else None


def ingest_file(
    conn: psycopg.Connection, path: Path, settings: Settings, on_rejected: OnRejected | None = None
) -> IngestResult:
    """Register, check and load one file. Re-running it for the same file changes nothing.

    The steps: find the target (province and period) from the folders; a file already received goes to the
    duplicates; a file unfit before it is read, or whose rows break the contract, is rejected and kept in
    quarantine with every reason; a good one becomes the next version of its province and period, and is kept
    in the archive. In every case the landing file is removed only once the database says where it went.
    `on_rejected(conn, result)` runs inside the transaction that records a refusal (the rejection alert).
    """
    digest = sha256_of(path)
    province_code, period_code, problems = _target(path, settings)
    existing = _earlier_copy(conn, digest, province_code, period_code)
    if existing:
        return _duplicate(path, settings, existing, province_code, period_code)
    problems += _unfit(conn, path, settings, province_code, None if problems else period_code)
    if problems:
        return _reject(conn, path, settings, digest, province_code, period_code, problems, on_rejected)
    try:
        submission_id, version, rows_loaded, notes = _load(
            conn, path, digest, province_code, parse_period(period_code), settings
        )
    except _AlreadyLoaded as loaded:
        return _duplicate(path, settings, loaded.submission_id, province_code, period_code)
    except FileRejected as rejected:
        return _reject(conn, path, settings, digest, province_code, period_code, rejected.problems, on_rejected)
    except (OSError, psycopg.OperationalError, psycopg.InterfaceError):
        raise  # the machine's or the database's trouble (a full disk, a lost connection): try the file again later
    except Exception as error:  # a fault of ours the readers did not turn into a refusal: still a verdict
        logger.exception("checking %s failed; it is refused and kept in quarantine", path)
        problem = rules.NOT_CHECKED.problem(path.name, detail=f"{type(error).__name__}: {error}"[:300])
        return _reject(conn, path, settings, digest, province_code, period_code, [problem], on_rejected)
    path.unlink(missing_ok=True)  # another worker given the same file may have tidied it away meanwhile
    return IngestResult(
        path.name, "accepted", submission_id, province_code, period_code, version, rows_loaded, notes=notes
    )


def _duplicate(
    path: Path, settings: Settings, submission_id: int, province_code: str | None, period_code: str | None
) -> IngestResult:
    """The same bytes were received before: the file goes to the duplicates, named by the earlier submission
    (unless the worker that loaded it, given the same file at the same time, has removed it already)."""
    with contextlib.suppress(FileNotFoundError):
        _move(path, settings.data_dir / "archive" / "duplicates", submission_id)
    return IngestResult(path.name, "duplicate", submission_id, province_code, period_code)


def _load(
    conn: psycopg.Connection, path: Path, digest: str, province_code: str, period: Period, settings: Settings
) -> tuple[int, int, int, list[tuple[str, str]]]:
    """Load the file as the next version of its province and period, in one transaction; return its
    submission id, version, rows and notes on how it was read. Raises FileRejected (nothing kept) when a row
    breaks the contract."""
    file_name = path.name
    with _kept_if_committed(conn) as kept:
        # Two versions of one province-period load one after the other, never interleaved.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"{province_code}/{period.code}"])
        existing = _earlier_copy(conn, digest, province_code, period.code)
        if existing:
            raise _AlreadyLoaded(existing)
        # The earlier version steps aside first: at most one accepted version exists at any time.
        version, previous_id = _supersede(conn, province_code, period.code)
        submission_id = conn.execute(
            """insert into ingest.submission
               (file_name, stored_path, sha256, byte_size, province_code, period_code, period_type,
                period_start, period_end, status)
               values (%s, '', %s, %s, %s, %s, %s, %s, %s, 'accepted') returning submission_id""",
            [
                file_name,
                digest,
                path.stat().st_size,
                province_code,
                period.code,
                period.period_type,
                period.start,
                period.end,
            ],
        ).fetchone()[0]
        sheet, rows_loaded, models_loaded, notes = _check_and_copy(conn, path, submission_id, province_code, period)
        conn.execute(
            "update ingest.submission set superseded_by = %s where submission_id = %s", [submission_id, previous_id]
        )
        stored = _keep(path, settings.data_dir / "archive" / province_code / period.code, submission_id)
        kept.append(stored)
        conn.execute(
            "update ingest.submission set stored_path = %s, version = %s, row_count = %s, model_count = %s,"
            " sheet = %s where submission_id = %s",
            [str(stored), version, rows_loaded, models_loaded, sheet, submission_id],
        )
    return submission_id, version, rows_loaded, notes


def _check_and_copy(
    conn: psycopg.Connection, path: Path, submission_id: int, province_code: str, period: Period
) -> tuple[str, int, int, list[tuple[str, str]]]:
    """Check the file's rows against the contract and copy them into raw; return the sheet, the indicator rows
    and the models loaded, and notes on how it was read. Raises FileRejected with every problem found."""
    file_name = path.name
    table = open_table(path, file_name)
    try:  # closed however it ends: a workbook refused at its header kept its file open until collected
        fields = map_headers(table.headers, file_name, table.sheet, header_row=table.header_row)
        validator = RowValidator(file_name, province_code, period, None, table.sheet)
        units = cache(lambda: _units_for(conn, period))
        rows_loaded, problems = load_indicators(conn, path, table, fields, submission_id, validator, units)
    finally:
        table.close()
    if problems:
        raise FileRejected(problems)
    problems = check_levels(conn, submission_id, province_code, period, file_name, table.sheet)
    if problems:
        raise FileRejected(problems)
    models_loaded, problems = load_models(conn, path, submission_id, validator, units)
    if problems:
        raise FileRejected(problems)
    if rows_loaded == 0:
        raise FileRejected([rules.NO_ROWS.problem(file_name, sheet=table.sheet)])
    _keep_formulas(conn, submission_id, table.formulas, dict(zip(table.headers, fields, strict=False)))
    return table.sheet, rows_loaded, models_loaded, _notes(table)


def _keep_formulas(
    conn: psycopg.Connection, submission_id: int, formulas: dict[tuple[int, str], str], names: dict[str, str]
) -> None:
    """Record which cells were read as the value saved with their formula (raw.formula_cell, for `explain`),
    each by its column's contract name (`names`: header as written -> name)."""
    if not formulas:
        return
    with conn.cursor().copy(
        "copy raw.formula_cell (submission_id, source_row, column_name, formula) from stdin"
    ) as copy:
        for (row, column), formula in formulas.items():
            copy.write_row((submission_id, row, names.get(column, column), _storable(formula)))


def _notes(table) -> list[tuple[str, str]]:
    """What the officer should see of how their file was read: rows skipped above the header, formula cells."""
    notes = []
    for row, text in table.above_header:
        shown = text if len(text) <= 80 else text[:80] + "…"
        notes.append(
            (f"dòng {row} (trên dòng tiêu đề) được bỏ qua: {shown}", f"row {row} (above the header) skipped: {shown}")
        )
    if table.formulas:
        rows = sorted({row for row, _ in table.formulas})
        listed = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
        count = len(table.formulas)
        notes.append(
            (
                f"{count} ô có công thức được đọc theo giá trị Excel đã lưu (dòng {listed})",
                f"{count} formula cells read as the value Excel saved with them (rows {listed})",
            )
        )
    return notes


def dry_run(conn: psycopg.Connection, path: Path, province_code: str, period_code: str, settings: Settings):
    """What ingest_file would say of the file sent for a province and period, with nothing kept: the file is
    ingested from a scratch folder in a transaction that is rolled back. The file itself is left as it is.
    An accepted file that would replace a version and keep too little of it is warned of (it would be held
    for review, and a mistaken one would delete the province's figures): a new version replaces the old whole.
    An accepted file's figures per indicator for the province are read before the rollback (result.figures):
    what it would publish, counted as the warehouse counts it."""
    with tempfile.TemporaryDirectory(prefix="antq-check-") as scratch:
        root = Path(scratch)
        trial = replace(settings, data_dir=root, landing_dir=root / "landing", quarantine_dir=root / "quarantine")
        copy = trial.landing_dir / safe_name(province_code) / safe_name(period_code) / path.name
        copy.parent.mkdir(parents=True)
        shutil.copyfile(path, copy)
        with conn.transaction(force_rollback=True):
            result = ingest_file(conn, copy, trial)
            if result.status == "accepted":
                result.warnings = dropped(conn, result.submission_id, settings.version_keep_ratio)
                result.figures = province_figures(conn, result.submission_id)
            return result


def target_of(path: Path) -> tuple[str, str] | None:
    """Province and period a file is for, from its folders (<province>/<period>/file) or its name (38_2026-Q3)."""
    if path.parent.parent.name.isdigit():
        return path.parent.parent.name, path.parent.name
    named = re.match(r"(\d{2})_(\d{4}(?:-(?:\d{2}|[QqHh]\d))?)(?!\d)", path.name)
    return (named.group(1), named.group(2).upper()) if named else None


class _AlreadyLoaded(Exception):
    """Another worker registered the same file while this one waited for the lock."""

    def __init__(self, submission_id: int):
        super().__init__(submission_id)
        self.submission_id = submission_id


def _supersede(conn: psycopg.Connection, province_code: str, period_code: str) -> tuple[int, int | None]:
    """Mark the accepted version superseded; return the new version's number and the superseded id."""
    version = conn.execute(
        """select coalesce(max(version), 0) + 1 from ingest.submission
           where province_code = %s and period_code = %s and status in ('accepted', 'superseded')""",
        [province_code, period_code],
    ).fetchone()[0]
    previous = conn.execute(
        """update ingest.submission set status = 'superseded'
           where province_code = %s and period_code = %s and status = 'accepted' returning submission_id""",
        [province_code, period_code],
    ).fetchone()
    return version, previous[0] if previous else None


def _reject(
    conn: psycopg.Connection,
    path: Path,
    settings: Settings,
    digest: str,
    province_code: str | None,
    period_code: str | None,
    problems: list[Problem],
    on_rejected: OnRejected | None,
) -> IngestResult:
    file_name = path.name
    bad_rows = len({p.row for p in problems if p.row is not None and p.row > 1})
    with _kept_if_committed(conn) as kept:
        submission_id = conn.execute(
            """insert into ingest.submission (file_name, stored_path, sha256, byte_size, province_code,
                   period_code, status, rejected_row_count)
               values (%s, '', %s, %s, %s, %s, 'rejected', %s) returning submission_id""",
            [file_name, digest, path.stat().st_size, province_code, period_code, bad_rows],
        ).fetchone()[0]
        with conn.cursor().copy(
            "copy ingest.rejection (submission_id, file_name, sheet, row_number, column_name, value,"
            " reason_code, reason_en, reason_vi) from stdin"
        ) as copy:
            for p in problems:
                texts = (p.file_name, p.sheet, p.column, p.value, p.code, p.reason_en, p.reason_vi)
                file_name_, sheet, column, value, code, reason_en, reason_vi = map(_storable, texts)
                copy.write_row((submission_id, file_name_, sheet, p.row, column, value, code, reason_en, reason_vi))
        folder = settings.quarantine_dir / safe_name(province_code or "_unknown") / safe_name(period_code or "_unknown")
        stored = _keep(path, folder, submission_id)
        kept.append(stored)
        conn.execute(
            "update ingest.submission set stored_path = %s where submission_id = %s",
            [str(stored), submission_id],
        )
        result = IngestResult(file_name, "rejected", submission_id, province_code, period_code, problems=problems)
        if on_rejected:
            on_rejected(conn, result)
    path.unlink(missing_ok=True)
    return result


def _storable(text: str | None) -> str | None:
    """Text Postgres can store: a NUL (which only a damaged file holds) shown as \\x00."""
    return None if text is None else text.replace("\x00", "\\x00")


def safe_name(name: str, max_bytes: int = 200) -> str:
    """A file name that is safe on any file system and in any shell: the original stays in the registry."""
    name = unicodedata.normalize("NFC", name)
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
    suffix = re.sub(r"[^\w]+", "", suffix)[:10]
    clean = re.sub(r"[^\w.\-]+", "_", stem).strip("._") or "file"
    budget = max_bytes - len(suffix.encode()) - 1
    clean = clean.encode()[:budget].decode(errors="ignore")
    return clean + (f".{suffix}" if dot and suffix else "")


def _kept_path(folder: Path, submission_id: int, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{submission_id:08d}_{safe_name(name)}"


@contextlib.contextmanager
def _kept_if_committed(conn: psycopg.Connection) -> Iterator[list[Path]]:
    """A transaction whose kept copies (the paths added to the list it yields) are removed again when it does
    not commit: a copy named by a submission id that was rolled back would name nothing, for ever."""
    kept: list[Path] = []
    try:
        with conn.transaction():
            yield kept
    except BaseException:
        for copy in kept:
            copy.unlink(missing_ok=True)
        raise


def _keep(path: Path, folder: Path, submission_id: int) -> Path:
    """Link (or, across file systems, copy) the file, named by its submission, where it is kept for good.

    The landing name is removed only after the transaction commits: a crash in between leaves the file in
    landing, where the next run finds it registered (same sha256) and only tidies it away.
    """
    target = _kept_path(folder, submission_id, path.name)
    try:
        os.link(path, target)
    except OSError:
        try:
            shutil.copy2(path, target)
        except OSError:  # a full disk: no half copy stays behind (the transaction is rolled back too)
            target.unlink(missing_ok=True)
            raise
    _private(target)
    return target


def _move(path: Path, folder: Path, submission_id: int) -> Path:
    target = _kept_path(folder, submission_id, path.name)
    shutil.move(path, target)
    _private(target)
    return target


def _private(kept: Path) -> None:
    """A kept file is its owner's only (0600), whatever mode its sender gave it: a file another account
    dropped in landing keeps that account's mode through the link (core/settings.py, keep_files_private).
    One owned by that account stays as it is: only its owner may change it, and the folders are closed."""
    with contextlib.suppress(PermissionError):
        kept.chmod(0o600)
