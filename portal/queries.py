"""Every query the portal's pages run, in one place. An officer's pages read on a connection as antq_portal
(Portal.as_session): only the portal.* functions, which return the session's own rows. The data team's pages,
and what every province is asked for, read on the pipeline's connection (Portal.admin)."""

from __future__ import annotations

import re
from datetime import date

import psycopg
from psycopg.rows import dict_row

from core.settings import Settings

# --- as the session (antq_portal) ---------------------------------------------------------------------------


def submissions(conn: psycopg.Connection, submission_id: int | None = None) -> list[dict]:
    """The session's submissions (the data team's: every province's) with what became of them (`state`, as
    ingest.submission_state decides it for dbt and the pipeline too), newest first."""
    cursor = conn.cursor(row_factory=dict_row)
    return cursor.execute("select * from portal.submissions(%s)", [submission_id]).fetchall()


def rejections(conn: psycopg.Connection, submission_id: int | None) -> list:
    """Why a submission the session may see was refused (portal.rejections(): nothing for any other)."""
    if submission_id is None:
        return []
    return conn.execute("select * from portal.rejections(%s)", [submission_id]).fetchall()


def record_upload(conn: psycopg.Connection, period: str, name: str, size: int, purpose: str) -> int:
    """An upload (or a form checked or sent) by the session's officer, for its own login and province only."""
    return conn.execute("select portal.record_upload(%s, %s, %s, %s)", [period, name, size, purpose]).fetchone()[0]


def record_upload_result(conn: psycopg.Connection, upload_id: int, status: str, submission_id: int | None) -> None:
    conn.execute("select portal.record_upload_result(%s, %s, %s)", [upload_id, status, submission_id])


def submission_of(conn: psycopg.Connection, digest: str, period: str) -> tuple:
    """What ingestion made of bytes the officer has just sent: (submission, status, version, rows)."""
    return conn.execute("select * from portal.submission_of(%s, %s)", [digest, period]).fetchone()


def is_province(conn: psycopg.Connection, code: str) -> bool:
    """A province's code on today's map: two digits, in ref.unit."""
    if not re.fullmatch(r"[0-9]{2}", code):
        return False
    return province_name(conn, code) is not None


def province_name(conn: psycopg.Connection, code: str) -> str | None:
    found = conn.execute(
        "select name from ref.unit where map = 'current' and unit_level = 'province' and unit_code = %s", [code]
    ).fetchone()
    return found[0] if found else None


# --- as the pipeline (the data team's pages; what every province is asked for) ------------------------------


def due(conn: psycopg.Connection, settings: Settings) -> list:
    """The reminders due today, every province's (notify/reminders.py)."""
    from notify.reminders import due_submissions

    return due_submissions(conn, date.today(), settings)


def last_accepted(conn: psycopg.Connection, province_code: str, period_code: str) -> tuple[int, int] | None:
    """The province's accepted submission for the period: (submission, version)."""
    return conn.execute(
        """select submission_id, version from ingest.submission
           where province_code = %s and period_code = %s and status = 'accepted'
           order by submission_id desc limit 1""",
        [province_code, period_code],
    ).fetchone()


def stored_rows(conn: psycopg.Connection, submission_id: int) -> tuple[list[tuple], list[tuple]]:
    """A submission's rows as stored: its indicators (unit, indicator, category, value, numerator,
    denominator, figures as text) and its models (the contract's columns, the model it replicates as
    <province>/<code>), in the order of the file."""
    indicators = conn.execute(
        """select unit_code, indicator_code, category, value::text, numerator::text, denominator::text
           from raw.indicator_value where submission_id = %s order by source_row""",
        [submission_id],
    ).fetchall()
    models = conn.execute(
        """select model_code, model_name, model_type, host_unit_code, level, launch_date::text, status,
                  replicated_from_province || '/' || replicated_from_code
           from raw.model where submission_id = %s order by source_row""",
        [submission_id],
    ).fetchall()
    return indicators, models


def periods_sent(conn: psycopg.Connection, last: int = 6) -> list[str]:
    """The last periods anything was sent for, newest first."""
    return [
        row[0]
        for row in conn.execute(
            """select period_code from ingest.submission where period_code is not null and period_start is not null
               group by period_code order by max(period_start) desc, period_code limit %s""",
            [last],
        )
    ]


def states(conn: psycopg.Connection, periods: list[str]) -> list[dict]:
    """What became of every province's submissions of these periods (ingest.submission_state), but those
    superseded."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            """select province_code, period_code, state from ingest.submission_state
               where period_code = any(%s) and status <> 'superseded'""",
            [periods],
        )
        .fetchall()
    )


def provinces(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        "select unit_code, name from ref.unit where map = 'current' and unit_level = 'province' order by 1"
    ).fetchall()


def published_before(
    conn: psycopg.Connection, province: str, indicator: str, period_type: str, before: date, count: int
) -> list[tuple[str, float | None]]:
    """The province's published figures of an indicator (a ratio as its percentage) for the `count` periods of
    the kind before a date, newest first."""
    return conn.execute(
        """select period_code, coalesce(value, ratio_pct) from marts.mart_province_indicator
           where province_code = %s and indicator_code = %s and period_type = %s and period_start < %s
           order by period_start desc limit %s""",
        [province, indicator, period_type, before, count],
    ).fetchall()


def publish_log(conn: psycopg.Connection, last: int = 10) -> list[tuple]:
    """The last publishes: id, when, action, submissions counted, checks passed, the run's gate report."""
    return conn.execute(
        """select publish_id, published_at, action, cardinality(submission_ids), checks_passed, gate_report
           from meta.publish_log order by publish_id desc limit %s""",
        [last],
    ).fetchall()
