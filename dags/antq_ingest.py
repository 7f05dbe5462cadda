"""Ingest provincial submissions: one mapped task per new landing file.

Runs within seconds of a file landing (the landing asset's watcher, warehouse/triggers.py, in the
triggerer), and every 15 minutes in any case, which also announces files ingested outside Airflow."""

from datetime import datetime

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from warehouse.assets import ACCEPTED_SUBMISSIONS, LANDING
from warehouse.callbacks import alert_task_failure


@dag(
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("*/15 * * * *", timezone="UTC"), assets=[LANDING]),
    default_args={"on_failure_callback": alert_task_failure},
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["antq", "ingest"],
)
def antq_ingest():
    @task
    def prepare_warehouse() -> dict:
        from warehouse.pipeline import prepare_warehouse

        return prepare_warehouse()

    @task
    def find_new_files() -> list[str]:
        from warehouse.pipeline import find_new_files

        return find_new_files()

    @task(max_active_tis_per_dagrun=4, retries=2)
    def ingest_file(path: str) -> dict:
        from warehouse.pipeline import ingest

        return ingest(path)

    # Runs when no new file was found too (the mapped task then has nothing to do and is skipped): a file the
    # portal or a backfill ingested still needs this announcement to be published.
    @task(outlets=[ACCEPTED_SUBMISSIONS], trigger_rule="none_failed")
    def announce_accepted(results: list[dict]) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        outcomes = list(results)
        for outcome in outcomes:
            print(outcome["file_name"], outcome["status"], *outcome["problems"][:20], sep="\n  ")
        from warehouse.pipeline import waiting_to_publish

        accepted = [o for o in outcomes if o["status"] == "accepted"]
        # Files the portal or a backfill ingested, and confirmed holds, wait for a publish too.
        waiting = waiting_to_publish()
        if not accepted and not waiting:
            raise AirflowSkipException("no new accepted submission: nothing to publish")
        rejected = sum(o["status"] == "rejected" for o in outcomes)
        return {"accepted": len(accepted), "rejected": rejected, "waiting_to_publish": waiting}

    files = find_new_files()
    prepare_warehouse() >> files
    announce_accepted(ingest_file.expand(path=files))


antq_ingest()
