"""`make bench`: what each step costs, as ratios against baselines measured in the same run.

Writes bench/results.json, prints a table and draws bench/results.png. Every step runs in its own forked
process so its peak memory (ru_maxrss) is its own: that of its largest process, where a step starts workers
(the ingest's two). Postgres's memory is the server's and is not counted. A forked process starts with the
pages of this one, so this one imports nothing a step does not need: Great Expectations (about 120 MB of
pandas, SQLAlchemy and its own code) is imported by the steps that run checks.

Scales: small (the last 3 months, a few minutes), medium (2 years), national-10y (10 years of months, tens
of millions of fact rows). Every commune of every province at every scale: months before 2025-07 come from
the 63 provinces and ~10,000 communes of the legacy map, later ones from the 34 provinces and 3,321 communes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from bench.load import percentile
from core.db import warehouse_url
from core.schemas import REMAPPED_SUBMISSIONS
from core.settings import PROJECT_DIR, Settings
from ingestion.generator import province_codes_for, rewrite_submission, write_submission
from ingestion.loader import ingest_file
from publishing import published_facts
from publishing.transform import BUILD_SCHEMA
from warehouse import pipeline

INGEST_STEP = "validated ingest, two workers (a backfill's `python -m warehouse ingest`)"
COPY_STEP, COPY_TWO_STEP = "baseline: raw COPY", "baseline: raw COPY, two sessions"
FILL_STEP = "first publish: published facts copied ahead by two sessions"
REFERENCE_STEP = "publish run after a reference change (a split commune's default target corrected)"
REPORT_STEP = "report of a quarter, national (make report: DOCX, charts, annex, PDF)"

SCALES = {"small": 3, "medium": 24, "national-10y": 120}
RESULTS = PROJECT_DIR / "bench" / "results.json"
CHART = PROJECT_DIR / "bench" / "results.png"
ANALYST = "antq_analyst_38"
BI_QUERIES = {  # name: (role, query)
    "national figures of a period": (
        "antq_bi_reader",
        "select indicator_code, value, ratio_pct from marts.mart_national_indicator where period_code = %(period)s",
    ),
    "province ranking for an indicator": (
        "antq_bi_reader",
        "select province_name, value, rank() over (order by value desc) from marts.mart_province_indicator"
        " where indicator_code = 'security_teams' and period_code = %(period)s",
    ),
    "one province's trend": (
        "antq_bi_reader",
        "select period_code, value from marts.mart_province_indicator"
        " where province_code = '38' and indicator_code = 'anxh_teams' order by period_start",
    ),
    "ratio by province": (
        "antq_bi_reader",
        "select province_code, ratio_pct from marts.mart_province_indicator"
        " where indicator_code = 'households_in_anxh' and period_code = %(period)s",
    ),
    "communes of a province in a period": (
        "antq_bi_reader",
        "select unit_key, indicator_code, value from marts.fct_indicator_value"
        " where province_code = '38' and period_code = %(period)s",
    ),
    "analyst: own trend": (
        ANALYST,
        "select period_code, value from province_38.mart_province_indicator"
        " where indicator_code = 'anxh_teams' order by period_start",
    ),
    "analyst: own communes in a period": (
        ANALYST,
        "select unit_key, indicator_code, value from province_38.fct_indicator_value where period_code = %(period)s",
    ),
    "analyst: national figures of a period": (
        ANALYST,
        "select indicator_code, value from province_38.mart_national_indicator where period_code = %(period)s",
    ),
    "analyst: where a figure comes from": (
        ANALYST,
        "select file_name, source_row, unit_name, value from province_38.mart_figure_source"
        " where period_code = %(period)s and indicator_code = 'security_teams'",
    ),
}


def months(count: int) -> list[str]:
    """The last `count` complete months; those before 2025-07 are on the legacy (63-province) map."""
    today = date.today()
    last = today.year * 12 + today.month - 2  # months since year 0 of last month
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(last - count + 1, last + 1)]


def _child(connection, fn, args):
    started = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - started
    largest = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    connection.send((result, seconds, largest / 1024))
    connection.close()


def measured(fn, *args):
    """Run fn(*args) in a forked process; return (result, seconds, peak MB of that process)."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child, fn, args))
    process.start()
    child.close()  # so that a child dying without an answer ends recv() instead of blocking it
    try:
        outcome = parent.recv()
    except EOFError:
        outcome = None
    process.join()
    if process.exitcode or outcome is None:
        raise RuntimeError(f"{fn.__name__} failed in its bench process (exit {process.exitcode}); see above")
    return outcome


def generate(settings: Settings, periods: list[str]) -> list[Path]:
    return [write_submission(settings.landing_dir, p, period) for period in periods for p in province_codes_for(period)]


BASELINE_COPY = (
    "copy public.bench_copy_baseline (period, unit_code, indicator_code, category, value, numerator, denominator)"
    " from stdin with (format csv, header true)"
)


def copy_baseline(url: str, files: list[str], sessions: int = 1) -> int:
    """COPY of the same files, no checks at all: the floor validated ingestion is compared with. With two
    sessions, two connections COPY at once, the files shared as the ingest's two workers share them.

    The table is shaped like raw.indicator_value (logged, typed, indexed by submission), so the ratio
    measures what checking costs, not what keeping the rows durably costs.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table if exists public.bench_copy_baseline")
        conn.execute(
            "create table public.bench_copy_baseline (submission_id bigint not null default 0, period text,"
            " unit_code text, indicator_code text, category text, value bigint, numerator bigint, denominator bigint)"
        )
        conn.execute("create index on public.bench_copy_baseline (submission_id)")
    shares = pipeline.province_shares(files, sessions)
    with ThreadPoolExecutor(len(shares)) as pool:
        list(pool.map(_copy_files, [url] * len(shares), shares))
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("select count(*) from public.bench_copy_baseline").fetchone()[0]
        conn.execute("drop table public.bench_copy_baseline")
    return rows


def _copy_files(url: str, files: list[str]) -> None:
    with psycopg.connect(url) as conn:
        for name in files:
            with (
                open(name, "rb") as handle,
                conn.cursor().copy(BASELINE_COPY) as copy,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            conn.commit()


def ingest_all(settings: Settings, files: list[str]) -> int:
    rows = 0
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute("set role antq_loader")
        for name in files:
            result = ingest_file(conn, Path(name), settings)
            if result.status != "accepted":
                raise RuntimeError(f"{name}: {result.status} {result.problems[:3]}")
            rows += result.row_count
    return rows


def ingest_backfill(settings: Settings, files: list[str]) -> int:
    """What a backfill runs: every waiting file, by two workers (pipeline.ingest_waiting); the rows loaded."""
    statuses = pipeline.ingest_waiting(settings, workers=2)
    if statuses != {"accepted": len(files)}:
        raise RuntimeError(f"{len(files)} files generated, ingested: {statuses}")
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute("select sum(row_count) from ingest.submission where status = 'accepted'").fetchone()[0]


def resubmit_one_province_month(settings: Settings, period: str, province: str = "38", factor: int = 1) -> int:
    """A province sends a corrected file for one month: every security_teams figure one higher (factor 1),
    or `factor` times higher: a figure far from its history, which the submission checks hold."""
    path = write_submission(settings.landing_dir, province, period)
    fixed = rewrite_submission(
        path, path.with_name(f"{province}_{period}_x{factor}.csv"), "security_teams", lambda v: v * factor + 1
    )
    path.unlink()
    return ingest_all(settings, [str(fixed)])


def held_submissions(settings: Settings) -> int:
    """Check each new submission (dbt up to the province figures, then the submission checks); how many held."""
    return len(pipeline.check_submissions(settings)["held"])


def publish_after_resubmission(settings: Settings, period: str, province: str, factor: int) -> int:
    """One province resubmits a month, then the whole antq_publish run; returns how many are held."""
    resubmit_one_province_month(settings, period, province, factor)
    return len(pipeline.publish_new_figures(settings)["held"])


def correct_a_split_commune(settings: Settings, period: str) -> str | None:
    """A reference refresh corrects the official default target of a split legacy commune that reported in
    `period` (its facts of every year then count elsewhere); returns it, or None if no such commune reported."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        found = conn.execute(
            """select m.legacy_code, max(m.current_code) filter (where not m.is_default)
               from ref.legacy_unit_map as m
               where m.legacy_level = 'commune' and m.current_level = 'commune'
                 and 'legacy:commune:' || m.legacy_code in (
                     select unit_key from published.fct_indicator_value
                     where period_code = %s and indicator_code = 'security_teams')
               group by m.legacy_code having count(*) = 2 and count(*) filter (where m.is_default) = 1
               order by 1 limit 1""",
            [period],
        ).fetchone()
        if found is None:
            return None
        conn.execute(
            "update ref.legacy_unit_map set is_default = (current_code = %s)"
            " where legacy_level = 'commune' and legacy_code = %s",
            [found[1], found[0]],
        )
    return found[0]


def publish_after_reference_change(settings: Settings) -> dict:
    """The antq_publish run after a reference refresh: the build finds the submissions with rows on the moved
    unit, sums them again, and the publish copies them again. Returns how many it re-placed."""
    with psycopg.connect(settings.warehouse_url) as conn:
        started = conn.execute("select clock_timestamp()").fetchone()[0]
    pipeline.publish_new_figures(settings)
    with psycopg.connect(settings.warehouse_url) as conn:
        remapped = conn.execute(
            f"select count(*) from {REMAPPED_SUBMISSIONS} where remapped_at >= %s", [started]
        ).fetchone()[0]
    return {"submissions_re_placed": remapped}


def _all_suites(settings: Settings) -> list[tuple[str, str, object]]:
    """(schema, table, suite) of every check a publish runs."""
    from expectations.suites import SUBMISSION_SCHEMA, submission_suites, suites

    both = {SUBMISSION_SCHEMA: submission_suites(), BUILD_SCHEMA: suites(BUILD_SCHEMA, settings.freshness_days)}
    return [(schema, table, suite) for schema, on in both.items() for table, suite in on.items()]


def gate(settings: Settings) -> int:
    """Both Great Expectations runs of a publish: the submission checks and the build checks."""
    from expectations.gate import run_gate
    from expectations.suites import SUBMISSION_SCHEMA, submission_suites, suites

    url = settings.warehouse_url
    checks = run_gate(SUBMISSION_SCHEMA, submission_suites, url).checks_run
    return checks + run_gate(BUILD_SCHEMA, lambda: suites(BUILD_SCHEMA, settings.freshness_days), url).checks_run


def hand_sql(settings: Settings) -> int:
    """The gate's checks written directly in SQL against the same tables."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    gx.get_context(mode="ephemeral")  # suites can only be built inside a context
    checks = 0
    with psycopg.connect(settings.warehouse_url) as conn:
        for schema, table, suite in _all_suites(settings):
            relation = f"{schema}.{table}"
            for expectation in suite.expectations:
                if isinstance(expectation, gxe.UnexpectedRowsExpectation):
                    query = f"select count(*) from ({expectation.unexpected_rows_query.format(batch=relation)}) as q"
                elif isinstance(expectation, gxe.ExpectColumnValuesToNotBeNull):
                    query = f"select count(*) from {relation} where {expectation.column} is null"
                elif isinstance(expectation, gxe.ExpectColumnValuesToBeBetween):
                    query = f"select count(*) from {relation} where {expectation.column} < {expectation.min_value}"
                else:
                    query = f"select count(*) from {relation}"
                conn.execute(query).fetchone()
                checks += 1
    return checks


def explain_figures(settings: Settings, period: str) -> float:
    """`python -m warehouse explain` on a province figure of the last month and on its year so far (rolled up
    from every month of it); returns the slower one's seconds."""
    from publishing.lineage import explain

    slowest = 0.0
    with psycopg.connect(settings.warehouse_url) as conn:
        for figure_period in (period, period[:4]):
            started = time.perf_counter()
            explain(conn, "38", figure_period, "propaganda_sessions")
            slowest = max(slowest, time.perf_counter() - started)
    return round(slowest, 3)


def _with_formula_column(plain: Path, target: Path) -> None:
    """The workbook with every value of its indicator sheet written as Excel writes a formula's cell: the
    formula, and beside it the value it computed (never evaluated by the warehouse)."""
    import re
    import zipfile

    import openpyxl

    from ingestion.contract import sheet_title

    workbook = openpyxl.load_workbook(plain, read_only=True)
    part = workbook[sheet_title()]._worksheet_path.lstrip("/")
    workbook.close()
    with zipfile.ZipFile(plain) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    cell = re.compile(rb'<c r="(E\d+)"([^>]*)><v>([^<]*)</v></c>')
    parts[part] = cell.sub(rb'<c r="\1"\2><f>\3+0</f><v>\3</v></c>', parts[part])
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def read_workbooks(settings: Settings, period: str, runs: int = 5) -> dict:
    """A province's month as the XLSX template filled in, read whole by the reader, against the same workbook
    whose value column is formulas with their saved values (an office's =SUM column): medians of `runs`."""
    from ingestion.readers import open_table

    plain = write_submission(settings.data_dir / "bench-xlsx", "38", period, file_format="xlsx")
    formulas = plain.with_name("formulas.xlsx")
    _with_formula_column(plain, formulas)
    seconds: dict[str, list[float]] = {"plain": [], "formulas": []}
    rows = 0
    for _ in range(runs):
        for name, path in (("plain", plain), ("formulas", formulas)):
            started = time.perf_counter()
            table = open_table(path, path.name)
            rows = sum(1 for _ in table.rows)
            seconds[name].append(time.perf_counter() - started)
    plain_s, formulas_s = statistics.median(seconds["plain"]), statistics.median(seconds["formulas"])
    return {"rows": rows, "plain_s": round(plain_s, 3), "formulas_s": round(formulas_s, 3)}


def portal_dry_runs(settings: Settings, period: str, runs: int = 8) -> dict:
    """An officer's check of a province's month through the portal served for real (uvicorn, HTTP), as CSV
    and as the XLSX template filled in: p50 and p95 seconds from the upload to the reasons page. The file is
    Thanh Hóa's at national size (every commune, about 6,800 rows) whatever the scale; the scale changes only
    the published history its figures are compared with."""
    import contextlib

    import uvicorn

    from bench.freshness import signed_in
    from bench.load import free_port
    from portal.app import create_app
    from portal.auth import create_account

    folder = settings.data_dir / "bench-portal"
    files = [write_submission(folder, "38", period), write_submission(folder, "38", period, file_format="xlsx")]
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        create_account(conn, "bench-38", "bench-password-38", "38", "Bench")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    outcome = {}
    try:
        client, csrf = signed_in(f"http://127.0.0.1:{port}", "bench-38", "bench-password-38", timeout=120)
        with contextlib.closing(client):
            for path in files:
                data, seconds = path.read_bytes(), []
                for _ in range(runs):
                    started = time.perf_counter()
                    answer = client.post(
                        "/upload",
                        data={"period": period, "action": "check", "csrf": csrf},
                        files={"file": (path.name, data)},
                    )
                    seconds.append(time.perf_counter() - started)
                    if answer.status_code != 200 or 'class="ok" id="verdict"' not in answer.text:
                        raise RuntimeError(f"the portal's check of {path.name}: {answer.status_code}")
                kind = path.suffix.lstrip(".")
                outcome["rows"] = sum(1 for _ in files[0].open(encoding="utf-8")) - 1
                outcome[f"{kind}_p50_s"] = round(statistics.median(seconds), 2)
                outcome[f"{kind}_p95_s"] = round(_p95(seconds), 2)
    finally:
        server.should_exit = True
    return outcome


def bi_latency(settings: Settings, period: str, runs: int = 40) -> dict:
    results = {}
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for name, (role, query) in BI_QUERIES.items():
            conn.execute(f"set role {role}")
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                conn.execute(query, {"period": period}).fetchall()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            results[name] = {
                "p50_ms": round(statistics.median(timings), 2),
                "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
            }
    return results


def _p95(values: list[float]) -> float:
    return round(percentile(values, 0.95), 2) if values else 0.0


def publish_under_bi_load(settings: Settings, period: str, checks: int, publishes: int = 3) -> dict:
    """Fifteen BI sessions query the marts, each every 0.2 s (the BI_QUERIES of antq_bi_reader in turn), a
    sixteenth runs a 20-second query over and over, and one more sits idle in a transaction it opened on the
    marts before the first publish; meanwhile the marts are built and published `publishes` times. Returns
    the readers' p95 during the publishes and in quiet moments between them, every query that failed, and
    each publish's seconds."""
    url = settings.warehouse_url
    queries = [query for role, query in BI_QUERIES.values() if role == "antq_bi_reader"]
    stop = threading.Event()
    timings: list[tuple[float, float]] = []
    failures: list[str] = []

    def reader(query: str, pause: float) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("set role antq_bi_reader")
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    conn.execute(query, {"period": period}).fetchall()
                except psycopg.Error as error:
                    if not stop.is_set():
                        failures.append(f"{type(error).__name__}: {str(error).strip()}")
                timings.append((started, time.perf_counter()))
                stop.wait(pause)

    long_query = "select pg_sleep(20), count(*) from marts.mart_province_indicator"
    threads = [threading.Thread(target=reader, args=(queries[i % len(queries)], 0.2)) for i in range(15)]
    threads.append(threading.Thread(target=reader, args=(long_query, 0)))
    idle = psycopg.connect(url)
    idle.execute("set role antq_bi_reader")
    idle.execute("select count(*) from marts.mart_national_indicator").fetchall()
    for thread in threads:
        thread.start()
    quiet: list[tuple[float, float]] = []
    publishing: list[tuple[float, float]] = []
    for _ in range(publishes):
        pipeline.build_marts(settings)
        quiet_started = time.perf_counter()
        time.sleep(2)
        quiet.append((quiet_started, time.perf_counter()))
        started = time.perf_counter()
        pipeline.publish_marts({"schema": BUILD_SCHEMA, "checks_run": checks, "findings": []}, settings)
        publishing.append((started, time.perf_counter()))
    stop.set()
    for thread in threads:
        thread.join()  # the long query ends within its 20 s
    idle.close()
    short = [(a, b) for a, b in timings if b - a < 15]

    def overlapping(windows):
        return [(b - a) * 1000 for a, b in short if any(a < end and b > start for start, end in windows)]

    during, calm = overlapping(publishing), overlapping(quiet)
    return {
        "bi_p95_during_publish_ms": _p95(during),
        "bi_p95_quiet_ms": _p95(calm),
        "queries_during_publish": len(during),
        "failed_queries": len(failures),
        "failures": sorted(set(failures))[:5],
        "publish_s": [round(end - start, 2) for start, end in publishing],
    }


# Deadline day (issue 42). The ways in, one after the other: provinces of today's map, none used twice.
FIRST_FILE, DROPPED, SENT, HELD = (
    "40",
    ("44", "46", "48", "51", "52", "56"),
    ("66", "68", "75", "80", "82"),
    ("86", "91"),
)
LOAD = {"small": (20, 1.0), "medium": (50, 3.0), "national-10y": (100, 10.0)}  # sessions, minutes
# An officer pauses 10 to 30 s between two pages (reading the reasons, fixing the file, choosing the next): each
# session checks, fixes, checks again and sends a few times in 10 minutes, a deadline day's hour compressed.
THINK_SECONDS = 20


def deadline_day(settings: Settings, period: str, scale: str) -> dict:
    """With `make airflow` and `make portal` running on the bench's warehouse (bench/freshness.py): the first
    file after the services start, then files dropped into landing, sent from the portal and held then
    confirmed on the desk, each until antq_bi_reader reads it; then the deadline load (bench/load.py): officers'
    sessions of the 34 provinces check, fix and send, the data team reads its desk, BI reads the marts; and the
    agreement of the registry, landing, the outbox and the marts with what the portal told the officers."""
    from bench import freshness
    from bench.load import deadline_load

    sessions, minutes = LOAD[scale]
    with freshness.running_stack(settings) as stack:
        result = {"first": freshness.first_file_after_start(stack, period, FIRST_FILE)}
        result["dropped"] = freshness.dropped_files(stack, period, list(DROPPED))
        result["sent"] = freshness.portal_sends(stack, period, list(SENT))
        result["confirmed"] = freshness.confirmed_holds(stack, period, list(HELD))
        print(f"    the deadline load: {sessions} sessions for {minutes:g} minutes", flush=True)
        result["load"] = deadline_load(
            settings,
            period,
            sessions=sessions,
            minutes=minutes,
            portal_url=stack.portal_url,
            think_seconds=THINK_SECONDS,
            portal_pid=stack.portal_pid,
        )
    return result


def watcher_cost(settings: Settings) -> dict:
    """The landing watcher idle on ~8,000 period folders, the old 2 s listing against inotify (bench/watcher.py)."""
    from bench.watcher import watcher_idle_cost

    return watcher_idle_cost(settings.data_dir / "bench-watcher", seconds=30)


def write_a_report(settings: Settings, month: str) -> dict:
    """`make report` for the quarter of the last month, national: read as the BI reader, rendered (DOCX, charts,
    annex) and turned into a PDF by LibreOffice, whose process counts in the step's peak."""
    from reports.report import write_report

    year, number = month.split("-")
    period = f"{year}-Q{(int(number) - 1) // 3 + 1}"
    written = write_report(settings, period, out=settings.data_dir / "reports")
    return {"period": period, "pdf": written.pdf is not None}


def bench_database(settings: Settings, scale: str, fresh: bool = True) -> Settings:
    """The database of this scale's runs, named for it (on a server given by ANTQ_WAREHOUSE_URL, the scales
    share the server): made anew, or (fresh=False) the one an earlier run left."""
    admin = (
        warehouse_url(replace(settings, warehouse_url=None)) if not settings.warehouse_url else settings.warehouse_url
    )
    name = "antq_bench_" + scale.replace("-", "_")
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f"drop database if exists {name} with (force)")
            conn.execute(f"create database {name}")
        elif not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            raise SystemExit(f"no warehouse of scale {scale} to measure on: run make bench SCALE={scale} first")
    base, _, query = admin.partition("?")
    url = base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    return replace(settings, warehouse_url=url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument(
        "--only",
        choices=["deadline"],
        help="only deadline day's steps (issue 42), on the warehouse an earlier run of this scale left; its rows"
        " replace theirs in bench/results.json",
    )
    options = parser.parse_args()
    scale = options.scale
    base = Settings.from_env()
    # One directory, and so one embedded server, per scale: a small run (minutes) must not drop or mix files
    # with the national-10y warehouse (an hour to make), on which later measurements are taken.
    data_dir = base.data_dir / "bench" / scale
    settings = replace(
        base, data_dir=data_dir, landing_dir=data_dir / "landing", quarantine_dir=data_dir / "q", freshness_days=100_000
    )
    settings = bench_database(settings, scale, fresh=options.only is None)
    periods = months(SCALES[scale])
    steps: dict[str, dict] = {}

    def record(name: str, seconds: float, peak_mb: float, **extra) -> None:
        steps[name] = {"seconds": round(seconds, 2), "peak_mb": round(peak_mb, 1), **extra}
        print(f"  {name:34} {seconds:9.1f} s  {peak_mb:8.0f} MB  {extra or ''}", flush=True)

    print(f"bench scale {scale}: {len(periods)} months, {periods[0]} to {periods[-1]}", flush=True)
    if options.only:
        results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
        if results.get("scale") != scale:
            results = {"scale": scale, "steps": {}, "ratios": {}, "bi_latency": {}}
    else:
        results = build_steps(settings, periods, steps, record)
    ratios = deadline_steps(settings, periods[-1], scale, record)
    results["steps"].update(steps)
    results["ratios"].update(ratios)
    results.update(
        {
            "scale": scale,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "bi_p95_goal_ms": 100,
        }
    )
    if options.only:
        with psycopg.connect(settings.warehouse_url) as conn:
            results["fact_rows"] = conn.execute("select count(*) from marts.fct_indicator_value").fetchone()[0]
        results["deadline_only"] = "deadline day's rows measured on the warehouse of the run before, at that time"
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nfact rows: {results.get('fact_rows', 0):,}")
    for name, value in results["ratios"].items():
        print(f"  {name:62} {value}")
    for name, value in results["bi_latency"].items():
        print(f"  BI {name:40} p50 {value['p50_ms']:8.2f} ms   p95 {value['p95_ms']:8.2f} ms")
    draw(results)
    print(f"\nwrote {RESULTS} and {CHART}")
    return 0


def machine() -> dict:
    """The machine a run measured: its name, cores, memory and Python."""
    import psutil

    return {
        "name": platform.node(),
        "processor": platform.processor() or platform.machine(),
        "cpus": multiprocessing.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
    }


def build_steps(settings: Settings, periods: list[str], steps: dict, record) -> dict:
    """Every step from an empty warehouse to the last BI and portal measurement: the results' rows but the
    deadline day's."""
    # In a child like every step: the unit history it loads would otherwise stay in this process and count in
    # the peak of every step forked from it (it did: ~35 MB in each step of the 2026-12-01 afternoon run).
    _, seconds, peak = measured(pipeline.prepare_warehouse, settings)
    record("prepare (schema, roles, reference units)", seconds, peak)
    files, seconds, peak = measured(generate, settings, periods)
    received = sum(f.stat().st_size for f in files)  # ingest moves them to the archive
    record("generate files", seconds, peak, files=len(files), bytes=received)
    files = [str(f) for f in files]
    copied, seconds, peak = measured(copy_baseline, settings.warehouse_url, files)
    record(COPY_STEP, seconds, peak, rows=copied, rows_per_s=round(copied / seconds))
    copied, seconds, peak = measured(copy_baseline, settings.warehouse_url, files, 2)
    record(COPY_TWO_STEP, seconds, peak, rows=copied, rows_per_s=round(copied / seconds))
    ingested, seconds, peak = measured(ingest_backfill, settings, files)
    record(INGEST_STEP, seconds, peak, rows=ingested, rows_per_s=round(ingested / seconds))
    _, seconds, peak = measured(held_submissions, settings)
    record("submission checks (first)", seconds, peak)
    _, seconds, peak = measured(pipeline.build_marts, settings)
    record("dbt full build", seconds, peak)
    # A second each at small scale, where noise moves the ratio: the median of three alternating runs. At
    # national scale the first gate reconciles every figure (minutes), and one run each is enough.
    runs: dict[str, list] = {"gate (Great Expectations)": [], "baseline: gate checks in SQL": []}
    for attempt in range(3):
        for name, fn in zip(runs, (gate, hand_sql), strict=True):
            runs[name].append(measured(fn, settings))
        if attempt == 0 and runs["gate (Great Expectations)"][0][1] > 30:
            break
    for name, outcomes in runs.items():
        seconds = [outcome[1] for outcome in outcomes]
        record(
            name,
            statistics.median(seconds),
            max(outcome[2] for outcome in outcomes),
            checks=outcomes[0][0],
            runs_s=[round(value, 2) for value in seconds],
        )
    checks = runs["baseline: gate checks in SQL"][0][0]
    # publish_marts fills ahead itself; measured apart here, that fill is found complete and attached.
    filled, seconds, peak = measured(published_facts.fill_ahead, settings.warehouse_url, BUILD_SCHEMA)
    record(FILL_STEP, seconds, peak, submissions=filled)
    _, seconds, peak = measured(
        pipeline.publish_marts, {"schema": BUILD_SCHEMA, "checks_run": checks, "findings": []}, settings
    )
    record("first publish (swap, every published fact copied, province copies)", seconds, peak)
    _, seconds, peak = measured(resubmit_one_province_month, settings, periods[-1])
    record("resubmission: ingest one file", seconds, peak)
    _, seconds, peak = measured(pipeline.build_marts, settings)
    record("resubmission: dbt build", seconds, peak)
    _, seconds, peak = measured(
        pipeline.publish_marts, {"schema": BUILD_SCHEMA, "checks_run": checks, "findings": []}, settings
    )
    record("resubmission: publish (swap, published facts, 34 province copies)", seconds, peak)
    # The whole publish run after one resubmission, holding nothing or holding the province, alternated:
    # the first run after the first hold ever costs more whatever it holds (measured at national-10y:
    # 46 s before any hold, 55-58 s after, held or not), so one run of each compares two states.
    # Periods with a history of at least two months before them, so the outlier check can judge them.
    publish_runs: dict[str, list] = {"publish run, holds none": [], "publish run, holds one": []}
    for none, one in (("01", "79"), ("04", "92")):
        publish_runs["publish run, holds none"].append(
            measured(publish_after_resubmission, settings, periods[-1], none, 1)
        )
        publish_runs["publish run, holds one"].append(
            measured(publish_after_resubmission, settings, periods[-1], one, 10)
        )
    for name, outcomes in publish_runs.items():
        record(
            name,
            outcomes[-1][1],
            max(outcome[2] for outcome in outcomes),
            held=outcomes[-1][0],
            runs_s=[round(outcome[1], 2) for outcome in outcomes],
        )
    moved = correct_a_split_commune(settings, periods[0])
    outcome, seconds, peak = measured(publish_after_reference_change, settings)
    record(REFERENCE_STEP, seconds, peak, commune=moved, **outcome)
    latency, seconds, peak = measured(bi_latency, settings, periods[-1])
    record("BI queries", seconds, peak)
    loaded, seconds, peak = measured(publish_under_bi_load, settings, periods[-1], checks)
    record("publish under BI load (3 builds and publishes, 17 BI sessions)", seconds, peak, **loaded)
    slowest, seconds, peak = measured(explain_figures, settings, periods[-1])
    record("explain two figures", seconds, peak, slowest_s=slowest)
    report, seconds, peak = measured(write_a_report, settings, periods[-1])
    record(REPORT_STEP, seconds, peak, **report)
    workbooks, seconds, peak = measured(read_workbooks, settings, periods[-1])
    record("read a province's workbook, with and without a formula column", seconds, peak, **workbooks)
    checked, seconds, peak = measured(portal_dry_runs, settings, periods[-1])
    record("portal: check a province's file (CSV, XLSX)", seconds, peak, **checked)

    with psycopg.connect(settings.warehouse_url) as conn:
        facts = conn.execute("select count(*) from marts.fct_indicator_value").fetchone()[0]
        # Everything the warehouse keeps (raw, which the fact store reads, the published facts, marts, indexes, WAL not
        # counted); the baseline's table is dropped by then.
        on_disk = conn.execute("select pg_database_size(current_database())").fetchone()[0]
        # Units of earlier lists (ingestion/unit_history.py): facts on units the list of 2025-06-30 lacks.
        retired = conn.execute(
            """select count(*), count(*) filter (where units.current_unit_key is null)
               from marts.fct_indicator_value as facts inner join marts.dim_unit as units using (unit_key)
               where units.unit_map = 'legacy' and units.valid_to < date '2025-06-30'"""
        ).fetchone()
    ratios = {
        "validated ingest, two workers / raw COPY, two sessions (rows/s, goal >= 0.8)": round(
            steps[INGEST_STEP]["rows_per_s"] / steps[COPY_TWO_STEP]["rows_per_s"], 3
        ),
        "validated ingest, two workers / raw COPY, one session (rows/s)": round(
            steps[INGEST_STEP]["rows_per_s"] / steps[COPY_STEP]["rows_per_s"], 3
        ),
        # The first build is split in two: the submission checks build the fact store, then the marts.
        "republish after one resubmission / full build (goal <= 0.1)": round(
            steps["resubmission: dbt build"]["seconds"]
            / (steps["submission checks (first)"]["seconds"] + steps["dbt full build"]["seconds"]),
            3,
        ),
        # The second pair: both runs with a hold already open, differing only in whether the new file is held.
        "publish run holding one province / holding none (goal <= 1)": round(
            steps["publish run, holds one"]["seconds"] / steps["publish run, holds none"]["seconds"], 3
        ),
        "whole backfill: ingest + checks + build + gate + first publish / raw COPY (goal <= 3)": round(
            sum(
                steps[name]["seconds"]
                for name in (
                    INGEST_STEP,
                    "submission checks (first)",
                    "dbt full build",
                    "gate (Great Expectations)",
                    FILL_STEP,
                    "first publish (swap, every published fact copied, province copies)",
                )
            )
            / steps[COPY_STEP]["seconds"],
            3,
        ),
        # What replaces a rebuild of the fact store after a reference change (the store is a view over raw).
        "publish run after a reference change / raw COPY (goal <= 1)": round(
            steps[REFERENCE_STEP]["seconds"] / steps[COPY_STEP]["seconds"], 3
        ),
        "first full build / raw COPY (before levels and holds: 4.0-4.3)": round(
            (steps["submission checks (first)"]["seconds"] + steps["dbt full build"]["seconds"])
            / steps[COPY_STEP]["seconds"],
            3,
        ),
        "explain, slowest of two figures, seconds (goal < 1)": slowest,
        "publish after one resubmission, seconds (goal <= 5)": steps[
            "resubmission: publish (swap, published facts, 34 province copies)"
        ]["seconds"],
        "BI p95 during a publish, ms (goal <= 100)": loaded["bi_p95_during_publish_ms"],
        "publish under BI load, slowest, seconds (goal <= 5)": max(loaded["publish_s"]),
        "BI queries failed during publishes (goal 0)": loaded["failed_queries"],
        "published facts on units retired before 2025-06-30": retired[0],
        "of them counted in their province only (absorber unknown)": retired[1],
        "warehouse bytes on disk per published fact row": round(on_disk / facts),
        "CSV bytes received per published fact row": round(received / facts),
        "XLSX with a formula column / without, reading (goal <= 1.2)": round(
            workbooks["formulas_s"] / workbooks["plain_s"], 3
        ),
        "portal check of a province file, p95 seconds, slower of CSV and XLSX (goal <= 2)": max(
            checked["csv_p95_s"], checked["xlsx_p95_s"]
        ),
        "report of a quarter, national (DOCX, charts, annex, PDF), seconds (goal <= 30)": steps[REPORT_STEP]["seconds"],
        "report of a quarter, national, peak MB (goal <= 300)": steps[REPORT_STEP]["peak_mb"],
        "gate / same checks in SQL (goal <= 1.5)": round(
            steps["gate (Great Expectations)"]["seconds"] / steps["baseline: gate checks in SQL"]["seconds"], 3
        ),
    }
    return {
        "fact_rows": facts,
        "database_bytes": on_disk,
        "received_bytes": received,
        "steps": steps,
        "ratios": ratios,
        "bi_latency": latency,
    }


def deadline_steps(settings: Settings, period: str, scale: str, record) -> dict:
    """Deadline day (issue 42): the landing watcher idle, then deadline_day; their ratios against the goals."""
    cost, seconds, peak = measured(watcher_cost, settings)
    record(
        "landing watcher idle 30 s on ~8,000 period folders: 2 s listing, inotify",
        seconds,
        peak,
        cpu_share_listing=cost["polling"]["cpu_share_of_a_core"],
        cpu_share_inotify=cost["watching"]["cpu_share_with_safety_listing"],
        drop_to_event_listing_s=cost["polling"]["latency_seconds"],
        drop_to_event_inotify_s=cost["watching"]["latency_seconds"],
    )
    day, seconds, peak = measured(deadline_day, settings, period, scale)
    (settings.data_dir / "deadline-day.json").write_text(json.dumps(day, indent=1, ensure_ascii=False, default=str))
    load = day.pop("load")
    for way, outcome in day.items():
        shown = {key: value for key, value in outcome.items() if key != "seconds"}
        record(f"readable by BI after: {WAYS[way]}", outcome.get("seconds", outcome.get("max_s", 0)), 0, **shown)
    pages = load["pages"]
    record(
        f"deadline load: {load['sessions']} sessions for {load['minutes']:g} min (Airflow, portal, BI running)",
        seconds,
        peak,
        **{key: load[key] for key in ("errors", "counts", "bi", "readable", "memory_mb", "publishes", "agreement")},
        pages=pages,
    )
    checks = [p for p in ("check CSV", "check XLSX") if pages[p].get("count")]
    others = [p for p in pages if p not in checks and pages[p].get("count")]
    agreement = load["agreement"]
    return {
        "first file after the services start -> readable by BI, seconds (goal <= 30)": day["first"]["seconds"],
        "a file dropped into landing -> readable by BI, p95 seconds (goal <= 10)": day["dropped"]["p95_s"],
        "a portal send -> readable by BI, p95 seconds (goal <= 10)": day["sent"]["p95_s"],
        "a hold confirmed on the desk -> readable by BI, p95 seconds (goal <= 10)": day["confirmed"]["p95_s"],
        "deadline load: portal pages, slowest p95 seconds (goal <= 1)": max(pages[p]["p95_s"] for p in others),
        "deadline load: check of a province file, p95 seconds (goal <= 3)": max(pages[p]["p95_s"] for p in checks),
        "deadline load: errors (goal 0)": load["errors"]["count"],
        "deadline load: send -> readable by BI, p95 seconds (goal <= 120)": load["readable"].get("p95_s"),
        "deadline load: the last province's send -> readable by BI, seconds (goal <= 120)": load["readable"].get(
            "last_s"
        ),
        "deadline load: readable sends, slowest, seconds (every one within 120 s)": load["readable"].get("max_s"),
        "deadline load: BI p95 on marts, ms (goal <= 100)": load["bi"]["p95_ms"],
        "deadline load: sends lost, duplicated (goal 0, 0)": ", ".join(
            str(len(agreement[key])) for key in ("lost", "duplicated")
        ),
        "deadline load: sends held by the checks, not readable (as they should not be)": load["readable"].get(
            "held_sends"
        ),
        "landing watcher idle, share of a core: 2 s listing / inotify": (
            f"{cost['polling']['cpu_share_of_a_core']} / {cost['watching']['cpu_share_with_safety_listing']}"
        ),
    }


WAYS = {
    "first": "the first file after the services start",
    "dropped": "a corrected month dropped into landing",
    "sent": "a corrected month sent from the portal",
    "confirmed": "a held figure confirmed on the desk",
}


def draw(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    names = list(results["steps"])
    left.barh(names, [results["steps"][n]["seconds"] for n in names], color="#4477aa")
    left.invert_yaxis()
    left.set_xlabel("seconds")
    left.set_title(f"Steps at scale {results['scale']} ({results.get('fact_rows', 0):,} fact rows)")
    queries = list(results["bi_latency"])
    right.barh(queries, [results["bi_latency"][q]["p95_ms"] for q in queries], color="#66aa55")
    right.axvline(results["bi_p95_goal_ms"], color="#cc3311", linestyle="--", label="goal p95")
    right.invert_yaxis()
    right.set_xlabel("p95 latency, ms")
    right.set_title("BI queries on marts")
    right.legend()
    figure.tight_layout()
    figure.savefig(CHART, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
