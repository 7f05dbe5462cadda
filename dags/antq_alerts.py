"""Every five minutes: deliver the alerts waiting in the outbox (meta.alert_outbox). Each step that queues an
alert also tries to deliver it at once; this run retries what a mail server outage kept back."""

from datetime import datetime

from airflow.sdk import dag, task

from warehouse.callbacks import alert_task_failure


@dag(
    schedule="*/5 * * * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"on_failure_callback": alert_task_failure},
    tags=["antq", "alerts"],
)
def antq_alerts():
    @task
    def deliver_alerts() -> dict:
        from warehouse.pipeline import deliver_alerts

        return deliver_alerts()

    deliver_alerts()


antq_alerts()
