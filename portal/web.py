"""What every page of the portal shares: the Portal (settings, the two kinds of connection, templates), the
page and message renderers, and the sign-in checks as FastAPI dependencies.

Two connections: `admin()` reads as the pipeline does (the data team's pages, and what every province is asked
for); `as_session(session)` reads as role antq_portal keyed by the session's token, which reaches only the
functions that return that session's rows (core/security.py). The dependencies: `SignedIn` (any session,
else the login page), `Officer` (a province's officer, else 403), `DataTeam` (the data team, else 403).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import psycopg
from fastapi import Depends, Request, Response
from fastapi.templating import Jinja2Templates

from core import security
from core.notation import number, percent
from core.settings import Settings
from ingestion.catalogue import load_catalogue
from ingestion.contract import column_label
from portal import auth, queries
from portal.text import LANGUAGES, translate

HERE = Path(__file__).parent
SESSION_COOKIE = "antq_session"
CSRF_COOKIE = "antq_csrf"
LANGUAGE_COOKIE = "antq_lang"
BIGINT_MAX = 2**63 - 1  # an id beyond it is no row's: answered as not found, never sent to the database


class LoginNeeded(Exception):
    """A page that needs a session was asked for without one: answered with the login page."""


class Refused(Exception):
    """A page the session may not have, or a form that is not genuine: answered with a message page."""

    def __init__(self, session: auth.Session | None, key: str, status_code: int, **values):
        super().__init__(key)
        self.session, self.key, self.status_code, self.values = session, key, status_code, values


@dataclass
class Portal:
    settings: Settings
    url: str
    templates: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(directory=HERE / "templates"))
    province_names: dict[str, str] = field(default_factory=dict)

    @property
    def uploads(self) -> Path:
        return self.settings.data_dir / "portal" / "uploads"

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            yield conn

    @contextmanager
    def as_session(self, session: auth.Session) -> Iterator[psycopg.Connection]:
        """A connection that sees only what the session may: role antq_portal, keyed by the session's token."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"set role {security.PORTAL}")
            conn.execute("select set_config('antq.session', %s, false)", [session.token])
            yield conn

    def set_cookie(self, response: Response, name: str, value: str, **options) -> None:
        """Every cookie of the portal: Secure as well when the portal is served over TLS."""
        response.set_cookie(name, value, secure=self.settings.portal_secure_cookies, **options)

    def current(self, request: Request) -> auth.Session | None:
        with self.admin() as conn:
            return auth.session_of(conn, request.cookies.get(SESSION_COOKIE))

    def province_name(self, code: str) -> str:
        """The province's name on today's map, for the header (read once: today's provinces keep theirs)."""
        if code not in self.province_names:
            with self.admin() as conn:
                self.province_names[code] = queries.province_name(conn, code) or code
        return self.province_names[code]

    def page(self, request: Request, name: str, session: auth.Session | None, status_code: int = 200, **context):
        lang = language(request)
        csrf = session.csrf_token if session else request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        province = self.province_name(session.province_code) if session and session.province_code else None
        response = self.templates.TemplateResponse(
            request,
            name,
            {"t": lambda key, **values: translate(lang, key, **values), "lang": lang, "session": session}
            | {"label": column_label, "province_name": province}
            | {"number": lambda value: number(lang, value), "percent": lambda value: percent(lang, value)}
            | {"indicator_name": lambda code: indicator_name(lang, code)}
            | {"csrf": csrf, **context},
            status_code=status_code,
        )
        if not session and request.cookies.get(CSRF_COOKIE) != csrf:
            self.set_cookie(response, CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return response

    def message(self, request: Request, session: auth.Session | None, key: str, status_code: int, **values):
        return self.page(request, "message.html", session, status_code, key=key, values=values)


def form_is_genuine(request: Request, session: auth.Session | None, token: str) -> bool:
    expected = session.csrf_token if session else request.cookies.get(CSRF_COOKIE)
    return bool(expected) and secrets.compare_digest(token, expected)


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "vi")
    return chosen if chosen in LANGUAGES else "vi"


def indicator_name(language: str, code: str) -> str:
    """An indicator's name in the catalogue, in the page's language; its code if the catalogue has none."""
    indicator = load_catalogue().get(code)
    if indicator is None:
        return code
    return indicator.name_vi if language == "vi" else indicator.name_en


def the_portal(request: Request) -> Portal:
    return request.app.state.portal


def signed_in(request: Request) -> auth.Session:
    """The request's session; without one, the page answers with the login page instead."""
    session = the_portal(request).current(request)
    if session is None:
        raise LoginNeeded
    return session


def officer(session: Annotated[auth.Session, Depends(signed_in)]) -> auth.Session:
    """A province's officer: the data team's sessions have no province to send for."""
    if session.is_data_team:
        raise Refused(session, "forbidden", 403)
    return session


def data_team(session: Annotated[auth.Session, Depends(signed_in)]) -> auth.Session:
    if not session.is_data_team:
        raise Refused(session, "forbidden", 403)
    return session


Web = Annotated[Portal, Depends(the_portal)]
SignedIn = Annotated[auth.Session, Depends(signed_in)]
Officer = Annotated[auth.Session, Depends(officer)]
DataTeam = Annotated[auth.Session, Depends(data_team)]
