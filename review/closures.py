"""Closing a period for a province that will not report it: the data team's decision, with who, when and why,
kept like a hold's review and never deleted.

A period's national figures are final only when every expected province is counted or closed and no hold is
open for the period (mart_national_indicator); everything else is provisional, however long past its deadline.
A province that sends a closed period after all is counted like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from ingestion.periods import parse_period


class CloseError(ValueError):
    pass


@dataclass(frozen=True)
class Closure:
    period_code: str
    province_code: str
    province_name: str | None
    closed_by: str
    closed_at: datetime
    reason: str

    def describe(self) -> str:
        return (
            f"{self.period_code} closed for {self.province_code} {self.province_name or ''} by {self.closed_by}"
            f" at {self.closed_at:%Y-%m-%d %H:%M}: {self.reason}"
        )


_SELECT = """
    select c.period_code, c.province_code, p.name as province_name, c.closed_by, c.closed_at, c.reason
    from meta.period_closure as c
    left join ref.unit as p on p.map = 'current' and p.unit_level = 'province' and p.unit_code = c.province_code
"""


def close(conn: psycopg.Connection, period_code: str, province_code: str, reason: str, by: str) -> Closure:
    """Close the period for a province of today's map that sent nothing for it. Refused, with why, for a period
    or province that does not exist, a province that sent the period, one already closed, or no reason."""
    try:
        period = parse_period(period_code).code
    except ValueError as error:
        raise CloseError(str(error)) from None
    if not reason.strip():
        raise CloseError("say why: --reason is kept with the closing")
    if not by.strip():
        raise CloseError("say who closes it")
    known = conn.execute(
        "select 1 from ref.unit where map = 'current' and unit_level = 'province' and unit_code = %s",
        [province_code],
    ).fetchone()
    if known is None:
        raise CloseError(f"{province_code} is not a province of today's map")
    sent = conn.execute(
        """select submission_id from ingest.submission
           where province_code = %s and period_code = %s and status = 'accepted'""",
        [province_code, period],
    ).fetchone()
    if sent is not None:
        raise CloseError(f"province {province_code} sent {period} (submission #{sent[0]}): there is nothing to close")
    added = conn.execute(
        """insert into meta.period_closure (period_code, province_code, closed_by, reason)
           values (%s, %s, %s, %s) on conflict (period_code, province_code) do nothing returning closure_id""",
        [period, province_code, by.strip(), reason.strip()],
    ).fetchone()
    (closure,) = closures(conn, period, province_code)
    if added is None:
        raise CloseError(f"already closed: {closure.describe()}")
    return closure


def closures(conn: psycopg.Connection, period_code: str | None = None, province_code: str | None = None):
    """The closings, newest first; of one period, or one period and province."""
    where, values = [], []
    if period_code is not None:
        where.append("c.period_code = %s")
        values.append(period_code)
    if province_code is not None:
        where.append("c.province_code = %s")
        values.append(province_code)
    condition = f"where {' and '.join(where)}" if where else ""
    cursor = conn.cursor(row_factory=class_row(Closure))
    return cursor.execute(f"{_SELECT} {condition} order by c.closed_at desc, c.closure_id desc", values).fetchall()
