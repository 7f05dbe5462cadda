"""Run dbt against the warehouse named by the settings, into the build schema."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core import schemas
from core.db import connect, libpq_params, warehouse_url
from core.security import TRANSFORMER
from core.settings import DBT_PROJECT_DIR, Settings
from ingestion.periods import REORGANISATION_DATE

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
        # The day today's map took over from the legacy one: dbt's unit_map_at reads it from here, so the rule
        # has one home (ingestion/periods.py).
        "ANTQ_REORGANISATION_DATE": REORGANISATION_DATE.isoformat(),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.data_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _no_stack_walk() -> None:
    """dbt-common names a behaviour flag's source, for its warning, from the module of the caller: for each of
    the adapter's flags, at every invocation, it walks the whole stack with inspect.stack(), which reads the
    source file of every frame (0.2-0.4 s of each invocation, 0.6 s of a publish task under Airflow, whose
    stack is deep). The name is only ever printed in that warning, so it is "dbt.adapters" here."""
    from dbt_common.behavior_flags import BehaviorFlagRendered

    BehaviorFlagRendered._default_source = staticmethod(lambda: "dbt.adapters")


def run_dbt(*args: str, settings: Settings | None = None) -> None:
    """Run `dbt <args>` in this process; on failure raise with the names of the nodes that failed.

    In this process, not a new one: importing dbt costs about 8 s of CPU on a small machine, once per
    process instead of once per command (a publish run takes two commands, the test suite about a hundred).
    Invocations run one at a time (dbt keeps global state): a lock makes sure of it. And one at a time on
    the warehouse, whatever process runs them (_one_on_the_warehouse).
    """
    from dbt.cli.main import dbtRunner

    _no_stack_walk()
    settings = settings or Settings.from_env()
    url = warehouse_url(settings)
    env = dbt_env(url, settings)
    with _ONE_AT_A_TIME, _one_on_the_warehouse(url), _environment(env):
        runner = dbtRunner(manifest=_parsed(env))
        result = runner.invoke([*args, "--project-dir", str(DBT_PROJECT_DIR), "--no-write-json"])
    if not result.success:
        raise DbtFailed(f"dbt {' '.join(args)} failed: {_failed_nodes(result)}")


_ONE_AT_A_TIME = threading.Lock()
_PARSED: dict[tuple, object] = {}


def _parsed(env: dict[str, str]):
    """The project as dbt parsed it for this environment, parsed once per process and project version: a
    publish run invokes dbt twice (the submission checks, then the build), and each invocation parsed the
    project again and wrote its manifest (about 2 s of each at any scale). What dbt reads of the environment
    (ANTQ_*, DBT_*) and the project's files (their names and times) are the key."""
    from dbt.cli.main import dbtRunner

    read = tuple(sorted((key, value) for key, value in env.items() if key.startswith(("ANTQ_", "DBT_"))))
    files = tuple(
        sorted((str(path), path.stat().st_mtime_ns) for path in DBT_PROJECT_DIR.rglob("*") if _project_file(path))
    )
    key = (read, files)
    if key not in _PARSED:
        result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR), "--quiet", "--no-write-json"])
        if not result.success:
            raise DbtFailed(f"dbt parse failed: {_failed_nodes(result)}")
        _PARSED.clear()  # one project version at a time: a test's databases each have their own key
        _PARSED[key] = result.result
    return _PARSED[key]


def _project_file(path) -> bool:
    parts = path.relative_to(DBT_PROJECT_DIR).parts
    return path.is_file() and parts[0] not in ("target", "logs", "dbt_packages") and not parts[-1].startswith(".")


@contextmanager
def _one_on_the_warehouse(url: str) -> Iterator[None]:
    """Hold the warehouse's dbt lock while dbt runs. A build replaces a view by renaming the old one and
    dropping it with cascade, which drops the views over it (the fact store over staging) until the build
    makes them again, seconds later: a query that starts or waits in between fails with "relation
    intermediate.int_indicator_values does not exist". The monthly history tests (antq_reference_refresh)
    failed that way at national-10y while publish runs built. So the history tests wait for a build to end,
    and a build for them (they read every fact: 339 s at national-10y, once a month)."""
    with connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('antq.dbt'))")
        yield  # released when the connection closes, also if this process dies


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ as `env` says while dbt runs (its profile and project read env_var), then as it was."""
    changed = {key: os.environ.get(key) for key, value in env.items() if os.environ.get(key) != value}
    os.environ.update({key: env[key] for key in changed})
    try:
        yield
    finally:
        for key, value in changed.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value


def _failed_nodes(result) -> str:
    if result.exception is not None:
        return str(result.exception).strip()[:2000]
    failed = [
        f"{r.node.unique_id} ({r.status}: {(r.message or '').strip()[:200]})"
        for r in getattr(result.result, "results", [])
        if r.status in ("error", "fail")
    ]
    return "; ".join(failed) or "see the dbt log above"
