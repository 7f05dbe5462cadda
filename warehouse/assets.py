"""Airflow Assets shared by the DAGs: ingestion runs when a file lands, publishing when ingestion accepted
something new."""

from airflow.sdk import Asset, AssetWatcher

from core.settings import Settings
from warehouse.triggers import LandingTrigger

_landing_dir = Settings.from_env().landing_dir
LANDING = Asset(
    name="antq_landing",
    uri=_landing_dir.as_uri(),
    watchers=[AssetWatcher(name="antq_landing_watcher", trigger=LandingTrigger(str(_landing_dir)))],
)

ACCEPTED_SUBMISSIONS = Asset(name="antq_accepted_submissions", uri="antq://warehouse/ingest/submission")
PUBLISHED_MARTS = Asset(name="antq_published_marts", uri="antq://warehouse/marts")
