"""Monthly, or by hand: reload administrative units from the pinned reference packages, then run the dbt
tests that read the whole fact store (too slow for every build).

Not at once when the services first start (run_immediately=False): the history tests read every fact and hold
the dbt lock (publishing/transform.py) for minutes at national scale (339 s at ten years), so the first file
after a start waited for them (232 s). A new warehouse loads its units when it is prepared; the first run is
on the next first of a month, or by hand."""

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, dag, task

from warehouse.callbacks import alert_task_failure


@dag(
    schedule=CronTriggerTimetable("0 0 1 * *", timezone="UTC", run_immediately=False),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["antq", "reference"],
    default_args={"on_failure_callback": alert_task_failure},
)
def antq_reference_refresh():
    @task
    def refresh_reference() -> dict:
        from warehouse.pipeline import refresh_reference

        return refresh_reference()

    @task
    def check_fact_history() -> None:
        from warehouse.pipeline import check_fact_history

        check_fact_history()

    refresh_reference() >> check_fact_history()


antq_reference_refresh()
