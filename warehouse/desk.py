"""What the data team's desk reads, for the portal's /team page and `python -m warehouse status` alike: one
query each, so that the two show the same files and provinces in the same order."""

from __future__ import annotations

from datetime import date

import psycopg

from core.settings import Settings
from notify.reminders import Due, due_submissions


def refused_today(conn: psycopg.Connection) -> list[tuple]:
    """(submission id, file name, province code, province name, period, received at) of the files refused
    today, newest first."""
    return conn.execute(
        """select s.submission_id, s.file_name, s.province_code, p.name, s.period_code, s.received_at
           from ingest.submission as s
           left join ref.unit as p on p.map = 'current' and p.unit_level = 'province'
               and p.unit_code = s.province_code
           where s.status = 'rejected' and s.received_at >= current_date
           order by s.submission_id desc"""
    ).fetchall()


def due_by_urgency(conn: psycopg.Connection, today: date, settings: Settings) -> list[Due]:
    """The reports due soon or late (notify/reminders.py), late ones first, then by deadline and province."""
    due = due_submissions(conn, today, settings)
    return sorted(due, key=lambda d: (not d.overdue(today), d.deadline, d.province_code))
