"""An unexpected-rows expectation that runs its query once.

Great Expectations 1.x's UnexpectedRowsExpectation computes two metrics from its query, the rows and
their count, and so runs the query twice; at national scale that alone makes the gate twice as slow as
the checks themselves (make bench). Here one metric runs the query once, returning the first
MAX_RESULT_RECORDS rows (or max_rows) together with the total count (a window count over the whole result).

Its rows carry plain numbers, not Decimal: Great Expectations serializes each Decimal of a result with a call
to inspect.stack() (to find out whether its profiler asked), about 5 ms apiece, so 200 rows of sums took
seconds to store.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from great_expectations.compatibility.sqlalchemy import sqlalchemy as sa
from great_expectations.constants import MAX_RESULT_RECORDS
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations import UnexpectedRowsExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import QueryMetricProvider

METRIC = "antq_unexpected_rows.sample_and_count"
TOTAL = "antq_unexpected_total"


class UnexpectedRowsSampleAndCount(QueryMetricProvider):
    metric_name = METRIC
    value_keys = ("unexpected_rows_query", "max_rows")
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> dict:
        batch_selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=cls._get_query_from_metric_value_kwargs(metric_value_kwargs),
            batch_selectable=batch_selectable,
            execution_engine=execution_engine,
        )
        limit = int(metric_value_kwargs.get("max_rows") or MAX_RESULT_RECORDS)
        once = f"select q.*, count(*) over () as {TOTAL} from ({query}) as q limit {limit}"
        rows = [row._asdict() for row in execution_engine.execute_query(sa.text(once)).fetchall()]
        total = rows[0][TOTAL] if rows else 0
        return {"count": total, "rows": [{k: plain(v) for k, v in row.items() if k != TOTAL} for row in rows]}


def plain(value: Any) -> Any:
    """A number from Postgres as JSON keeps it: a whole Decimal as int, any other as float (as GX would)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class ExpectNoUnexpectedRows(UnexpectedRowsExpectation):
    """UnexpectedRowsExpectation with its query run once (see the module docstring). max_rows bounds the rows
    returned: a check whose every row is acted on (a hold per submission) asks for more than the default."""

    max_rows: int = MAX_RESULT_RECORDS
    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC,)
    success_keys: ClassVar[tuple[str, ...]] = ("unexpected_rows_query", "max_rows")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None) -> dict:
        found = metrics[METRIC]
        return {
            "success": found["count"] == 0,
            "result": {"observed_value": found["count"], "details": {"unexpected_rows": found["rows"]}},
        }
