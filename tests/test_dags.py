"""The DAG files import cleanly, define the expected DAGs, and do no work at import time."""

import os
import time

import pytest


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    from core.settings import DAGS_DIR

    started = time.monotonic()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    bag.parse_seconds = time.monotonic() - started
    return bag


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        "antq_ingest",
        "antq_publish",
        "antq_reference_refresh",
        "antq_late_submissions",
        "antq_alerts",
    }


def test_publishing_is_scheduled_on_the_asset_that_ingestion_emits(dagbag):
    publish = dagbag.dags["antq_publish"]
    announce = dagbag.dags["antq_ingest"].get_task("ingest_landed")
    assert [a.name for a in announce.outlets] == ["antq_accepted_submissions"]
    assert "antq_accepted_submissions" in repr(publish.timetable.asset_condition)


def test_a_file_reaches_bi_through_two_tasks_and_every_dag_alerts_on_failure(dagbag):
    """One task ingests, one publishes: each Airflow task is a new process, and a file should be readable by
    BI seconds after it lands. The reports come after the publish, off that path."""
    assert [t.task_id for t in dagbag.dags["antq_ingest"].tasks] == ["ingest_landed"]
    assert [t.task_id for t in dagbag.dags["antq_publish"].tasks] == ["publish", "write_final_reports"]
    assert [a.name for a in dagbag.dags["antq_publish"].get_task("publish").outlets] == ["antq_published_marts"]
    for dag_id in dagbag.dag_ids:
        for task in dagbag.dags[dag_id].tasks:
            assert task.on_failure_callback, f"{dag_id}.{task.task_id} has no failure alert"
