"""The submission portal: provincial officers check and send their files (or type their figures into a form that
becomes one); the data team watches and reviews.

Server-rendered pages (FastAPI, Jinja2), one stylesheet served from here, no script: complete on a network
cut off from the internet, and light on a slow one. Every form carries a CSRF token; a session cookie is
HttpOnly and SameSite=Strict, and Secure when the portal is served over TLS (ANTQ_PORTAL_SECURE_COOKIES).
Every response forbids scripts, framing and type sniffing (SECURITY_HEADERS). What an officer sees is
limited twice: by the page code, and by the database role an officer's pages read with, which reaches only
functions that return the request's session's rows (core/security.py, antq_portal). The data team's
pages, which show every province, read as the pipeline does. A request body is read only once the request may
be answered: an upload or the entry form only with a session and within its size limit, any other form only
when small.

The pages, one router per area: signin.py (signing in and out, the language), officer.py (the province's
page, the template, checking and sending a file, a submission), entry_form.py (typing the figures in),
team.py (the data team's desk), reports.py (the ministry's reports). What they share is in web.py, every
query they run in queries.py.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from core.db import warehouse_url
from core.settings import Settings
from portal import entry_form, officer, reports, signin, team
from portal.web import HERE, LoginNeeded, Portal, Refused
from warehouse import pipeline

logger = logging.getLogger(__name__)
MAX_FORM_BYTES = 64 * 1024  # every form but an upload and the entry form is a few fields
# The portal has no script, no frame and no resource from elsewhere; a page that says otherwise was injected.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    pipeline.prepare_warehouse(settings)
    web = Portal(settings, warehouse_url(settings))
    if removed := officer.clear_leftovers(web.uploads, settings.landing_dir):  # of portals killed mid-send
        logger.warning("removed %d leftovers of sends cut short: %s", len(removed), ", ".join(map(str, removed)))
    app = FastAPI(title="ANTQ portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = web
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for area in (signin, officer, entry_form, team, reports):
        app.include_router(area.router)

    @app.exception_handler(LoginNeeded)
    def to_login(request: Request, error: LoginNeeded):
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Refused)
    def refused(request: Request, error: Refused):
        return web.message(request, error.session, error.key, error.status_code, **error.values)

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
            session = await run_in_threadpool(web.current, request) if needs_session else None
            if needs_session and session is None:
                return RedirectResponse("/login", status_code=303)
            length = request.headers.get("content-length")
            if length is None:
                return Response("Content-Length required", status_code=411)
            if not length.isdigit():
                return Response("Content-Length is not a number", status_code=400)
            if is_upload and int(length) > settings.max_file_bytes + 64 * 1024:
                return web.message(request, session, "too_large", 413, mb=settings.max_file_bytes // (1024 * 1024))
            limit = entry_form.MAX_BYTES if is_entry_form else MAX_FORM_BYTES
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

    return app
