"""Publish what waits: check each new province × period submission (holding back the ones a check finds
something in), build the star schema and marts, check the build as a whole with Great Expectations, then swap
it in as `marts`; then write the reports of the periods that publish made final.

The four steps run in one task, so in one process: each task is a new process that imports dbt or Great
Expectations again (a second or two each), and a file should be readable by BI seconds after it lands. The
task's log names each step and its time (pipeline.publish_new_figures)."""

from datetime import datetime

from airflow.sdk import dag, task

from warehouse.assets import ACCEPTED_SUBMISSIONS, PUBLISHED_MARTS
from warehouse.callbacks import alert_task_failure


@dag(
    schedule=[ACCEPTED_SUBMISSIONS],
    default_args={"on_failure_callback": alert_task_failure},
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["antq", "publish"],
)
def antq_publish():
    @task(outlets=[PUBLISHED_MARTS])
    def publish(dag_run=None, triggering_asset_events=None) -> dict:
        """A run the asset started when an earlier run had already published everything, with no publish
        asked for since (a review, a closing: antq_ingest passes the requests in its event), does nothing."""
        from airflow.sdk.exceptions import AirflowSkipException

        from warehouse.pipeline import publish_new_figures, waiting_to_publish

        events = [event for found in (triggering_asset_events or {}).values() for event in found]
        requested = [line for event in events for line in (event.extra or {}).get("publish_requested", [])]
        print("publish asked for:", *requested, sep="\n  ")
        if dag_run.run_type == "asset_triggered" and not requested and not waiting_to_publish():
            raise AirflowSkipException("every accepted submission is published or held: nothing to publish")
        return publish_new_figures()

    # The national report of each period this publish made final, and an email saying where it is.
    @task
    def write_final_reports(published: dict) -> list[str]:
        from warehouse.pipeline import write_final_reports

        return write_final_reports()

    write_final_reports(publish())


antq_publish()
