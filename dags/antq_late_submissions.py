"""Daily: remind provinces whose report is due soon or overdue (dbt_project/seeds/expected_submissions.csv)."""

from datetime import datetime

from airflow.sdk import dag, task

from warehouse.callbacks import alert_task_failure


@dag(
    schedule="0 7 * * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"on_failure_callback": alert_task_failure},
    tags=["antq", "reminders"],
)
def antq_late_submissions():
    @task
    def remind_late_provinces(data_interval_end=None) -> dict:
        from warehouse.pipeline import remind_late_provinces

        return remind_late_provinces(data_interval_end.date())

    remind_late_provinces()


antq_late_submissions()
