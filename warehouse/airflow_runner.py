"""Run the project's DAGs for real with `airflow dags test`, against an Airflow home in the data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.settings import DAGS_DIR, Settings

AIRFLOW = str(Path(sys.executable).with_name("airflow"))  # the airflow command of this environment


class DagRunFailed(RuntimeError):
    pass


def airflow_env(settings: Settings, warehouse_url: str) -> dict[str, str]:
    home = settings.airflow_home
    return {
        **os.environ,
        "ANTQ_WAREHOUSE_URL": warehouse_url,
        "ANTQ_DATA_DIR": str(settings.data_dir),
        "ANTQ_LANDING_DIR": str(settings.landing_dir),
        "ANTQ_QUARANTINE_DIR": str(settings.quarantine_dir),
        "ANTQ_SMTP_HOST": settings.smtp_host,
        "ANTQ_SMTP_PORT": str(settings.smtp_port),
        "ANTQ_SMTP_SENDER": settings.smtp_sender,
        "ANTQ_DATA_TEAM": ",".join(settings.data_team),
        "ANTQ_MAX_FILE_MB": str(settings.max_file_bytes / (1024 * 1024)),
        "ANTQ_FRESHNESS_DAYS": str(settings.freshness_days),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "NO_PROXY": "*",
    }


def _airflow(args: list[str], env: dict[str, str], log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ airflow {' '.join(args)}\n")
        handle.flush()
        return subprocess.run([AIRFLOW, *args], env=env, stdout=handle, stderr=subprocess.STDOUT).returncode


def ensure_airflow_db(settings: Settings, warehouse_url: str) -> None:
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    marker = settings.airflow_home / ".migrated"
    if marker.exists():
        return
    log = settings.data_dir / "logs" / "airflow-db-migrate.log"
    if _airflow(["db", "migrate"], airflow_env(settings, warehouse_url), log) != 0:
        raise DagRunFailed(f"airflow db migrate failed; see {log}")
    marker.touch()


def run_dag(dag_id: str, settings: Settings, warehouse_url: str) -> Path:
    """Run one DAG end to end in this process tree; raise naming the log if the run failed."""
    ensure_airflow_db(settings, warehouse_url)
    log = settings.data_dir / "logs" / f"{dag_id}.log"
    if _airflow(["dags", "test", dag_id], airflow_env(settings, warehouse_url), log) != 0:
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-40:])
        raise DagRunFailed(f"DAG {dag_id} failed; full log: {log}\n{tail}")
    return log
