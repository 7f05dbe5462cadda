"""Check each new province × period submission (holding back the ones a check finds something in), build the
star schema and marts, check the build as a whole with Great Expectations, then swap it in as `marts`."""

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
    @task
    def check_submissions(dag_run=None) -> dict:
        """Hold back the province × period submissions a check finds something in; the others go on. A run
        the asset started when an earlier run had already published everything does nothing."""
        from airflow.sdk.exceptions import AirflowSkipException

        from warehouse.pipeline import check_submissions, waiting_to_publish

        if dag_run.run_type == "asset_triggered" and not waiting_to_publish():
            raise AirflowSkipException("every accepted submission is published or held: nothing to publish")
        return check_submissions()

    @task
    def build_marts() -> None:
        from warehouse.pipeline import build_marts

        build_marts()

    @task
    def validate_marts() -> dict:
        from warehouse.pipeline import validate_marts

        return validate_marts()

    @task(outlets=[PUBLISHED_MARTS])
    def publish_marts(gate: dict) -> int:
        from warehouse.pipeline import publish_marts

        return publish_marts(gate)

    # The national report of each period this publish made final, and an email saying where it is.
    @task
    def write_final_reports(publish_id: int) -> list[str]:
        from warehouse.pipeline import write_final_reports

        return write_final_reports()

    held = check_submissions()
    built = build_marts()
    gate = validate_marts()
    held >> built >> gate
    write_final_reports(publish_marts(gate))


antq_publish()
