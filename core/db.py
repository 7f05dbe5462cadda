"""The one way to reach the warehouse: a URL (given, or an embedded Postgres) and a connection helper."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from core.settings import Settings

# pgserver asks platformdirs for a runtime folder when it is imported; with no XDG_RUNTIME_DIR (root, a service,
# a container) platformdirs warned on every command, then used /tmp/runtime-<uid> all the same.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

EMBEDDED_DATABASE = "antq"
SYSTEM_USER = "pgserver"  # the user pgserver runs Postgres as when this process is root
# Connections kept for pg_use_reserved_connections (the pipeline's and the portal's roles, core/security.py)
# and superusers (the embedded pipeline's user), whatever readers hold: of max_connections (100), the readers
# share at most 100 - 3 (superuser_reserved_connections) - this.
RESERVED_CONNECTIONS = 10


def start_embedded(settings: Settings) -> str:
    """Start (or attach to) the pgserver instance under the data folder; return the URL of its `antq` DB.

    The server stops when the last process that attached to it exits, so a demo or a test session leaves
    nothing running behind it.
    """
    import pgserver

    # pgserver narrates every step at INFO, even from its exit handler after the streams have closed.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    settings.embedded_pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        system_user(SYSTEM_USER)
    try:
        server = pgserver.get_server(settings.embedded_pgdata, cleanup_mode="stop")
    except subprocess.TimeoutExpired:
        # pgserver's pg_ctl waits 10 s; a server recovering from a crash keeps starting for longer (12 s for a
        # 25 GB bench database killed mid-run). Wait for it to be ready, then attach.
        pgdata = settings.embedded_pgdata.resolve()
        pgserver.PostgresServer._instances.pop(pgdata, None)  # the instance that gave up
        _wait_until_ready(pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    if os.geteuid() == 0:
        # pgserver opened every folder above pgdata to everyone, for Postgres run as its user but in this
        # process's group (subprocess's user=): the data folder to that group only, entered, not listed
        # (core/settings.py, keep_files_private).
        settings.embedded_pgdata.parent.chmod(0o710)
    _reserve_connections(server)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [EMBEDDED_DATABASE]).fetchone()
        if not exists:
            conn.execute(f'create database "{EMBEDDED_DATABASE}"')
    return server.get_uri(EMBEDDED_DATABASE)


def _reserve_connections(server) -> None:
    """Keep RESERVED_CONNECTIONS for the pipeline. pgserver passes no server option, and reserved_connections
    is read at start only: set in postgresql.auto.conf, then the server restarted if this process is the only
    one using it (as after creating it), else from the server's next start (it stops with its last user)."""
    from pgserver._commands import pg_ctl
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import PostmasterInfo

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if conn.execute("show reserved_connections").fetchone()[0] == str(RESERVED_CONNECTIONS):
            return
        conn.execute(f"alter system set reserved_connections = {RESERVED_CONNECTIONS}")
    with PostgresServer._lock:  # no other process attaches meanwhile
        if server.global_process_id_list.get() != [os.getpid()]:
            print(
                f"the embedded Postgres ({server.pgdata}) keeps {RESERVED_CONNECTIONS} connections for the pipeline"
                " from its next start",
                file=sys.stderr,
            )
            return
        # restart reuses the previous start's options (socket, no TCP); -l keeps the log where pgserver reads it
        pg_ctl(["-w", "-m", "fast", "-l", str(server.log), "restart"], pgdata=server.pgdata, user=server.system_user)
        server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)


def system_user(name: str) -> int:
    """The uid of system user `name`, made with useradd if it does not exist, one process at a time.

    As root, pgserver runs Postgres as a user it makes on first use. Two processes starting servers at once
    on a new machine (the test suite's two workers) each ran useradd, and each got a uid: the first gave the
    data folder to a uid the second then replaced, and initdb failed with "could not change permissions".
    """
    from pgserver.utils import ensure_user_exists

    with open(f"/tmp/antq-useradd-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_user_exists(name).pw_uid


def _wait_until_ready(pgdata, minutes: float = 30) -> None:
    from pgserver.utils import PostmasterInfo

    print(f"the embedded Postgres is still starting (recovery?), waiting; its log: {pgdata / 'log'}", file=sys.stderr)
    deadline = time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            return
        if info is None or not info.is_running():
            raise RuntimeError(f"the embedded Postgres in {pgdata} stopped while starting: see {pgdata / 'log'}")
        time.sleep(1)
    raise RuntimeError(f"the embedded Postgres in {pgdata} was not ready after {minutes} minutes: see {pgdata / 'log'}")


def warehouse_url(settings: Settings | None = None) -> str:
    settings = settings or Settings.from_env()
    return settings.warehouse_url or start_embedded(settings)


@contextmanager
def connect(url: str | None = None, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg connection; committed on a clean exit, rolled back on an exception."""
    with psycopg.connect(url or warehouse_url(), autocommit=autocommit) as conn:
        yield conn


def libpq_params(url: str) -> dict[str, str]:
    """Split a URL into the separate fields that dbt's profile and `psql` want (Unix sockets included)."""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "host": query.get("host") or parts.hostname or "localhost",
        "port": str(query.get("port") or parts.port or 5432),
        "user": unquote(query.get("user") or parts.username or "postgres"),
        "password": unquote(query.get("password") or parts.password or ""),
        "dbname": unquote(query.get("dbname") or parts.path.lstrip("/") or "postgres"),
    }
