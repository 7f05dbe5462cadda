"""Reload administrative units from the pinned reference packages (monthly, or by hand)."""

from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule="@monthly", start_date=datetime(2025, 1, 1), catchup=False, tags=["antq", "reference"])
def antq_reference_refresh():
    @task
    def refresh_reference() -> dict:
        from warehouse.pipeline import refresh_reference

        return refresh_reference()

    refresh_reference()


antq_reference_refresh()
