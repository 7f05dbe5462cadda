"""Deadline day (issue 42): many officers sign in to the portal at once and check, fix and send their files
(or type them into the entry form), the data team watches its desk, BI tools read the marts, and Airflow
publishes behind them. `deadline_load` measures what each page costs, how long a send takes to reach BI,
every process's peak memory, and then checks that the warehouse agrees with everything the portal told the
officers (nothing lost, nothing registered twice).

Real parts only: the portal served by uvicorn (started here as `python -m portal`, or given by its URL), the
warehouse's Postgres, and whatever publishes (Airflow's services started by the caller with
`python -m warehouse.services start`, or, without them, a `publisher` this module runs in a thread).

Every send's figure is unique: one commune's security teams of the province raised by k, where k is a counter
of the province, so the province's security_teams figure in `marts` tells which send BI reads. A newer send of
a province supersedes an older one: an older one counts as readable once a newer one is.

`python -m bench.load --period 2026-09 --sessions 10 --minutes 0.5` runs it on the warehouse of the
environment (ANTQ_*), starting the portal unless --portal-url is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import html
import io
import itertools
import json
import math
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg

from core.settings import Settings
from ingestion.generator import province_codes_for, write_submission
from portal.auth import create_account
from warehouse import pipeline, services
from warehouse.airflow_runner import airflow_env

INDICATOR = "security_teams"  # the figure each send changes, unique per send of a province
PASSWORD = "deadline-day-password"
TEAM_LOGIN = "load-team"
FAULTS = ("negative", "unknown_unit", "missing_column")
PAGES = ("login page", "login", "home", "check CSV", "check XLSX", "send", "form open", "form send", "team page")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SUBMISSION_LINK = re.compile(r'href="/submission/(\d+)" id="see-submission"')
FORM_INPUT = re.compile(r'<input id="[^"]+" name="([^"]+)" value="([^"]*)"')
FORM_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
LOAD_NAME = re.compile(r"_load(\d+)")
STALE = "không còn là bản mới nhất"  # the form's 409 page (portal/text.py, form_stale)


# antq_bi_reader's queries of bench/run.py's BI_QUERIES, the default of deadline_load(bi_queries=...): copied,
# not imported, as bench/run.py imports this module and tests/test_layers.py allows no circle. Keep them alike.
DASHBOARD_QUERIES = [
    "select indicator_code, value, ratio_pct from marts.mart_national_indicator where period_code = %(period)s",
    "select province_name, value, rank() over (order by value desc) from marts.mart_province_indicator"
    " where indicator_code = 'security_teams' and period_code = %(period)s",
    "select period_code, value from marts.mart_province_indicator"
    " where province_code = '38' and indicator_code = 'anxh_teams' order by period_start",
    "select province_code, ratio_pct from marts.mart_province_indicator"
    " where indicator_code = 'households_in_anxh' and period_code = %(period)s",
    "select unit_key, indicator_code, value from marts.fct_indicator_value"
    " where province_code = '38' and period_code = %(period)s",
]


class LoadError(RuntimeError):
    """The load cannot run as asked (a bad argument, a warehouse without the period published, a portal that
    does not answer): said before anything is measured."""


# --- the files ----------------------------------------------------------------------------------------------


@dataclass
class Province:
    """A province's file of the period as the generator makes it, and the changes each send makes to it."""

    code: str
    period: str
    header: list[str]
    rows: list[list[str]]
    xlsx: bytes
    changed_row: int  # the row whose security teams each send raises by its k
    base_total: int  # the province's security_teams in the generated file
    next_k: int = 1

    def take_k(self) -> int:
        """The next figure of this province: never used by an earlier send, in this run or a previous one."""
        self.next_k += 1
        return self.next_k - 1

    def figure(self, k: int) -> int:
        return self.base_total + k

    def name(self, k: int, fault: str | None = None) -> str:
        return f"{self.code}_{self.period}_load{k}{'_' + fault if fault else ''}.csv"

    def csv(self, k: int, fault: str | None = None) -> bytes:
        """The file of send k: the generated one with one commune's security teams raised by k; with `fault`,
        made faulty as an officer's first try is (a negative count, an unknown unit code, a missing column)."""
        header, rows = list(self.header), [list(row) for row in self.rows]
        value = header.index("value")
        rows[self.changed_row][value] = str(int(rows[self.changed_row][value]) + k)
        if fault == "negative":
            rows[self.changed_row + 1][value] = "-3"  # the same commune's team members
        elif fault == "unknown_unit":
            rows[self.changed_row + 1][header.index("unit_code")] = "99999"
        elif fault == "missing_column":  # not the value column: this file's k must stay in its bytes
            missing = header.index("numerator")
            header.pop(missing)
            for row in rows:
                row.pop(missing)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue().encode()


def _province(code: str, period: str, scratch: Path) -> Province:
    """The province's generated file (CSV, and the XLSX template filled in, which is only checked): rows follow
    the generator's order, a commune's security team members right after its security teams."""
    made = write_submission(scratch, code, period)
    with made.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    xlsx = write_submission(scratch, code, period, file_format="xlsx").read_bytes()
    indicator, value, category = (header.index(c) for c in ("indicator_code", "value", "category"))
    teams = [number for number, row in enumerate(rows) if row[indicator] == INDICATOR and not row[category]]
    if not teams:
        raise LoadError(f"the generated file of {code} {period} has no {INDICATOR} row")
    total = sum(int(rows[number][value]) for number in teams)
    return Province(code, period, header, rows, xlsx, teams[0], total)


def _first_unused_k(settings: Settings, province: Province) -> int:
    """1 + the largest k any earlier send of the province x period used: read from the registry's file names
    (uploads) and from the figures stored (forms), so a second run neither resends bytes (a no-op duplicate)
    nor sends a figure BI already reads."""
    with psycopg.connect(settings.warehouse_url) as conn:
        names = conn.execute(
            "select file_name from ingest.submission where province_code = %s and period_code = %s",
            [province.code, province.period],
        ).fetchall()
        totals = conn.execute(
            """select max(total) from (
                   select sum(v.value) as total from raw.indicator_value as v
                   join ingest.submission as s using (submission_id)
                   where s.province_code = %s and s.period_code = %s and v.indicator_code = %s
                   group by v.submission_id) as t""",
            [province.code, province.period, INDICATOR],
        ).fetchone()[0]
    used = [int(found.group(1)) for (name,) in names if (found := LOAD_NAME.search(name))]
    return max([0, *used, int(totals or 0) - province.base_total]) + 1


# --- what is recorded ---------------------------------------------------------------------------------------


@dataclass
class Send:
    """A send the portal acknowledged (or refused): what the page said, and what figure it carries."""

    session: int
    province: str
    via: str  # upload | form
    file_name: str
    sha256: str | None  # an upload's bytes (a form's file is made by the portal)
    figure: int | None  # the province's security_teams if it counts; None for a faulty file
    page_status: str  # accepted | rejected | duplicate, as the page says
    submission_id: int | None
    acked: float  # time.time() when the page arrived


@dataclass
class Record:
    """Everything measured while the load runs, shared by the sessions (one event loop) and the threads."""

    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    sends: list[Send] = field(default_factory=list)
    bi: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what[:300])


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile, the bench's one rule: the smallest value that `share` of the values are at or
    below (of 5 runs, p95 is the slowest; of 100, the 95th)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_s": round(statistics.median(values), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "max_s": round(max(values), 3),
    }


# --- the sessions -------------------------------------------------------------------------------------------


def _gist(page: str) -> str:
    """What a page says, for an error's record: its verdict, else the text of its main part."""
    found = re.search(r'id="verdict">(.*?)</p>', page, re.S) or re.search(r"<main[^>]*>(.*?)</main>", page, re.S)
    text = re.sub(r"<[^>]+>", " ", found.group(1) if found else page)
    return " ".join(html.unescape(text).split())[:200]


class Session:
    """One signed-in browser: its own cookies, every request timed under its page's name and its answer
    checked for what the page must show."""

    def __init__(self, number: int, base_url: str, login: str, record: Record, think: float):
        self.number, self.login, self.record, self.think = number, login, record, think
        # A connection idle for 4 s is not reused: uvicorn closes one after 5 s, and a request sent on it as it
        # closes fails (a ReadError) where a browser would have sent it again.
        limits = httpx.Limits(keepalive_expiry=4)
        self.client = httpx.AsyncClient(base_url=base_url, timeout=180, follow_redirects=False, limits=limits)
        self.csrf = ""
        self.step = "not started"  # what the session does now, to name one that does not end

    async def request(self, page: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        """The request, timed as `page`; None (and an error recorded) when it raised."""
        self.step = f"waiting for {page} ({method} {url})"
        started = time.perf_counter()
        try:
            answer = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.record.error(f"{page}: {type(error).__name__}: {error}")
            return None
        finally:
            self.step = f"after {page}"
        self.record.timings[page].append(time.perf_counter() - started)
        return answer

    def wrong(self, page: str, answer: httpx.Response | None, expected: str) -> bool:
        """Whether the answer lacks what the page should show (recorded as an error)."""
        if answer is None:
            return True
        if answer.status_code == 200 and expected in answer.text:
            return False
        self.record.error(f"{page} ({self.login}): HTTP {answer.status_code}, no {expected!r}: {_gist(answer.text)}")
        return True

    async def pause(self) -> None:
        self.step = "pausing"
        await asyncio.sleep(random.uniform(0.5, 1.5) * self.think)

    async def sign_in(self, deadline: float) -> bool:
        """GET /login for its token, POST /login; a 429 "busy" (every password check taken: portal/auth.py) is
        waited out as its Retry-After says, and counted apart."""
        while time.monotonic() < deadline:
            page = await self.request("login page", "GET", "/login")
            if page is None or (found := CSRF.search(page.text)) is None:
                self.record.error(f"login page ({self.login}): no csrf token")
                return False
            data = {"login": self.login, "password": PASSWORD, "csrf": found.group(1)}
            answer = await self.request("login", "POST", "/login", data=data)
            if answer is not None and answer.status_code == 429:
                wait = float(answer.headers.get("retry-after", "5"))
                if wait > 30:  # not "busy" but "too many failed logins": this load never fails one
                    self.record.error(f"login ({self.login}): refused for {wait:.0f} s (too many attempts)")
                    return False
                self.record.counts["login busy (429, retried)"] += 1
                await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
                continue
            if answer is None or answer.status_code != 303 or "antq_session" not in self.client.cookies:
                self.record.error(f"login ({self.login}): {answer and answer.status_code}")
                return False
            return await self.home()
        return False

    async def home(self) -> bool:
        """The page a login leads to: the province's (its upload form, and the token every form carries), or
        for the data team a redirect to the desk."""
        answer = await self.request("home", "GET", "/")
        if self.login == TEAM_LOGIN:
            if answer is not None and answer.status_code == 303 and answer.headers.get("location") == "/team":
                return True
            self.record.error(f"home ({self.login}): {answer and answer.status_code}, not sent to /team")
            return False
        if self.wrong("home", answer, 'id="upload"'):
            return False
        self.csrf = CSRF.search(answer.text).group(1)
        return True


class Officer(Session):
    """A province's officer: checks files (a third of them faulty at first), fixes them, sends; or, for a
    session that uses the entry form, opens the security teams' grid, changes one commune and sends it."""

    def __init__(self, number: int, base_url: str, province: Province, record: Record, think: float, form: bool):
        super().__init__(number, base_url, f"load-{number:03d}-{province.code}", record, think)
        self.province, self.uses_form = province, form

    async def run(self, deadline: float) -> None:
        if not await self.sign_in(deadline):
            return
        cycle = 0
        while time.monotonic() < deadline:
            await (self.form_cycle() if self.uses_form else self.file_cycle(cycle, deadline))
            cycle += 1
            await self.pause()

    async def file_cycle(self, cycle: int, deadline: float) -> None:
        """Check (CSV or the XLSX template filled in), fix what was refused, check again, send."""
        province = self.province
        faulty = random.random() < 1 / 3
        k = province.take_k()
        if faulty:
            fault = FAULTS[(self.number + cycle) % len(FAULTS)]
            await self.check("check CSV", province.name(k, fault), province.csv(k, fault), refused=True)
            if random.random() < 0.25:  # sent anyway, without reading the reasons: refused, and told by email
                await self.pause()
                await self.send(province.name(k, fault), province.csv(k, fault), None)
            await self.pause()
        elif cycle % 2:
            await self.check("check XLSX", f"{province.code}_{province.period}.xlsx", province.xlsx, refused=False)
            await self.pause()
        if time.monotonic() >= deadline:
            return
        await self.check("check CSV", province.name(k), province.csv(k), refused=False)
        await self.pause()
        await self.send(province.name(k), province.csv(k), province.figure(k))

    async def check(self, page: str, name: str, data: bytes, refused: bool) -> None:
        form = {"period": self.province.period, "action": "check", "csrf": self.csrf}
        answer = await self.request(page, "POST", "/upload", data=form, files={"file": (name, data)})
        expected = 'class="error" id="verdict"' if refused else 'class="ok" id="verdict"'
        if self.wrong(page, answer, expected):
            return
        if refused:
            reasons = 'id="problems"' in answer.text
            self.record.counts[
                "faulty checks refused with reasons" if reasons else "faulty checks without reasons"
            ] += 1
            if not reasons:
                self.record.error(f"{page} of {name}: refused without reasons")
        else:
            self.record.counts[f"{page}: accepted"] += 1

    async def send(self, name: str, data: bytes, figure: int | None) -> None:
        form = {"period": self.province.period, "action": "submit", "csrf": self.csrf}
        answer = await self.request("send", "POST", "/upload", data=form, files={"file": (name, data)})
        expected = 'class="ok" id="verdict"' if figure is not None else 'class="error" id="verdict"'
        if self.wrong("send", answer, expected):
            return
        self.acknowledged("upload", name, hashlib.sha256(data).hexdigest(), figure, answer)

    def acknowledged(self, via: str, name: str, digest: str | None, figure: int | None, answer) -> None:
        found = SUBMISSION_LINK.search(answer.text)
        if found is None:
            self.record.error(f"send of {name} ({via}): the page names no submission")
            return
        status = "accepted" if figure is not None else "rejected"
        if 'id="problems"' not in answer.text and figure is None:
            self.record.error(f"send of {name}: refused without reasons")
        send = Send(
            self.number, self.province.code, via, name, digest, figure, status, int(found.group(1)), time.time()
        )
        self.record.sends.append(send)
        self.record.counts[f"sends {status}"] += 1

    async def form_cycle(self) -> None:
        """Open the grid of security teams, raise one commune's figure to this send's, send. A 409 "stale page"
        (another session of the province sent in between) is the form's correct answer: counted apart, and
        the officer opens the form again."""
        province = self.province
        for _ in range(5):
            params = {"period": province.period, "grid": INDICATOR}
            opened = await self.request("form open", "GET", "/form", params=params)
            if self.wrong("form open", opened, 'id="entry"'):
                return
            hidden = dict(FORM_HIDDEN.findall(opened.text))
            fields = {html.unescape(n): html.unescape(v) for n, v in FORM_INPUT.findall(opened.text)}
            k = province.take_k()
            commune = province.rows[province.changed_row][province.header.index("unit_code")]
            name = f"value.{INDICATOR}.total.{commune}"
            base = int(province.rows[province.changed_row][province.header.index("value")])
            fields[name] = str(base + k)
            figure = fields.get(f"value.{INDICATOR}.total") or sum(
                int(v) for n, v in fields.items() if n.startswith(f"value.{INDICATOR}.total.") and v
            )
            await self.pause()
            data = {**hidden, **fields, "action": "submit"}
            answer = await self.request("form send", "POST", "/form", data=data)
            if answer is not None and answer.status_code == 409 and STALE in answer.text:
                self.record.counts["form sends refused as stale (409)"] += 1
                continue
            if not self.wrong("form send", answer, 'class="ok" id="verdict"'):
                self.acknowledged("form", f"form k={k}", None, int(figure), answer)
            return


class DataTeam(Session):
    """The data team watching the desk (/team: holds, refusals of the day, completeness) all day."""

    async def run(self, deadline: float, every: float) -> None:
        if not await self.sign_in(deadline):
            return
        while time.monotonic() < deadline:
            answer = await self.request("team page", "GET", "/team")
            self.wrong("team page", answer, 'id="completeness"')
            await asyncio.sleep(every)


# --- what runs beside the sessions: BI, the watch on marts, memory, a publisher ----------------------------


def _bi_reader(url: str, queries: list[str], period: str, record: Record, stop: threading.Event) -> None:
    """A BI tool: antq_bi_reader runs the bench's queries one after the other, every 0.2 s."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set role antq_bi_reader")
        for number in itertools.count():
            if stop.is_set():
                return
            started = time.perf_counter()
            try:
                conn.execute(queries[number % len(queries)], {"period": period}).fetchall()
                record.bi.append(time.perf_counter() - started)
            except psycopg.Error as error:
                record.error(f"BI query: {type(error).__name__}: {str(error).strip()}")
            stop.wait(0.2)


def _watch_marts(url: str, period: str, seen: dict, stop: threading.Event) -> None:
    """Every 0.5 s, as antq_bi_reader: each province's security_teams of the period in `marts`; the first
    moment each (province, figure) was read is kept in `seen`."""
    query = (
        "select province_code, value from marts.mart_province_indicator where period_code = %s and indicator_code = %s"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set role antq_bi_reader")
        while not stop.is_set():
            now = time.time()
            with contextlib.suppress(psycopg.Error):  # the BI readers count failures; this is a probe
                for province, value in conn.execute(query, [period, INDICATOR]).fetchall():
                    if value is not None:
                        seen.setdefault((province, int(value)), now)
            stop.wait(0.5)


def _processes(settings: Settings, portal_pid: int | None, postmaster: int | None) -> dict[str, list]:
    """The processes to sample, by kind: the portal, each Airflow service (a scheduler's executor workers and
    task runners apart), Postgres (the postmaster and its backends)."""
    roots: dict[str, int] = {}
    if portal_pid:
        roots["portal"] = portal_pid
    state = services.running(settings) or {}
    for name, pid in state.get("children", {}).items():
        roots[f"airflow {name}"] = pid
    if state:
        roots["airflow supervisor"] = state["supervisor"]
    if postmaster:
        roots["postgres"] = postmaster
    found: dict[str, list] = defaultdict(list)
    for kind, pid in roots.items():
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            found[kind].append(root)
            children = root.children(recursive=True)
            if kind == "airflow scheduler":  # its LocalExecutor workers and the tasks they run
                found["airflow tasks (executor workers, task runners)"].extend(children)
            elif kind != "airflow supervisor":  # the supervisor's children are the services themselves
                found[kind].extend(children)
    return found


def _sample_memory(settings, portal_pid, postmaster, peaks: dict, stop: threading.Event) -> None:
    """Every 0.5 s: each kind's RSS summed over its processes at that moment, and its largest process; the
    peaks kept in `peaks`. Postgres's sum counts shared buffers once per backend that touched them: an upper
    bound."""
    while not stop.is_set():
        for kind, processes in _processes(settings, portal_pid, postmaster).items():
            sizes = []
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    sizes.append((process.memory_info().rss, process.pid, " ".join(process.cmdline()[:4])))
            if not sizes:
                continue
            peak = peaks.setdefault(kind, {"peak_total_mb": 0.0, "peak_process_mb": 0.0, "processes": 0})
            peak["peak_total_mb"] = max(peak["peak_total_mb"], round(sum(s[0] for s in sizes) / 2**20, 1))
            peak["processes"] = max(peak["processes"], len(sizes))
            largest = max(sizes)
            if largest[0] / 2**20 > peak["peak_process_mb"]:
                peak["peak_process_mb"] = round(largest[0] / 2**20, 1)
                peak["largest"] = largest[2][:120]
        stop.wait(0.5)


def _postmaster(url: str) -> int | None:
    """The local Postgres server's main process (the parent of this connection's backend), or None when the
    server is elsewhere."""
    with psycopg.connect(url) as conn, contextlib.suppress(psutil.Error):  # the backend ends with its connection
        parent = psutil.Process(conn.execute("select pg_backend_pid()").fetchone()[0]).parent()
        return parent.pid if parent else None
    return None


def _publish_when_waiting(settings: Settings, publisher: Callable, record: Record, stop: threading.Event) -> None:
    """Without Airflow: run `publisher(settings)` whenever a submission waits to publish (what antq_publish
    does when a send asks for it)."""
    while not stop.is_set():
        if pipeline.waiting_to_publish(settings):
            try:
                publisher(settings)
            except Exception as error:  # noqa: BLE001 (a failed publish run is a finding, not the end of the load)
                # A gate that blocks a run is told to the data team by its alert, which publishes() counts.
                if not isinstance(error, pipeline.GateFailed):
                    record.error(f"publish run: {type(error).__name__}: {error}")
        stop.wait(1)


def publishes(settings: Settings, since: float) -> dict:
    """What the publish runs did since `since`, whoever ran them (Airflow or a publisher): marts published,
    and runs the gate blocked (each queues one gate_failed alert for the data team), with their subjects."""
    with psycopg.connect(settings.warehouse_url) as conn:
        published = conn.execute(
            "select count(*) from meta.publish_log where published_at >= to_timestamp(%s)", [since]
        ).fetchone()[0]
        blocked = conn.execute(
            """select subject from meta.alert_outbox
               where kind = 'gate_failed' and queued_at >= to_timestamp(%s) order by queued_at""",
            [since],
        ).fetchall()
    return {"published": published, "blocked_by_gate": len(blocked), "blocked": [s for (s,) in blocked][:5]}


@contextlib.contextmanager
def _running(targets: list[tuple[Callable, tuple]]) -> Iterator[threading.Event]:
    """Threads running target(*args, stop) until the block ends."""
    stop = threading.Event()
    threads = [threading.Thread(target=t, args=(*args, stop), daemon=True) for t, args in targets]
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)


# --- after the sessions: readable by BI, and does the warehouse agree ---------------------------------------


def _readable(sends: list[Send], seen: dict, ended: float, held: set[str] = frozenset()) -> dict:
    """Seconds from each accepted send's acknowledgement until antq_bi_reader read its figure, or a newer
    send's of its province (which supersedes it): p50, p95, the last send's (last_s: the last province to send,
    at the deadline), and how long after the sessions ended every province's last send was readable. The sends
    of a province a hold keeps out at the end (`held`: its newest version is held, as a check decided) are
    counted apart: BI is right not to read them."""
    accepted = sorted(
        (s for s in sends if s.page_status == "accepted" and s.province not in held), key=lambda s: s.submission_id
    )
    kept_out = sum(1 for s in sends if s.page_status == "accepted" and s.province in held)
    by_province: dict[str, list[Send]] = defaultdict(list)
    for send in accepted:
        by_province[send.province].append(send)
    latency, unread, at = [], [], {}
    for province, own in by_province.items():
        soonest = None  # the earliest moment a send at least this new was read, from the newest back
        for send in reversed(own):
            moment = seen.get((province, send.figure))
            soonest = moment if soonest is None or (moment is not None and moment < soonest) else soonest
            at[send.submission_id] = soonest
            if soonest is None:
                unread.append(f"{province} #{send.submission_id} (figure {send.figure})")
            else:
                latency.append(max(0.0, soonest - send.acked))
    last = max(accepted, key=lambda s: s.acked, default=None)
    finals = [at[own[-1].submission_id] for own in by_province.values()]
    return {
        **_quantiles(latency),
        "last_s": round(max(0.0, at[last.submission_id] - last.acked), 1) if last and at[last.submission_id] else None,
        "every_province_readable_after_end_s": round(max(0.0, max(finals) - ended), 1)
        if finals and None not in finals
        else None,
        "not_readable": unread[:20],
        "not_readable_count": len(unread),
        "held_sends": kept_out,
    }


def settle(settings: Settings, seconds: float) -> float:
    """Wait (at most `seconds`) until nothing waits to publish and no file waits in landing; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if not pipeline.find_new_files(settings) and not pipeline.waiting_to_publish(settings):
            break
        time.sleep(1)
    return round(time.monotonic() - started, 1)


def agreement(settings: Settings, sends: list[Send], period: str, since: float) -> dict:
    """Does the warehouse agree with what the portal told the officers? Each acknowledged send is in
    ingest.submission once, with the status its page said; each accepted one counts in `marts` (itself or a
    newer version of its province: marts shows that version's figure) or is held; each refused one has its
    reasons and its rejection alert; no file is left in landing unregistered; no bytes are registered twice."""
    lost, duplicated, problems = [], [], []
    ids = [s.submission_id for s in sends]
    duplicated += [f"submission #{i} acknowledged {n} times" for i, n in Counter(ids).items() if n > 1]
    with psycopg.connect(settings.warehouse_url) as conn:
        rows = conn.execute(
            """select s.submission_id, s.status, s.sha256, s.province_code, s.period_code,
                      (select count(*) from ingest.rejection as r where r.submission_id = s.submission_id),
                      (select a.subject from meta.alert_outbox as a
                       where a.alert_key = 'file_rejected:' || s.submission_id)
               from ingest.submission as s where s.submission_id = any(%s)""",
            [ids],
        ).fetchall()
        latest = dict(
            conn.execute(
                """select s.province_code, (s.submission_id, st.state) from ingest.submission as s
                   join ingest.submission_state as st using (submission_id)
                   where s.period_code = %s and s.status = 'accepted'""",
                [period],
            ).fetchall()
        )
        in_marts = dict(
            conn.execute(
                "select province_code, value from marts.mart_province_indicator"
                " where period_code = %s and indicator_code = %s",
                [period, INDICATOR],
            ).fetchall()
        )
        twice = conn.execute(
            """select sha256, array_agg(submission_id order by submission_id) from ingest.submission
               where period_code = %s and received_at >= to_timestamp(%s) group by sha256 having count(*) > 1""",
            [period, since],
        ).fetchall()
    duplicated += [f"bytes {digest[:12]} registered as {ids_}" for digest, ids_ in twice]
    registry = {row[0]: row for row in rows}
    figures = {s.submission_id: s.figure for s in sends}
    for send in sends:
        row = registry.get(send.submission_id)
        said = f"{send.province} {send.file_name} (#{send.submission_id}, page: {send.page_status})"
        if row is None:
            lost.append(f"{said}: not in ingest.submission")
            continue
        _, status, digest, province, row_period, reasons, alerted = row
        if (province, row_period) != (send.province, period) or (send.sha256 and digest != send.sha256):
            lost.append(f"{said}: the registry's #{send.submission_id} is another file ({province} {row_period})")
        elif send.page_status == "rejected":
            if status != "rejected":
                lost.append(f"{said}: registry says {status}")
            if not reasons:
                problems.append(f"{said}: refused without reasons in ingest.rejection")
            if alerted is None or send.file_name not in alerted:
                problems.append(f"{said}: no rejection alert naming it in meta.alert_outbox ({alerted})")
        elif status not in ("accepted", "superseded"):
            lost.append(f"{said}: registry says {status}")
        else:
            newest, state = latest.get(province, (None, None))
            if state not in ("published", "held"):
                lost.append(f"{said}: its province's latest version #{newest} is {state}, neither counted nor held")
    for province, (newest, state) in latest.items():
        expected = figures.get(newest)
        if state == "published" and expected is not None and in_marts.get(province) != expected:
            problems.append(
                f"{province}: marts shows {in_marts.get(province)}, its published #{newest} says {expected}"
            )
    landing = [str(p) for p in pipeline.find_new_files(settings)]
    problems += [f"left in landing, unregistered: {p}" for p in landing]
    scratch = settings.data_dir / "portal" / "uploads"  # each upload's folder, removed once answered
    problems += [f"left in the portal's uploads: {p}" for p in (scratch.iterdir() if scratch.is_dir() else [])]
    result = {
        "sends": len(sends),
        "accepted": sum(s.page_status == "accepted" for s in sends),
        "refused": sum(s.page_status == "rejected" for s in sends),
        "held": sorted(p for p, (_, state) in latest.items() if state == "held"),
        "lost": lost,
        "duplicated": duplicated,
        "problems": problems,
    }
    line = f"agreement: {len(sends)} sends, {len(lost)} lost, {len(duplicated)} duplicated"
    print(line + "".join(f"\n  {what}" for what in [*lost, *duplicated, *problems]), flush=True)
    return result


# --- the run ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve_portal(settings: Settings, timeout: float = 120) -> Iterator[tuple[str, int]]:
    """`python -m portal` on a free port, on the settings' warehouse and folders: (its URL, its pid) until the
    block ends. Its output goes to <data dir>/logs/load-portal.log."""
    port = free_port()
    env = {**airflow_env(settings, settings.warehouse_url), "ANTQ_PORTAL_HOST": "127.0.0.1"}
    env["ANTQ_PORTAL_PORT"] = str(port)
    log_path = settings.data_dir / "logs" / "load-portal.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "portal"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/login", timeout=5).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise LoadError(f"the portal did not start (exit {process.poll()}); {log_path}:\n{tail}")
            time.sleep(0.3)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _check_arguments(settings: Settings, period: str, sessions: int, minutes: float) -> list[str]:
    """The provinces of the period; LoadError, said plainly, for what the load cannot run on."""
    if sessions < 1 or minutes <= 0:
        raise LoadError(f"sessions must be at least 1 and minutes more than 0 (got {sessions}, {minutes})")
    try:
        provinces = province_codes_for(period)
    except ValueError as error:
        raise LoadError(f"{period!r} is not a period: {error}") from error
    if len(provinces) != 34:
        raise LoadError(f"{period} is on the legacy map ({len(provinces)} provinces): deadline day is today's 34")
    with psycopg.connect(settings.warehouse_url) as conn:
        published = conn.execute("select to_regclass('marts.mart_province_indicator') is not null").fetchone()[0]
        if published:
            query = "select exists (select from marts.mart_province_indicator where period_code = %s)"
            published = conn.execute(query, [period]).fetchone()[0]
    if not published:
        raise LoadError(f"the warehouse has no published marts for {period}: publish the period first")
    return provinces


def _accounts(settings: Settings, provinces: list[Province], sessions: int) -> None:
    """One account a session (load-NNN-<province>), the provinces in turn, and the data team's."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for number in range(sessions):
            province = provinces[number % len(provinces)]
            create_account(conn, f"load-{number:03d}-{province.code}", PASSWORD, province.code, f"Cán bộ {number}")
        create_account(conn, TEAM_LOGIN, PASSWORD, None, "Nhóm dữ liệu (tải)")


async def _sessions(url, provinces, sessions, seconds, think, form_share, team_every, record) -> float:
    """Every session until the deadline, their starts spread over the first tenth of it (at most 20 s): a
    deadline day's morning, not one instant. Returns the moment (time.time()) they all ended."""
    deadline = time.monotonic() + seconds
    ramp = min(20.0, seconds / 10)
    forms = round(sessions * form_share)
    officers = [
        Officer(n, url, provinces[n % len(provinces)], record, think, form=n % sessions >= sessions - forms)
        for n in range(sessions)
    ]
    team = DataTeam(sessions, url, TEAM_LOGIN, record, think)

    async def started(delay: float, work):
        await asyncio.sleep(delay)
        try:
            await work
        except Exception as error:  # noqa: BLE001 (one session's crash is an error counted, not the end)
            record.error(f"session crashed: {type(error).__name__}: {error}")

    jobs = [started(ramp * n / sessions, o.run(deadline)) for n, o in enumerate(officers)]
    jobs.append(started(0, team.run(deadline, team_every)))
    tasks = [asyncio.ensure_future(job) for job in jobs]
    # Every request has a timeout, so each session ends soon after the deadline; one that does not is named.
    _, late = await asyncio.wait(tasks, timeout=seconds + 240)
    for task, session in zip(tasks, [*officers, team], strict=True):
        if task in late:
            record.error(f"session {session.login} had not ended 240 s after the deadline: {session.step}")
            task.cancel()
    ended = time.time()
    for session in [*officers, team]:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.client.aclose(), 10)
    return ended


def deadline_load(
    settings: Settings,
    period: str,
    *,
    sessions: int = 100,
    minutes: float = 10,
    portal_url: str | None = None,
    portal_pid: int | None = None,
    form_share: float = 0.25,
    think_seconds: float = 3.0,
    team_every: float = 5.0,
    bi_readers: int = 3,
    bi_queries: list[str] | None = None,
    publisher: Callable[[Settings], object] | None = None,
    settle_seconds: float = 180,
    seed: int = 42,
) -> dict:
    """Deadline day on a warehouse whose `period` (a month or quarter of today's map) is published: `sessions`
    officers of the 34 provinces in turn (`form_share` of them through the entry form), one data-team session
    reading /team every `team_every` s and `bi_readers` BI threads, for `minutes`; then at most
    `settle_seconds` for everything sent to publish, and the agreement check.

    The portal: `portal_url` (its process `portal_pid`, for the memory sampled; else the pid file of
    `python -m portal` is read), or None to start `python -m portal` here. What publishes: Airflow's services
    the caller started (`python -m warehouse.services start`), or `publisher(settings)` (e.g.
    pipeline.publish_new_figures), run here whenever a submission waits. `bi_queries`: antq_bi_reader's
    queries (%(period)s is the period), by default DASHBOARD_QUERIES, bench/run.py's. Officers pause
    `think_seconds` (±50%) between pages.

    Returns: pages (count, p50/p95/max seconds of each page and action), errors (count and the first 20),
    counts (faulty checks refused with reasons, form sends refused as stale, logins told to wait...),
    bi (queries, p95 ms), readable (seconds from a send's acknowledgement until BI reads it: p50, p95, the
    last send's, every province after the end), memory_mb (peak RSS by kind of process, and the largest
    process), settle_s, publishes (marts published, runs the gate blocked), agreement (sends, lost,
    duplicated, problems)."""
    from core.db import warehouse_url

    random.seed(seed)
    settings = settings if settings.warehouse_url else _with_url(settings, warehouse_url(settings))
    codes = _check_arguments(settings, period, sessions, minutes)
    bi_queries = bi_queries or DASHBOARD_QUERIES
    scratch = settings.data_dir / "load-files"
    used = codes[: min(sessions, len(codes))]
    provinces = [_province(code, period, scratch) for code in used]
    shutil.rmtree(scratch, ignore_errors=True)
    for province in provinces:
        province.next_k = _first_unused_k(settings, province)
    _accounts(settings, provinces, sessions)
    record, seen, memory = Record(), {}, {}
    since = time.time()
    with contextlib.ExitStack() as stack:
        if portal_url is None:
            portal_url, portal_pid = stack.enter_context(serve_portal(settings))
        elif portal_pid is None:
            with contextlib.suppress(FileNotFoundError, ValueError):
                portal_pid = int(services.portal_pid_file(settings).read_text())
        threads = [(_sample_memory, (settings, portal_pid, _postmaster(settings.warehouse_url), memory))]
        threads.append((_watch_marts, (settings.warehouse_url, period, seen)))
        threads += [(_bi_reader, (settings.warehouse_url, bi_queries, period, record))] * bi_readers
        if publisher is not None:
            threads.append((_publish_when_waiting, (settings, publisher, record)))
        with _running(threads):
            time.sleep(1)  # the watch reads what marts show before the first send
            ended = asyncio.run(
                _sessions(portal_url, provinces, sessions, minutes * 60, think_seconds, form_share, team_every, record)
            )
            settled = settle(settings, settle_seconds)
            time.sleep(1.5)  # the watch's last look
    agreed = agreement(settings, record.sends, period, since)
    readable = _readable(record.sends, seen, ended, held=set(agreed["held"]))
    result = {
        "period": period,
        "sessions": sessions,
        "minutes": minutes,
        "pages": {page: _quantiles(record.timings[page]) for page in PAGES},
        "errors": {"count": len(record.errors), "first": record.errors[:20]},
        "counts": dict(sorted(record.counts.items())),
        "bi": {"queries": len(record.bi), "p95_ms": round(_quantiles(record.bi).get("p95_s", 0) * 1000, 2)},
        "readable": readable,
        "memory_mb": memory,
        "settle_s": settled,
        "publishes": publishes(settings, since),
        "agreement": agreed,
    }
    result["bi"]["max_ms"] = round(max(record.bi, default=0) * 1000, 2)
    return result


def _with_url(settings: Settings, url: str) -> Settings:
    from dataclasses import replace

    return replace(settings, warehouse_url=url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--period", required=True, help="a published month or quarter of today's map, e.g. 2026-09")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--portal-url", help="a portal already serving this warehouse; else one is started")
    parser.add_argument("--think", type=float, default=3.0, help="seconds an officer pauses between pages (±50%%)")
    parser.add_argument("--publish-here", action="store_true", help="no Airflow: publish in this process")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    options = parser.parse_args(argv)
    publisher = pipeline.publish_new_figures if options.publish_here else None
    try:
        result = deadline_load(
            Settings.from_env(),
            options.period,
            sessions=options.sessions,
            minutes=options.minutes,
            portal_url=options.portal_url,
            think_seconds=options.think,
            publisher=publisher,
        )
    except LoadError as error:
        print(f"deadline load: {error}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if options.out:
        options.out.write_text(text + "\n", encoding="utf-8")
    agreed = result["agreement"]
    return 1 if result["errors"]["count"] or agreed["lost"] or agreed["duplicated"] else 0


if __name__ == "__main__":
    sys.exit(main())
