"""Submission files, rejected values, logs, backups and the embedded Postgres's folder are their owner's only
(folders 0700, files 0600), whoever starts the warehouse: each test runs a real entry point in a process
whose umask is 0o022, as a user's shell would give it, then walks what it wrote.

One folder keeps its group's part by design: landing, where a provincial system may drop files as another
account of the warehouse user's group (docker-compose.yml); others never reach it.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import psycopg

from core.settings import Settings
from ingestion.generator import rewrite_submission, write_submission
from tests.helpers import counter, free_port, make_settings
from warehouse.airflow_runner import airflow_env
from warehouse.backup import FILES

SHELL_UMASK = 0o022
PERIOD = "2026-09"


def open_to_others(root: Path, landing: Path | None = None) -> list[str]:
    """Every folder or file under root (root included) that group or others may read, write or enter; in
    landing, only what others may. Symbolic links (their mode means nothing) and Postgres's socket (in its
    0700 pgdata) are skipped."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or stat.S_ISSOCK(mode):
            continue
        shared = 0o007 if landing and path.is_relative_to(landing) else 0o077
        if mode & shared:
            found.append(f"{stat.filemode(mode)} {path}")
    return found


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def run(module: str, env: dict[str, str], *args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        umask=SHELL_UMASK,
        capture_output=True,
        text=True,
        timeout=300,
        **options,
    )


def new_warehouse(server_url, smtp_port: int, data_dir: Path) -> tuple[Settings, dict[str, str]]:
    settings = make_settings(server_url, data_dir, f"antq_private_{os.getpid()}_{next(counter)}", smtp_port)
    return settings, airflow_env(settings, settings.warehouse_url)  # the settings, as a child process reads them


def land_good_and_refused_files(landing: Path) -> None:
    """A good file of Thanh Hóa and a refused one of Hà Nội (negative counts), as a provincial system of the
    group drops them: readable by all (0644). Kept, each is its owner's only (the loader's _private)."""
    with umask(0o077):
        write_submission(landing, "38", PERIOD).chmod(0o644)
        sent = write_submission(landing, "01", PERIOD)
        refused = rewrite_submission(sent, sent.with_name("01_negative.csv"), "security_teams", lambda v: -v - 1)
        refused.chmod(0o644)
        sent.unlink()


def test_ingest_keeps_every_file_and_folder_it_writes_to_its_owner(server_url, smtp_server, tmp_path):
    settings, env = new_warehouse(server_url, smtp_server.port, tmp_path / "data")
    land_good_and_refused_files(settings.landing_dir)

    done = run("warehouse", env, "ingest")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[0]) == {"accepted": 1, "rejected": 1}
    kept = [p for p in settings.data_dir.rglob("*") if p.is_file() and not p.is_relative_to(settings.landing_dir)]
    assert {p.parent.name for p in kept} >= {PERIOD} and any(p.is_relative_to(settings.quarantine_dir) for p in kept)
    assert open_to_others(settings.data_dir, settings.landing_dir) == []


def test_a_backup_is_its_owners_only_in_a_new_folder_or_one_the_user_made(server_url, smtp_server, tmp_path):
    settings, env = new_warehouse(server_url, smtp_server.port, tmp_path / "data")
    land_good_and_refused_files(settings.landing_dir)
    assert run("warehouse", env, "ingest").returncode == 0
    made = tmp_path / "made"  # `mkdir made` in a shell, then make backup BACKUP=made
    made.mkdir(mode=0o755)
    made.chmod(0o755)
    for folder in (tmp_path / "somewhere" / "new", made):
        done = run("warehouse", env, "backup", str(folder))
        assert done.returncode == 0, done.stderr[-2000:]
        assert open_to_others(folder) == []
        with tarfile.open(folder / FILES) as tar:
            members = tar.getmembers()
        # restored, the received files are their owner's only too
        assert {m.name.split("/")[0] for m in members if m.isfile()} == {"archive", "quarantine"}
        assert [f"{m.mode:o} {m.name}" for m in members if m.mode & 0o077] == []
    assert open_to_others(tmp_path / "somewhere") == []


def test_an_embedded_warehouse_keeps_its_data_folder_closed(tmp_path):
    """`make demo` starts an embedded Postgres in the data folder. As root, pgserver runs it as its own user in
    root's group, and opens every folder above its pgdata to everyone: the data folder is then entered by that
    group only, never listed."""
    data = tmp_path / "data"
    env = {**os.environ, "ANTQ_DATA_DIR": str(data)}
    env.pop("ANTQ_WAREHOUSE_URL", None)
    done = run("warehouse", env, "url")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("postgresql://")
    info = data.stat()
    if os.geteuid() == 0:
        assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o710, os.getegid())
    else:
        assert stat.S_IMODE(info.st_mode) == 0o700
    assert [found for child in data.iterdir() for found in open_to_others(child)] == []


def test_the_portal_closes_an_installation_made_before_and_writes_its_owner_only(
    server_url, smtp_server, prepared_template, tmp_path
):
    """A data folder made before, under umask 022 (folders 0755), then `make portal`: its folders are closed
    when it starts. Landing keeps what its group had (a provincial system's account may use it), not others'."""
    data = tmp_path / "data"
    with umask(SHELL_UMASK):
        for folder in ("archive/38/2026-06", "quarantine/38/2026-06", "logs", "airflow", "backups/old", "landing/38"):
            (data / folder).mkdir(parents=True)
        for file in ("archive/38/2026-06/00000001_38.csv", "logs/antq_ingest.log", "landing/38/sent.csv"):
            (data / file).write_text("...")
    name = f"antq_private_{os.getpid()}_{next(counter)}"
    settings = make_settings(server_url, data, name, smtp_server.port, template=prepared_template)
    port = free_port()
    env = {**airflow_env(settings, settings.warehouse_url), "ANTQ_PORTAL_PORT": str(port)}
    portal = subprocess.Popen(
        [sys.executable, "-m", "portal"],
        env=env,
        umask=SHELL_UMASK,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and portal.poll() is None:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the portal did not answer: {portal.stdout.read() if portal.poll() else ''}")
        assert open_to_others(data, settings.landing_dir) == []
        landing = [stat.S_IMODE(p.stat().st_mode) for p in (data / "landing", data / "landing/38/sent.csv")]
        assert landing == [0o750, 0o640]
    finally:
        portal.terminate()
        portal.wait(30)
    with psycopg.connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from ingest.submission").fetchone()[0] == 0
