"""A portal process killed (kill -9) while an officer sends a file loses nothing it acknowledged (issue 42).

The portal is served as its own process (`python -m portal`, on the test's warehouse through the environment),
an officer of Thanh Hóa (38) signs in, and sends (action=submit) the province's file for a month, several
thousand rows, over a raw socket; the portal is killed at one moment of the send:

1. in the middle of the request body (half of it, and all but its last bytes);
2. after the whole body, before the answer: at once; with the file saved in the upload's scratch folder (the
   portal waits to record the upload); with the file landed whole (its ingest waits for the province × period
   lock); in the ingest's transaction (its submission inserted, its COPY into raw waiting for raw); after the
   ingest committed (recording its result);
3. after the answer.

Each moment but "at once" is made certain by a lock another session holds on what the portal needs next, and
is checked (the portal's session waits on it, no answer came) before the kill: a moment not reached fails.
After the kill nothing of the portal is restarted: what Airflow runs next (`pipeline.ingest_waiting`) picks up
what waits in landing. Then, for every attempt: an acknowledged file (an answer naming its submission) is
accepted with all its rows in raw; one not acknowledged is so too, or absent: never a part of it, never twice,
never a file left in landing for a later run. The officer, told nothing, then sends each file again: what was
registered is named, what was not is received, nothing twice. A killed portal leaves its scratch folder (and a
landing copy cut short, a `.part` file), which a portal started later clears once old."""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from ingestion.generator import write_submission
from ingestion.loader import discover, sha256_of
from portal import officer as officer_module
from portal.auth import create_account
from tests.helpers import free_port, held_by
from warehouse import pipeline
from warehouse.airflow_runner import airflow_env

pytestmark = pytest.mark.chaos

PASSWORD = "mat-khau-thu-nghiem"
PROVINCE = "38"  # Thanh Hóa: the most communes of today's map, several thousand rows a month


# The portal as its own process.


def serve(settings, log: Path) -> tuple[subprocess.Popen, str]:
    """`python -m portal` on a free port, with the test warehouse's settings in its environment; once it answers."""
    port = free_port()
    env = airflow_env(settings, settings.warehouse_url) | {
        "ANTQ_PORTAL_HOST": "127.0.0.1",
        "ANTQ_PORTAL_PORT": str(port),
    }
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "portal"], env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the portal ended at its start (exit {process.returncode}): {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("the portal did not answer within 60 s")


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL


def signed_in(base: str) -> tuple[str, str]:
    """An officer of 38 signed in: the session cookie and the CSRF token of the session's forms (a session
    lives in the warehouse: it outlives the portal process it was made by)."""
    with httpx.Client(base_url=base) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        response = client.post("/login", data={"login": "thanhhoa", "password": PASSWORD, "csrf": csrf})
        assert response.status_code == 303, response.text
        token = client.cookies["antq_session"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
    return token, csrf


# A send over a raw socket, so that it can stop anywhere in its body.


def upload_request(base: str, token: str, csrf: str, period: str, path: Path) -> bytes:
    """The whole HTTP request a browser sends for the upload form, action=submit."""
    boundary = "----antq" + os.urandom(8).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (("csrf", csrf), ("period", period), ("action", "submit"))
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + path.read_bytes()
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {base.removeprefix('http://')}\r\nCookie: antq_session={token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def opened(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def answered(sock: socket.socket) -> bool:
    """Whether any byte of an answer has come (without waiting)."""
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    finally:
        sock.setblocking(True)


def send_whole(sock: socket.socket, request: bytes) -> tuple[int, float]:
    """Send the whole request and read the answer: the submission it names, and how long it took."""
    started = time.monotonic()
    sock.sendall(request)
    answer = read_answer(sock)
    found = re.search(rb'href="/submission/(\d+)" id="see-submission"', answer)
    assert answer.startswith(b"HTTP/1.1 200 OK") and found, f"no submission named in the answer: {answer[:3000]!r}"
    return int(found.group(1)), time.monotonic() - started


def read_answer(sock: socket.socket) -> bytes:
    """Everything the portal sent until it closed the connection (or died)."""
    sock.settimeout(60)
    received = b""
    try:
        while block := sock.recv(1 << 16):
            received += block
    except ConnectionResetError:
        pass
    return received


# What the warehouse shows, and waiting for a moment of the portal's work.


def portal_waits(url: str, query_like: str, wait_event_type: str = "Lock") -> bool:
    """Whether a session (the portal's) runs a statement like `query_like` and waits on a lock for it."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            """select count(*) > 0 from pg_stat_activity
               where datname = current_database() and pid <> pg_backend_pid()
                 and wait_event_type = %s and query ilike %s""",
            [wait_event_type, query_like],
        ).fetchone()[0]


def registered(url: str, digest: str) -> list[tuple]:
    """The submissions of these bytes: (id, status, row_count, rows in raw), in one snapshot."""
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return conn.execute(
            """select s.submission_id, s.status, s.row_count,
                      (select count(*) from raw.indicator_value as r where r.submission_id = s.submission_id)
               from ingest.submission as s where s.sha256 = %s order by s.submission_id""",
            [digest],
        ).fetchall()


def until(ready: Callable[[], bool], what: str, process: subprocess.Popen, timeout: float = 30) -> float:
    """Wait until ready() while the portal runs; how long it took. A moment never reached fails the test."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            pytest.fail(f"the portal ended before {what} (exit {process.returncode})")
        if ready():
            return time.monotonic() - start
        time.sleep(0.01)
    pytest.fail(f"not reached within {timeout} s: {what}")


def sessions_gone(url: str) -> None:
    """Until the killed portal's sessions have ended (Postgres rolls back what they had not committed)."""
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
            " and backend_type = 'client backend'"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed portal's sessions are still on the warehouse"
            time.sleep(0.05)


def scratch_folders(settings) -> list[Path]:
    uploads = settings.data_dir / "portal" / "uploads"
    return sorted(uploads.iterdir()) if uploads.is_dir() else []


def part_files(settings) -> list[Path]:
    return sorted(settings.landing_dir.glob("*/*/.*.part"))


# The moments.


class Attempt:
    """One send of a province's file for `period`, and the kill at one moment of it."""

    def __init__(self, settings, folder: Path, period: str, moment: str):
        self.settings, self.period, self.moment = settings, period, moment
        self.file = write_submission(folder, PROVINCE, period)
        with self.file.open(encoding="utf-8", newline="") as handle:
            self.rows = sum(1 for _ in csv.DictReader(handle))
        self.digest = sha256_of(self.file)
        self.acknowledged: int | None = None  # the submission id an answer named
        self.seen = ""  # what the test saw at the kill


def run(attempt: Attempt, base: str, process: subprocess.Popen, token: str, csrf: str) -> None:
    """Send the attempt's file and kill the portal at its moment; what was seen goes into attempt.seen."""
    settings, url = attempt.settings, attempt.settings.warehouse_url
    request = upload_request(base, token, csrf, attempt.period, attempt.file)
    head = request.index(b"\r\n\r\n") + 4
    sock, blockers = opened(base), []
    try:
        if attempt.moment.startswith("mid-body"):
            cut = head + (len(request) - head) // 2 if attempt.moment == "mid-body: half" else len(request) - 8
            sock.sendall(request[:cut])
            time.sleep(0.5)  # the portal reads what came, and waits for the rest
            assert process.poll() is None and not answered(sock), "the portal answered a body not yet whole"
            kill(process)
            assert read_answer(sock) == b"", "an answer came for a body not yet whole"
            attempt.seen = f"{cut - head:,} of {len(request) - head:,} body bytes sent, no answer"
            return
        if attempt.moment == "after the answer":
            attempt.acknowledged, took = send_whole(sock, request)
            kill(process)
            attempt.seen = f"answered in {took:.2f} s naming submission {attempt.acknowledged}, then killed"
            return
        if attempt.moment == "saved, not landed":  # record_upload waits: the file is saved in scratch only
            blockers.append(held_by(url, "portal.upload"))
        if attempt.moment in ("landed, not ingested", "committed, not answered"):  # the ingest waits for its lock
            blockers.append(psycopg.connect(url, autocommit=True))
            blockers[-1].execute("select pg_advisory_lock(hashtext(%s))", [f"{PROVINCE}/{attempt.period}"])
        if attempt.moment == "in the COPY":  # the ingest's transaction has its submission, waits to COPY
            blockers.append(held_by(url, "raw.indicator_value"))
        sock.sendall(request)
        sent = time.monotonic()
        if attempt.moment == "body sent":  # killed at once
            attempt.seen = "the whole body sent, no answer; "
        elif attempt.moment == "saved, not landed":
            took = until(lambda: portal_waits(url, "%portal.record_upload(%"), "record_upload waits", process)
            files = [f for folder in scratch_folders(settings) for f in folder.iterdir()]
            assert [f.stat().st_size for f in files] == [attempt.file.stat().st_size], files
            assert not list(settings.landing_dir.glob(f"{PROVINCE}/{attempt.period}/*")), "landed already"
            attempt.seen = f"after {took:.2f} s the file whole in scratch, record_upload waiting; "
        elif attempt.moment == "landed, not ingested":
            took = until(lambda: portal_waits(url, "%pg_advisory_xact_lock%", "Lock"), "the ingest waits", process)
            landed = list(settings.landing_dir.glob(f"{PROVINCE}/{attempt.period}/*"))
            assert [sha256_of(f) for f in landed] == [attempt.digest], landed
            assert registered(url, attempt.digest) == [], "registered before its lock"
            attempt.seen = f"after {took:.2f} s the file whole in landing, its ingest waiting for its lock; "
        elif attempt.moment == "in the COPY":
            took = until(lambda: portal_waits(url, "copy raw.indicator_value%"), "the COPY waits", process)
            with psycopg.connect(url) as conn:  # not raw: this test holds it
                found = conn.execute("select count(*) from ingest.submission where sha256 = %s", [attempt.digest])
                assert found.fetchone()[0] == 0, "a submission visible before its commit"
                inserted = conn.execute(  # the COPY's transaction has inserted its submission, not committed
                    """select count(*) from pg_locks join pg_stat_activity using (pid)
                       where query ilike 'copy raw.indicator_value%%' and relation = 'ingest.submission'::regclass
                         and mode = 'RowExclusiveLock' and granted"""
                )
                assert inserted.fetchone()[0] == 1, "the COPY waits outside the transaction of its submission"
            attempt.seen = f"after {took:.2f} s the ingest's transaction open (submission inserted), COPY waiting; "
        elif attempt.moment == "committed, not answered":
            until(lambda: portal_waits(url, "%pg_advisory_xact_lock%"), "the ingest waits", process)
            blockers.append(held_by(url, "portal.upload"))  # recorded already: record_upload_result will wait
            blockers.pop(0).close()  # the ingest goes on
            took = until(
                lambda: portal_waits(url, "%portal.record_upload_result%"), "record_upload_result waits", process
            )
            rows = registered(url, attempt.digest)
            assert [(r[1], r[2], r[3]) for r in rows] == [("accepted", attempt.rows, attempt.rows)], rows
            attempt.seen = f"after {took:.2f} s submission {rows[0][0]} committed, its result not recorded; "
        assert not answered(sock), f"an answer came before the kill at '{attempt.moment}'"
        kill(process)
        attempt.seen += f"killed {time.monotonic() - sent:.3f} s after the body's last byte"
        assert read_answer(sock) == b"", f"an answer came at '{attempt.moment}'"
    finally:
        sock.close()
        for blocker in blockers:
            blocker.close()


def check(attempt: Attempt) -> str:
    """What must hold for the attempt once ingest_waiting has run; what became of its file."""
    rows = registered(attempt.settings.warehouse_url, attempt.digest)
    whole = [(r[1], r[2], r[3]) for r in rows] == [("accepted", attempt.rows, attempt.rows)]
    if attempt.acknowledged is not None:
        assert whole and rows[0][0] == attempt.acknowledged, (attempt.moment, attempt.acknowledged, rows)
        return f"acknowledged: submission {rows[0][0]} accepted, {attempt.rows:,} rows in raw"
    assert rows == [] or whole, f"'{attempt.moment}': a part of the file, or twice: {rows}"
    if rows:
        return f"not acknowledged: submission {rows[0][0]} accepted whole, {attempt.rows:,} rows in raw"
    return "not acknowledged: absent"


def check_warehouse(settings) -> None:
    """What must hold of the whole warehouse after every attempt: raw only holds rows of accepted submissions,
    each as many as its row_count; no bytes registered twice; nothing refused; nothing left to pick up."""
    with psycopg.connect(settings.warehouse_url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        orphans = conn.execute(
            """select count(*) from raw.indicator_value as r
               where not exists (select from ingest.submission as s
                                 where s.submission_id = r.submission_id and s.status = 'accepted')"""
        ).fetchone()[0]
        assert orphans == 0, "rows in raw without an accepted submission"
        short = conn.execute(
            """select s.submission_id, s.status, s.row_count, count(r.submission_id)
               from ingest.submission as s left join raw.indicator_value as r using (submission_id)
               group by s.submission_id having s.status <> 'accepted' or count(r.submission_id) <> s.row_count"""
        ).fetchall()
        assert short == [], f"submissions not accepted whole: {short}"
        twice = conn.execute("select sha256 from ingest.submission group by sha256 having count(*) > 1").fetchall()
        assert twice == [], "the same bytes registered twice"
    assert discover(settings.landing_dir) == [], "a file is left in landing for a later run"


MOMENTS = (
    ("mid-body: half", "2026-03"),
    ("mid-body: all but the last 8 bytes", "2026-04"),
    ("body sent", "2026-05"),
    ("saved, not landed", "2026-06"),
    ("landed, not ingested", "2026-07"),
    ("in the COPY", "2026-08"),
    ("committed, not answered", "2026-09"),
    ("after the answer", "2026-10"),
)


@pytest.fixture
def officer(settings):
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        create_account(conn, "thanhhoa", PASSWORD, PROVINCE, "Lê Văn Thanh")
    return settings


def test_a_portal_killed_mid_upload_loses_nothing_it_acknowledged(officer, tmp_path, chaos_table):
    settings, log = officer, tmp_path / "portal.log"
    token = csrf = None
    report, attempts = [], []
    for moment, period in MOMENTS:
        attempt = Attempt(settings, tmp_path / "files", period, moment)
        attempts.append(attempt)
        process, base = serve(settings, log)
        if token is None:
            token, csrf = signed_in(base)
        try:
            run(attempt, base, process, token, csrf)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        sessions_gone(settings.warehouse_url)
        statuses = pipeline.ingest_waiting(settings)  # what Airflow runs next; the portal is not restarted
        became = check(attempt)
        check_warehouse(settings)
        report.append((moment, attempt.seen, statuses, became))
        chaos_table.append((f"kill -9 of the portal: {moment}", became, "ok"))
    print(*(f"{m:36} | {seen} | ingest_waiting {s} | {became}" for m, seen, s, became in report), sep="\n")
    assert [r[3].split(":")[0] for r in report] == ["not acknowledged"] * 7 + ["acknowledged"]
    became = {m: b for m, _, _, b in report}
    for moment in ("mid-body: half", "mid-body: all but the last 8 bytes", "saved, not landed"):
        assert became[moment].endswith("absent"), (moment, became[moment])
    for moment in ("landed, not ingested", "in the COPY", "committed, not answered"):
        assert "accepted whole" in became[moment], (moment, became[moment])
    # What the kills left: a scratch folder of every send killed once its handler had the file (each a whole
    # copy of it), which nothing removes while the portal runs; no landing copy cut short this time.
    left = scratch_folders(settings)
    assert len(left) >= 4 and not part_files(settings), (left, part_files(settings))
    print(f"left by the kills: {len(left)} scratch folders ({', '.join(p.name for p in left)})")

    # The officer, told nothing, sends each file again: what was registered is named (a duplicate, the same
    # submission), what was not is received now; never a second copy of the same bytes.
    process, base = serve(settings, log)
    try:
        for attempt in (a for a in attempts if a.acknowledged is None):
            was = registered(settings.warehouse_url, attempt.digest)
            with opened(base) as sock:
                named, _ = send_whole(sock, upload_request(base, token, csrf, attempt.period, attempt.file))
            assert not was or named == was[0][0], (attempt.moment, was, named)
            attempt.acknowledged = named
            check(attempt)  # accepted whole, as the submission named
    finally:
        kill(process)
    check_warehouse(settings)


def test_a_portal_started_again_clears_what_killed_ones_left_once_old(officer, tmp_path, chaos_table):
    """A send killed once its file was saved leaves its scratch folder, and one killed in the landing copy a
    `.part` file (planted here: the copy takes a millisecond, too short to kill it in); a portal started later
    removes those untouched for a day, and keeps recent ones, which another portal process may be writing,
    and every other file of landing."""
    settings, log = officer, tmp_path / "portal.log"
    attempt = Attempt(settings, tmp_path / "files", "2026-06", "saved, not landed")
    process, base = serve(settings, log)
    run(attempt, base, process, *signed_in(base))
    sessions_gone(settings.warehouse_url)
    (killed,) = scratch_folders(settings)
    recent = killed.with_name(f"{killed.name}-recent")
    shutil.copytree(killed, recent)
    folder = settings.landing_dir / PROVINCE / "2026-07"
    folder.mkdir(parents=True)
    cut_short, recent_part = folder / ".38_2026-07.csv.part", folder / ".38_2026-08.csv.part"
    for part in (cut_short, recent_part):
        part.write_bytes(attempt.file.read_bytes()[:100_000])
    other = settings.landing_dir / ".publish-requested"
    other.write_text("1 asked\n")
    day_and_more = time.time() - officer_module.LEFTOVER_SECONDS - 60
    for path in (killed, *killed.iterdir(), cut_short, other):
        os.utime(path, (day_and_more, day_and_more), follow_symlinks=False)

    process, _ = serve(settings, log)  # a portal started again
    kill(process)
    assert scratch_folders(settings) == [recent], "the killed send's old scratch folder is removed, the recent kept"
    assert part_files(settings) == [recent_part], "the old landing copy cut short is removed, the recent kept"
    assert other.exists(), "no other file of landing is touched"
    assert pipeline.ingest_waiting(settings) == {} and registered(settings.warehouse_url, attempt.digest) == []
    chaos_table.append(("a portal started after kills (leftovers a day old)", "old ones removed, recent kept", "ok"))
