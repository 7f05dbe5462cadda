"""How long from each way a figure comes in to the moment BI reads it, with Airflow's services (make airflow)
and the portal (make portal) running as they do in production, each its own process.

Four ways in, each measured as the seconds until antq_bi_reader reads the new figure in `marts`:
- the first file dropped into landing right after the services start (they start with no run of their own
  on the path: the monthly history tests wait for their day);
- a corrected month dropped into landing, one province after another;
- the same sent from the portal by the province's officer (the portal ingests it and asks for a publish);
- a figure far from its history, held by the submission checks, then confirmed by the data team on the desk.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.load import CSRF, free_port, percentile, serve_portal
from core.settings import Settings
from ingestion.generator import rewrite_submission, write_submission
from warehouse.airflow_runner import airflow_env

READABLE_WITHIN = 600  # seconds: a way in slower than this fails the bench, naming it
FIGURE = (
    "select value from marts.mart_province_indicator"
    " where province_code = %s and period_code = %s and indicator_code = 'security_teams'"
)
PASSWORD = "bench-password-of-{login}"


@dataclass
class Stack:
    """The services and the portal running on the bench's warehouse."""

    settings: Settings
    portal_url: str
    portal_pid: int
    started_at: float  # when `services start` returned


@contextlib.contextmanager
def running_stack(settings: Settings) -> Iterator[Stack]:
    """`make airflow` and `make portal` (bench/load.py's serve_portal) on the bench's warehouse, ports of their
    own, stopped at the end."""
    env = {**airflow_env(settings, settings.warehouse_url), "ANTQ_AIRFLOW_PORT": str(free_port())}
    service = [sys.executable, "-m", "warehouse.services"]
    subprocess.run([*service, "start"], env=env, check=True, timeout=600)
    started_at = time.perf_counter()
    try:
        with serve_portal(settings) as (url, pid):
            yield Stack(settings, url, pid, started_at)
    finally:
        subprocess.run([*service, "stop"], env=env, check=True, timeout=300)


def account(settings: Settings, login: str, province: str | None) -> tuple[str, str]:
    from portal.auth import create_account

    password = PASSWORD.format(login=login)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        create_account(conn, login, password, province, "Bench")
    return login, password


def signed_in(url: str, login: str, password: str, home: str = "/", timeout: float = 300) -> tuple[httpx.Client, str]:
    """A client signed in to the portal as `login`, and the csrf token of its forms (read on `home`)."""
    client = httpx.Client(base_url=url, timeout=timeout)
    csrf = CSRF.search(client.get("/login").text).group(1)
    answer = client.post("/login", data={"login": login, "password": password, "csrf": csrf})
    if answer.status_code >= 400:
        raise RuntimeError(f"{login} could not sign in: {answer.status_code}")
    page = client.get(home)
    return client, CSRF.search(page.text).group(1)


def figure(conn: psycopg.Connection, province: str, period: str) -> list:
    return conn.execute(FIGURE, [province, period]).fetchall()


def until_changed(conn: psycopg.Connection, province: str, period: str, before: list, since: float, what: str) -> float:
    """Seconds from `since` until antq_bi_reader reads the province's figure as other than `before`."""
    while (seen := figure(conn, province, period)) == before:
        if time.perf_counter() - since > READABLE_WITHIN:
            raise TimeoutError(f"{what}: {province} {period} still reads {seen} after {READABLE_WITHIN} s")
        time.sleep(0.2)
    return time.perf_counter() - since


def corrected_file(settings: Settings, province: str, period: str, tag: str, times: int = 1) -> Path:
    """A province's month, outside landing, with its security_teams figures `times` as high and its first one
    raised by 1,000 and the number of versions the province sent of the month: new bytes and a new figure at
    every run on the same warehouse (the same file again is a duplicate: nothing would be published), and a
    change too small for the outlier check unless `times` makes it one."""
    with psycopg.connect(settings.warehouse_url) as conn:
        sent = conn.execute(
            "select count(*) from ingest.submission where province_code = %s and period_code = %s", [province, period]
        ).fetchone()[0]
    scratch = settings.data_dir / "scratch"
    made = write_submission(scratch, province, period)
    rows = iter(range(1 << 30))
    fixed = rewrite_submission(
        made,
        scratch / f"{province}_{period}_{tag}{sent + 1}.csv",
        "security_teams",
        lambda v: v * times + (1000 + sent if next(rows) == 0 else 0),
    )
    made.unlink()
    return fixed


def drop(settings: Settings, province: str, period: str, path: Path) -> None:
    target = settings.landing_dir / province / period / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)  # appears whole, as the portal lands a file


def summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "p50_s": round(statistics.median(ordered), 1),
        "p95_s": round(percentile(ordered, 0.95), 1),
        "max_s": round(ordered[-1], 1),
        "runs_s": [round(value, 1) for value in seconds],
    }


def first_file_after_start(stack: Stack, period: str, province: str) -> dict:
    """A corrected month dropped the moment the services have started: seconds until BI reads it."""
    with psycopg.connect(stack.settings.warehouse_url, autocommit=True) as conn:
        conn.execute("set role antq_bi_reader")
        before = figure(conn, province, period)
        path = corrected_file(stack.settings, province, period, "first")
        landed = time.perf_counter()
        drop(stack.settings, province, period, path)
        seconds = until_changed(conn, province, period, before, landed, "first file after the start")
    print(f"    first file after the services started: readable in {seconds:.1f} s", flush=True)
    return {"seconds": round(seconds, 1), "since_start_s": round(time.perf_counter() - stack.started_at, 1)}


def dropped_files(stack: Stack, period: str, provinces: list[str]) -> dict:
    """One province after another drops a corrected month into landing."""
    seconds = []
    with psycopg.connect(stack.settings.warehouse_url, autocommit=True) as conn:
        conn.execute("set role antq_bi_reader")
        for province in provinces:
            before = figure(conn, province, period)
            path = corrected_file(stack.settings, province, period, "drop")
            landed = time.perf_counter()
            drop(stack.settings, province, period, path)
            seconds.append(until_changed(conn, province, period, before, landed, "a file dropped into landing"))
            print(f"    {province}: dropped -> readable in {seconds[-1]:.1f} s", flush=True)
    return summary(seconds)


def portal_sends(stack: Stack, period: str, provinces: list[str]) -> dict:
    """Each province's officer sends a corrected month from the portal: seconds from the portal's answer (the
    file ingested, a publish asked for) until BI reads it; and the send's own seconds."""
    seconds, answers = [], []
    with psycopg.connect(stack.settings.warehouse_url, autocommit=True) as conn:
        conn.execute("set role antq_bi_reader")
        for province in provinces:
            client, csrf = signed_in(stack.portal_url, *account(stack.settings, f"fresh-{province}", province))
            with contextlib.closing(client):
                before = figure(conn, province, period)
                path = corrected_file(stack.settings, province, period, "sent")
                started = time.perf_counter()
                answer = client.post(
                    "/upload",
                    data={"period": period, "action": "submit", "csrf": csrf},
                    files={"file": (path.name, path.read_bytes())},
                )
                sent = time.perf_counter()
                if answer.status_code != 200 or 'class="ok" id="verdict"' not in answer.text:
                    raise RuntimeError(f"the portal refused {path.name}: {answer.status_code}")
                answers.append(sent - started)
                seconds.append(until_changed(conn, province, period, before, sent, "a file sent from the portal"))
                print(f"    {province}: sent (answered in {answers[-1]:.1f} s) -> readable in {seconds[-1]:.1f} s")
    return {**summary(seconds), "send_answered_p50_s": round(statistics.median(answers), 2)}


def confirmed_holds(stack: Stack, period: str, provinces: list[str]) -> dict:
    """A province sends a figure ten times its history (the submission checks hold it); once the hold is on
    the desk, the data team confirms it there: seconds from the confirmation until BI reads the figure."""
    settings, seconds = stack.settings, []
    team, csrf = signed_in(stack.portal_url, *account(settings, "team-fresh", None), home="/team")
    with contextlib.closing(team), psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for province in provinces:
            conn.execute("reset role")
            known = {row[0] for row in conn.execute("select hold_id from meta.hold")}
            conn.execute("set role antq_bi_reader")
            before = figure(conn, province, period)
            path = corrected_file(settings, province, period, "outlier", times=10)
            drop(settings, province, period, path)
            for hold in _new_holds(conn, province, period, known):  # one per finding: every one confirmed
                confirmed = time.perf_counter()
                answer = team.post(
                    f"/team/hold/{hold}",
                    data={"decision": "confirm", "reason": "bench: the province confirmed the figure", "csrf": csrf},
                )
                if answer.status_code not in (200, 303):
                    raise RuntimeError(f"the desk refused to confirm hold {hold}: {answer.status_code}")
            seconds.append(until_changed(conn, province, period, before, confirmed, "a hold confirmed on the desk"))
            print(f"    {province}: hold(s) confirmed -> readable in {seconds[-1]:.1f} s", flush=True)
    return summary(seconds)


def _new_holds(conn: psycopg.Connection, province: str, period: str, known: set[int]) -> list[int]:
    """The open holds a publish run made of the province's new submission (waited for; recorded together)."""
    deadline = time.monotonic() + READABLE_WITHIN
    while time.monotonic() < deadline:
        conn.execute("reset role")
        found = conn.execute(
            "select h.hold_id from meta.hold as h join ingest.submission as s using (submission_id)"
            " where s.province_code = %s and s.period_code = %s and h.status = 'open'"
            " order by h.hold_id desc",
            [province, period],
        ).fetchall()
        conn.execute("set role antq_bi_reader")
        new = [row[0] for row in found if row[0] not in known]
        if new:
            return new
        time.sleep(0.5)
    raise TimeoutError(f"no hold of {province} {period} within {READABLE_WITHIN} s")
