"""Back the warehouse up and restore it (`make backup`, `make restore BACKUP=...`).

A backup is a folder of three files:
- `warehouse.dump`: pg_dump (custom format) of the warehouse database, taken in one snapshot;
- `files.tar`: the received files (the archive and the quarantine), taken after the dump, so every file the
  dump names is in it (a file received meanwhile may be in it too, unknown to the dump);
- `manifest.json`: when and from where (folders, server version), the roles the dump's grants name, the last
  publish, and a checksum of every mart, computed in the dump's own snapshot.

A restore goes into an empty database: it creates the roles, restores the dump in one transaction (all or
nothing), unpacks the files, points the stored paths at the new folders, applies again the grants a dump
does not carry (the database's own), and checks that every mart has the checksum the manifest recorded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from core import schemas, security
from core.db import connect, warehouse_url
from core.settings import Settings

DUMP, FILES, MANIFEST = "warehouse.dump", "files.tar", "manifest.json"


class RestoreError(RuntimeError):
    pass


def marts_checksums(conn: psycopg.Connection) -> dict[str, str]:
    """Row count and md5 of every table in `marts`, row count of every view: equal checksums mean BI sees
    exactly the same data (the views read those tables and the published facts; an md5 over the million
    rows of mart_figure_source would cost half a minute)."""
    relations = conn.execute(
        "select table_name, table_type from information_schema.tables where table_schema = %s order by 1",
        [schemas.LIVE],
    ).fetchall()
    return {
        name: conn.execute(
            sql.SQL(
                "select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from {} as t"
                if kind == "BASE TABLE"
                else "select count(*) || ':view' from {} as t"
            ).format(sql.Identifier(schemas.LIVE, name))
        ).fetchone()[0]
        for name, kind in relations
    }


def _tool(name: str) -> str:
    """pg_dump and pg_restore of the embedded server's version (that of docker-compose.yml's too), else PATH's."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise RestoreError(f"{name} is not installed: install the PostgreSQL client of the server's version")
    return found


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RestoreError(f"{Path(command[0]).name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _roles(conn: psycopg.Connection) -> dict:
    names = [r[0] for r in conn.execute(r"select rolname from pg_roles where rolname like 'antq\_%' order by 1")]
    members = conn.execute(
        r"""select r.rolname, m.rolname from pg_auth_members as a
            inner join pg_roles as r on a.roleid = r.oid
            inner join pg_roles as m on a.member = m.oid
            where r.rolname like 'antq\_%' order by 1, 2"""
    ).fetchall()
    return {"roles": names, "members": [list(pair) for pair in members]}


def _private(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """Folders 0700 and files 0600 in the backup, as a restore then unpacks them: a file received before its
    folders were private keeps no mode of its own (core/settings.py, keep_files_private)."""
    member.mode = 0o700 if member.isdir() else 0o600
    return member


def backup(settings: Settings, folder: Path) -> dict:
    """Write a backup into `folder` (new, or empty); return its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise RestoreError(f"{folder} is not empty: a backup goes into a new folder")
    folder.chmod(0o700)  # the whole warehouse and every received file: its owner's only, wherever it is
    url = warehouse_url(settings)
    with psycopg.connect(url) as conn:
        # The dump and the checksums read one snapshot: the transaction that exports it stays open until
        # pg_dump has taken it.
        conn.execute("set transaction isolation level repeatable read, read only")
        snapshot = conn.execute("select pg_export_snapshot()").fetchone()[0]
        last = conn.execute("select max(publish_id) from meta.publish_log").fetchone()[0]
        manifest = {
            "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": conn.info.dbname,
            "server_version": conn.execute("show server_version").fetchone()[0],
            "data_dir": str(settings.data_dir),
            "archive_dir": str(settings.data_dir / "archive"),
            "quarantine_dir": str(settings.quarantine_dir),
            "last_publish_id": last,
            "submissions": conn.execute("select count(*) from ingest.submission").fetchone()[0],
            "marts": marts_checksums(conn),
            **_roles(conn),
        }
        _run([_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={folder / DUMP}", url])
    with tarfile.open(folder / FILES, "w") as tar:
        for name, path in (("archive", settings.data_dir / "archive"), ("quarantine", settings.quarantine_dir)):
            if path.exists():
                tar.add(path, arcname=name, filter=_private)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def restore(settings: Settings, folder: Path) -> dict:
    """Restore the backup in `folder` into the settings' database, which must be empty; return the manifest.
    Needs a superuser (ANTQ_SUPERUSER_URL, or a warehouse URL whose user is one): roles and the grants on
    built-in functions are the server's."""
    from warehouse.pipeline import prepare_warehouse

    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    url = warehouse_url(settings)
    admin = settings.superuser_url or url
    with connect(admin, autocommit=True) as conn:
        if conn.execute("select 1 from pg_namespace where nspname = %s", [schemas.META]).fetchone():
            raise RestoreError(f"database {conn.info.dbname} is not empty: a backup is restored into an empty one")
        for role in manifest["roles"]:
            security.ensure_role(conn, role)
        for role, member in manifest["members"]:
            if conn.execute("select 1 from pg_roles where rolname = %s", [member]).fetchone():
                conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(role), sql.Identifier(member)))
            else:
                print(f"role {member} does not exist here: it is not made a member of {role}")
    # One transaction: a dump that cannot be restored whole leaves the database empty.
    _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", f"--dbname={admin}", str(folder / DUMP)])
    archive, quarantine = settings.data_dir / "archive", settings.quarantine_dir
    with tarfile.open(folder / FILES) as tar:
        for member in tar.getmembers():
            top, _, rest = member.name.partition("/")
            target = {"archive": archive, "quarantine": quarantine}.get(top)
            if target is None or not rest:
                continue
            member.name = rest
            tar.extract(member, target, filter="data")
    with connect(url) as conn:
        for old, new in ((manifest["archive_dir"], archive), (manifest["quarantine_dir"], quarantine)):
            conn.execute(
                "update ingest.submission set stored_path = %s || substr(stored_path, length(%s) + 1)"
                " where starts_with(stored_path, %s || '/')",
                [str(new), old, old],
            )
    prepare_warehouse(settings)  # the database's own grants, which a dump does not carry
    with connect(url) as conn:
        found = marts_checksums(conn)
    differ = sorted(name for name in {*found, *manifest["marts"]} if found.get(name) != manifest["marts"].get(name))
    if differ:
        raise RestoreError(f"restored marts differ from the backup's checksums: {', '.join(differ)}")
    return manifest
