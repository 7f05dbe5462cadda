"""Apply the SQL files in core/migrations once each, in order, recording them in meta.migration."""

from __future__ import annotations

from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(conn: psycopg.Connection) -> list[str]:
    """Bring the warehouse schema up to date; safe to call from every process, concurrently."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.migrate'))")
        conn.execute("create schema if not exists meta")
        conn.execute(
            "create table if not exists meta.migration (name text primary key, applied_at timestamptz default now())"
        )
        done = {row[0] for row in conn.execute("select name from meta.migration")}
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            if path.name in done:
                continue
            conn.execute(path.read_text(encoding="utf-8"))
            conn.execute("insert into meta.migration (name) values (%s)", [path.name])
            applied.append(path.name)
    return applied
