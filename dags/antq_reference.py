"""Monthly, or by hand: reload administrative units from the pinned reference packages, then run the dbt
tests that read the whole fact store (too slow for every build).

The history tests hold the dbt lock (publishing/transform.py) while they read every fact, minutes at national
scale (339 s at ten years), and every publish waits for them. A run Airflow starts late, such as the month's
run when the services start after the 1st (with catchup off, Airflow runs the latest missed one at once),
leaves them to `make check-history` and next month: the first file after a start waited 232 s for them."""

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

from warehouse.callbacks import alert_task_failure

LATE = timedelta(hours=6)


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
    def check_fact_history(dag_run=None) -> None:
        from airflow.sdk.exceptions import AirflowSkipException

        from warehouse.pipeline import check_fact_history

        due = dag_run.run_after
        if dag_run.run_type == "scheduled" and datetime.now(UTC) - due > LATE:
            raise AirflowSkipException(
                f"due {due:%Y-%m-%d %H:%M} UTC, started late (the services started after it): the history tests"
                " would hold every publish for minutes; run them in a quiet hour with make check-history"
            )
        check_fact_history()

    refresh_reference() >> check_fact_history()


antq_reference_refresh()
