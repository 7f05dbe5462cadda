"""A provincial officer's pages: the province's page (what it sent, what it owes), the template, checking and
sending a file, and one submission with why it was refused. `deliver` is the one way a file, uploaded or made
by the entry form, is checked or sent."""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import stat
import time
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from core import security
from ingestion.figures import compare_with_published, submission_figures
from ingestion.loader import dry_run, safe_name, sha256_of
from ingestion.named_period import period_named
from ingestion.periods import parse_period
from portal import auth, queries
from portal.web import BIGINT_MAX, Officer, Refused, SignedIn, Web, form_is_genuine
from warehouse import pipeline

router = APIRouter()
MAX_NAME_CHARS = 255  # a file name longer than any file system's is no file's
# What a portal killed in the middle of a send left on disk is removed when a portal starts, once untouched for
# this long: no send runs a day, and another portal process may still be writing a recent one.
LEFTOVER_SECONDS = 24 * 3600


@router.get("/", response_class=HTMLResponse)
def home(request: Request, web: Web, session: SignedIn):
    if session.is_data_team:
        return RedirectResponse("/team", status_code=303)
    with web.as_session(session) as conn:
        submissions = queries.submissions(conn)
    with web.admin() as conn:  # what the province still owes: asked of every province, shown for its own
        due = [d for d in queries.due(conn, web.settings) if d.province_code == session.province_code]
    chosen = earliest_due(due)
    return web.page(
        request,
        "province.html",
        session,
        submissions=submissions,
        due=due,
        today=date.today(),
        periods=periods(chosen),
        chosen=chosen,
    )


@router.get("/template")
def template(request: Request, web: Web, session: SignedIn, period: str, province: str | None = None):
    from ingestion.reference import applied_changes
    from ingestion.template import build_workbook

    province = session.province_code or province or None
    try:
        period = parse_period(period).code
    except ValueError:
        return web.message(request, session, "not_found", 404)
    with web.as_session(session) as conn:
        if province is not None and not queries.is_province(conn, province):  # the data team's choice: a code
            return web.message(request, session, "not_found", 404)
        applied = applied_changes(conn)  # newer lists of today's map, so the units sheet offers their codes
    buffer = io.BytesIO()
    build_workbook(province, period, applied).save(buffer)
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": _attachment(f"antq-{province or 'all'}-{period}.xlsx")},
    )


@router.post("/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    web: Web,
    session: Officer,
    period: str = Form(""),
    action: str = Form("check"),
    csrf: str = Form(""),
    file: Annotated[UploadFile | None, File()] = None,
):
    if not form_is_genuine(request, session, csrf):
        return web.message(request, session, "bad_form", 403)
    if file is None or not file.filename:
        return web.message(request, session, "no_file", 400)
    try:
        period = parse_period(period).code
    except ValueError:
        return web.message(request, session, "not_found", 400)
    name = Path(file.filename.replace("\\", "/")).name
    if not _fit_name(name):
        return web.message(request, session, "bad_name", 400, chars=MAX_NAME_CHARS)
    scratch = web.uploads / secrets.token_hex(8)
    scratch.mkdir(parents=True)
    try:
        path = scratch / safe_name(name)
        limit = web.settings.max_file_bytes
        if _save(file, path, limit) is None:
            return web.message(request, session, "too_large", 413, mb=limit // (1024 * 1024))
        # A file that names its period is for that period: the officer is told once if another was picked.
        named = period_named(path, name)
        picked = period if named is not None and named.code != period else None
        period = named.code if named is not None else period
        purpose = "submit" if action == "submit" else "check"
        return deliver(request, web, session, path, name, period, purpose, picked=picked)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def deliver(
    request: Request, web: Web, session: auth.Session, path: Path, name: str, period: str, purpose: str, **context
):
    """Check or send a file of the session's officer, uploaded or typed into the form: recorded for the
    session's login, then checked with nothing kept, or landed and ingested as a dropped file is. One path
    for both, so a form's figures get the same reasons, versions and audit trail as a file's."""
    settings = web.settings
    with web.as_session(session) as conn:  # recorded for the session's own login and province only
        upload_id = queries.record_upload(conn, period, name, path.stat().st_size, purpose)
    if purpose == "check":
        with web.admin() as conn:
            conn.execute(f"set role {security.LOADER}")
            result = dry_run(conn, path, session.province_code, period, settings)
        status, problems = result.status, result.problems
        # A file already received is named by its submission (the province's own: the same bytes for the same
        # province and period); a check registers nothing of its own.
        submission_id = result.submission_id if status == "duplicate" else None
        version, rows, warnings, notes = result.version, result.row_count, result.warnings, result.notes
        figures = result.figures
        with web.admin() as conn:  # the published figures BI reads, of the session's own province only
            compare_with_published(conn, session.province_code, period, figures)
    else:
        warnings, notes = [], []
        digest = sha256_of(path)
        landed = _land(path, settings.landing_dir / session.province_code / period)
        pipeline.ingest(str(landed), settings)
        with web.as_session(session) as conn:
            # What became of these bytes, whoever ingested them (an antq_ingest run may be first).
            submission_id, status, version, rows = queries.submission_of(conn, digest, period)
            status = "accepted" if status == "superseded" else status
            problems = queries.rejections(conn, submission_id)
            figures = submission_figures(conn, submission_id) if status == "accepted" else []
        if status == "accepted":  # published within seconds under Airflow, as a file dropped in landing is
            pipeline.request_publish(f"{name} sent by {session.login}", settings)
    with web.as_session(session) as conn:
        queries.record_upload_result(conn, upload_id, status, submission_id)
    return web.page(
        request,
        "report.html",
        session,
        purpose=purpose,
        status=status,
        file_name=name,
        period=period,
        problems=problems,
        version=version,
        rows=rows,
        submission_id=submission_id,
        warnings=warnings,
        notes=notes,
        figures=figures,
        **context,
    )


@router.get("/submission/{submission_id}", response_class=HTMLResponse)
def submission(request: Request, web: Web, session: SignedIn, submission_id: int):
    if not 0 < submission_id <= BIGINT_MAX:
        raise Refused(session, "not_found", 404)
    with web.as_session(session) as conn:
        found = queries.submissions(conn, submission_id)
        problems = queries.rejections(conn, submission_id) if found else []
        figures = submission_figures(conn, submission_id) if found else []
    if not found:  # another province's submission is as absent as one that does not exist
        raise Refused(session, "not_found", 404)
    return web.page(request, "submission.html", session, submission=found[0], problems=problems, figures=figures)


def periods(chosen: str | None = None) -> list[str]:
    """Periods an officer may send for, newest first: every month, quarter, half and year since two years ago,
    and the chosen one if it is older (a period still owed)."""
    from notify.reminders import periods_between

    today, year = date.today(), date.today().year - 2
    firsts = (f"{year}-01", f"{year}-Q1", f"{year}-H1", f"{year}")
    found = [period for first in firsts for period in periods_between(parse_period(first), today)]
    codes = [period.code for period in sorted(found, key=lambda p: (p.start, p.code), reverse=True)]
    return codes if chosen is None or chosen in codes else [*codes, chosen]


def earliest_due(due: list) -> str:
    """The period the lists open on (upload, template, form): the earliest of the province's reminders
    (queries.due), else the latest quarter."""
    if due:
        return min((d.period for d in due), key=lambda p: (p.end, p.start)).code
    return next(code for code in periods() if "-Q" in code)


def _fit_name(name: str) -> bool:
    """A file name the registry can keep as sent: no control character (Postgres text holds no NUL), and no
    longer than any file system allows."""
    return 0 < len(name) <= MAX_NAME_CHARS and not any(ord(c) < 32 or ord(c) == 127 for c in name)


def _attachment(name: str) -> str:
    """A Content-Disposition for a download, built of letters, digits, dots and dashes only: no value a request
    sent can end the header or add one."""
    return f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}"'


def _save(upload: UploadFile, path: Path, limit: int) -> int | None:
    """Copy the upload to path; None (and nothing kept) if it is larger than limit."""
    size = 0
    with path.open("wb") as out:
        while block := upload.file.read(1 << 20):
            size += len(block)
            if size > limit:
                break
            out.write(block)
    if size > limit:
        path.unlink()
        return None
    return size


def _land(path: Path, folder: Path) -> Path:
    """Put the file in landing exactly as a dropped file, whole or not at all (a dot file is never picked up)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    while target.exists():
        target = folder / f"{secrets.token_hex(2)}_{path.name}"
    partial = folder / f".{target.name}.part"
    try:
        shutil.copyfile(path, partial)
        os.replace(partial, target)
    except BaseException:  # a full disk: no part of the file stays behind (the officer is told it failed)
        partial.unlink(missing_ok=True)
        raise
    return target


def clear_leftovers(uploads: Path, landing_dir: Path, older_than: float = LEFTOVER_SECONDS) -> list[Path]:
    """Remove what portal processes killed in the middle of a send left behind (tests/test_portal_crash.py):
    an upload's scratch folder, a copy of a file that was never landed (the officer was never told it was
    received), and a landing copy cut short (`.<name>.part`, never picked up: ingestion.loader.discover); the
    first holds the whole file, and nothing else removes either. Only this account's, untouched for
    `older_than` seconds; what another account dropped in landing is left as it is. Returns what was removed."""
    cutoff, removed = time.time() - older_than, []

    def old_and_ours(path: Path) -> bool:
        info = path.lstat()
        return info.st_uid == os.geteuid() and info.st_mtime < cutoff

    folders = [p for p in uploads.iterdir() if p.is_dir() and not p.is_symlink()] if uploads.is_dir() else []
    for folder in folders:
        try:
            if all(old_and_ours(path) for path in [folder, *folder.iterdir()]):
                shutil.rmtree(folder)
                removed.append(folder)
        except OSError:  # gone meanwhile, or not ours to remove: left as it is
            continue
    for part in landing_dir.glob("*/*/.*.part"):
        try:
            if stat.S_ISREG(part.lstat().st_mode) and old_and_ours(part):
                part.unlink()
                removed.append(part)
        except OSError:
            continue
    return removed
