"""Airflow's real services on this machine (make airflow): a file dropped in landing is ingested because it
landed (the triggerer's watcher) and published by the scheduler's runs, followed through the REST API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import psycopg
import pytest

from ingestion.generator import write_submission
from warehouse import services

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warehouse.services", *args], env=env, capture_output=True, text=True, timeout=400
    )


def _runs(client: httpx.Client, dag_id: str) -> list[dict]:
    return client.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"order_by": "start_date"}).json()["dag_runs"]


def test_a_landed_file_is_ingested_at_once_and_published_by_the_running_services(settings, smtp_server):
    port = _free_port()
    env = {
        **os.environ,
        "ANTQ_WAREHOUSE_URL": settings.warehouse_url,
        "ANTQ_DATA_DIR": str(settings.data_dir),
        "ANTQ_SMTP_HOST": settings.smtp_host,
        "ANTQ_SMTP_PORT": str(settings.smtp_port),
        "ANTQ_AIRFLOW_PORT": str(port),
    }
    started = _command(env, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        assert f"http://localhost:{port}" in started.stdout and "password" in started.stdout
        again = _command(env, "start")
        assert "already runs" in again.stdout, "a second start starts nothing"

        password = services.admin_password(settings)
        client = httpx.Client(base_url=f"http://localhost:{port}", timeout=30)
        token = client.post("/auth/token", json={"username": "admin", "password": password}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        dags = {d["dag_id"]: d["is_paused"] for d in client.get("/api/v2/dags").json()["dags"]}
        assert dags["antq_ingest"] is False and dags["antq_publish"] is False

        landed = time.monotonic()
        write_submission(settings.landing_dir, "38", "2026-09")
        deadline = landed + 300
        published = None
        while time.monotonic() < deadline and not published:
            time.sleep(3)
            published = [r for r in _runs(client, "antq_publish") if r["state"] == "success"]
            assert not [r for r in _runs(client, "antq_publish") if r["state"] == "failed"]
        assert published, "the file was not published within 5 minutes"
        ingest_runs = _runs(client, "antq_ingest")
        assert any(r["triggered_by"] == "asset" for r in ingest_runs), "started by the landing watcher"
        with psycopg.connect(settings.warehouse_url) as conn:
            conn.execute("set role antq_bi_reader")
            figures = conn.execute(
                "select count(*) from marts.mart_province_indicator where province_code = '38'"
                " and period_code = '2026-09'"
            ).fetchone()[0]
        assert figures > 0
        assert _processes_of(settings), "the services run with this Airflow home"
        print(f"landed -> published in {time.monotonic() - landed:.0f}s")
    finally:
        stopped = _command(env, "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert services.running(settings) is None
    assert not _processes_of(settings), "no process of the services is left"


def _processes_of(settings) -> list:
    """Every process running with this Airflow home (the services, their workers and task runners)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.environ().get("AIRFLOW_HOME") == str(settings.airflow_home):
                found.append(process.info)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found
