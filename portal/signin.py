"""Signing in and out, and the language of the pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from portal import auth
from portal.text import LANGUAGES
from portal.web import LANGUAGE_COOKIE, SESSION_COOKIE, Web, form_is_genuine

router = APIRouter()


@router.get("/lang/{lang}")
def switch_language(lang: str, request: Request, web: Web):
    back = urlsplit(request.headers.get("referer") or "/").path  # a path here, never another site
    if not back.startswith("/") or back.startswith("//") or back == "/upload" or back.startswith("/team/hold"):
        back = "/"  # a page made by a form is not fetched again
    response = RedirectResponse(back, status_code=303)
    if lang in LANGUAGES:
        web.set_cookie(response, LANGUAGE_COOKIE, lang, samesite="lax")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, web: Web):
    return web.page(request, "login.html", None)


@router.post("/login")
def login(request: Request, web: Web, login: str = Form(""), password: str = Form(""), csrf: str = Form("")):
    if not form_is_genuine(request, None, csrf):
        return web.message(request, None, "bad_form", 403)
    client = request.client.host if request.client else "?"
    try:
        with web.admin() as conn:
            session = auth.log_in(conn, login, password, client)
    except (auth.TooManyAttempts, auth.Busy) as refused:
        seconds = int(refused.wait.total_seconds()) + 1
        error = "busy" if isinstance(refused, auth.Busy) else "too_many"
        response = web.page(request, "login.html", None, 429, error=error, seconds=seconds)
        response.headers["Retry-After"] = str(seconds)
        return response
    if session is None:
        return web.page(request, "login.html", None, 401, error="wrong_login")
    response = RedirectResponse("/", status_code=303)
    web.set_cookie(
        response,
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
    )
    return response


@router.post("/logout")
def logout(request: Request, web: Web, csrf: str = Form("")):
    """Log out whole or not at all. A live session's logout needs its form's token: one without is refused,
    and the session stays, in the warehouse and in the browser alike (never a browser that believes itself
    logged out of a session that still lives). A cookie of no live session has nothing to protect: it is
    cleared."""
    session = web.current(request)
    if session is not None and not form_is_genuine(request, session, csrf):
        return web.message(request, session, "bad_form", 403)
    if session is not None:
        with web.admin() as conn:
            auth.log_out(conn, session.token)
    response = RedirectResponse("/login", status_code=303)
    secure = web.settings.portal_secure_cookies
    response.delete_cookie(SESSION_COOKIE, secure=secure, httponly=True, samesite="strict")
    return response
