"""Monthly, or by hand: reload administrative units from the pinned reference packages, then run the dbt
tests that read the whole fact store (too slow for every build)."""

from datetime import datetime

from airflow.sdk import dag, task

from warehouse.callbacks import alert_task_failure


@dag(
    schedule="@monthly",
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
