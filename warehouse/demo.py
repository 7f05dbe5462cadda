"""`make demo`: generate a period of submissions for all 34 provinces and run the real DAGs end to end."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from core.db import connect, warehouse_url
from core.notation import number, percent
from core.settings import Settings, keep_files_private
from review.holds import holds
from warehouse.airflow_runner import run_dag

DEMO_PERIOD = os.environ.get("ANTQ_DEMO_PERIOD", "2026-Q3")
LEGACY_PERIOD = "2024"  # a year reported by the 63 provinces of the old map, shown re-mapped to today's
# One province has sent the two quarters before, and its DEMO_PERIOD file has ten times its usual security
# teams: the submission checks hold it for review while the 33 others publish.
UNUSUAL_PROVINCE = "01"

SUMMARY_SQL = """
select cur.indicator_code, cur.measure, old.value, old.ratio_pct, cur.value, cur.ratio_pct,
       cur.provinces_reporting || '/' || cur.provinces_expected || ' ' || cur.publication_status
from marts.mart_national_indicator as cur
left join marts.mart_national_indicator as old
    on old.indicator_code = cur.indicator_code and old.period_code = %(legacy)s
where cur.period_code = %(period)s
order by cur.indicator_code
"""


def _number(value) -> str:
    """A count as the portal writes it for officers, the Vietnamese way: 24.037."""
    return "" if value is None else number("vi", value)


def _figure(measure: str, value, pct) -> str:
    """A national figure: a count (24.037) or a share (97,5%), as the portal writes them."""
    return (
        ""
        if (value if measure == "count" else pct) is None
        else (_number(value) if measure == "count" else percent("vi", pct))
    )


def print_summary(url: str, period_code: str) -> None:
    with connect(url) as conn:
        rows = conn.execute(SUMMARY_SQL, {"period": period_code, "legacy": LEGACY_PERIOD}).fetchall()
        remapped = conn.execute(
            "select provinces_reporting, provinces_remapped from marts.mart_national_indicator"
            " where period_code = %s and indicator_code = 'security_teams'",
            [LEGACY_PERIOD],
        ).fetchone()
        reporting = conn.execute(
            "select status, on_time, count(*) from marts.mart_reporting_completeness"
            " where period_code = %s group by 1, 2 order by 1, 2",
            [period_code],
        ).fetchall()
        top = conn.execute(
            "select province_rank, province_name, value, yoy_change from marts.mart_province_indicator"
            " where period_code = %s and indicator_code = 'security_teams' order by province_rank limit 5",
            [period_code],
        ).fetchall()
        models = conn.execute(
            "select count(*), count(*) filter (where model_status = 'active') from marts.dim_model"
        ).fetchone()
        spread = conn.execute(
            "select replication_rank, model_name, province_name, replicas, provinces_reached"
            " from marts.mart_model_replication order by replication_rank, model_key limit 3"
        ).fetchall()
        held = holds(conn, pending_only=True)
        publish = conn.execute(
            "select publish_id, published_at, submissions, checks_passed from marts.publish_log"
            " where action = 'publish' order by publish_id desc limit 1"
        ).fetchone()
    print("\nNational figures (published marts, schema `marts`)\n")
    header = f"{'indicator':40} {LEGACY_PERIOD + ' (old map)':>16} {period_code:>14} {'provinces':>18}"
    print(header)
    print("-" * len(header))
    for code, measure, old_value, old_pct, value, pct, provinces in rows:
        print(
            f"{code:40} {_figure(measure, old_value, old_pct):>16} {_figure(measure, value, pct):>14} {provinces:>18}"
        )
    if remapped:
        print(
            f"\n{LEGACY_PERIOD} was reported by the 63 provinces of the old map and is shown on today's "
            f"{remapped[0]} provinces ({remapped[1]} of them re-mapped)."
        )
    print(
        f"Reporting for {period_code}: "
        + ", ".join(
            f"{n} {status}{'' if status != 'accepted' else ' on time' if on_time else ' after the deadline'}"
            for status, on_time, n in reporting
        )
    )
    print(
        f"Most security teams in {period_code}: "
        + "; ".join(f"{rank}. {name} {_number(value)}" for rank, name, value, _ in top)
    )
    print(
        f"Self-management models listed: {_number(models[0])} ({_number(models[1])} active). Most replicated: "
        + "; ".join(
            f"{rank}. {name} ({province}) {_number(copies)} copies in {reached} province{'s' * (reached > 1)}"
            for rank, name, province, copies, reached in spread
        )
    )
    if publish:
        print(
            f"Publish #{publish[0]} at {publish[1]:%Y-%m-%d %H:%M:%S %Z}: {publish[2]} submissions counted, "
            f"{publish[3]} checks passed."
        )
    if held:
        print(
            "\nHeld for review (the other provinces were published; a held province keeps what was published before):"
        )
        for hold in held:
            print(f"  {hold.describe()}")
        print(
            "  Review: make review, then .venv/bin/python -m warehouse confirm ID --reason '...' (publish it on the"
            " next run) or reject ID --reason '...' (keep it out, tell the province)."
        )


def send_unusual_province(landing_dir: Path) -> None:
    """UNUSUAL_PROVINCE's two quarters before DEMO_PERIOD, then DEMO_PERIOD with ten times the security teams."""
    from ingestion.generator import rewrite_submission, write_submission
    from ingestion.periods import parse_period

    period = parse_period(DEMO_PERIOD)
    previous = period.start.year * 4 + (period.start.month - 1) // 3 - 1  # quarters since year 0
    for quarter in (previous - 1, previous):
        write_submission(landing_dir, UNUSUAL_PROVINCE, f"{quarter // 4}-Q{quarter % 4 + 1}")
    usual = write_submission(landing_dir, UNUSUAL_PROVINCE, DEMO_PERIOD)
    rewrite_submission(usual, usual.with_name(f"{usual.stem}_v2.csv"), "security_teams", lambda v: v * 10)
    usual.unlink()


FAULTY_PROVINCE = "38"


def send_faulty_file(landing_dir: Path) -> Path:
    """A first, faulty try of FAULTY_PROVINCE's DEMO_PERIOD file, older than its good XLSX: refused with its
    reasons, then the good file is accepted as version 1, the cycle officers know best."""
    folder = landing_dir / FAULTY_PROVINCE / DEMO_PERIOD
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{FAULTY_PROVINCE}_{DEMO_PERIOD}_ban-nhap.csv"
    path.write_text(
        "Kỳ báo cáo;Mã đơn vị;Mã chỉ tiêu;Phân loại;Giá trị;Tử số;Mẫu số\n"
        f"{DEMO_PERIOD};Phường Hạc Thành;security_teams;;12;;\n"
        f"{DEMO_PERIOD};Phường Không Có;security_teams;;5;;\n"
        f"{DEMO_PERIOD};14758;security_teams;;4.351;;\n"
        f"{DEMO_PERIOD};14758;households_in_anxh;;;950;900\n",
        encoding="utf-8",
    )
    earlier = time.time() - 3600
    os.utime(path, (earlier, earlier))
    return path


def print_refusals(url: str) -> None:
    """Each refused file's reasons, as the province's email gives them."""
    from warehouse.__main__ import file_status

    with connect(url) as conn:
        refused = conn.execute("select file_name from ingest.submission where status = 'rejected' order by 1")
        for (name,) in refused.fetchall():
            print(f"\nRefused, as the province is told (make status FILE={name}):")
            print(file_status(conn, name))


def print_alerts(url: str, settings: Settings) -> None:
    """What the outbox did with the emails of this run (refusals, holds), mail server or not."""
    with connect(url) as conn:
        counts = dict(conn.execute("select status, count(*) from meta.alert_outbox group by 1").fetchall())
    print(
        f"\nAlerts: {counts.get('sent', 0)} emailed, {counts.get('pending', 0)} waiting for the mail server at"
        f" {settings.smtp_host}:{settings.smtp_port} (make status lists them; the antq_alerts DAG retries every"
        " 5 minutes, and none is lost meanwhile)"
    )


def write_reports(settings: Settings, url: str) -> None:
    """The national report of DEMO_PERIOD and Thanh Hóa's of LEGACY_PERIOD (make report), and where they are."""
    from dataclasses import replace

    from reports.report import write_report

    print("\nReports from the published figures (make report PERIOD=... [PROVINCE=...]):")
    for period, province in ((DEMO_PERIOD, None), (LEGACY_PERIOD, "38")):
        written = write_report(replace(settings, warehouse_url=url), period, province)
        print(f"  {period}{' of province ' + province if province else ', national'}: {written.docx}")
        print(f"    {written.pdf}" if written.pdf else f"    no PDF: {written.pdf_missing}")
        print(f"    {written.annex}   every number it cites, keyed to its mart row")


def main() -> int:
    from ingestion.generator import current_province_codes, generate_national

    settings = Settings.from_env()
    keep_files_private(settings)
    started = time.monotonic()
    url = warehouse_url(settings)
    where = "embedded Postgres under " + str(settings.embedded_pgdata) if not settings.warehouse_url else url
    print(f"Warehouse: {where}")
    legacy = generate_national(settings.landing_dir, LEGACY_PERIOD)
    others = [code for code in current_province_codes() if code != UNUSUAL_PROVINCE]
    files = generate_national(settings.landing_dir, DEMO_PERIOD, others, file_format="xlsx")
    send_unusual_province(settings.landing_dir)
    faulty = send_faulty_file(settings.landing_dir)
    print(
        f"Generated {len(legacy)} CSV files for {LEGACY_PERIOD} (old map), {len(files)} filled-in XLSX templates"
        f" for {DEMO_PERIOD}, and province {UNUSUAL_PROVINCE}'s CSV files for the two quarters before and for"
        f" {DEMO_PERIOD} (with ten times its usual security teams), and a faulty first try {faulty.name}, in"
        f" {settings.landing_dir}"
    )
    for dag_id in ("antq_ingest", "antq_publish"):
        step = time.monotonic()
        log = run_dag(dag_id, settings, url)
        print(f"DAG {dag_id}: success in {time.monotonic() - step:.0f}s (log: {log})")
    print_summary(url, DEMO_PERIOD)
    print_refusals(url)
    print_alerts(url, settings)
    write_reports(settings, url)
    print(f"\nDone in {time.monotonic() - started:.0f}s. Where to look next:")
    print("  make psql                          SQL on the warehouse (BI reads schema marts)")
    print("  select * from marts.mart_province_indicator where indicator_code = 'security_teams';")
    print("  select * from ingest.submission;   every file received, its status and version")
    print("  set role antq_analyst_38; select * from province_38.mart_province_indicator;   what Thanh Hóa's")
    print("                                     analysts see: their province, and national figures once complete")
    print("  make explain PROVINCE=38 PERIOD=2026-Q3 INDICATOR=security_teams   the rows a figure is made of")
    print(f"  {settings.data_dir / 'logs'}      the Airflow DAG run logs")
    print(f"  {settings.data_dir / 'gx' / 'report-build.html'}   the quality gate's report (opens offline)")
    print("  make airflow                       Airflow's UI and scheduler on this machine (a file landed or sent")
    print("                                     is read by BI about 10 s later); make stop ends them. Its UI")
    print("                                     lists the runs it makes, not the demo's: those ran with `airflow")
    print("                                     dags test` on a metadata database of their own (airflow.db),")
    print("                                     so a demo needs no services; their logs are the ones above")
    print("  make portal                        the submission portal (accounts: python -m portal account)")
    print("  .venv/bin/python -m warehouse check FILE   what the pipeline would say of a file, storing nothing")
    print("  make stop                          end the portal, Airflow and the embedded Postgres this started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
