"""What a report shows, read from the published figures only, as their readers read them: a national report as
the BI reader (`marts`), a province's as that province's analysts (its own schema `province_<code>`: its rows,
the national figures once complete, never another province's rows). Everything is read first, in one publish
of the marts, then written (reports/document.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from core import schemas
from core.db import warehouse_url
from core.security import BI_READER, analyst_role, analyst_schema
from core.settings import Settings
from ingestion.periods import Period, parse_period
from reports.text import MartRow

# The narrative's groups of indicators, in the report's order; an indicator of the catalogue in none of them is
# written under "other". Their titles are in the text files (groups.<name>).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("forces", ("steering_committees", "security_teams", "security_team_members", "anxh_teams", "households_in_anxh")),
    (
        "fire",
        (
            "fire_safety_groups",
            "public_fire_points",
            "households_second_member_trained_pccc",
            "households_second_escape_route",
            "households_with_extinguisher",
        ),
    ),
    ("models", ("models_launched", "models_active")),
    (
        "safe_areas",
        (
            "units_meeting_antt_standard",
            "villages_without_crime",
            "villages_without_drug_users",
            "communes_without_drug_users",
            "key_areas",
        ),
    ),
    (
        "outreach",
        (
            "propaganda_sessions",
            "propaganda_attendees",
            "training_conferences",
            "training_participants",
            "prestigious_persons_engaged",
            "review_conferences",
        ),
    ),
    ("commendation", ("collectives_commended", "individuals_commended", "weapons_surrendered")),
)
# The trend chart's indicators, and the commune table's columns.
KEY_INDICATORS = ("security_teams", "security_team_members", "anxh_teams", "models_active")
TREND_PERIODS = 8  # the last periods of the same kind the trend shows
TOP_MODELS = 10
RANKING_INDICATOR = "security_teams"

# The columns that identify a row of each relation a report reads (the annex's key).
KEYS = {
    "dim_period": ("period_code",),
    "mart_national_indicator": ("period_code", "indicator_code"),
    "mart_province_indicator": ("province_code", "period_code", "indicator_code"),
    "mart_model_counts": ("province_code", "model_type", "model_level"),
    "mart_model_replication": ("model_key",),
    "mart_reporting_completeness": ("province_code", "period_code"),
    "fct_indicator_value": ("submission_id", "unit_key", "indicator_code", "category"),
    "dim_unit": ("unit_key",),
    "publish_log": ("publish_id",),
}


@dataclass
class Published:
    """One period's published figures, as one reader sees them in one publish of the marts."""

    period: Period
    schema: str  # marts, or province_<code>
    province: str | None
    period_row: MartRow
    publish: MartRow | None
    national: dict[str, MartRow]  # indicator -> the national figure (a province's reader: those complete)
    provinces: dict[str, list[MartRow]]  # indicator -> province figures by rank (a province's: its own only)
    trend: dict[str, list[MartRow]]  # indicator -> its figures of the last periods of the kind, oldest first
    replicated: list[MartRow]
    model_counts: list[MartRow]
    completeness: list[MartRow]
    communes: list[tuple[MartRow, dict[str, MartRow]]] = field(default_factory=list)  # unit, indicator -> fact
    ranking_indicator: str = RANKING_INDICATOR

    @property
    def own(self) -> dict[str, MartRow]:
        """A province report's own figures, by indicator."""
        return {code: rows[0] for code, rows in self.provinces.items() if rows}

    @property
    def province_name(self) -> str:
        names = [rows[0]["province_name"] for rows in self.provinces.values() if rows and rows[0]["province_name"]]
        return names[0] if names else self.province or ""


class NotPublished(LookupError):
    """Nothing to report: the period has no published figure, or the reader may not read it."""


def row(relation: str, values: dict[str, Any]) -> MartRow:
    schema, table = relation.split(".")
    key = tuple((column, str(values[column])) for column in KEYS[table])
    return MartRow(relation, key, values)


@contextmanager
def reader(settings: Settings, province: str | None = None) -> Iterator[psycopg.Connection]:
    """A read-only session as the report's reader: the BI reader, or the province's analysts' role."""
    role = analyst_role(province) if province else BI_READER
    url = settings.warehouse_url or warehouse_url(settings)
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone():
            raise NotPublished(
                f"{province} is not a province of today's map (no role {role})" if province else f"no role {role}"
            )
        _become(conn, role)
        conn.execute("set default_transaction_read_only = on")
        yield conn


def _become(conn: psycopg.Connection, role: str) -> None:
    """SET ROLE to the reader. A pipeline user that made the readers' roles itself (CREATEROLE, as in
    docker-compose.yml) administers them, but from Postgres 16 may not become one until it grants itself that,
    without inheriting what they may read (they read less than it does)."""
    become = sql.SQL("set role {}").format(sql.Identifier(role))
    try:
        conn.execute(become)
        return
    except psycopg.errors.InsufficientPrivilege:
        pass
    options = " with inherit false, set true" if conn.info.server_version >= 160000 else ""
    try:
        conn.execute(sql.SQL("grant {} to current_user" + options).format(sql.Identifier(role)))
        conn.execute(become)
    except psycopg.errors.InsufficientPrivilege as error:
        user = conn.info.user
        raise PermissionError(
            f"the report reads as {role}, as its readers do, and {user} may not become it ({error})."
            f" As a superuser: grant {role} to {user};"
        ) from error


def read(settings: Settings, period_code: str, province: str | None = None, ranking: str = RANKING_INDICATOR):
    """The period's published figures for a national report, or a province's. Read again if the marts were
    published again meanwhile, so that every figure comes from one publish."""
    period = parse_period(period_code)
    schema = analyst_schema(province) if province else schemas.LIVE
    with reader(settings, province) as conn:
        if conn.execute("select to_regclass(%s)", [f"{schema}.mart_province_indicator"]).fetchone()["to_regclass"]:
            for _ in range(3):
                before = _publish(conn, schema)
                published = _read(conn, schema, period, province, ranking)
                if _publish(conn, schema) == before:
                    published.publish = before
                    return published
            raise RuntimeError("the marts were published again three times while the report read them: run it again")
    raise NotPublished(f"nothing is published in {schema} yet")


def _publish(conn: psycopg.Connection, schema: str) -> MartRow | None:
    found = conn.execute(
        sql.SQL("select * from {} order by publish_id desc limit 1").format(sql.Identifier(schema, "publish_log"))
    ).fetchone()
    return row(f"{schema}.publish_log", found) if found else None


def _rows(conn: psycopg.Connection, schema: str, table: str, where: str, params: list[Any]) -> list[MartRow]:
    query = sql.SQL("select * from {} where ").format(sql.Identifier(schema, table)) + sql.SQL(where)
    return [row(f"{schema}.{table}", values) for values in conn.execute(query, params)]


def _read(conn: psycopg.Connection, schema: str, period: Period, province: str | None, ranking: str) -> Published:
    periods = _rows(conn, schema, "dim_period", "period_code = %s", [period.code])
    if not periods:
        raise NotPublished(f"{period.code} is not a period the warehouse knows")
    national = {
        r["indicator_code"]: r
        for r in _rows(
            conn, schema, "mart_national_indicator", "period_code = %s order by indicator_code", [period.code]
        )
    }
    provinces: dict[str, list[MartRow]] = {}
    for r in _rows(
        conn,
        schema,
        "mart_province_indicator",
        "period_code = %s order by indicator_code, province_rank, province_code",
        [period.code],
    ):
        provinces.setdefault(r["indicator_code"], []).append(r)
    if not provinces if province else not (national or provinces):
        raise NotPublished(f"no figure of {period.code} is published in {schema}")
    # The last periods of the same kind up to this one: the whole country's, or the province's own.
    trend_table = "mart_province_indicator" if province else "mart_national_indicator"
    trend: dict[str, list[MartRow]] = {}
    for r in _rows(
        conn,
        schema,
        trend_table,
        "period_type = %s and period_start <= %s and indicator_code = any(%s) order by period_start",
        [period.period_type, period.start, list(KEY_INDICATORS)],
    ):
        trend.setdefault(r["indicator_code"], []).append(r)
    trend = {code: rows[-TREND_PERIODS:] for code, rows in trend.items()}
    replicated = _rows(
        conn, schema, "mart_model_replication", f"true order by replication_rank, model_code limit {TOP_MODELS}", []
    )
    model_counts = (
        _rows(conn, schema, "mart_model_counts", "true order by model_type, model_level", []) if province else []
    )
    completeness = _rows(
        conn, schema, "mart_reporting_completeness", "period_code = %s order by province_name", [period.code]
    )
    communes = _communes(conn, schema, period) if province else []
    return Published(
        period=period,
        schema=schema,
        province=province,
        period_row=periods[0],
        publish=None,
        national=national,
        provinces=provinces,
        trend=trend,
        replicated=replicated,
        model_counts=model_counts,
        completeness=completeness,
        communes=communes,
        ranking_indicator=ranking,
    )


def _communes(conn: psycopg.Connection, schema: str, period: Period) -> list[tuple[MartRow, dict[str, MartRow]]]:
    """The province's communes' own figures of the key indicators, as their published submission gave them."""
    units: dict[str, MartRow] = {}
    figures: dict[str, dict[str, MartRow]] = {}
    facts = _rows(
        conn,
        schema,
        "fct_indicator_value",
        "period_code = %s and unit_level = 'commune' and is_counted and category = 'total'"
        " and indicator_code = any(%s) order by unit_key",
        [period.code, list(KEY_INDICATORS)],
    )
    if facts:
        keys = sorted({f["unit_key"] for f in facts})
        units = {u["unit_key"]: u for u in _rows(conn, schema, "dim_unit", "unit_key = any(%s)", [keys])}
    for fact in facts:
        figures.setdefault(fact["unit_key"], {})[fact["indicator_code"]] = fact
    ordered = sorted(figures, key=lambda key: (units[key]["unit_name"], key))
    return [(units[key], figures[key]) for key in ordered]


def group_of(indicators: list[str]) -> list[tuple[str, list[str]]]:
    """The groups of the narrative with the given indicators in each, in order; the rest under "other"."""
    placed = {code for _, codes in GROUPS for code in codes}
    groups = [(name, [code for code in codes if code in indicators]) for name, codes in GROUPS]
    groups.append(("other", sorted(code for code in indicators if code not in placed)))
    return [(name, codes) for name, codes in groups if codes]
