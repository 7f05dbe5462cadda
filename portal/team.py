"""The data team's desk: holds to review, files refused today, provinces late, completeness, what was decided
and published, the gate reports and the alerts not delivered. Its pages read as the pipeline does (every
province)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from ingestion.periods import parse_period
from notify import alerts
from portal import queries
from portal.web import BIGINT_MAX, DataTeam, Web, form_is_genuine
from review import closures
from warehouse import desk, pipeline

router = APIRouter()
STATUS_ORDER = (
    "published",
    "held",
    "refused_on_review",
    "accepted",
    "rejected",
)  # the best a province × period has reached
# The quality gate's report is one self-contained file with its style inline (expectations/report.py).
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"
CHART_PERIODS = 6  # the held period and the five published before it


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, web: Web, session: DataTeam):
    """The desk, in the order things need action: holds waiting (each with its finding, the gate report of the
    run that made it and the province's last periods), files refused today, provinces late, then what was done
    (recent decisions, the publish log, the gate reports) and the alerts not delivered."""
    from review.holds import holds

    today = date.today()
    with web.admin() as conn:
        pending = holds(conn, pending_only=True)
        charts = {h.hold_id: _chart(conn, h) for h in pending}
        refused = desk.refused_today(conn)
        due = desk.due_by_urgency(conn, today, web.settings)
        periods, grid = _completeness(conn, due, today)
        owed: dict[tuple[str, date, bool], list[str]] = {}  # one line a period, late ones first
        for d in due:
            owed.setdefault((d.period.code, d.deadline, d.overdue(today)), []).append(
                f"{d.province_code} {d.province_name}"
            )
        decided = holds(conn, decided=10)
        log = queries.publish_log(conn)
        undelivered = Counter(kind for _key, kind, *_rest in alerts.undelivered(conn))
        no_contact = [(code, name) for code, name, _ in grid if not alerts.province_contacts(conn, code)]
        closed = closures.closures(conn)[:20]
    return web.page(
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
        reports=_gate_reports(web.settings.data_dir / "gx"),
        undelivered=sorted(undelivered.items()),
        no_contact=no_contact,
        closed=closed,
    )


@router.get("/team/alerts", response_class=HTMLResponse)
def team_alerts(request: Request, web: Web, session: DataTeam):
    """Every alert not delivered, oldest first: the details behind the desk's count per kind."""
    with web.admin() as conn:
        undelivered = alerts.undelivered(conn)
    return web.page(request, "team_alerts.html", session, undelivered=undelivered)


@router.post("/team/hold/{hold_id}", response_class=HTMLResponse)
def review(
    request: Request,
    web: Web,
    session: DataTeam,
    hold_id: int,
    decision: str = Form(""),
    reason: str = Form(""),
    csrf: str = Form(""),
):
    from review.holds import CONFIRMED, REJECTED, ReviewError

    if not form_is_genuine(request, session, csrf):
        return web.message(request, session, "forbidden", 403)
    if not 0 < hold_id <= BIGINT_MAX:
        return web.message(request, session, "not_found", 404)
    decision = CONFIRMED if decision == "confirm" else REJECTED
    try:
        pipeline.review_hold(hold_id, decision, reason, session.login, web.settings)
    except ReviewError as error:
        return web.page(request, "message.html", session, 400, key="not_found", values={}, detail=str(error))
    return RedirectResponse("/team", status_code=303)


@router.post("/team/close", response_class=HTMLResponse)
def close_period(
    request: Request,
    web: Web,
    session: DataTeam,
    period: str = Form(""),
    province: str = Form(""),
    reason: str = Form(""),
    csrf: str = Form(""),
):
    """Close a period for a province that will not report it (review/closures.py), under the portal login."""
    if not form_is_genuine(request, session, csrf):
        return web.message(request, session, "forbidden", 403)
    try:
        with web.admin() as conn:
            closures.close(conn, period.strip(), province, reason, session.login)
    except closures.CloseError as error:
        return web.page(request, "message.html", session, 400, key="not_found", values={}, detail=str(error))
    pipeline.request_publish(f"{period.strip()} closed for {province} by {session.login}", web.settings)
    return RedirectResponse("/team#close", status_code=303)


@router.get("/team/report/{name}")
def gate_report(request: Request, web: Web, name: str):
    session = web.current(request)  # not signed in: refused as anyone not of the data team, not sent to log in
    if session is None or not session.is_data_team:
        return web.message(request, session, "forbidden", 403)
    gx = web.settings.data_dir / "gx"
    # the last run of each schema, and every run's report kept (linked from its holds and the publish log)
    reports = {p.name: p for p in [*gx.glob("report-*.html"), *(gx / "reports").glob("*.html")]}
    if name not in reports:
        return web.message(request, session, "not_found", 404)
    return FileResponse(reports[name], media_type="text/html", headers={"Content-Security-Policy": REPORT_POLICY})


def _completeness(conn, due: list, today: date) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """The last six periods anything was sent for × every province: the furthest each has come, else where it
    stands against the period's deadline (`due`, the reminders due today: "due" or "late"; else _owed)."""
    from notify.reminders import DEADLINES_FILE

    periods = queries.periods_sent(conn)
    reached: dict[tuple[str, str], str] = {}
    for row in queries.states(conn, periods):
        key, status = (row["province_code"], row["period_code"]), row["state"]
        if status in STATUS_ORDER and (
            key not in reached or STATUS_ORDER.index(status) < STATUS_ORDER.index(reached[key])
        ):
            reached[key] = status
    owed = {(d.province_code, d.period.code): "late" if d.overdue(today) else "due" for d in due}
    with DEADLINES_FILE.open(encoding="utf-8", newline="") as handle:
        rules = {row["period_type"]: row for row in csv.DictReader(handle)}
    return periods, [
        (code, name, [reached.get((code, p)) or owed.get((code, p)) or _owed(p, today, rules) for p in periods])
        for code, name in queries.provinces(conn)
    ]


def _owed(period_code: str, today: date, rules: dict[str, dict]) -> str:
    """Where a report nothing was accepted for and no reminder is due stands, by the calendar's rules (the rows
    of notify/reminders.py DEADLINES_FILE by period type): "not_due" before its deadline, "missing" after it
    (a period before the first the warehouse expects, never reminded), "" for a period no report is expected
    for (a month)."""
    period = parse_period(period_code)
    rule = rules.get(period.period_type)
    if rule is None or period.start < parse_period(rule["since_period"]).start:
        return ""
    return "not_due" if today <= period.end + timedelta(days=int(rule["due_days"])) else "missing"


def _chart(conn, hold) -> list[dict]:
    """The bars of a hold's chart: the province's published figure of the indicator for the periods of the
    same kind before the held one (a ratio as its percentage), then the held figure, marked. Each bar with its
    height and place in an inline SVG of CHART_PERIODS × 40 by 80 pixels. Empty for a finding of no single
    figure (a version that drops most of its predecessor)."""
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
    before = queries.published_before(
        conn, hold.province_code, hold.indicator_code, period.period_type, period.start, CHART_PERIODS - 1
    )
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
