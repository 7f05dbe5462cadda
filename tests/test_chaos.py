"""Faults in the middle of the work, and what holds after each: a process killed (kill -9) while it ingests,
builds, checks or publishes; Postgres stopped under an ingest; a full quarantine disk; the same file sent
twice at once. After each fault, no partial submission is visible, raw holds exactly the rows of the
submissions registered, `marts` is the old version or the new one (checksums of every mart), the landing
file is still there or kept, and a plain rerun converges to what a run without the fault makes.

`make chaos` runs the kills at more random moments (ANTQ_CHAOS_ROUNDS); `make test` runs one round. Each
test adds its rows to the table printed at the end of the run (tests/conftest.py, chaos_table)."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import ingest_file
from tests.helpers import counter, create_database, held_by, make_settings, marts_checksums, publish_run
from warehouse import pipeline
from warehouse.airflow_runner import airflow_env
from warehouse.services import _alive

pytestmark = pytest.mark.chaos

ROUNDS = int(os.environ.get("ANTQ_CHAOS_ROUNDS", "1"))
PERIOD = "2026-09"
CHAOS_DB = f"antq_chaos_{os.getpid()}"
GATE = "{'schema': 'build', 'checks_run': 0, 'findings': []}"
ATTEMPTS = 5  # a kill at a random moment that came after the work ended is tried again, earlier, so many times


def started(code: str, settings) -> subprocess.Popen:
    """A pipeline step in a process of its own, as an Airflow task runs it."""
    return subprocess.Popen(
        [sys.executable, "-c", f"from warehouse import pipeline; pipeline.{code}"],
        env=airflow_env(settings, settings.warehouse_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def others(url: str, where: str = "true") -> int:
    """Other sessions on this database matching `where` (a condition on pg_stat_activity)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            f"select count(*) from pg_stat_activity where datname = current_database()"
            f" and pid <> pg_backend_pid() and backend_type = 'client backend' and ({where})"
        ).fetchone()[0]


def kill_when(process: subprocess.Popen, ready, timeout: float = 60) -> bool:
    """kill -9 the process once ready() is true; False if it ended first (then nothing was injected). The
    caller then waits until its sessions are gone (gone(): Postgres rolls their transactions back)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    return process.wait() == -signal.SIGKILL


def seen_while_running(process: subprocess.Popen, ready, timeout: float = 60) -> bool:
    """Wait until ready() is true while the process still runs (it is left running); False if it ended first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            return process.poll() is None
        time.sleep(0.02)
    return False


def connected_for(url: str, where: str, seconds: float, since: list[float] | None = None) -> Callable[[], bool]:
    """For kill_when: true once another session matching `where` has been on the database for `seconds`. The
    moment it was first seen goes into `since` (given, for the caller to read)."""
    since = [] if since is None else since

    def ready() -> bool:
        if not since and others(url, where) > 0:
            since.append(time.monotonic())
        return bool(since) and time.monotonic() >= since[0] + seconds

    return ready


def descendants(pid: int) -> set[int]:
    """The processes `pid` started, and theirs."""
    import psutil

    return {child.pid for child in psutil.Process(pid).children(recursive=True)}


def still_running(pids: set[int], timeout: float = 10) -> set[int]:
    """Those of `pids` still running after `timeout` seconds (a zombie has ended)."""
    deadline = time.monotonic() + timeout
    while (running := {pid for pid in pids if _alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def gone(url: str) -> None:
    deadline = time.monotonic() + 30
    while others(url) and time.monotonic() < deadline:
        time.sleep(0.05)


def consistent(settings) -> list[tuple]:
    """Check what must hold after any fault; return the registry, for comparing runs. Registry and raw are read
    in one snapshot, so that it also holds while an ingest is running (a file committed between two reads
    would otherwise be rows of no submission)."""
    with psycopg.connect(settings.warehouse_url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        rows = conn.execute(
            """select s.province_code, s.period_code, s.status, s.version, s.row_count, s.sha256, s.stored_path,
                      (select count(*) from raw.indicator_value as r where r.submission_id = s.submission_id)
               from ingest.submission as s order by s.submission_id"""
        ).fetchall()
        raw = conn.execute("select count(*) from raw.indicator_value").fetchone()[0]
    for province, period, status, _, row_count, _, stored, in_raw in rows:
        assert Path(stored).exists(), f"{province} {period} {status}: its file is not where the registry says"
        assert in_raw == (row_count if status in ("accepted", "superseded") else 0), (province, period, status)
    assert raw == sum(r[7] for r in rows), "raw holds rows of no registered submission"
    return [r[:6] for r in rows]


def ingest_killed_at_a_random_moment(warehouse: Callable[[int], Settings]) -> tuple[Settings, Path, str]:
    """A file's ingest killed at a random moment of its work: up to a second after its first session on the
    warehouse (`warehouse(attempt)`). A kill that would have come after the ingest ended is tried again on
    a new warehouse, at a moment within the time the last ingest worked, at most ATTEMPTS times; then the test
    fails, as no fault was injected. Returns the warehouse, the file sent and when the kill came."""
    window, tried = 1.0, []
    for attempt in range(1, ATTEMPTS + 1):
        settings = warehouse(attempt)
        sent = write_submission(settings.landing_dir, "38", PERIOD)
        process = started("ingest_waiting()", settings)
        delay, since = random.uniform(0, window), []
        if kill_when(process, connected_for(settings.warehouse_url, "true", delay, since)):
            return settings, sent, f"{delay:.2f} s into its work, attempt {attempt}"
        worked = time.monotonic() - since[0] if since else 0.0
        tried.append(f"{delay:.2f} s after it began, ended after {worked:.2f} s (exit {process.returncode})")
        window = worked * 0.8
    pytest.fail(f"no fault injected: the ingest ended before its kill in each of {ATTEMPTS} attempts: {tried}")


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_ingest_killed_in_its_copy_leaves_nothing_and_its_rerun_loads_the_file_once(
    settings, server_url, smtp_server, prepared_template, tmp_path_factory, round_, chaos_table
):
    if round_ % 2:  # other rounds: at a random moment of the whole ingest

        def warehouse(attempt: int) -> Settings:
            if attempt == 1:
                return settings
            name, folder = f"antq_chaos_ingest_{os.getpid()}_{next(counter)}", tmp_path_factory.mktemp("again")
            return make_settings(server_url, folder, name, smtp_server.port, prepared_template)

        settings, sent, when = ingest_killed_at_a_random_moment(warehouse)
        moment, result = "at a random moment", f"ok ({when})"
    else:
        sent = write_submission(settings.landing_dir, "38", PERIOD)
        blocker = held_by(settings.warehouse_url, "raw.indicator_value")  # the COPY into raw waits here
        process = started("ingest_waiting()", settings)
        in_its_copy = "wait_event_type = 'Lock' and query ilike 'copy%'"
        killed = kill_when(process, lambda: others(settings.warehouse_url, in_its_copy) > 0)
        blocker.rollback()
        blocker.close()
        assert killed, "no fault injected: the ingest ended although raw was locked"
        moment, result = "in its COPY", "ok"
    rows = write_submission(tmp_path_factory.mktemp("sent"), "38", PERIOD).read_bytes().count(b"\n") - 1  # as sent
    gone(settings.warehouse_url)
    registry = consistent(settings)
    assert sent.exists() or registry, "the landing file stays until the registry says where it went"
    assert pipeline.ingest_waiting(settings) in ({"accepted": 1}, {})
    assert [r[2:5] for r in consistent(settings)] == [("accepted", 1, rows)]
    assert not sent.exists()
    chaos_table.append(
        (f"kill -9 of ingest {moment}", "nothing half-stored, file in landing or kept; rerun loads it once", result)
    )


def test_a_backfill_killed_stops_both_its_workers_and_its_rerun_loads_the_rest_once(settings, chaos_table):
    sent = [
        write_submission(settings.landing_dir, province, period)
        for period in ("2026-07", "2026-08", PERIOD)
        for province in ("38", "79", "01", "48")
    ]
    process = started("ingest_waiting(workers=2)", settings)
    workers: set[int] = set()

    def two_files_in() -> bool:
        workers.update(descendants(process.pid))
        return len(consistent(settings)) >= 2

    killed = kill_when(process, two_files_in)
    assert killed, "the backfill ended before it was killed"
    assert len(workers) >= 2, f"two worker processes expected, found {workers}"
    assert not still_running(workers), "worker processes of the killed backfill are still running"
    gone(settings.warehouse_url)  # the workers' sessions end with them
    stored = consistent(settings)
    assert len(stored) < len(sent), "the workers went on without the backfill that started them"
    assert pipeline.ingest_waiting(settings) == {"accepted": len(sent) - len(stored)}
    assert [r[2:4] for r in consistent(settings)] == [("accepted", 1)] * len(sent)
    chaos_table.append(
        (
            "kill -9 of a backfill's ingest (two workers)",
            "each worker stops before its next file; rerun loads the rest once",
            f"ok ({len(stored)} of {len(sent)} files in before it stopped)",
        )
    )


def test_postgres_stopped_under_an_ingest_loses_nothing_and_the_rerun_converges(own_server, tmp_path, chaos_table):
    from pgserver._commands import pg_ctl

    settings = replace(Settings.from_env({"ANTQ_DATA_DIR": str(tmp_path)}), warehouse_url=own_server.get_uri("antq"))
    pipeline.prepare_warehouse(settings)
    sent = write_submission(settings.landing_dir, "38", PERIOD)
    rows = sent.read_bytes().count(b"\n") - 1
    blocker = held_by(settings.warehouse_url, "raw.indicator_value")  # the COPY into raw waits here
    process = started("ingest_waiting()", settings)
    copying = "wait_event_type = 'Lock' and query ilike 'copy%'"
    in_its_copy = seen_while_running(process, lambda: others(settings.warehouse_url, copying) > 0)
    assert in_its_copy, f"no fault injected: the ingest ended (exit {process.returncode}) before its COPY was seen"
    pg_ctl(["-m", "immediate", "stop"], pgdata=own_server.pgdata, user=own_server.system_user)
    process.wait()
    blocker.close()
    own_server.ensure_postgres_running()
    assert consistent(settings) == [], "the COPY's transaction, cut by the stop, left nothing"
    assert sent.exists()
    pipeline.ingest_waiting(settings)
    assert [r[2:5] for r in consistent(settings)] == [("accepted", 1, rows)]
    chaos_table.append(
        ("Postgres stopped (immediate) mid-COPY", "no partial submission after recovery; rerun loads once", "ok")
    )


@contextmanager
def full_disk(folder: Path, monkeypatch):
    """`folder` on a 64 kB tmpfs where this may mount one (root); elsewhere a full disk by injection: the copy
    into the folder writes its first 4 kB, then fails as a full disk does."""
    folder.mkdir(parents=True, exist_ok=True)
    tmpfs = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)]
    mounted = subprocess.run(tmpfs if shutil.which("mount") else ["false"], capture_output=True)
    if mounted.returncode == 0:
        try:
            yield "64 kB tmpfs"
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    real_copy = shutil.copy2

    def copy_onto_a_full_disk(source, target, **options):
        if not Path(target).is_relative_to(folder):
            return real_copy(source, target, **options)
        Path(target).write_bytes(Path(source).read_bytes()[:4096])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    def no_link(source, target):  # another file system: the file must be copied
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "copy2", copy_onto_a_full_disk)
        patch.setattr(os, "link", no_link)
        yield f"injected ENOSPC ({mounted.stderr.decode().strip() or 'no tmpfs here'})"


def test_a_full_quarantine_disk_keeps_no_half_refusal_and_rerun_refuses_once(
    settings, mailbox, tmp_path, monkeypatch, chaos_table
):
    sent = write_submission(tmp_path / "sent", "38", PERIOD)
    refused = settings.landing_dir / "38" / PERIOD / sent.name
    refused.parent.mkdir(parents=True)
    rewrite_submission(sent, refused, "security_teams", lambda v: -v - 1)  # negative counts: refused
    assert refused.stat().st_size > 64 * 1024
    disk = settings.quarantine_dir
    with full_disk(disk, monkeypatch) as how:
        with pytest.raises(OSError, match="No space left"):
            pipeline.ingest(str(refused), settings)
        assert refused.exists() and not any(disk.rglob("*.*")), "nothing half-copied stays in quarantine"
        assert consistent(settings) == [], "the refusal is not recorded without its file"
        with psycopg.connect(settings.warehouse_url) as conn:
            assert conn.execute("select count(*) from meta.alert_outbox").fetchone()[0] == 0
    assert pipeline.ingest(str(refused), settings)["status"] == "rejected"
    assert [r[2] for r in consistent(settings)] == ["rejected"]
    assert len(mailbox.take()) == 1, "the province hears of its refusal once"
    chaos_table.append(
        (f"quarantine disk full ({how})", "no refusal without its file, no half copy; rerun refuses once", "ok")
    )


START_EMBEDDED = """
import sys, psycopg
from core.db import start_embedded
from core.settings import Settings
url = start_embedded(Settings.from_env({"ANTQ_DATA_DIR": sys.argv[1]}))
with psycopg.connect(url) as conn:
    print(conn.execute("select count(*) from pg_database where datname = 'antq'").fetchone()[0])
"""


def test_an_embedded_postgres_slower_to_start_than_pg_ctl_waits_is_waited_for(tmp_path, chaos_table):
    """After a crash, recovery of a large database takes longer than the 10 s pgserver's pg_ctl waits (seen:
    a 25 GB bench database). Here a real server is made slow to start the way an archive recovery is: each
    archive lookup takes 6 s (restore_command), and there are several before it is ready."""

    def start() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", START_EMBEDDED, str(tmp_path)], capture_output=True, text=True, timeout=300
        )

    assert start().stdout.split() == ["1"]
    pgdata = tmp_path / "pg"
    (pgdata / "recovery.signal").touch()
    with (pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write("restore_command = 'sleep 6; exit 1'\n")
    began = time.monotonic()
    slow = start()
    assert slow.stdout.split() == ["1"], slow.stderr
    assert time.monotonic() - began > 10 and "still starting" in slow.stderr
    chaos_table.append(("the embedded Postgres slow to start (recovery)", "waited for, then used", "ok"))


def test_the_same_file_sent_twice_at_once_is_loaded_once(settings, chaos_table):
    sent = write_submission(settings.landing_dir, "38", PERIOD)
    start = threading.Barrier(2)
    outcomes, failures = [], []

    def ingest():
        start.wait()
        try:
            outcomes.append(pipeline.ingest(str(sent), settings)["status"])
        except Exception as error:  # noqa: BLE001 (the test reports any failure of either worker)
            failures.append(repr(error))

    workers = [threading.Thread(target=ingest) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert sorted(outcomes) in (["accepted", "duplicate"], ["accepted", "gone"])
    assert [r[2:4] for r in consistent(settings)] == [("accepted", 1)]
    assert not sent.exists()
    chaos_table.append(("the same file ingested by two workers at once", "one version, no error, file kept", "ok"))


@pytest.fixture(scope="module")
def published(server_url, smtp_server, prepared_template, tmp_path_factory):
    """Two provinces' month published, then Thanh Hóa's correction ingested: the next build has news."""
    folder = tmp_path_factory.mktemp("chaos")
    settings = make_settings(server_url, folder, CHAOS_DB, smtp_server.port, prepared_template)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for province in ("01", "38"):
            ingest_file(conn, write_submission(settings.landing_dir, province, PERIOD), settings)
    publish_run(settings)
    sent = write_submission(tmp_path_factory.mktemp("sent"), "38", PERIOD)
    correction = settings.landing_dir / "38" / PERIOD / "38_2026-09_v2.csv"
    rewrite_submission(sent, correction, "security_teams", lambda v: v + 1)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        assert ingest_file(conn, correction, settings).status == "accepted"
    return settings


def test_build_gate_and_publish_killed_leave_marts_alone_and_a_rerun_converges(published, server_url, chaos_table):
    settings = published
    # What a run without faults publishes: the same warehouse, copied, built and published undisturbed.
    reference = replace(settings, warehouse_url=create_database(server_url, f"{CHAOS_DB}_reference", CHAOS_DB))
    publish_run(reference)
    expected = marts_checksums(reference.warehouse_url)
    before = marts_checksums(settings.warehouse_url)
    url = settings.warehouse_url

    for _ in range(ROUNDS):
        build = started("build_marts()", settings)
        # At a random moment once dbt is on the warehouse: a fixed 3-8 s from the start let a build on a fast
        # machine end first (seen: a whole build in under 8 s).
        dbt_on = connected_for(url, "application_name = 'dbt'", random.uniform(0, 1.5))
        assert kill_when(build, dbt_on), "the build ended before it was killed"
        gone(url)
        assert marts_checksums(url) == before
        consistent(settings)
    chaos_table.append(("kill -9 of dbt mid-build", "marts unchanged (checksums of every mart)", "ok"))

    pipeline.build_marts(settings)
    for _ in range(ROUNDS):
        gate = started("validate_marts()", settings)
        # Once it has a session on the warehouse: its queries take milliseconds at this size, so a poll for an
        # active query could miss every one of them (it did once, after the store gained statistics).
        assert kill_when(gate, lambda: others(url) > 0), "the gate ended before it was killed"
        gone(url)
        assert marts_checksums(url) == before
    chaos_table.append(("kill -9 of the gate", "marts unchanged", "ok"))

    for _ in range(ROUNDS):
        blocker = held_by(url, "published.submission")  # the publish waits there, schemas already renamed
        publish = started(f"publish_marts({GATE})", settings)
        assert kill_when(publish, lambda: others(url, "wait_event_type = 'Lock'") > 0)
        blocker.rollback()
        blocker.close()
        gone(url)
        assert marts_checksums(url) == before, "the publish's transaction is rolled back whole"
    chaos_table.append(("kill -9 of the publish between its statements", "marts unchanged, build kept", "ok"))

    pipeline.publish_marts(pipeline.validate_marts(settings), settings)
    assert marts_checksums(url) == expected, "the rerun publishes what a run without faults did"
    consistent(settings)
    chaos_table.append(("rerun after the three kills", "marts = those of a run without faults", "ok"))
