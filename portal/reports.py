"""The ministry's reports from the portal (reports/): the data team writes the national report of a period or
any province's, an officer their own province's, from the published figures as BI and the province's analysts
read them. Each scope's reports are kept in a folder of its own (<data dir>/reports/national/, .../38/), and a
session downloads only its own scope's."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from ingestion.periods import parse_period
from portal import queries
from portal.officer import periods
from portal.web import Refused, SignedIn, Web, form_is_genuine
from reports import NATIONAL

router = APIRouter()
KINDS = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"} | {
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _scopes(session) -> list[str]:
    """The folders a session may read: an officer's province; the data team's every folder there is."""
    return [session.province_code] if session.province_code else []


def _folder(web, scope: str) -> Path:
    return web.settings.reports_dir / scope


def _written(web, session) -> list[tuple[str, str]]:
    """The reports the session may download, newest first: (scope, file name)."""
    root = web.settings.reports_dir
    scopes = _scopes(session) or ([p.name for p in root.iterdir() if p.is_dir()] if root.exists() else [])
    found = [path for scope in scopes if (root / scope).is_dir() for path in (root / scope).iterdir() if path.is_file()]
    found = [p for p in found if p.suffix in KINDS]
    return [(p.parent.name, p.name) for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, web: Web, session: SignedIn):
    with web.admin() as conn:
        provinces = queries.provinces(conn) if session.is_data_team else []
    quarters = [code for code in periods() if "-Q" in code or "-" not in code or "-H" in code]
    return web.page(
        request, "reports.html", session, periods=quarters, provinces=provinces, written=_written(web, session)
    )


@router.post("/reports", response_class=HTMLResponse)
def write(
    request: Request,
    web: Web,
    session: SignedIn,
    period: str = Form(""),
    province: str = Form(""),
    csrf: str = Form(""),
):
    """Write the report (DOCX, annex, PDF where LibreOffice is): an officer's is always their own province's."""
    from reports.figures import NotPublished
    from reports.report import write_report

    if not form_is_genuine(request, session, csrf):
        raise Refused(session, "bad_form", 403)
    province = session.province_code or province or None
    try:
        period = parse_period(period).code
    except ValueError:
        raise Refused(session, "not_found", 400) from None
    if province is not None:
        with web.admin() as conn:
            if not queries.is_province(conn, province):
                raise Refused(session, "not_found", 400)
    try:
        write_report(web.settings, period, province, _folder(web, province or NATIONAL))
    except (NotPublished, ValueError) as error:
        return web.page(request, "message.html", session, 400, key="report_none", values={}, detail=str(error))
    return RedirectResponse("/reports", status_code=303)


@router.get("/reports/{scope}/{name}")
def download(request: Request, web: Web, session: SignedIn, scope: str, name: str):
    """A written report's file, of the session's own scope only; any other name is as absent as a missing one."""
    allowed = _scopes(session)
    if (allowed and scope not in allowed) or (scope, name) not in _written(web, session):
        raise Refused(session, "not_found", 404)
    path = _folder(web, scope) / name
    return FileResponse(path, media_type=KINDS[path.suffix], filename=name)
