"""The steps the Airflow DAGs run. Each is idempotent: running it again for the same input changes nothing."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from core import schemas, security
from core.db import connect, libpq_params, warehouse_url
from core.migrate import migrate
from core.settings import Settings
from notify import alerts
from publishing import published_facts

if TYPE_CHECKING:
    from expectations.findings import GateReport

logger = logging.getLogger(__name__)


class GateFailed(RuntimeError):
    pass


def prepare_warehouse(settings: Settings | None = None) -> dict:
    """Create or upgrade the warehouse schema; load reference units on first use."""
    from ingestion.reference import load_reference

    settings = settings or Settings.from_env()
    url = warehouse_url(settings)
    if settings.superuser_url:
        with connect(settings.superuser_url) as conn:
            security.superuser_setup(conn, libpq_params(url)["user"])
    with connect(url) as conn:
        applied = migrate(conn)
        units = conn.execute("select count(*) from ref.unit").fetchone()[0]
        loaded = load_reference(conn) if units == 0 else {}
        security.bootstrap(conn, published_facts.provinces(conn))
    return {"migrations_applied": applied, "reference_loaded": loaded}


def refresh_reference(settings: Settings | None = None) -> dict:
    """Reload the reference units; on a new warehouse (the DAG's first run may come before any ingest's)
    prepare it first."""
    from ingestion.reference import load_reference

    settings = settings or Settings.from_env()
    loaded = prepare_warehouse(settings)["reference_loaded"]
    if loaded:  # a new warehouse: loaded just now
        return loaded
    with connect(warehouse_url(settings)) as conn:
        conn.execute(f"set role {security.LOADER}")
        return load_reference(conn)


def reference_change(version: str, apply: bool = False, settings: Settings | None = None) -> str:
    """A newer list of today's map, reviewed: what it changes, and (apply) the change recorded and applied."""
    from ingestion.reference import apply_current_change, current_change, describe_change

    settings = settings or Settings.from_env()
    with connect(warehouse_url(settings)) as conn:
        migrate(conn)
        conn.execute(f"set role {security.LOADER}")
        if not apply:
            return describe_change(current_change(conn, version)) + "\n(not applied: add --apply)"
        change = apply_current_change(conn, version)
        return describe_change(change) + f"\napplied; units reloaded: {json.dumps(change['loaded'])}"


def find_new_files(settings: Settings | None = None) -> list[str]:
    from ingestion.loader import discover

    settings = settings or Settings.from_env()
    return [str(path) for path in discover(settings.landing_dir)]


def ingest_waiting(settings: Settings | None = None, workers: int = 2) -> dict[str, int]:
    """Ingest every file waiting in landing: for a backfill of thousands of files, where one Airflow task per
    file would spend more time starting tasks than loading. `workers` processes share the provinces, each on
    one connection; a province's files all go to one of them, in arrival order, so its versions follow the
    order they came in. Returns how many files ended in each status; publishing is then the antq_publish
    DAG's job. Prepares the warehouse first, as the antq_ingest DAG does, so it works on a new warehouse."""
    settings = settings or Settings.from_env()
    prepare_warehouse(settings)
    shares = province_shares(find_new_files(settings), workers)
    if len(shares) <= 1:
        statuses = _ingest_in_order(shares[0] if shares else [], settings)
    else:
        parent, spawn = os.getpid(), multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(shares), mp_context=spawn, initializer=_end_with, initargs=(parent,)) as pool:
            counts = pool.map(_ingest_in_order, shares, [settings] * len(shares), [parent] * len(shares))
            statuses = dict(sum((Counter(count) for count in counts), Counter()))
    if statuses.get("accepted"):
        _vacuum_raw(settings)
    return statuses


class IngestFailed(RuntimeError):
    pass


def ingest_landed(settings: Settings | None = None) -> dict:
    """antq_ingest's step: every file waiting in landing ingested (ingest_waiting: one file in this process, a
    burst by two workers), then what waits to publish and the publish requests made since the last run, taken.
    A file that failed on the machine's trouble stays in landing: after every other file had its verdict, this
    raises, and the task's retry takes that file again (the requests stay for the retry)."""
    settings = settings or Settings.from_env()
    statuses = ingest_waiting(settings, workers=2)
    print("files:", json.dumps(statuses) if statuses else "none waiting")
    if statuses.get("failed"):
        raise IngestFailed(f"{statuses['failed']} file(s) failed on the machine's trouble; they stay in landing")
    requested = take_publish_request(settings)
    if requested:
        print("publish asked for:", *requested, sep="\n  ")
    return {"files": statuses, "waiting_to_publish": waiting_to_publish(settings), "publish_requested": requested}


def _vacuum_raw(settings: Settings) -> None:
    """Vacuum and analyze raw once its new rows are in, before a build reads them. Left to autovacuum, that
    happened in the middle of the first build after a backfill, and the build planned raw without statistics."""
    with connect(warehouse_url(settings), autocommit=True) as conn:
        conn.execute(f"vacuum (analyze) {schemas.RAW}.indicator_value, {schemas.RAW}.model")


def province_shares(paths: list[str], workers: int) -> list[list[str]]:
    """`paths` (landing/<province>/<period>/file, in arrival order) in at most `workers` shares of about as
    many files, each province's files in one share, in their order."""
    by_province: dict[str, list[str]] = {}
    for path in paths:
        by_province.setdefault(Path(path).parent.parent.name, []).append(path)
    shares: list[list[str]] = [[] for _ in range(max(1, workers))]
    for files in sorted(by_province.values(), key=len, reverse=True):
        min(shares, key=len).extend(files)
    order = {path: number for number, path in enumerate(paths)}
    return [sorted(share, key=order.__getitem__) for share in shares if share]


_ingesting = threading.Event()  # set while a worker process ingests its share


def _end_with(parent: int) -> None:
    """A worker process ends once `parent` is gone and it has no file in hand. Python's pool would leave it
    waiting for work for ever: the pipe it reads is held open by the other workers, so a killed backfill
    left its workers running (seen after the test suite: two workers and their resource tracker)."""

    def watch() -> None:
        while os.getppid() == parent or _ingesting.is_set():
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _ingest_in_order(paths: list[str], settings: Settings, parent: int | None = None) -> dict[str, int]:
    """Ingest `paths` one after the other on one connection. A worker stops before its next file once the
    process that started it (`parent`) is gone: a backfill killed stops, whatever its workers were given."""
    statuses: dict[str, int] = {}
    _ingesting.set()
    conn = None
    try:
        for path in paths:
            if parent is not None and os.getppid() != parent:
                break
            if conn is None or conn.broken:
                conn = psycopg.connect(warehouse_url(settings), autocommit=True)
            try:
                status = ingest(path, settings, conn)["status"]
            except Exception:  # the machine's trouble with this file (every file's own fault is a verdict)
                logger.exception("ingesting %s failed: it stays in landing for the next run", path)
                status = "failed"
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        _ingesting.clear()
        if conn is not None:
            conn.close()
    return statuses


def waiting_to_publish(settings: Settings | None = None) -> int:
    """Accepted submissions the live marts do not count yet and no hold keeps out: files ingested outside
    the antq_ingest DAG (the portal, a backfill) and held figures since confirmed."""
    settings = settings or Settings.from_env()
    with connect(warehouse_url(settings)) as conn:
        return conn.execute(
            "select count(*) from ingest.submission_state where counts and not is_published"  # 0020's rule
        ).fetchone()[0]


def ingest(path: str, settings: Settings | None = None, conn: psycopg.Connection | None = None) -> dict:
    """Ingest one landing file (on a connection of its own, or on `conn`, which must be in autocommit: each
    file is its own transaction); returns what happened to it, rejection reasons included."""
    from ingestion.loader import ingest_file

    settings = settings or Settings.from_env()
    file_path = Path(path)
    if not file_path.exists():  # already handled by an earlier try of this task
        return {"file_name": file_path.name, "status": "gone", "problems": []}

    def tell_the_province(conn, result) -> None:
        contacts = alerts.province_contacts(conn, result.province_code)
        alerts.queue(conn, alerts.rejection_alert(result, contacts, settings), settings)

    if conn is None:
        with connect(warehouse_url(settings), autocommit=True) as conn:
            return ingest(path, settings, conn)
    conn.execute(f"set role {security.LOADER}")
    try:
        result = ingest_file(conn, file_path, settings, on_rejected=tell_the_province)
    except FileNotFoundError:  # another worker took it between the check above and reading it
        return {"file_name": file_path.name, "status": "gone", "problems": []}
    if result.status == "rejected":
        alerts.deliver(settings)
    outcome = asdict(result)
    outcome["problems"] = [p.describe() for p in result.problems]
    return outcome


def set_horizon(settings: Settings) -> int | None:
    """Fix the registry a publish run counts with at what it holds now (meta.build_horizon, core/migrations/0024):
    the checks, the build and the gate then read the same submissions, and a file accepted meanwhile waits for
    the next run. Returns the horizon: the last submission."""
    with connect(warehouse_url(settings)) as conn:
        return conn.execute(
            """insert into meta.build_horizon (one, horizon, set_at)
               select true, max(submission_id), now() from ingest.submission
               on conflict (one) do update set horizon = excluded.horizon, set_at = excluded.set_at
               returning horizon"""
        ).fetchone()[0]


def _drop_build_schema(settings: Settings) -> None:
    from publishing.transform import BUILD_SCHEMA

    with connect(warehouse_url(settings)) as conn:
        conn.execute(f"set role {security.TRANSFORMER}")
        conn.execute(f"drop schema if exists {BUILD_SCHEMA} cascade")


# What check_submissions builds and tests (dbt's selection) and, of it, what the holds it records can change:
# the counted submissions (a view over ingest.submission_state) and the province figures made of them.
CHECKED = "+int_province_indicator_periods"
BUILT_BY_CHECKS = ("+int_submission_totals", "+int_indicators", "int_periods", "+stg_ingest__submission_state")
HOLDS_CHANGE = ("int_counted_submissions", "int_province_figures", "int_province_indicator_periods")


def check_submissions(settings: Settings | None = None) -> dict:
    """Judge, province by province, the figures the published marts do not count yet; hold back the
    submissions a check finds something in (every other one publishes), and tell the data team and the
    provinces concerned, once per hold. Runs before build_marts, which then counts the held province ×
    periods at their previously published version. A check that cannot run blocks everything."""
    from expectations.suites import SUBMISSION_SCHEMA, submission_suites
    from publishing.transform import run_dbt
    from review import holds

    settings = settings or Settings.from_env()
    url = warehouse_url(settings)
    set_horizon(settings)
    _drop_build_schema(settings)
    # cautious: no test that also reads a model this step does not build (the marts are built after it)
    run_dbt(
        "build",
        "--select",
        CHECKED,
        "--exclude",
        "tag:history",
        "--indirect-selection",
        "cautious",
        settings=settings,
    )
    report = _run_checks(SUBMISSION_SCHEMA, lambda: submission_suites(settings), settings)
    with connect(url) as conn, conn.transaction():
        conn.execute(f"set local role {security.TRANSFORMER}")
        new = holds.record(conn, report.holds, report_name(report))
        pending = holds.holds(conn, pending_only=True)
        if new:
            alerts.queue(conn, alerts.holds_alert(new, settings), settings)
            for submission_id in sorted({h.submission_id for h in new}):
                held = [h for h in new if h.submission_id == submission_id]
                contacts = alerts.province_contacts(conn, held[0].province_code)
                alerts.queue(conn, alerts.hold_province_alert(held, contacts, settings), settings)
    if new:
        alerts.deliver(settings)
    submissions = sorted({(h.province_code, h.province_name or "", h.period_code) for h in pending})
    print(
        f"HELD {len(submissions)} province × period submission(s) for review ({len(new)} new finding(s)): "
        + ("; ".join(" ".join(s) for s in submissions) or "none")
    )
    return {
        "checks_run": report.checks_run,
        "new_holds": [h.describe() for h in new],
        "held": [" ".join(s) for s in submissions],
    }


def build_marts(settings: Settings | None = None, after_checks: bool = False, holds_changed: bool = True) -> None:
    """Build staging, star schema and marts with dbt into a fresh build schema (dbt tests included).

    after_checks: check_submissions has just built and tested the models up to the province figures; they
    are not built and tested again, except those its new holds change (holds_changed). A publish run built
    them twice before: 3-6 s of every run at ten years."""
    from publishing.transform import run_dbt

    settings = settings or Settings.from_env()
    if not after_checks:
        set_horizon(settings)
    _drop_build_schema(settings)
    done = [*BUILT_BY_CHECKS, *([] if holds_changed else HOLDS_CHANGE)] if after_checks else []
    run_dbt("build", "--exclude", "tag:history", *done, settings=settings)


def check_fact_history(settings: Settings | None = None) -> None:
    """The dbt tests that read the whole fact store and the published facts (ten years of unit-level rows):
    too slow for every build, run monthly by the reference DAG and by `make check-history`."""
    from publishing.transform import run_dbt

    settings = settings or Settings.from_env()
    with connect(warehouse_url(settings)) as conn:
        # Never built: no totals. Not the fact store's view, which a build running now drops for seconds
        # (publishing/transform.py, _one_on_the_warehouse): the tests then wait for that build instead.
        if (
            conn.execute("select to_regclass(%s)", [f"{schemas.INTERMEDIATE}.int_submission_totals"]).fetchone()[0]
            is None
        ):
            return
        published = conn.execute("select to_regclass(%s)", [f"{schemas.PUBLISHED}.fct_indicator_value"]).fetchone()[0]
    unpublished = [] if published else ["--exclude", "source:published"]  # built, never published
    run_dbt("test", "--select", "tag:history", *unpublished, settings=settings)


def validate_marts(settings: Settings | None = None) -> dict:
    """Run the Great Expectations build checks on the build schema; on a critical finding, email and raise."""
    from expectations.suites import suites
    from publishing.transform import BUILD_SCHEMA

    settings = settings or Settings.from_env()
    return asdict(_run_checks(BUILD_SCHEMA, lambda: suites(BUILD_SCHEMA, settings.freshness_days), settings))


def report_name(report: GateReport) -> str | None:
    """The file name of a run's kept report (<data dir>/gx/reports/), as holds and the publish log name it."""
    return report.report_url.rsplit("/", 1)[-1] or None


def _run_checks(schema: str, table_suites: Callable[[], dict], settings: Settings) -> GateReport:
    """Run a gate with its data docs; on a critical finding, email the data team and raise GateFailed."""
    from expectations.gate import run_gate
    from expectations.report import write_report

    report = run_gate(schema, table_suites, warehouse_url(settings), settings.data_dir / "gx" / "data_docs")
    report.report_url = write_report(report, settings.data_dir / "gx").as_uri()
    print(report.summary())
    if not report.passed:
        alerts.queue_and_deliver(alerts.gate_alert(report, settings, published=False), settings)
        raise GateFailed(report.summary())
    return report


def publish_marts(gate: dict, settings: Settings | None = None) -> int:
    """Swap the checked build in as `marts`; then send the digest of the gate's warnings, if any."""
    from expectations.findings import GateReport
    from publishing.publish import publish

    settings = settings or Settings.from_env()
    report = GateReport.from_dict(gate)

    def digest(conn, publish_id: int) -> None:  # queued by the publishing transaction
        if report.warnings:
            alerts.queue(conn, alerts.gate_alert(report, settings, published=True), settings)

    url = warehouse_url(settings)
    # a first publish's millions of facts, copied by two sessions before it
    published_facts.fill_ahead(url, schemas.BUILD)
    with connect(url, autocommit=True) as conn:
        publish_id = publish(
            conn,
            checks_passed=report.checks_run - len(report.findings),
            checks=report.summary(),
            small_cell_provinces=settings.small_cell_provinces,
            on_published=digest,
            gate_report=report_name(report),
        )
    alerts.deliver(settings)
    return publish_id


REPORTED_KINDS = ("quarter", "half_year", "year")  # the periods the ministry reports on


def periods_turned_final(conn: psycopg.Connection) -> list[str]:
    """The quarters, half-years and years whose national figures the last publish made final (final in
    `marts`, not in the marts it replaced); after a first publish, the latest final period of each kind."""
    final = """select period_code, max(period_type), max(period_end) from {schema}.mart_national_indicator
               where period_type = any(%(kinds)s) group by period_code
               having bool_and(publication_status = 'final')"""
    now = conn.execute(final.format(schema=schemas.LIVE), {"kinds": list(REPORTED_KINDS)}).fetchall()
    if conn.execute(f"select to_regclass('{schemas.PREVIOUS}.mart_national_indicator')").fetchone()[0] is None:
        latest: dict[str, tuple] = {}
        for code, kind, end in now:
            if kind not in latest or end > latest[kind][1]:
                latest[kind] = (code, end)
        return sorted(code for code, _ in latest.values())
    before = {row[0] for row in conn.execute(final.format(schema=schemas.PREVIOUS), {"kinds": list(REPORTED_KINDS)})}
    return sorted(code for code, _, _ in now if code not in before)


def write_final_reports(settings: Settings | None = None) -> list[str]:
    """The antq_publish DAG's last step: the national report of each period the publish made final (reports/,
    into <data dir>/reports/national/, as the portal writes it), the data team told where it is. A report
    that cannot be written is said in the log and does not undo the publish."""
    from reports.figures import NotPublished
    from reports.report import write_report

    settings = settings or Settings.from_env()
    with connect(warehouse_url(settings)) as conn:
        publish_id = conn.execute("select max(publish_id) from meta.publish_log").fetchone()[0]
        done = {row[0] for row in conn.execute("select alert_key from meta.alert_outbox where kind = 'report_written'")}
        periods = [p for p in periods_turned_final(conn) if alerts.report_key(p, publish_id) not in done]
    written = []
    for period in periods:  # each once per publish: the step run again writes nothing
        try:
            report = write_report(settings, period)
        except (NotPublished, ValueError) as error:
            logger.warning("no report for %s: %s", period, error)
            continue
        files = [report.docx, *([report.pdf] if report.pdf else []), report.annex]
        with connect(warehouse_url(settings)) as conn:
            alerts.queue(conn, alerts.report_alert(period, publish_id, files, settings), settings)
        written.append(period)
    alerts.deliver(settings)
    return written


def publish_new_figures(settings: Settings | None = None) -> dict:
    """antq_publish's step, also `make publish`, backfills, the bench and tests: check each new submission,
    build, check the build, publish, in one process (dbt and Great Expectations imported once). Returns the
    holds, the publish id and each step's seconds, which it also prints."""
    seconds: dict[str, float] = {}

    def timed(name: str, step: Callable, *args):
        started = time.perf_counter()
        result = step(*args)
        seconds[name] = round(time.perf_counter() - started, 2)
        print(f"{name}: {seconds[name]} s", flush=True)
        return result

    held = timed("submission checks", check_submissions, settings)
    timed("build", build_marts, settings, True, bool(held["new_holds"]))
    gate = timed("gate", validate_marts, settings)
    publish_id = timed("publish", publish_marts, gate, settings)
    return {**held, "publish_id": publish_id, "seconds": seconds}


def request_publish(why: str, settings: Settings | None = None) -> None:
    """Ask for a publish run now, as a file landing does: a submission sent from the portal, a hold confirmed
    or rejected, a period closed. Without Airflow running it waits for the next run (or `make publish`). The
    request is a line in a file of landing (Settings.publish_request): the landing watcher (warehouse/triggers.py)
    starts antq_ingest on its change as on a new file, and antq_ingest's announcement starts antq_publish."""
    settings = settings or Settings.from_env()
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    marker = settings.publish_request
    with open(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8") as out:
        out.write(f"{time.time():.3f} {why}\n")


def take_publish_request(settings: Settings | None = None) -> list[str]:
    """The publish requests made since the last announcement (antq_ingest's ingest_landed), removed."""
    settings = settings or Settings.from_env()
    marker = settings.publish_request
    taken = marker.with_name(f"{marker.name}.{os.getpid()}")
    try:
        os.replace(marker, taken)  # a request made from now on lands in a new file, for the next run
    except FileNotFoundError:
        return []
    requests = taken.read_text(encoding="utf-8").splitlines()
    taken.unlink()
    return requests


def review_hold(hold_id: int, decision: str, reason: str, by: str, settings: Settings | None = None):
    """The data team's decision on a hold: confirmed figures publish on the next run, which it asks for now;
    a rejected one stays out and the province is told."""
    from review import holds

    settings = settings or Settings.from_env()
    with connect(warehouse_url(settings)) as conn, conn.transaction():
        conn.execute(f"set local role {security.TRANSFORMER}")
        hold = holds.review(conn, hold_id, decision, reason, by)
        if decision == holds.REJECTED:
            alert = alerts.hold_rejected_alert(hold, alerts.province_contacts(conn, hold.province_code), settings)
            alerts.queue(conn, alert, settings)
    request_publish(f"hold #{hold_id} {decision} by {by}", settings)
    alerts.deliver(settings)
    return hold


def remind_late_provinces(today: date, settings: Settings | None = None) -> dict:
    """Email each province whose reports are due soon or late one digest of them, at most once a day, to its
    contacts (alerts.province_contacts). `due` counts province × period pairs, `queued` the digests."""
    from notify.reminders import due_submissions, reminder_digest

    settings = settings or Settings.from_env()
    prepare_warehouse(settings)  # the DAG's first run on a new warehouse may come before any ingest's
    queued = 0
    with connect(warehouse_url(settings)) as conn, conn.transaction():
        due = due_submissions(conn, today, settings)
        by_province: dict[str, list] = {}
        for item in due:
            by_province.setdefault(item.province_code, []).append(item)
        for code, items in by_province.items():
            alert = reminder_digest(items, alerts.province_contacts(conn, code), today, settings)
            queued += alerts.queue(conn, alert, settings)
    delivery = alerts.deliver(settings)
    return {"due": len(due), "queued": queued, "sent": delivery.sent, "undelivered": delivery.pending}


def deliver_alerts(settings: Settings | None = None) -> dict:
    """The antq_alerts DAG's step: send what the outbox holds that is due (retries of failed alerts)."""
    settings = settings or Settings.from_env()
    with connect(warehouse_url(settings)) as conn:
        migrate(conn)  # the DAG's first run on a new warehouse may come before any ingest's: the outbox first
    return asdict(alerts.deliver(settings))


def alert_task_failure(context: dict) -> None:
    """Airflow on_failure_callback: a crashed task is a failure the team must hear about.

    A failed gate has already sent its own, more precise email, so it is not mailed twice.
    """
    error = context.get("exception")
    if isinstance(error, GateFailed):
        return
    ti = context["ti"]
    settings = Settings.from_env()
    alert = alerts.task_failure_alert(ti.dag_id, ti.run_id, ti.task_id, repr(error), settings)
    alerts.queue_and_deliver(alert, settings)
