"""`make airflow`: Airflow's real services on this machine, without Docker.

`python -m warehouse.services start` starts one supervisor process in the background, which keeps the
embedded Postgres up (unless ANTQ_WAREHOUSE_URL names a server), gives Airflow its own metadata database on
the same server, and runs the api-server (UI and REST API), scheduler, dag-processor and triggerer with the
LocalExecutor. `stop` ends them all and the supervisor, which then lets the embedded Postgres stop. A second
`start` while they run says so and starts nothing. Logs: <data dir>/logs/airflow-services/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

from core.db import libpq_params, warehouse_url
from core.settings import Settings, keep_files_private
from warehouse.airflow_runner import AIRFLOW, airflow_env

# The scheduler through warehouse/scheduler.py: Airflow's own, with the libraries its forked tasks use imported.
SERVICES = {
    "api-server": [AIRFLOW, "api-server", "--port", "{port}"],
    "scheduler": [sys.executable, "-m", "warehouse.scheduler"],
    "dag-processor": [AIRFLOW, "dag-processor"],
    "triggerer": [AIRFLOW, "triggerer"],
}
ADMIN = "admin"
SCHEDULER_IDLE_SLEEP = "0.3"  # seconds; docker-compose.yml says the same
STOP_SECONDS = 60


def _state_file(settings: Settings) -> Path:
    return settings.airflow_home / "services.json"


def _logs(settings: Settings) -> Path:
    return settings.data_dir / "logs" / "airflow-services"


def port() -> int:
    return int(os.environ.get("ANTQ_AIRFLOW_PORT", "8080"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child that exited but was not reaped yet is a zombie, not a running service
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def running(settings: Settings) -> dict | None:
    """The state of the running services, or None."""
    try:
        state = json.loads(_state_file(settings).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state if _alive(state["supervisor"]) else None


def metadata_database(url: str) -> str:
    """The name of Airflow's own database, next to the warehouse's (`url`) on the same server."""
    return f"{libpq_params(url)['dbname']}_airflow"


def _metadata_url(url: str, driver: str = "psycopg2") -> str:
    """SQLAlchemy URL of Airflow's own database, next to the warehouse's on the same server."""
    from sqlalchemy.engine import URL

    params = libpq_params(url)
    on_socket = params["host"].startswith("/")
    return URL.create(
        f"postgresql+{driver}",
        username=params["user"],
        password=params["password"] or None,
        host=None if on_socket else params["host"],
        port=None if on_socket else int(params["port"]),
        database=metadata_database(url),
        query={"host": params["host"], "port": params["port"]} if on_socket else {},
    ).render_as_string(hide_password=False)


def _ensure_metadata_database(url: str) -> None:
    name = metadata_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


def services_env(settings: Settings, url: str) -> dict[str, str]:
    home = settings.airflow_home
    secret = home / "jwt_secret"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(32))
    passwords = home / "simple_auth_manager_passwords.json"
    if not passwords.exists():
        passwords.write_text(json.dumps({ADMIN: secrets.token_urlsafe(12)}))
    return {
        **airflow_env(settings, url),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _metadata_url(url),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": _metadata_url(url, "psycopg"),  # asyncpg is not installed
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port()}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secret.read_text(),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_logs(settings) / "tasks"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # A file passes the scheduler three times on its way to BI (its ingest run, the publish run the asset
        # starts, each task queued): an idle loop of 0.3 s instead of 1 s takes about a second off.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": SCHEDULER_IDLE_SLEEP,
    }


def admin_password(settings: Settings) -> str:
    return json.loads((settings.airflow_home / "simple_auth_manager_passwords.json").read_text())[ADMIN]


def supervise(settings: Settings) -> int:
    """Run the services until SIGTERM; then stop them and return (the embedded Postgres stops after)."""
    url = warehouse_url(settings)  # attaches this process to the embedded Postgres, which stays up with it
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    _logs(settings).mkdir(parents=True, exist_ok=True)
    _ensure_metadata_database(url)
    env = services_env(settings, url)
    with (_logs(settings) / "db-migrate.log").open("a") as log:
        subprocess.run([AIRFLOW, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children = {}
    for name, args in SERVICES.items():
        with (_logs(settings) / f"{name}.log").open("a") as log:
            command = [a.format(port=port()) for a in args]
            children[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        state = {"supervisor": os.getpid(), "port": port(), "children": {n: p.pid for n, p in children.items()}}
        _state_file(settings).write_text(json.dumps(state))
        # Tasks report to the API server (the execution API): started before it answered, the scheduler's
        # first tasks (a new warehouse's reminder and reference runs) failed on a refused connection.
        while name == "api-server" and _health(port()) is None and children[name].poll() is None and not stopping:
            time.sleep(0.5)
    failed = None
    while not stopping and failed is None:
        time.sleep(1)
        failed = next((name for name, child in children.items() if child.poll() is not None), None)
    if failed:
        print(f"airflow {failed} exited ({children[failed].returncode}): stopping the others", flush=True)
    # The scheduler first, and only its own process (its task runners are in its process group): its
    # LocalExecutor lets the tasks in flight finish, and they report to the API server, so that stays up
    # until they have (stopped together, a task then failed on the signal or a refused connection).
    deadline = time.monotonic() + STOP_SECONDS
    scheduler = children["scheduler"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(scheduler.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        scheduler.wait(max(0.1, deadline - time.monotonic()))
    others = [child for child in children.values() if child is not scheduler]
    for child in others:
        _signal_group(child.pid, signal.SIGTERM)
    for child in others:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.1, deadline - time.monotonic()))
    for child in children.values():
        _signal_group(child.pid, signal.SIGKILL)  # whatever is left of its process group
        child.wait()
    _state_file(settings).unlink(missing_ok=True)
    return 1 if failed else 0


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _health(port_number: int) -> dict | None:
    """What the API server says of the services' health, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://localhost:{port_number}/api/v2/monitor/health", timeout=5) as answer:
            return json.load(answer)
    except (OSError, ValueError):
        return None


def healthy(port_number: int) -> bool:
    health = _health(port_number) or {}
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all(health.get(part, {}).get("status") == "healthy" for part in parts)


def start(settings: Settings, timeout: float = 240) -> dict:
    """Start the supervisor in the background unless it runs already; wait until the REST API says every
    service is healthy (the DAGs show a few seconds later, once the DAG processor has parsed them)."""
    state = running(settings)
    if state:
        print(f"Airflow already runs (supervisor {state['supervisor']}) at http://localhost:{state['port']}")
        return state
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    _logs(settings).mkdir(parents=True, exist_ok=True)
    with (_logs(settings) / "supervisor.log").open("a") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "warehouse.services", "supervise"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "ANTQ_AIRFLOW_PORT": str(port())},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise RuntimeError(f"the Airflow services did not start; see {_logs(settings)}")
        state = running(settings)
        if state and healthy(state["port"]):
            print(
                f"Airflow UI and REST API: http://localhost:{state['port']}  (login {ADMIN}, password "
                f"{admin_password(settings)}); logs in {_logs(settings)}; stop: make airflow-stop",
                flush=True,
            )
            return state
        time.sleep(2)
    stop(settings)
    raise TimeoutError(f"the Airflow services were not healthy within {timeout:.0f}s; see {_logs(settings)}")


def stop(settings: Settings) -> list[int]:
    """Stop the services and their supervisor; return the pids of any process of theirs still alive."""
    state = running(settings)
    if not state:
        print("Airflow services are not running")
        return []
    os.kill(state["supervisor"], signal.SIGTERM)
    pids = [state["supervisor"], *state["children"].values()]
    deadline = time.monotonic() + STOP_SECONDS + 15
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.5)
    left = [pid for pid in pids if _alive(pid)]
    print("Airflow services stopped" if not left else f"still running: {left}")
    return left


def portal_pid_file(settings: Settings) -> Path:
    """Where `make portal` writes its process id, for `make stop`."""
    return settings.data_dir / "portal.pid"


def stop_everything(settings: Settings) -> list[str]:
    """`make stop`: end what this checkout started, and only that: Airflow's services (the state file under
    its data folder), the portal (its pid file, if that process is still the portal) and the embedded Postgres
    under its data folder (never a server ANTQ_WAREHOUSE_URL names). Returns what is still running."""
    left = [f"Airflow process {pid}" for pid in stop(settings)]
    pid_file = portal_pid_file(settings)
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pid_file.read_text())
        if _alive(pid) and b"portal" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.2)
            left += [f"portal {pid}"] if _alive(pid) else []
            print("portal stopped" if not _alive(pid) else f"portal {pid} still running")
        pid_file.unlink(missing_ok=True)
    if settings.warehouse_url is None and (settings.embedded_pgdata / "postmaster.pid").exists():
        from pgserver._commands import pg_ctl

        from core.db import SYSTEM_USER

        user = SYSTEM_USER if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=settings.embedded_pgdata, user=user)
        stopped = not (settings.embedded_pgdata / "postmaster.pid").exists()
        print("embedded Postgres stopped" if stopped else "embedded Postgres still running")
        left += [] if stopped else ["embedded Postgres"]
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse.services", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "stop-everything", "status", "supervise"])
    command = parser.parse_args(argv).command
    settings = Settings.from_env()
    keep_files_private(settings)  # inherited by Airflow's processes: their logs and tasks' files
    if command == "supervise":
        return supervise(settings)
    if command == "start":
        start(settings)
    elif command == "stop":
        return 1 if stop(settings) else 0
    elif command == "stop-everything":
        return 1 if stop_everything(settings) else 0
    else:
        state = running(settings)
        print(json.dumps(state) if state else "not running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
