"""Commands for the data engineer: `python -m warehouse <command>` (the Makefile wraps the common ones)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from core.db import connect, warehouse_url
from core.settings import Settings, keep_files_private


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="create or upgrade the warehouse schema; load reference units if empty")
    commands.add_parser("refresh-reference", help="reload administrative units from the pinned packages")
    change = commands.add_parser(
        "reference-change",
        help="what a newer pinned list of today's map changes (units added, renamed, retired); --apply records"
        " it and applies it",
    )
    change.add_argument("version", help="a version pinned in ingestion/unit_history.py CURRENT_SNAPSHOTS")
    change.add_argument("--apply", action="store_true", help="record the change and reload the units with it")
    commands.add_parser("rollback", help="put the previously published marts back")
    commands.add_parser("url", help="print the warehouse URL (starting the embedded Postgres if needed)")
    status = commands.add_parser(
        "status",
        help="what happened to a file: versions, status and every reason (no file: the desk, what needs action"
        " first: holds waiting, files refused today, provinces late, then the publish log and the alerts not"
        " delivered by kind)",
    )
    status.add_argument("file", nargs="?", default="", help="a file name (or part of one), or a submission id")
    status.add_argument("--all", action="store_true", help="list every alert not delivered, not only their count")
    explain = commands.add_parser("explain", help="every file, sheet and row a published figure is made of")
    explain.add_argument("province", help="current province code, e.g. 38")
    explain.add_argument("period", help="e.g. 2024, 2026-Q3, 2026-09")
    explain.add_argument("indicator", help="indicator code, e.g. security_teams")
    explain.add_argument("category", nargs="?", default=None, help="only the rows of this category")
    commands.add_parser("review", help="list the holds: submissions a check held back, and their reviews")
    decisions = {"confirm": "the figure is real: publish it next run", "reject": "keep it out, tell the province"}
    for decision, meaning in decisions.items():
        review = commands.add_parser(decision, help=f"review a hold: {meaning}")
        review.add_argument("hold_id", type=int)
        review.add_argument("--reason", required=True, help="why (kept with the review)")
        review.add_argument("--by", default=getpass.getuser(), help="who reviews (default: this user)")
    close = commands.add_parser(
        "close", help="close a period for a province that will not report it (its national figures can be final)"
    )
    close.add_argument("period", help="e.g. 2026-Q2")
    close.add_argument("province", help="current province code, e.g. 01")
    close.add_argument("--reason", required=True, help="why (kept with the closing)")
    close.add_argument("--by", default=getpass.getuser(), help="who closes it (default: this user)")
    commands.add_parser("deliver-alerts", help="send the alerts of the outbox that are due (what antq_alerts runs)")
    for name, meaning in (
        ("backup", "write a backup (database dump, received files, manifest) into FOLDER, a new folder"),
        ("restore", "restore the backup in FOLDER into an empty warehouse database and check its marts"),
    ):
        command = commands.add_parser(name, help=meaning)
        command.add_argument("folder", type=Path)
    commands.add_parser(
        "publish", help="publish now what waits: the submission checks, the build, the gate and the swap (antq_publish)"
    )
    commands.add_parser("docs", help="generate the dbt documentation site (models, columns, grain, lineage)")
    commands.add_parser("check-history", help="run the dbt tests that read the whole fact store")
    commands.add_parser("ingest", help="ingest every file waiting in landing, by two worker processes (for backfills)")
    check = commands.add_parser(
        "check", help="a dry run: every reason the pipeline would give for a file, with nothing stored"
    )
    check.add_argument("file", help="an XLSX, CSV or JSON file")
    check.add_argument("--province", help="province code (default: from the folders or the name, 38_2026-Q3.xlsx)")
    check.add_argument("--period", help="period, e.g. 2026-Q3 (default: as for --province)")
    psql = commands.add_parser("psql", help="open psql on the warehouse")
    psql.add_argument("args", nargs=argparse.REMAINDER)
    dbt = commands.add_parser(
        "dbt",
        help="run dbt on the warehouse with its settings; after a change to the SQL the stored province figures"
        " are made from: dbt build --full-refresh --select int_province_figures+",
    )
    dbt.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)

    from warehouse import pipeline

    settings = Settings.from_env()
    keep_files_private(settings)
    if options.command == "prepare":
        print(json.dumps(pipeline.prepare_warehouse(settings)))
    elif options.command == "refresh-reference":
        print(json.dumps(pipeline.refresh_reference(settings)))
    elif options.command == "reference-change":
        print(pipeline.reference_change(options.version, apply=options.apply, settings=settings))
    elif options.command == "rollback":
        from publishing.publish import rollback

        with connect(warehouse_url(settings), autocommit=True) as conn:
            print(f"rolled back (publish log #{rollback(conn, settings.small_cell_provinces)})")
    elif options.command == "status":
        with connect(warehouse_url(settings)) as conn:
            if options.file:
                print(file_status(conn, options.file))
            else:
                print(desk(conn, settings, every_alert=options.all))
    elif options.command in ("backup", "restore"):
        from warehouse import backup

        try:
            manifest = getattr(backup, options.command)(settings, options.folder)
        except backup.RestoreError as error:
            print(error, file=sys.stderr)
            return 1
        print(
            f"{options.command} of {options.folder}: {manifest['submissions']} submissions, last publish"
            f" #{manifest['last_publish_id']}, {len(manifest['marts'])} marts"
            + (" with the checksums of the backup" if options.command == "restore" else "")
        )
    elif options.command == "deliver-alerts":
        print(json.dumps(pipeline.deliver_alerts(settings)))
    elif options.command == "explain":
        from publishing.lineage import explain

        with connect(warehouse_url(settings)) as conn:
            print(explain(conn, options.province, options.period, options.indicator, options.category))
    elif options.command == "review":
        with connect(warehouse_url(settings)) as conn:
            print(hold_list(conn, pending_only=False))
    elif options.command in ("confirm", "reject"):
        from review.holds import CONFIRMED, REJECTED, ReviewError

        decision = CONFIRMED if options.command == "confirm" else REJECTED
        try:
            hold = pipeline.review_hold(options.hold_id, decision, options.reason, options.by, settings)
        except ReviewError as error:
            print(error, file=sys.stderr)
            return 1
        print(hold.describe())
        print(
            "published by the next run of antq_publish, asked for now (without Airflow running: make publish)"
            if decision == CONFIRMED
            else "kept out of the marts; the province was told"
        )
    elif options.command == "close":
        from review.closures import CloseError, close

        try:
            with connect(warehouse_url(settings)) as conn:
                closed = close(conn, options.period, options.province, options.reason, options.by)
        except CloseError as error:
            print(error, file=sys.stderr)
            return 1
        print(closed.describe())
        pipeline.request_publish(
            f"{closed.period_code} closed for {closed.province_code} by {closed.closed_by}", settings
        )
        print("final once published, if nothing else is missing or held (asked for now; without Airflow running:")
        print(f"make publish, or {this_command()} publish)")
    elif options.command == "docs":
        from publishing.transform import run_dbt

        run_dbt("docs", "generate", settings=settings)
        print(f"open {settings.data_dir / 'dbt' / 'target' / 'index.html'} in a browser")
    elif options.command == "ingest":
        print(json.dumps(pipeline.ingest_waiting(settings)))
        print(f"then publish: make publish ({this_command()} publish), or let the antq_publish DAG run")
    elif options.command == "publish":
        try:
            done = pipeline.publish_new_figures(settings)
        except pipeline.GateFailed as failed:
            print(f"not published: the gate failed (marts unchanged)\n{failed}", file=sys.stderr)
            return 1
        print(f"publish #{done['publish_id']}; held for review: {', '.join(done['held']) or 'none'}")
    elif options.command == "check":
        return check_file(Path(options.file), options.province, options.period, settings)
    elif options.command == "check-history":
        pipeline.check_fact_history(settings)
        print("the fact store passed every history test")
    elif options.command == "url":
        print(warehouse_url(settings))
    elif options.command == "dbt":
        from publishing.transform import DbtFailed, run_dbt

        try:
            pipeline.set_horizon(settings)  # every submission the registry holds now
            run_dbt(*options.args, settings=settings)
        except DbtFailed as error:
            print(error, file=sys.stderr)
            return 1
    elif options.command == "psql":
        return subprocess.call(["psql", warehouse_url(settings), *options.args], env=os.environ)
    return 0


def check_file(path: Path, province: str | None, period: str | None, settings: Settings) -> int:
    """Print what the pipeline would say of the file (0: it would be accepted, 1: refused)."""
    from ingestion.loader import dry_run, target_of
    from warehouse.pipeline import prepare_warehouse

    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    named = target_of(path) or (None, None)
    province, period = province or named[0], period or named[1]
    if not (province and period):
        print(f"{path.name}: say which province and period it is for: --province 38 --period 2026-Q3", file=sys.stderr)
        return 2
    prepare_warehouse(settings)
    from ingestion.figures import compare_with_published

    with connect(warehouse_url(settings)) as conn:
        result = dry_run(conn, path, province, period, settings)
        compare_with_published(conn, province, result.period_code or period, result.figures)
    print(check_report(result))
    return 0 if result.status in ("accepted", "duplicate") else 1


def figure_line(figure) -> str:
    """`security_teams: 24037 (published 2026-Q2: 24000, change +37)`; a ratio as its share, in points."""
    if figure.measure == "ratio":
        pct, before = figure.ratio_pct, figure.published_ratio_pct
        now = f"{figure.numerator}/{figure.denominator}" + ("" if pct is None else f" = {pct:.1f}%")
        was = "" if before is None else f"{before:.1f}%"
    else:
        now, was = f"{figure.value}", f"{figure.published_value}"
    if figure.published_period is None:
        return f"{figure.indicator_code}: {now}"
    change = "" if figure.change is None else f", change {figure.change:+g}"
    return f"{figure.indicator_code}: {now} (published {figure.published_period}: {was}{change})"


def check_report(result) -> str:
    """A dry run's outcome as the province would read it: the verdict, then every reason."""
    if result.status == "duplicate":
        return f"{result.file_name}: the same file was already received (submission #{result.submission_id})"
    if result.status == "accepted":
        lines = [
            f"{result.file_name}: would be accepted for province {result.province_code}, period"
            f" {result.period_code}, as version {result.version} ({result.row_count} rows); nothing was stored"
        ]
        for drop in result.warnings:  # the file keeps the contract, but would delete most of the period's figures
            lines += [f"  warning: {drop.warning('en')}", f"    {drop.warning('vi')}", f"    ({drop.describe()})"]
        lines += [f"  note: {en} / {vi}" for vi, en in result.notes]  # how it was read: a title, formulas
        if result.figures:
            lines.append("  the province's figures it would publish (against the last published period of its kind):")
        lines += [f"    {figure_line(figure)}" for figure in result.figures]
        return "\n".join(lines)
    lines = [f"{result.file_name}: would be refused, {len(result.problems)} reason(s); nothing was stored"]
    lines += [f"  {problem.describe()}" for problem in result.problems]
    return "\n".join(lines)


def hold_list(conn, pending_only: bool) -> str:
    """The holds (pending_only: those still waiting for review), newest last, with how to review them."""
    from review.holds import holds

    found = holds(conn, pending_only=pending_only)
    if not found:
        return "no submission is held for review" if pending_only else "no submission was ever held"
    lines = [hold.describe() for hold in found]
    waiting = sum(h.status == "open" and not h.is_replaced for h in found)
    lines.append(
        f"{waiting} waiting for review: {this_command()} confirm ID --reason '...' (publish it on the next run)"
        " or reject ID --reason '...' (keep it out, tell the province)"
    )
    return "\n".join(lines)


def this_command() -> str:
    """This command as it can be typed again from here: `.venv/bin/python -m warehouse` in the checkout (a
    bare `python` there is not the one with the warehouse's packages)."""
    return f"{shlex.quote(os.path.relpath(sys.executable))} -m warehouse"


def desk(conn, settings: Settings, every_alert: bool = False) -> str:
    """The data team's desk in text, in the portal's order (/team): holds waiting, files refused today,
    provinces late or due, then the last publishes and the alerts not delivered (by kind; each with
    every_alert)."""
    return "\n\n".join(
        [hold_list(conn, pending_only=True), refused_today(conn), late_list(conn, settings), publish_list(conn)]
        + [alert_list(conn, every_alert)]
    )


def refused_today(conn) -> str:
    """The files refused today: province, period, file, submission."""
    from warehouse.desk import refused_today as refused_rows

    rows = refused_rows(conn)
    if not rows:
        return "no file was refused today"
    lines = [f"{len(rows)} file(s) refused today:"]
    for sid, name, code, province, period, received in rows:
        lines.append(
            f"- {code or '?'} {province or ''} · {period or '?'} · {name} (submission #{sid}, {received:%H:%M})"
        )
    lines.append(f"why: {this_command()} status FILE")
    return "\n".join(lines)


def late_list(conn, settings: Settings) -> str:
    """Provinces whose report is late or due (notify/reminders.py), late ones first, one line a period; then
    the provinces with no contact for alerts (notify/alerts.py province_contacts)."""
    from datetime import date

    from notify.alerts import province_contacts
    from warehouse.desk import due_by_urgency

    today = date.today()
    due = due_by_urgency(conn, today, settings)
    provinces = conn.execute(
        "select unit_code, name from ref.unit where map = 'current' and unit_level = 'province' order by 1"
    ).fetchall()
    by_period: dict[tuple, list[str]] = {}
    for d in due:
        state = "late" if d.overdue(today) else "due"
        by_period.setdefault((d.period.code, d.deadline, state), []).append(f"{d.province_code} {d.province_name}")
    lines = [f"{len(due)} report(s) late or due:" if due else "no province is late or due for a report"]
    for (period, deadline, state), names in by_period.items():
        lines.append(f"- {period} {state} (deadline {deadline:%Y-%m-%d}), {len(names)}: {', '.join(names)}")
    no_contact = [f"{code} {name}" for code, name in provinces if not province_contacts(conn, code)]
    if no_contact:
        lines.append(
            f"no contact for alerts (the data team forwards theirs), {len(no_contact)}: {', '.join(no_contact)}"
        )
    return "\n".join(lines)


def publish_list(conn, last: int = 5) -> str:
    """The last publishes: when, action, submissions counted, checks passed, the run's gate report."""
    rows = conn.execute(
        """select publish_id, published_at, action, cardinality(submission_ids), checks_passed, gate_report
           from meta.publish_log order by publish_id desc limit %s""",
        [last],
    ).fetchall()
    if not rows:
        return "nothing was published yet"
    lines = ["last publishes (#, when, action, submissions counted, checks passed, gate report):"]
    for pid, at, action, count, checks, report in rows:
        lines.append(
            f"- #{pid} {at:%Y-%m-%d %H:%M} {action}, {count} submissions, {checks} checks passed, {report or '-'}"
        )
    return "\n".join(lines)


def alert_list(conn, every_alert: bool = True) -> str:
    """The alerts not delivered, counted by kind; with every_alert, each: waiting for the mail server (with the
    last error), or given up."""
    from collections import Counter

    from notify.alerts import undelivered

    found = undelivered(conn)
    if not found:
        return "every alert was delivered"
    kinds = Counter(kind for _key, kind, *_rest in found)
    lines = [f"{len(found)} alert(s) not delivered: " + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))]
    if not every_alert:
        lines.append(f"each of them: {this_command()} status --all")
    for _key, kind, recipients, subject, status, attempts, queued, next_at, error in found if every_alert else []:
        when = "given up" if status == "given_up" else f"next try {next_at:%Y-%m-%d %H:%M:%S}"
        lines.append(
            f"- {kind} to {recipients}, queued {queued:%Y-%m-%d %H:%M}, {attempts} attempt(s), {when}: {subject}"
            + (f"\n    last error: {error}" if error else "")
        )
    lines.append(f"they are retried by the antq_alerts DAG every 5 minutes, or now: {this_command()} deliver-alerts")
    return "\n".join(lines)


def file_status(conn, wanted: str) -> str:
    """Every submission whose file name contains `wanted` (or whose id it is), with its rejection reasons."""
    rows = conn.execute(
        """select submission_id, file_name, province_code, period_code, status, version, row_count,
                  rejected_row_count, received_at, stored_path
           from ingest.submission
           where file_name ilike '%%' || %s || '%%' or submission_id::text = %s
           order by submission_id""",
        [wanted, wanted],
    ).fetchall()
    if not rows:
        return f"no file matching {wanted!r} was received"
    lines = []
    for sid, name, province, period, status, version, count, bad, received, stored in rows:
        version_text = f" v{version}" if version else ""
        lines.append(
            f"#{sid} {name}  province {province} period {period}: {status}{version_text}, "
            f"{count} rows stored, {bad} bad rows, received {received:%Y-%m-%d %H:%M}, kept at {stored}"
        )
        for sheet, row, column, value, reason_en, reason_vi in conn.execute(
            """select sheet, row_number, column_name, value, reason_en, reason_vi from ingest.rejection
               where submission_id = %s order by row_number nulls first, rejection_id""",
            [sid],
        ):
            where = ", ".join(x for x in (sheet, f"row {row}" if row else None, column) if x)
            shown = "" if value is None else f" {value!r}"
            lines.append(f"    {where}:{shown} {reason_en} / {reason_vi}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
