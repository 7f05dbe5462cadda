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

    # Every file gets a verdict (accepted, refused with reasons, duplicate), never an exception: a task fails
    # only on the machine's trouble (a lost database, a full disk), and is retried.
    @task(max_active_tis_per_dagrun=4, retries=2)
    def ingest_file(path: str) -> dict:
        from warehouse.pipeline import ingest

        outcome = ingest(path)
        print(outcome["file_name"], outcome["status"], *outcome["problems"][:20], sep="\n  ")
        return outcome

    # Runs whatever became of each file (all_done): one file that still failed never keeps the others from
    # being announced and published. Runs when no new file was found too: a file the portal or a backfill
    # ingested, a confirmed or rejected hold and a closed period still need this announcement to be published
    # (the portal and the CLI ask for it: request_publish). It reads what waits in the registry, not the files'
    # results, which a failed file has none of.
    @task(outlets=[ACCEPTED_SUBMISSIONS], trigger_rule="all_done")
    def announce_accepted() -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from warehouse.pipeline import take_publish_request, waiting_to_publish

        requested = take_publish_request()
        waiting = waiting_to_publish()
        if not waiting and not requested:
            raise AirflowSkipException("no new accepted submission and no publish asked for: nothing to publish")
        print("publish asked for:", *requested, sep="\n  ")
        return {"waiting_to_publish": waiting, "requested": requested}

    files = find_new_files()
    prepare_warehouse() >> files
    ingest_file.expand(path=files) >> announce_accepted()


antq_ingest()
