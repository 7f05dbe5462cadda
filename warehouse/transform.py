"""Run dbt against the warehouse named by the settings, into the build schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from warehouse import schemas
from warehouse.db import libpq_params, warehouse_url
from warehouse.security import TRANSFORMER
from warehouse.settings import DBT_PROJECT_DIR, Settings

BUILD_SCHEMA = schemas.BUILD


class DbtFailed(RuntimeError):
    pass


def dbt_env(url: str, settings: Settings) -> dict[str, str]:
    params = libpq_params(url)
    return {
        **os.environ,
        **{f"ANTQ_PG_{key.upper()}": value for key, value in params.items()},
        **schemas.dbt_environment(),
        "ANTQ_PG_ROLE": TRANSFORMER,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.data_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_dbt(*args: str, settings: Settings | None = None) -> None:
    """Run `dbt <args>`; on failure raise with the names of the nodes that failed."""
    settings = settings or Settings.from_env()
    env = dbt_env(warehouse_url(settings), settings)
    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run([str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR)], env=env, check=False)
    if completed.returncode != 0:
        raise DbtFailed(f"dbt {' '.join(args)} failed: {_failed_nodes(Path(env['DBT_TARGET_PATH']))}")


def _failed_nodes(target: Path) -> str:
    results = target / "run_results.json"
    if not results.exists():
        return "no run results (see the dbt log above)"
    failed = [
        f"{r['unique_id']} ({r['status']}: {(r.get('message') or '').strip()[:200]})"
        for r in json.loads(results.read_text())["results"]
        if r["status"] in ("error", "fail")
    ]
    return "; ".join(failed) or "see the dbt log above"
