"""The warehouse's schemas, named once for Python, Great Expectations and dbt (which reads them from the
environment publishing/transform.py gives it: dbt_project.yml and the macros use env_var('ANTQ_..._SCHEMA'))."""

# Kept by ingestion and migrations (core/migrations/).
INGEST = "ingest"  # the registry of submissions and their rejections
RAW = "raw"  # the rows of accepted files, as loaded
REF = "ref"  # administrative units and the 2025 crosswalk
META = "meta"  # publish log, holds, alerts

# Built by dbt.
STAGING = "staging"  # views over raw, ref, ingest and meta, and the seeds
INTERMEDIATE = "intermediate"  # the fact store (a view over raw), the totals and the dimensions the marts copy
BUILD = "build"  # the star schema and the marts of one build, checked by the gate

# Published (publishing/publish.py, publishing/published_facts.py).
LIVE = "marts"  # what BI reads: the last build that passed the gate
PREVIOUS = "marts_previous"  # the build before, kept for a rollback, out of BI's reach
PUBLISHED = "published"  # the published submissions' unit-level facts, one partition per province
PUBLISHED_FILL = "published_fill"  # a first fill of them, made before the publish that attaches it; no reader

FACT_STORE = f"{INTERMEDIATE}.int_indicator_values"
REMAPPED_SUBMISSIONS = f"{INTERMEDIATE}.remapped_submissions"  # written by the dbt macro record_remapped_submissions


def dbt_environment() -> dict[str, str]:
    """What dbt reads to find its sources and to put each model where these names say."""
    read = {"INGEST": INGEST, "RAW": RAW, "REF": REF, "META": META, "PUBLISHED": PUBLISHED}
    built = {"STAGING": STAGING, "INTERMEDIATE": INTERMEDIATE, "BUILD": BUILD}
    return {f"ANTQ_{key}_SCHEMA": name for key, name in (read | built).items()}
