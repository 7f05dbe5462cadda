"""Commands for the data engineer: `python -m warehouse <command>` (the Makefile wraps the common ones)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from warehouse.db import connect, warehouse_url
from warehouse.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="create or upgrade the warehouse schema; load reference units if empty")
    commands.add_parser("refresh-reference", help="reload administrative units from the pinned packages")
    commands.add_parser("rollback", help="put the previously published marts back")
    commands.add_parser("url", help="print the warehouse URL (starting the embedded Postgres if needed)")
    commands.add_parser("docs", help="generate the dbt documentation site (models, columns, grain, lineage)")
    psql = commands.add_parser("psql", help="open psql on the warehouse")
    psql.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)

    from warehouse import pipeline

    settings = Settings.from_env()
    if options.command == "prepare":
        print(json.dumps(pipeline.prepare_warehouse(settings)))
    elif options.command == "refresh-reference":
        print(json.dumps(pipeline.refresh_reference(settings)))
    elif options.command == "rollback":
        from warehouse.publish import rollback

        with connect(warehouse_url(settings)) as conn:
            print(f"rolled back (publish log #{rollback(conn)})")
    elif options.command == "docs":
        from warehouse.transform import run_dbt

        run_dbt("docs", "generate", settings=settings)
        print(f"open {settings.data_dir / 'dbt' / 'target' / 'index.html'} in a browser")
    elif options.command == "url":
        print(warehouse_url(settings))
    elif options.command == "psql":
        return subprocess.call(["psql", warehouse_url(settings), *options.args], env=os.environ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
