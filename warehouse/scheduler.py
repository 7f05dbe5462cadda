"""`python -m warehouse.scheduler`: Airflow's scheduler (`airflow scheduler`, the same arguments), started with
the libraries the warehouse's tasks use already imported.

The LocalExecutor's workers are forked from the scheduler's process, and each task from a worker (on Linux,
with no new interpreter): a task finds dbt, Great Expectations and the readers imported instead of importing
them again, about 3 s of CPU each publish task and a second each ingest task spent before any work (a file is
meant to be readable by BI seconds after it lands). Only other people's libraries are imported here, never
this project's modules: a task then always runs the code as it is on disk, and only a change of the
environment (uv sync) needs the scheduler restarted, as it does anyway.
"""

from __future__ import annotations

import sys

# What a task imports that takes time (measured on 2 cores: dbt 1.1 s, Great Expectations 2 s), shared
# copy-on-write by the forked tasks.
PRELOADED = (
    "dbt.cli.main",
    "dbt.adapters.postgres",
    "great_expectations",
    "great_expectations.expectations",
    "sqlalchemy",
    "psycopg",
    "openpyxl",
    "defusedxml",
    "yaml",
)


def main() -> int:
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)
    from airflow.__main__ import main as airflow

    sys.argv = ["airflow", "scheduler", *sys.argv[1:]]
    return airflow()


if __name__ == "__main__":
    sys.exit(main())
