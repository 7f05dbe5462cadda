"""Ingest provincial submissions: every file waiting in landing, in one task.

Runs within a second of a file landing (the landing asset's watcher, warehouse/triggers.py, in the
triggerer), and every 15 minutes in any case, which also announces files ingested outside Airflow.

One task, not one per file: each Airflow task is a new process (about a second to start and import), which
on deadline day cost more than the files themselves (0.1 s each). The task ingests one file in its own
process and a burst with two worker processes (pipeline.ingest_waiting), each file on its own and each
given a verdict; the log names every file's."""

from datetime import datetime, timedelta

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
    # Every file gets a verdict (accepted, refused with reasons, duplicate), never an exception: the task fails
    # only on the machine's trouble (a lost database, a full disk), after every other file had its verdict; the
    # file stays in landing and the retry takes it. Then it announces what waits to publish, which starts
    # antq_publish: new files, and what the portal or a backfill ingested, a confirmed or rejected hold and a
    # closed period (these ask for it: pipeline.request_publish).
    @task(outlets=[ACCEPTED_SUBMISSIONS], retries=2, retry_delay=timedelta(seconds=10))
    def ingest_landed(outlet_events=None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from warehouse.pipeline import ingest_landed

        landed = ingest_landed()
        if not landed["waiting_to_publish"] and not landed["publish_requested"]:
            raise AirflowSkipException("no new accepted submission and no publish asked for: nothing to publish")
        # antq_publish publishes for a request even when no submission waits (a rejected hold, a closed period)
        outlet_events[ACCEPTED_SUBMISSIONS].extra = {"publish_requested": landed["publish_requested"]}
        return landed

    ingest_landed()


antq_ingest()
