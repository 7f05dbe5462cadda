"""The submission portal: provincial officers check and send their files (or type their figures into a form that
becomes one); the data team watches and reviews.

Server-rendered pages (FastAPI, Jinja2), one stylesheet served from here, no script: complete on a network
cut off from the internet, and light on a slow one. Every form carries a CSRF token; a session cookie is
HttpOnly and SameSite=Strict, and Secure when the portal is served over TLS (ANTQ_PORTAL_SECURE_COOKIES).
Every response forbids scripts, framing and type sniffing (SECURITY_HEADERS). What an officer sees is
limited twice: by the page code, and by the database role an officer's pages read with, which reaches only
functions that return the request's session's rows (warehouse/security.py, antq_portal). The data team's
pages, which show every province, read as the pipeline does. A request body is read only once the request may
be answered: an upload or the entry form only with a session and within its size limit, any other form only
when small.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import psycopg
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from psycopg.rows import dict_row
from starlette.concurrency import run_in_threadpool

from ingestion.catalogue import load_catalogue
from ingestion.contract import column_label
from ingestion.figures import compare_with_published, submission_figures
from ingestion.loader import dry_run, safe_name, sha256_of
from ingestion.named_period import period_named
from ingestion.periods import parse_period
from portal import auth, entry_form
from portal.text import LANGUAGES, TEXT, number, percent, translate
from warehouse import alerts, desk, pipeline, security
from warehouse.db import warehouse_url
from warehouse.settings import Settings

HERE = Path(__file__).parent
SESSION_COOKIE = "antq_session"
CSRF_COOKIE = "antq_csrf"
LANGUAGE_COOKIE = "antq_lang"
STATUS_ORDER = (
    "published",
    "held",
    "refused_on_review",
    "accepted",
    "rejected",
)  # the best a province × period has reached
BIGINT_MAX = 2**63 - 1  # an id beyond it is no row's: answered as not found, never sent to the database
MAX_FORM_BYTES = 64 * 1024  # every form but an upload and the entry form is a few fields
# The entry form's grid: an indicator's figures for each commune of a province (Thanh Hóa: 166 communes and a
# ratio in 6 categories, about 2,000 fields and 120 KB with every field filled).
MAX_ENTRY_FORM_BYTES, MAX_FORM_FIELDS = 512 * 1024, 4000
MAX_NAME_CHARS = 255  # a file name longer than any file system's is no file's
# The portal has no script, no frame and no resource from elsewhere; a page that says otherwise was injected.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# The quality gate's report is one self-contained file with its style inline (expectations/report.py).
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    pipeline.prepare_warehouse(settings)
    url = warehouse_url(settings)
    uploads = settings.data_dir / "portal" / "uploads"
    templates = Jinja2Templates(directory=HERE / "templates")
    app = FastAPI(title="ANTQ portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @contextmanager
    def admin() -> Iterator[psycopg.Connection]:
        with psycopg.connect(url, autocommit=True) as conn:
            yield conn

    @contextmanager
    def as_session(session: auth.Session) -> Iterator[psycopg.Connection]:
        """A connection that sees only what the session may: role antq_portal, keyed by the session's token."""
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"set role {security.PORTAL}")
            conn.execute("select set_config('antq.session', %s, false)", [session.token])
            yield conn

    def set_cookie(response: Response, name: str, value: str, **options) -> None:
        """Every cookie of the portal: Secure as well when the portal is served over TLS."""
        response.set_cookie(name, value, secure=settings.portal_secure_cookies, **options)

    def current(request: Request) -> auth.Session | None:
        with admin() as conn:
            return auth.session_of(conn, request.cookies.get(SESSION_COOKIE))

    def signed_in(request: Request) -> auth.Session:
        """The request's session; without one, the page answers with the login page instead."""
        session = current(request)
        if session is None:
            raise LoginNeeded
        return session

    @app.exception_handler(LoginNeeded)
    def to_login(request: Request, error: LoginNeeded):
        return RedirectResponse("/login", status_code=303)

    def language(request: Request) -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE, "vi")
        return chosen if chosen in LANGUAGES else "vi"

    province_names: dict[str, str] = {}

    def province_name(code: str) -> str:
        """The province's name on today's map, for the header (read once: today's provinces keep theirs)."""
        if code not in province_names:
            with admin() as conn:
                found = conn.execute(
                    "select name from ref.unit where map = 'current' and unit_level = 'province' and unit_code = %s",
                    [code],
                ).fetchone()
            province_names[code] = found[0] if found else code
        return province_names[code]

    def page(request: Request, name: str, session: auth.Session | None, status_code: int = 200, **context):
        lang = language(request)
        csrf = session.csrf_token if session else request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        province = province_name(session.province_code) if session and session.province_code else None
        response = templates.TemplateResponse(
            request,
            name,
            {"t": lambda key, **values: translate(lang, key, **values), "lang": lang, "session": session}
            | {"label": column_label, "province_name": province}
            | {"number": lambda value: number(lang, value), "percent": lambda value: percent(lang, value)}
            | {"indicator_name": lambda code: _indicator_name(lang, code)}
            | {"csrf": csrf, **context},
            status_code=status_code,
        )
        if not session and request.cookies.get(CSRF_COOKIE) != csrf:
            set_cookie(response, CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return response

    def message(request: Request, session: auth.Session | None, key: str, status_code: int, **values):
        return page(request, "message.html", session, status_code, key=key, values=values)

    def form_is_genuine(request: Request, session: auth.Session | None, token: str) -> bool:
        expected = session.csrf_token if session else request.cookies.get(CSRF_COOKIE)
        return bool(expected) and secrets.compare_digest(token, expected)

    @app.middleware("http")
    async def bounded_uploads(request: Request, call_next):
        """Answer a POST before its body is read when it may not be: an upload or an entry form without a session
        (whatever its size), an upload larger than the file size limit, an entry form larger than a province's
        grid, any other form larger than a form is, and a body of unknown size. A body that is not read costs
        neither memory nor disk."""
        if request.method == "POST":
            is_upload = request.url.path == "/upload"
            is_entry_form = request.url.path == "/form"
            needs_session = is_upload or is_entry_form  # larger bodies, read only for someone signed in
            session = await run_in_threadpool(current, request) if needs_session else None
            if needs_session and session is None:
                return RedirectResponse("/login", status_code=303)
            length = request.headers.get("content-length")
            if length is None:
                return Response("Content-Length required", status_code=411)
            if not length.isdigit():
                return Response("Content-Length is not a number", status_code=400)
            if is_upload and int(length) > settings.max_file_bytes + 64 * 1024:
                return message(request, session, "too_large", 413, mb=settings.max_file_bytes // (1024 * 1024))
            limit = MAX_ENTRY_FORM_BYTES if is_entry_form else MAX_FORM_BYTES
            if not is_upload and int(length) > limit:
                return Response("Request body too large", status_code=413)
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        """SECURITY_HEADERS on every response (a response may set its own policy first: the gate report)."""
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/lang/{lang}")
    def switch_language(lang: str, request: Request):
        back = urlsplit(request.headers.get("referer") or "/").path  # a path here, never another site
        if not back.startswith("/") or back.startswith("//") or back == "/upload" or back.startswith("/team/hold"):
            back = "/"  # a page made by a form is not fetched again
        response = RedirectResponse(back, status_code=303)
        if lang in LANGUAGES:
            set_cookie(response, LANGUAGE_COOKIE, lang, samesite="lax")
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request):
        return page(request, "login.html", None)

    @app.post("/login")
    def login(request: Request, login: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        if not form_is_genuine(request, None, csrf):
            return message(request, None, "bad_form", 403)
        client = request.client.host if request.client else "?"
        try:
            with admin() as conn:
                session = auth.log_in(conn, login, password, client)
        except (auth.TooManyAttempts, auth.Busy) as refused:
            seconds = int(refused.wait.total_seconds()) + 1
            error = "busy" if isinstance(refused, auth.Busy) else "too_many"
            response = page(request, "login.html", None, 429, error=error, seconds=seconds)
            response.headers["Retry-After"] = str(seconds)
            return response
        if session is None:
            return page(request, "login.html", None, 401, error="wrong_login")
        response = RedirectResponse("/", status_code=303)
        set_cookie(
            response,
            SESSION_COOKIE,
            session.token,
            httponly=True,
            samesite="strict",
            max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        )
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")):
        """Log out whole or not at all. A live session's logout needs its form's token: one without is
        refused, and the session stays, in the warehouse and in the browser alike (never a browser that
        believes itself logged out of a session that still lives). A cookie of no live session has nothing
        to protect: it is cleared."""
        session = current(request)
        if session is not None and not form_is_genuine(request, session, csrf):
            return message(request, session, "bad_form", 403)
        if session is not None:
            with admin() as conn:
                auth.log_out(conn, session.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, secure=settings.portal_secure_cookies, httponly=True, samesite="strict")
        return response

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        session = signed_in(request)
        if session.is_data_team:
            return RedirectResponse("/team", status_code=303)
        with as_session(session) as conn:
            submissions = _submissions(conn)
        with admin() as conn:  # what the province still owes: asked of every province, shown for its own
            due = [d for d in _due(conn, settings) if d.province_code == session.province_code]
        chosen = _earliest_due(due)
        return page(
            request,
            "province.html",
            session,
            submissions=submissions,
            due=due,
            today=date.today(),
            periods=_periods(chosen),
            chosen=chosen,
        )

    @app.get("/template")
    def template(request: Request, period: str, province: str | None = None):
        from ingestion.reference import applied_changes
        from ingestion.template import build_workbook

        session = signed_in(request)
        province = session.province_code or province or None
        try:
            period = parse_period(period).code
        except ValueError:
            return message(request, session, "not_found", 404)
        with as_session(session) as conn:
            if province is not None and not _is_province(conn, province):  # the data team's choice: a code
                return message(request, session, "not_found", 404)
            applied = applied_changes(conn)  # newer lists of today's map, so the units sheet offers their codes
        buffer = io.BytesIO()
        build_workbook(province, period, applied).save(buffer)
        return StreamingResponse(
            iter([buffer.getvalue()]),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": _attachment(f"antq-{province or 'all'}-{period}.xlsx")},
        )

    @app.post("/upload", response_class=HTMLResponse)
    def upload(
        request: Request,
        period: str = Form(""),
        action: str = Form("check"),
        csrf: str = Form(""),
        file: Annotated[UploadFile | None, File()] = None,
    ):
        session = signed_in(request)
        if not form_is_genuine(request, session, csrf):
            return message(request, session, "bad_form", 403)
        if session.is_data_team:
            return message(request, session, "forbidden", 403)
        if file is None or not file.filename:
            return message(request, session, "no_file", 400)
        try:
            period = parse_period(period).code
        except ValueError:
            return message(request, session, "not_found", 400)
        name = Path(file.filename.replace("\\", "/")).name
        if not _fit_name(name):
            return message(request, session, "bad_name", 400, chars=MAX_NAME_CHARS)
        scratch = uploads / secrets.token_hex(8)
        scratch.mkdir(parents=True)
        try:
            path = scratch / safe_name(name)
            if _save(file, path, settings.max_file_bytes) is None:
                return message(request, session, "too_large", 413, mb=settings.max_file_bytes // (1024 * 1024))
            # A file that names its period is for that period: the officer is told once if another was picked.
            named = period_named(path, name)
            picked = period if named is not None and named.code != period else None
            period = named.code if named is not None else period
            purpose = "submit" if action == "submit" else "check"
            return deliver(request, session, path, name, period, purpose, picked=picked)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def deliver(request: Request, session: auth.Session, path: Path, name: str, period: str, purpose: str, **context):
        """Check or send a file of the session's officer, uploaded or typed into the form: recorded for the
        session's login, then checked with nothing kept, or landed and ingested as a dropped file is. One path
        for both, so a form's figures get the same reasons, versions and audit trail as a file's."""
        with as_session(session) as conn:  # recorded for the session's own login and province only
            upload_id = conn.execute(
                "select portal.record_upload(%s, %s, %s, %s)", [period, name, path.stat().st_size, purpose]
            ).fetchone()[0]
        if purpose == "check":
            with admin() as conn:
                conn.execute(f"set role {security.LOADER}")
                result = dry_run(conn, path, session.province_code, period, settings)
            status, submission_id, problems = result.status, None, result.problems
            version, rows, warnings, notes = result.version, result.row_count, result.warnings, result.notes
            figures = result.figures
            with admin() as conn:  # the published figures BI reads, of the session's own province only
                compare_with_published(conn, session.province_code, period, figures)
        else:
            warnings, notes = [], []
            digest = sha256_of(path)
            landed = _land(path, settings.landing_dir / session.province_code / period)
            pipeline.ingest(str(landed), settings)
            with as_session(session) as conn:
                # What became of these bytes, whoever ingested them (an antq_ingest run may be first).
                submission_id, status, version, rows = conn.execute(
                    "select * from portal.submission_of(%s, %s)", [digest, period]
                ).fetchone()
                status = "accepted" if status == "superseded" else status
                problems = _rejections(conn, submission_id)
                figures = submission_figures(conn, submission_id) if status == "accepted" else []
        with as_session(session) as conn:
            conn.execute("select portal.record_upload_result(%s, %s, %s)", [upload_id, status, submission_id])
        return page(
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

    @app.get("/form", response_class=HTMLResponse)
    def open_form(request: Request, period: str | None = None, grid: str | None = None):
        """The data-entry form of a period, for an officer with no file: the province's own totals of every
        indicator collected then, or one indicator's grid over the province's communes (portal/entry_form.py).
        It starts from the last version the province sent for the period."""
        session = signed_in(request)
        if session.is_data_team:
            return message(request, session, "forbidden", 403)
        with admin() as conn:  # the session's own province only: the officer's role reaches no table
            try:
                due = [d for d in _due(conn, settings) if d.province_code == session.province_code]
                chosen = parse_period(period or _earliest_due(due))
                form = entry_form.page_of(conn, chosen, session.province_code, grid)
            except ValueError:
                return message(request, session, "not_found", 404)
            sent = entry_form.last_sent(conn, session.province_code, chosen)
        return form_page(request, session, form, sent.fields(form) if sent else {}, sent)

    def form_page(request: Request, session: auth.Session, form, typed: dict, sent, status_code: int = 200):
        lang = language(request)
        return page(
            request,
            "form.html",
            session,
            status_code,
            form=form,
            period=form.period.code,
            periods=_periods(form.period.code),
            grids=entry_form.collected(form.period),
            typed=typed,
            sent=sent,
            category=lambda code: translate(lang, f"cat_{code}") if f"cat_{code}" in TEXT else code,
        )

    @app.post("/form", response_class=HTMLResponse)
    async def send_form(request: Request):
        form = await request.form(max_fields=MAX_FORM_FIELDS)
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        return await run_in_threadpool(deliver_form, request, fields)

    def deliver_form(request: Request, fields: dict[str, str]):
        """The typed figures as a file of the contract (JSON), checked or sent as an uploaded file is, or shown
        again to go on editing (from the check's page). Named for the form, the officer and the time, so the
        registry and `explain` say where the figures came from; the province is the session's, whatever the
        form says. A page that started from a version that is no longer the latest is refused."""
        session = signed_in(request)
        if not form_is_genuine(request, session, fields.get("csrf", "")):
            return message(request, session, "bad_form", 403)
        if session.is_data_team:
            return message(request, session, "forbidden", 403)
        with admin() as conn:
            try:
                period = parse_period(fields.get("period", ""))
                form = entry_form.page_of(conn, period, session.province_code, fields.get("grid"))
            except ValueError:
                return message(request, session, "not_found", 400)
            sent = entry_form.last_sent(conn, session.province_code, period)
        typed = {name: value.strip() for name, value in fields.items() if name in form.names() and value.strip()}
        started_from = fields.get("base", "")
        if started_from != (str(sent.submission_id) if sent else ""):
            return message(request, session, "form_stale", 409)
        if fields.get("action") == "edit":
            return form_page(request, session, form, typed, sent)
        name = f"form-{session.login}-{period.code}-{datetime.now():%Y%m%d%H%M%S}.json"
        scratch = uploads / secrets.token_hex(8)
        scratch.mkdir(parents=True)
        try:
            path = scratch / safe_name(name)
            document = entry_form.document(form, typed, sent)
            path.write_text(entry_form.as_json(document), encoding="utf-8")
            purpose = "submit" if fields.get("action") == "submit" else "check"
            back = {"grid": form.indicator.code if form.indicator else "", "base": started_from, **typed}
            return deliver(request, session, path, name, period.code, purpose, typed=list(back.items()))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @app.get("/submission/{submission_id}", response_class=HTMLResponse)
    def submission(request: Request, submission_id: int):
        session = signed_in(request)
        if not 0 < submission_id <= BIGINT_MAX:
            return message(request, session, "not_found", 404)
        with as_session(session) as conn:
            found = _submissions(conn, submission_id)
            problems = _rejections(conn, submission_id) if found else []
            figures = submission_figures(conn, submission_id) if found else []
        if not found:  # another province's submission is as absent as one that does not exist
            return message(request, session, "not_found", 404)
        return page(request, "submission.html", session, submission=found[0], problems=problems, figures=figures)

    @app.get("/team", response_class=HTMLResponse)
    def team(request: Request):
        """The data team's desk, in the order things need action: holds waiting (each with its finding, the gate
        report of the run that made it and the province's last periods), files refused today, provinces late,
        then what was done (recent decisions, the publish log, the gate reports) and the alerts not delivered."""
        from warehouse.holds import OPEN, holds

        session = signed_in(request)
        if not session.is_data_team:
            return message(request, session, "forbidden", 403)
        today = date.today()
        with admin() as conn:  # the data team sees every province: its pages read as the pipeline does
            pending = holds(conn, pending_only=True)
            charts = {h.hold_id: _chart(conn, h) for h in pending}
            refused = desk.refused_today(conn)
            due = desk.due_by_urgency(conn, today, settings)
            periods, grid = _completeness(conn, due, today)
            owed: dict[tuple[str, date, bool], list[str]] = {}  # one line a period, late ones first
            for d in due:
                owed.setdefault((d.period.code, d.deadline, d.overdue(today)), []).append(
                    f"{d.province_code} {d.province_name}"
                )
            decided = sorted((h for h in holds(conn) if h.status != OPEN), key=lambda h: h.reviewed_at, reverse=True)[
                :10
            ]
            log = conn.execute(
                """select publish_id, published_at, action, cardinality(submission_ids), checks_passed, gate_report
                   from meta.publish_log order by publish_id desc limit 10"""
            ).fetchall()
            undelivered = Counter(kind for _key, kind, *_rest in alerts.undelivered(conn))
            no_contact = [(code, name) for code, name, _ in grid if not alerts.province_contacts(conn, code)]
        return page(
            request,
            "team.html",
            session,
            holds=pending,
            charts=charts,
            refused=refused,
            owed=owed,
            periods=periods,
            grid=grid,
            decided=decided,
            log=log,
            reports=_gate_reports(settings.data_dir / "gx"),
            undelivered=sorted(undelivered.items()),
            no_contact=no_contact,
        )

    @app.get("/team/alerts", response_class=HTMLResponse)
    def team_alerts(request: Request):
        """Every alert not delivered, oldest first: the details behind the desk's count per kind."""
        session = signed_in(request)
        if not session.is_data_team:
            return message(request, session, "forbidden", 403)
        with admin() as conn:
            undelivered = alerts.undelivered(conn)
        return page(request, "team_alerts.html", session, undelivered=undelivered)

    @app.post("/team/hold/{hold_id}", response_class=HTMLResponse)
    def review(request: Request, hold_id: int, decision: str = Form(""), reason: str = Form(""), csrf: str = Form("")):
        from warehouse.holds import CONFIRMED, REJECTED, ReviewError

        session = signed_in(request)
        if not session.is_data_team or not form_is_genuine(request, session, csrf):
            return message(request, session, "forbidden", 403)
        if not 0 < hold_id <= BIGINT_MAX:
            return message(request, session, "not_found", 404)
        decision = CONFIRMED if decision == "confirm" else REJECTED
        try:
            pipeline.review_hold(hold_id, decision, reason, session.login, settings)
        except ReviewError as error:
            return page(request, "message.html", session, 400, key="not_found", values={}, detail=str(error))
        return RedirectResponse("/team", status_code=303)

    @app.get("/team/report/{name}")
    def gate_report(request: Request, name: str):
        session = current(request)
        if session is None or not session.is_data_team:
            return message(request, session, "forbidden", 403)
        gx = settings.data_dir / "gx"
        # the last run of each schema, and every run's report kept (linked from its holds and the publish log)
        reports = {p.name: p for p in [*gx.glob("report-*.html"), *(gx / "reports").glob("*.html")]}
        if name not in reports:
            return message(request, session, "not_found", 404)
        return FileResponse(reports[name], media_type="text/html", headers={"Content-Security-Policy": REPORT_POLICY})

    return app


class LoginNeeded(Exception):
    """A page that needs a session was asked for without one."""


def _fit_name(name: str) -> bool:
    """A file name the registry can keep as sent: no control character (Postgres text holds no NUL), and no
    longer than any file system allows."""
    return 0 < len(name) <= MAX_NAME_CHARS and not any(ord(c) < 32 or ord(c) == 127 for c in name)


def _attachment(name: str) -> str:
    """A Content-Disposition for a download, built of letters, digits, dots and dashes only: no value a
    request sent can end the header or add one."""
    return f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}"'


def _is_province(conn: psycopg.Connection, code: str) -> bool:
    """A province's code on today's map: two digits, in ref.unit."""
    if not re.fullmatch(r"[0-9]{2}", code):
        return False
    return bool(
        conn.execute(
            "select 1 from ref.unit where map = 'current' and unit_level = 'province' and unit_code = %s", [code]
        ).fetchone()
    )


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
    shutil.copyfile(path, partial)
    os.replace(partial, target)
    return target


def _submissions(conn: psycopg.Connection, submission_id: int | None = None) -> list[dict]:
    """The session's submissions (the data team's: every province's) with what became of them, newest first:
    on a connection as antq_portal, keyed by the session (portal.submissions() decides whose)."""
    cursor = conn.cursor(row_factory=dict_row)
    return cursor.execute("select * from portal.submissions(%s)", [submission_id]).fetchall()


def _rejections(conn: psycopg.Connection, submission_id: int | None) -> list:
    """Why a submission the session may see was refused (portal.rejections(): nothing for any other)."""
    if submission_id is None:
        return []
    return conn.execute("select * from portal.rejections(%s)", [submission_id]).fetchall()


def _due(conn: psycopg.Connection, settings: Settings):
    from warehouse.reminders import due_submissions

    return due_submissions(conn, date.today(), settings)


def _periods(chosen: str | None = None) -> list[str]:
    """Periods an officer may send for, newest first: every month, quarter, half and year since two years ago,
    and the chosen one if it is older (a period still owed)."""
    from warehouse.reminders import periods_between

    today, year = date.today(), date.today().year - 2
    firsts = (f"{year}-01", f"{year}-Q1", f"{year}-H1", f"{year}")
    found = [period for first in firsts for period in periods_between(parse_period(first), today)]
    codes = [period.code for period in sorted(found, key=lambda p: (p.start, p.code), reverse=True)]
    return codes if chosen is None or chosen in codes else [*codes, chosen]


def _completeness(
    conn: psycopg.Connection, due: list, today: date
) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """The last six periods anything was sent for × every province: the furthest each has come, else where it
    stands against the period's deadline (`due`, the reminders due today: "due" or "late"; else _owed)."""
    from warehouse.reminders import DEADLINES_FILE

    periods = [
        row[0]
        for row in conn.execute(
            """select period_code from ingest.submission where period_code is not null and period_start is not null
               group by period_code order by max(period_start) desc, period_code limit 6"""
        )
    ]
    rows = conn.cursor(row_factory=dict_row).execute(
        """select province_code, period_code, state from ingest.submission_state
           where period_code = any(%s) and status <> 'superseded'""",
        [periods],
    )
    reached: dict[tuple[str, str], str] = {}
    for row in rows:
        key, status = (row["province_code"], row["period_code"]), row["state"]
        if status in STATUS_ORDER and (
            key not in reached or STATUS_ORDER.index(status) < STATUS_ORDER.index(reached[key])
        ):
            reached[key] = status
    owed = {(d.province_code, d.period.code): "late" if d.overdue(today) else "due" for d in due}
    with DEADLINES_FILE.open(encoding="utf-8", newline="") as handle:
        rules = {row["period_type"]: row for row in csv.DictReader(handle)}
    provinces = conn.execute(
        "select unit_code, name from ref.unit where map = 'current' and unit_level = 'province' order by 1"
    ).fetchall()
    return periods, [
        (code, name, [reached.get((code, p)) or owed.get((code, p)) or _owed(p, today, rules) for p in periods])
        for code, name in provinces
    ]


def _owed(period_code: str, today: date, rules: dict[str, dict]) -> str:
    """Where a report nothing was accepted for and no reminder is due stands, by the calendar's rules (the rows
    of warehouse/reminders.py DEADLINES_FILE by period type): "not_due" before its deadline, "missing" after it
    (a period before the first the warehouse expects, never reminded), "" for a period no report is expected
    for (a month)."""
    period = parse_period(period_code)
    rule = rules.get(period.period_type)
    if rule is None or period.start < parse_period(rule["since_period"]).start:
        return ""
    return "not_due" if today <= period.end + timedelta(days=int(rule["due_days"])) else "missing"


CHART_PERIODS = 6  # the held period and the five published before it


def _chart(conn: psycopg.Connection, hold) -> list[dict]:
    """The bars of a hold's chart: the province's published figure of the indicator for the periods of the
    same kind before the held one (marts.mart_province_indicator; a ratio as its percentage), then the held
    figure, marked. Each bar with its height and place in an inline SVG of CHART_PERIODS × 40 by 80 pixels.
    Empty for a finding of no single figure (a version that drops most of its predecessor)."""
    detail = hold.detail
    if hold.indicator_code is None or hold.figure_period is None:
        return []
    if detail.get("value") is not None:
        held = float(detail["value"])
    elif detail.get("denominator"):
        held = round(100 * float(detail["numerator"]) / float(detail["denominator"]), 2)
    else:
        return []
    period = parse_period(hold.figure_period)
    before = conn.execute(
        """select period_code, coalesce(value, ratio_pct) from marts.mart_province_indicator
           where province_code = %s and indicator_code = %s and period_type = %s and period_start < %s
           order by period_start desc limit %s""",
        [hold.province_code, hold.indicator_code, period.period_type, period.start, CHART_PERIODS - 1],
    ).fetchall()
    figures = [(code, float(value), False) for code, value in reversed(before) if value is not None]
    figures.append((period.code, held, True))
    top = max(value for _, value, _ in figures) or 1
    return [
        {
            "period": code,
            "value": int(value) if value.is_integer() else value,
            "held": is_held,
            "x": 40 * i + 4,
            "height": round(60 * value / top),
        }
        for i, (code, value, is_held) in enumerate(figures)
    ]


def _gate_reports(gx: Path, kept: int = 10) -> list[str]:
    """The gate reports the desk links: the last run of each schema (report-<schema>.html), then the `kept`
    newest of every run's reports (gx/reports/<schema>-<time>.html), newest first."""
    latest = sorted(p.name for p in gx.glob("report-*.html"))
    runs = sorted((gx / "reports").glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
    return latest + [p.name for p in runs[:kept]]


def _earliest_due(due: list) -> str:
    """The period the lists open on (upload, template, form): the earliest of the province's reminders (`_due`),
    else the latest quarter."""
    if due:
        return min((d.period for d in due), key=lambda p: (p.end, p.start)).code
    return next(code for code in _periods() if "-Q" in code)


def _indicator_name(language: str, code: str) -> str:
    """An indicator's name in the catalogue, in the page's language; its code if the catalogue has none."""
    indicator = load_catalogue().get(code)
    if indicator is None:
        return code
    return indicator.name_vi if language == "vi" else indicator.name_en
