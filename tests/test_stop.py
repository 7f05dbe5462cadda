"""`make stop` ends what this checkout started: the portal and the embedded Postgres it runs on (Airflow's
services are stopped by the same command: tests/test_end_to_end.py), and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import psycopg

from core.settings import PROJECT_DIR
from tests.helpers import free_port


def _of(data_dir) -> list[psutil.Process]:
    """Every process running with this data folder: the portal (by its environment), Postgres (by its -D)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if str(data_dir) in " ".join(process.info["cmdline"] or ()) or (
                process.environ().get("ANTQ_DATA_DIR") == str(data_dir)
            ):
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def test_make_stop_ends_the_portal_and_its_embedded_postgres_and_nothing_else(tmp_path, server_url):
    data_dir = tmp_path / "data"
    port = free_port()
    env = {**os.environ, "ANTQ_DATA_DIR": str(data_dir), "ANTQ_PORTAL_PORT": str(port)}
    env.pop("ANTQ_WAREHOUSE_URL", None)  # the embedded Postgres under data_dir
    portal = subprocess.Popen([sys.executable, "-m", "portal"], env=env, cwd=PROJECT_DIR)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert (data_dir / "pg" / "postmaster.pid").exists() and (data_dir / "portal.pid").exists()
        assert len(_of(data_dir)) >= 2, "the portal and its Postgres run"

        stopped = subprocess.run(
            [sys.executable, "-m", "warehouse.services", "stop-everything"],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert "portal stopped" in stopped.stdout and "embedded Postgres stopped" in stopped.stdout
        portal.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _of(data_dir):
            time.sleep(0.5)
        assert _of(data_dir) == [], "no process of this data folder is left"
        assert not (data_dir / "portal.pid").exists()
        with psycopg.connect(server_url) as conn:  # the test session's own server
            assert conn.execute("select 1").fetchone() == (1,), "a server it did not start is left alone"
    finally:
        if portal.poll() is None:
            portal.kill()


def test_the_command_a_hint_prints_runs_as_printed_from_the_checkout():
    """`review` and `status` said `python -m warehouse confirm`, which the shell's python cannot run."""
    import shlex

    printed = subprocess.run(
        [sys.executable, "-c", "from warehouse.__main__ import this_command; print(this_command())"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if (PROJECT_DIR / ".venv") in Path(sys.executable).parents:
        assert printed == ".venv/bin/python -m warehouse"
    ran = subprocess.run([*shlex.split(printed), "--help"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert ran.returncode == 0 and "confirm" in ran.stdout
