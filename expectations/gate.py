"""Run the suites as one Great Expectations checkpoint on the build schema and summarise the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.base import ProgressBarsConfig

from core.db import warehouse_url
from expectations.findings import Finding, GateReport

SAMPLE_ROWS = 5
DOCS_SITE = "antq_gate"


def sqlalchemy_url(url: str) -> str:
    """GX's generic SQL datasource accepts Unix-socket URLs; use the psycopg 3 driver."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def _distinct(rows: list, *keys: str) -> list[str]:
    found = {" ".join(str(row[k]) for k in keys if row.get(k) is not None) for row in rows if isinstance(row, dict)}
    return sorted(value for value in found if value)


def _exception_message(info: dict | None) -> str | None:
    """Why a check could not run: GX gives one exception, or one per metric it tried to compute."""
    if not info:
        return None
    raised = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = [e.get("exception_message") or "error" for e in raised if e.get("raised_exception")]
    return "; ".join(messages) or None


def run_gate(
    schema: str,
    table_suites: Callable[[], dict[str, gx.ExpectationSuite]],
    url: str | None = None,
    docs_dir: Path | None = None,
) -> GateReport:
    """Run the suites (table in `schema` -> suite, made inside the GX context) as one checkpoint; with
    docs_dir, also write the Great Expectations data docs of a run that found something there (rendering
    them took about a second of every publish run's two gates; the gate's own report, kept for every run, is
    what the desk links). A check that cannot run, or that holds but cannot name every row it found, is
    critical: the gate fails closed."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            },
        )
    source = context.data_sources.add_sql(name="warehouse", connection_string=sqlalchemy_url(url or warehouse_url()))
    definitions = []
    for table, suite in table_suites().items():
        asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
        batch = asset.add_batch_definition_whole_table(f"{table}_all")
        context.suites.add(suite)
        definitions.append(
            context.validation_definitions.add(gx.ValidationDefinition(name=f"gate_{table}", data=batch, suite=suite))
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"gate_{schema}",
            validation_definitions=definitions,
            result_format={"result_format": "COMPLETE"},
        )
    )
    result = checkpoint.run()
    with_docs = docs_dir is not None and not result.success
    if with_docs:
        UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE]).run(result)
    findings: list[Finding] = []
    checks: list[dict] = []
    for validation in result.run_results.values():
        table = validation.suite_name  # each suite is named for the table it protects
        for outcome in validation.results:
            config = outcome.expectation_config
            details = outcome.result or {}
            unexpected = details.get("unexpected_count", details.get("observed_value"))
            checks.append(
                {
                    "check": (config.meta or {}).get("check", config.type),
                    "table": table,
                    "description": config.description or config.type,
                    "severity": (config.meta or {}).get("severity", "critical"),
                    "passed": bool(outcome.success),
                    "observed": unexpected if isinstance(unexpected, int | float | str) else None,
                }
            )
            if outcome.success:
                continue
            rows = details.get("details", {}).get("unexpected_rows") or details.get("partial_unexpected_list") or []
            description = config.description or config.type
            level = (config.meta or {}).get("severity", "critical")
            error = _exception_message(outcome.exception_info)
            if error:  # a check that cannot run fails closed
                description += f" (the check itself failed: {error})"
                level = "critical"
            elif level == "hold" and unexpected != len(rows):
                description += f" (only {len(rows)} of {unexpected} rows could be read: nothing can be held)"
                level = "critical"
            findings.append(
                Finding(
                    check=(config.meta or {}).get("check", config.type),
                    table=table,
                    severity=level,
                    description=description,
                    unexpected_count=unexpected if isinstance(unexpected, int) else None,
                    sample=[dict(row) if isinstance(row, dict) else {"value": row} for row in rows[:SAMPLE_ROWS]],
                    provinces=_distinct(rows, "province_code", "province_name"),
                    periods=_distinct(rows, "period_code"),
                    rows=[dict(row) for row in rows] if level == "hold" else [],
                )
            )
    docs_url = context.get_docs_sites_urls(site_name=DOCS_SITE)[0]["site_url"] if with_docs else ""
    return GateReport(schema, len(checks), findings, docs_url or "", checks=checks)
