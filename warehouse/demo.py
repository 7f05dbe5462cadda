"""`make demo`: generate a period of submissions for all 34 provinces and run the real DAGs end to end."""

from __future__ import annotations

import os
import sys
import time

from warehouse.airflow_runner import run_dag
from warehouse.db import connect, warehouse_url
from warehouse.settings import Settings

DEMO_PERIOD = os.environ.get("ANTQ_DEMO_PERIOD", "2026-Q3")

SUMMARY_SQL = """
select indicator_code, measure, value, numerator, denominator, ratio_pct, provinces_reporting
from marts.mart_national_indicator where period_code = %s order by indicator_code
"""


def _number(value) -> str:
    return "" if value is None else f"{value:,}".replace(",", ".")


def print_summary(url: str, period_code: str) -> None:
    with connect(url) as conn:
        rows = conn.execute(SUMMARY_SQL, [period_code]).fetchall()
        publish = conn.execute(
            "select publish_id, published_at, cardinality(submission_ids) from meta.publish_log"
            " where action = 'publish' order by publish_id desc limit 1"
        ).fetchone()
        status = conn.execute(
            "select status, count(*) from ingest.submission where period_code = %s group by status order by 1",
            [period_code],
        ).fetchall()
    print(f"\nNational figures for {period_code} (published marts, schema `marts`)\n")
    header = f"{'indicator':40} {'value':>12} {'numerator':>14} {'denominator':>14} {'%':>7} {'prov':>5}"
    print(header)
    print("-" * len(header))
    for code, measure, value, numerator, denominator, pct, provinces in rows:
        shown = "" if measure == "ratio" else _number(value)
        print(
            f"{code:40} {shown:>12} {_number(numerator):>14} {_number(denominator):>14} "
            f"{'' if pct is None else f'{pct:.1f}':>7} {provinces:>5}"
        )
    print(f"\nSubmissions for {period_code}: " + ", ".join(f"{n} {s}" for s, n in status))
    if publish:
        print(f"Publish #{publish[0]} at {publish[1]:%Y-%m-%d %H:%M:%S %Z} from {publish[2]} accepted submissions.")


def main() -> int:
    from ingestion.generator import generate_national

    settings = Settings.from_env()
    started = time.monotonic()
    url = warehouse_url(settings)
    where = "embedded Postgres under " + str(settings.embedded_pgdata) if not settings.warehouse_url else url
    print(f"Warehouse: {where}")
    files = generate_national(settings.landing_dir, DEMO_PERIOD)
    print(f"Generated {len(files)} provincial submissions for {DEMO_PERIOD} in {settings.landing_dir}")
    for dag_id in ("antq_ingest", "antq_publish"):
        step = time.monotonic()
        log = run_dag(dag_id, settings, url)
        print(f"DAG {dag_id}: success in {time.monotonic() - step:.0f}s (log: {log})")
    print_summary(url, DEMO_PERIOD)
    print(f"\nDone in {time.monotonic() - started:.0f}s. Where to look next:")
    print("  make psql                          SQL on the warehouse (BI reads schema marts)")
    print("  select * from marts.mart_province_indicator where indicator_code = 'security_teams';")
    print("  select * from ingest.submission;   every file received, its status and version")
    print(f"  {settings.data_dir / 'logs'}      the Airflow DAG run logs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
