"""The real DAGs against a real Postgres: ingest -> dbt -> GX -> publish. First run by Airflow's services
(scheduler, triggerer, LocalExecutor: make airflow), then by `airflow dags test`.

The tests in this module share one warehouse and run in order, like the days of a reporting cycle.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from ingestion.catalogue import load_catalogue
from ingestion.generator import current_province_codes, generate_national, write_submission
from tests.helpers import free_port, held_by, make_settings, published
from tests.helpers import marts_checksums as checksums_of
from tests.test_hostile_files import _poison
from warehouse import pipeline, services
from warehouse.airflow_runner import airflow_env, run_dag

pytestmark = pytest.mark.e2e
PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def cycle(server_url, smtp_server, tmp_path_factory):
    return make_settings(server_url, tmp_path_factory.mktemp("e2e"), "antq_e2e", smtp_server.port)


SENT: dict[str, bytes] = {}


def send_all(landing) -> None:
    """Every province's file for the period: Thanh Hóa fills in the XLSX template (with its model list), the
    others send CSV. Sending again sends the same bytes (a workbook saved anew differs in its timestamps)."""
    generate_national(landing, PERIOD, [code for code in current_province_codes() if code != "38"])
    workbook = write_submission(landing, "38", PERIOD, file_format="xlsx")
    workbook.write_bytes(SENT.setdefault("38", workbook.read_bytes()))


def run_pipeline(settings) -> None:
    for dag_id in ("antq_ingest", "antq_publish"):
        run_dag(dag_id, settings, settings.warehouse_url)


def marts_checksums(settings) -> dict[str, str]:
    return checksums_of(settings.warehouse_url)


def services_env(settings) -> dict[str, str]:
    return {**airflow_env(settings, settings.warehouse_url), "ANTQ_AIRFLOW_PORT": str(free_port())}


def _services(env: dict, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warehouse.services", command], env=env, capture_output=True, text=True, timeout=400
    )


def _rest_api(settings) -> httpx.Client:
    port = services.running(settings)["port"]
    client = httpx.Client(base_url=f"http://localhost:{port}", timeout=30)
    login = {"username": services.ADMIN, "password": services.admin_password(settings)}
    client.headers["Authorization"] = f"Bearer {client.post('/auth/token', json=login).json()['access_token']}"
    return client


def _dags(api: httpx.Client) -> dict[str, bool]:
    """Each DAG the API server knows, and whether it is paused."""
    return {d["dag_id"]: d["is_paused"] for d in api.get("/api/v2/dags").json()["dags"]}


def _runs(api: httpx.Client, dag_id: str) -> list[dict]:
    return api.get(f"/api/v2/dags/{dag_id}/dagRuns").json()["dag_runs"]


def _task_state(api: httpx.Client, run: dict, task_id: str) -> str | None:
    path = f"/api/v2/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}/taskInstances/{task_id}"
    return api.get(path).json().get("state")


def _waiting_on(url: str, table: str) -> bool:
    """Whether a session waits for a lock in a statement naming `table`."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            """select exists (select from pg_stat_activity where datname = current_database()
                              and wait_event_type = 'Lock' and position(%s in query) > 0)""",
            [table],
        ).fetchone()[0]


def _stop_letting_go(env: dict, held: psycopg.Connection | None) -> subprocess.CompletedProcess:
    """Stop the services; `held`, a session holding a lock a task waits on, lets go once the stop has begun."""
    if held is None:
        return _services(env, "stop")
    with ThreadPoolExecutor(1) as pool:
        stopping = pool.submit(_services, env, "stop")
        time.sleep(2)  # the scheduler has its signal and waits for the task, still blocked
        held.close()  # its transaction ends, and the lock with it
        return stopping.result()


def _published_national(settings) -> bool:
    try:
        with psycopg.connect(settings.warehouse_url) as conn:
            conn.execute("set role antq_bi_reader")
            row = conn.execute(
                "select provinces_reporting from marts.mart_national_indicator"
                " where period_code = %s and indicator_code = 'security_teams'",
                [PERIOD],
            ).fetchone()
    except psycopg.Error:  # the reader or the marts do not exist yet: nothing is published
        return False
    return row == (34,)


def _processes_of(settings) -> list:
    """Every process running with this Airflow home (the services, their workers and task runners)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.environ().get("AIRFLOW_HOME") == str(settings.airflow_home):
                found.append(process.info)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def _sent_outside_landing_and_published(settings) -> float:
    """Hà Nội's corrected file, ingested under a name the watcher skips (a dot file), then a publish asked for:
    the seconds until BI reads the new figure. Then its first file again, published the same way, so the
    module's later tests find the burst's figures (and its bytes the latest version's)."""
    import shutil

    from ingestion.generator import rewrite_submission

    def send(path: Path) -> float:
        before = published(settings, "01", PERIOD)
        assert pipeline.ingest(str(path), settings)["status"] == "accepted"
        started = time.monotonic()
        pipeline.request_publish("the test: a file sent from the portal", settings)
        while time.monotonic() - started < 300 and published(settings, "01", PERIOD) == before:
            time.sleep(1)
        assert published(settings, "01", PERIOD) != before, "published at the request"
        return time.monotonic() - started

    original = write_submission(settings.data_dir / "outside", "01", PERIOD)
    folder = settings.landing_dir / "01" / PERIOD
    seconds = send(rewrite_submission(original, folder / ".01_corrected.csv", "security_teams", lambda v: v + 1))
    send(shutil.copyfile(original, folder / ".01_again.csv"))
    return seconds


def test_the_running_services_ingest_a_burst_of_34_files_as_it_lands_and_publish_it(cycle):
    """Airflow's services run (make airflow); all 34 provinces' files land at once, with a workbook no reader
    can read among them. The landing watcher starts antq_ingest, which ingests them four at a time and refuses
    the poison file with its reason (no task fails); antq_publish publishes the 34 in one run."""
    env = services_env(cycle)
    started = _services(env, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    outbox = None
    try:
        assert "already runs" in _services(env, "start").stdout, "a second start starts nothing"
        api = _rest_api(cycle)
        deadline = time.monotonic() + 60  # started, the DAG processor has yet to parse the DAGs
        while time.monotonic() < deadline and len(dags := _dags(api)) < 5:
            time.sleep(1)
        assert dags.get("antq_ingest") is False and dags.get("antq_publish") is False, f"the DAGs run unpaused: {dags}"
        send_all(cycle.landing_dir)
        _poison(cycle.landing_dir / "01" / PERIOD, "number-abc.xlsx")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not _published_national(cycle):
            assert not [r for r in _runs(api, "antq_publish") if r["state"] == "failed"]
            time.sleep(3)
        assert _published_national(cycle), "the 34 files were not published within 10 minutes"
        while [r for r in _runs(api, "antq_publish") if r["state"] in ("queued", "running")]:
            time.sleep(2)
        assert any(r["triggered_by"] == "asset" for r in _runs(api, "antq_ingest")), "started by the watcher"
        worked = [r for r in _runs(api, "antq_publish") if _task_state(api, r, "publish") == "success"]
        assert len(worked) <= 2, f"a burst of 34 files published {len(worked)} times"
        assert _processes_of(cycle), "the services run with this Airflow home"
        # Every way in is as fast as a file in landing: a file ingested where the watcher does not look (as the
        # portal does: it ingests what it lands itself), then a publish asked for, is published in seconds,
        # not at the next 15-minute run.
        seconds = _sent_outside_landing_and_published(cycle)
        print(f"a file sent outside landing, then a publish asked for: readable by BI in {seconds:.1f} s")
        assert seconds < 120, f"a publish asked for took {seconds:.0f} s"
        assert not cycle.publish_request.exists(), "the request was taken by the run it started"
        while [
            r for dag in ("antq_ingest", "antq_publish") for r in _runs(api, dag) if r["state"] in ("queued", "running")
        ]:
            time.sleep(2)  # the runs it started end before the next step takes a task slot
        # A stop while a task runs: the task finishes (it ran into the stop's signal or a gone API server). The
        # task waits on the outbox, held here until the stop has begun: done in a moment, it had ended
        # between two polls of its state and the stop found nothing running.
        outbox = held_by(cycle.warehouse_url, "meta.alert_outbox")
        in_flight = api.post("/api/v2/dags/antq_alerts/dagRuns", json={"logical_date": None}).json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _waiting_on(cycle.warehouse_url, "meta.alert_outbox"):
            time.sleep(0.2)
        assert _task_state(api, in_flight, "deliver_alerts") == "running"
    finally:
        stopped = _stop_letting_go(env, outbox)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert services.running(cycle) is None and not _processes_of(cycle), "no process of theirs is left"
    with psycopg.connect(cycle.warehouse_url, dbname=services.metadata_database(cycle.warehouse_url)) as conn:
        failed = conn.execute("select dag_id, run_id, task_id from task_instance where state = 'failed'").fetchall()
        reminded = conn.execute(
            "select count(*) from task_instance where dag_id = 'antq_late_submissions' and state = 'success'"
        ).fetchone()[0]
        history = conn.execute(
            "select state from task_instance where dag_id = 'antq_reference_refresh' and task_id = 'check_fact_history'"
        ).fetchall()
        in_flight_state = conn.execute(
            "select state from task_instance where run_id = %s", [in_flight["dag_run_id"]]
        ).fetchone()
    assert in_flight_state == ("success",), "the task running when the services were stopped was let finish"
    # The month's run, started late by the services' start: the history tests, minutes at national scale, are
    # left to a quiet hour instead of holding every publish (the 1st of a month is more than 6 h ago in CI,
    # except in the first hours of a month).
    if datetime.now(UTC).day > 1:
        assert history == [("skipped",)], f"the late month's history tests were left to a quiet hour: {history}"
    assert failed == [], f"no task failed, at the start on a new warehouse, on the poison file or at the stop: {failed}"
    with psycopg.connect(cycle.warehouse_url) as conn:
        refused = conn.execute(
            """select s.file_name, r.reason_code, o.status from ingest.submission s
               join ingest.rejection r using (submission_id)
               join meta.alert_outbox o on o.alert_key = 'file_rejected:' || s.submission_id
               where s.status = 'rejected'"""
        ).fetchall()
    assert refused == [("number-abc.xlsx", "unreadable_file", "sent")], "refused with its reason, and alerted"
    with psycopg.connect(cycle.warehouse_url) as conn:
        reminders = conn.execute("select subject from meta.alert_outbox where kind = 'late_submission'").fetchall()
    # The first start once queued 168 overdue reminders for 2025-Q3 to 2026-Q2, periods no one was asked for.
    # (A province whose file had not landed yet when the DAG ran may be reminded of 2026-Q3 itself.)
    periods = {period for (subject,) in reminders for period in subject.rsplit("(", 1)[1].rstrip(")").split(", ")}
    assert reminded and periods <= {PERIOD}, f"the reminder DAG ran and reminded only of {PERIOD}, not {periods}"


def test_one_national_row_per_indicator_equal_to_the_sum_of_provinces_and_of_rows(cycle):
    with psycopg.connect(cycle.warehouse_url) as conn:
        national = {
            r[0]: r[1:]
            for r in conn.execute(
                "select indicator_code, value, numerator, denominator, provinces_reporting"
                " from marts.mart_national_indicator where period_code = %s",
                [PERIOD],
            )
        }
        provinces = {
            r[0]: r[1:]
            for r in conn.execute(
                "select indicator_code, sum(value), sum(numerator), sum(denominator), count(*)"
                " from marts.mart_province_indicator where period_code = %s group by 1",
                [PERIOD],
            )
        }
        raw = {
            r[0]: r[1:]
            for r in conn.execute(
                "select indicator_code, sum(value), sum(numerator), sum(denominator)"
                " from raw.indicator_value join ingest.submission using (submission_id)"
                " where status = 'accepted' and period_code = %s group by 1",
                [PERIOD],
            )
        }
        pct = conn.execute(
            "select ratio_pct, round(100.0 * numerator / denominator, 2) from marts.mart_national_indicator"
            " where indicator_code = 'households_in_anxh'"
        ).fetchone()
    assert set(national) == set(load_catalogue()), "one row per catalogue indicator"
    assert all(row[3] == 34 for row in national.values())
    for code, (value, numerator, denominator, _) in national.items():
        assert (value, numerator, denominator) == provinces[code][:3], code
        assert (value, numerator, denominator) == raw[code], code
        assert provinces[code][3] == 34
    assert national["security_teams"][0] > 30_000, "thousands of teams per province, as the seeds report"
    assert pct[0] == pct[1] and 90 < pct[0] <= 100, "a ratio is Σ numerator / Σ denominator"


def test_bi_reads_every_published_mart_and_an_analyst_only_their_province(cycle):
    with psycopg.connect(cycle.warehouse_url, autocommit=True) as conn:
        tables = [
            r[0] for r in conn.execute("select table_name from information_schema.tables where table_schema = 'marts'")
        ]
        assert {"dim_unit", "fct_indicator_value", "mart_national_indicator", "publish_log"} <= set(tables)
        conn.execute("set role antq_bi_reader")
        for table in tables:
            assert conn.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0, table
        for relation in (
            "staging.stg_raw__indicator_value",
            "intermediate.int_indicator_values",
            "raw.indicator_value",
            "ingest.rejection",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"select 1 from {relation} limit 1")
        conn.execute("set role antq_analyst_38")
        for table in ("mart_province_indicator", "fct_indicator_value", "mart_figure_source"):
            seen = conn.execute(f"select distinct province_code from province_38.{table}").fetchall()
            assert seen == [("38",)], table
        national = conn.execute(
            "select count(*) from province_38.mart_national_indicator where period_code = %s", [PERIOD]
        ).fetchone()[0]
        assert national == len(load_catalogue()), "made of three provinces: shown to analysts (small-cell rule)"
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("select 1 from marts.mart_province_indicator limit 1")


def test_running_the_pipeline_again_changes_nothing(cycle):
    """The same files again, then a publish: the DAGs' own steps, in this process (the DAG wiring is what the
    tests before and after this one run)."""
    before = marts_checksums(cycle)
    with psycopg.connect(cycle.warehouse_url) as conn:
        published = conn.execute("select count(*) from meta.publish_log where action = 'publish'").fetchone()[0]
    send_all(cycle.landing_dir)
    assert pipeline.ingest_waiting(cycle) == {"duplicate": 34}
    published_now = subprocess.run(  # make publish
        [sys.executable, "-m", "warehouse", "publish"],
        env=airflow_env(cycle, cycle.warehouse_url),
        capture_output=True,
        text=True,
    )
    assert published_now.returncode == 0 and "held for review: none" in published_now.stdout, published_now.stderr
    after = marts_checksums(cycle)
    assert after.pop("publish_log") != before.pop("publish_log"), "the second publish is logged"
    assert after == before
    with psycopg.connect(cycle.warehouse_url) as conn:
        statuses = conn.execute("select status, count(*) from ingest.submission group by 1").fetchall()
        publishes = conn.execute("select count(*) from meta.publish_log where action = 'publish'").fetchone()[0]
    # Hà Nội's first two versions were superseded by the publish asked for in the burst's test (its correction,
    # then its first bytes again).
    assert sorted(statuses) == [("accepted", 34), ("rejected", 1), ("superseded", 2)]
    assert publishes == published + 1


def test_a_period_some_provinces_sent_is_published_as_provisional_with_who_is_in(cycle, mailbox):
    missing = "38"
    early = [c for c in current_province_codes() if c != missing][:3]
    generate_national(cycle.landing_dir, "2026-10", early)
    run_pipeline(cycle)
    log = (cycle.data_dir / "logs" / "antq_publish.log").read_text(encoding="utf-8")
    assert "HELD 0 province × period submission(s)" in log, "the publish DAG says what it held"
    with psycopg.connect(cycle.warehouse_url) as conn:
        national = conn.execute(
            "select provinces_reporting, provinces_expected, publication_status from marts.mart_national_indicator"
            " where period_code = '2026-10' and indicator_code = 'security_teams'"
        ).fetchone()
        thanh_hoa = conn.execute(
            "select count(*) from marts.mart_province_indicator where period_code = '2026-10' and province_code = %s",
            [missing],
        ).fetchone()[0]
        quarter = conn.execute(
            "select publication_status, provinces_reporting from marts.mart_national_indicator"
            " where period_code = %s and indicator_code = 'security_teams'",
            [PERIOD],
        ).fetchone()
    assert national == (3, 34, "provisional")
    assert thanh_hoa == 0
    assert quarter == ("final", 34), "the earlier period stays as it was"
    assert mailbox.take() == [], "a province not in yet is a status, not an alert"
