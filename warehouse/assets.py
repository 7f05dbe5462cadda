"""Airflow Assets shared by the DAGs: the publish DAG runs when ingestion accepted something new."""

from airflow.sdk import Asset

ACCEPTED_SUBMISSIONS = Asset(name="antq_accepted_submissions", uri="antq://warehouse/ingest/submission")
PUBLISHED_MARTS = Asset(name="antq_published_marts", uri="antq://warehouse/marts")
