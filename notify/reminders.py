"""Reminders to provinces whose submission for a period is due soon or late.

Which reports are expected and when they are due: dbt_project/seeds/expected_submissions.csv, the same
calendar that fct_submission and mart_reporting_completeness use.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg

from core.settings import DBT_PROJECT_DIR, Settings
from ingestion.periods import Period, parse_period
from notify.alerts import Alert, to_province

DEADLINES_FILE = DBT_PROJECT_DIR / "seeds" / "expected_submissions.csv"
_STEP_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


@dataclass(frozen=True)
class Due:
    province_code: str
    province_name: str
    period: Period
    deadline: date

    def overdue(self, today: date) -> bool:
        return today > self.deadline


def _period_code(period_type: str, year: int, index: int) -> str:
    return {
        "month": f"{year}-{index:02d}",
        "quarter": f"{year}-Q{index}",
        "half_year": f"{year}-H{index}",
        "year": f"{year}",
    }[period_type]


def periods_between(first: Period, today: date) -> list[Period]:
    """Every period of first's type from first up to the one containing today."""
    periods, period = [], first
    per_year = 12 // _STEP_MONTHS[first.period_type]
    while period.start <= today:
        periods.append(period)
        index = (period.start.month - 1) // _STEP_MONTHS[period.period_type] + 2
        year = period.start.year + (index - 1) // per_year
        period = parse_period(_period_code(period.period_type, year, (index - 1) % per_year + 1))
    return periods


def due_submissions(conn: psycopg.Connection, today: date, settings: Settings) -> list[Due]:
    """Province × period pairs inside their reminder window with no accepted submission yet, for the periods
    provinces are expected to report: from the first period of each kind the warehouse has received a file
    for (or, if set, the first starting on or after settings.reminders_from, ANTQ_REMINDERS_FROM), never for
    history before it existed. Of a kind nothing has been received for and with no such day, nothing is due: a
    new warehouse
    reminds no one of reports nobody asked it for."""
    with DEADLINES_FILE.open(encoding="utf-8", newline="") as handle:
        rules = {row["period_type"]: row for row in csv.DictReader(handle)}
    provinces = conn.execute(
        "select unit_code, name from ref.unit where map = 'current' and unit_level = 'province' order by 1"
    ).fetchall()
    received = {
        tuple(r)
        for r in conn.execute("select province_code, period_code from ingest.submission where status = 'accepted'")
    }
    first_received = dict(
        conn.execute(
            """select period_type, min(period_start) from ingest.submission
               where status in ('accepted', 'superseded') group by period_type"""
        ).fetchall()
    )
    due = []
    for period_type, rule in rules.items():
        first = parse_period(rule["since_period"])
        if first.period_type != period_type:
            raise ValueError(f"{DEADLINES_FILE}: since_period of {period_type} is a {first.period_type}")
        start = settings.reminders_from or first_received.get(period_type)
        if start is None:
            continue
        for period in periods_between(first, today):
            if period.start < start:
                continue
            deadline = period.end + timedelta(days=int(rule["due_days"]))
            if today < deadline - timedelta(days=int(rule["remind_days_before"])):
                continue
            due += [
                Due(code, name, period, deadline) for code, name in provinces if (code, period.code) not in received
            ]
    return due


def reminder_digest(items: list[Due], contacts: tuple[str, ...], today: date, settings: Settings) -> Alert:
    """One province's reports due soon or late, in one email a day (never one per period), to its contacts
    (notify/alerts.py, province_contacts), else to the data team to forward."""
    first = items[0]
    late = [item for item in items if item.overdue(today)]
    state_vi = "đã quá hạn" if late else "sắp đến hạn"
    state_en = "overdue" if late else "due soon"
    periods = ", ".join(item.period.code for item in items)
    subject = f"[ANTQ] Báo cáo {state_vi} / Reports {state_en}: {first.province_name} ({periods})"
    recipients, forward = to_province(first.province_code, contacts, settings)
    lines = [
        *forward,
        f"Hệ thống chưa nhận được tệp hợp lệ của {first.province_name} cho các kỳ báo cáo phong trào Toàn dân bảo vệ"
        " ANTQ dưới đây. Vui lòng nộp qua cổng nộp báo cáo (tải tệp lên hoặc nhập số liệu trên biểu mẫu).",
        f"No accepted file of {first.province_name} has arrived for the ANTQ reports below. Please send them"
        " through the submission portal (upload a file or type the figures in the form).",
    ]
    for item in items:
        if item.overdue(today):
            state = f"đã quá hạn từ {item.deadline:%d/%m/%Y} / overdue since {item.deadline:%Y-%m-%d}"
        else:
            state = f"hạn nộp {item.deadline:%d/%m/%Y} / due {item.deadline:%Y-%m-%d}"
        lines.append(f"- {item.period.code}: {state}")
    key = f"late_submission:{first.province_code}:{today.isoformat()}"
    return Alert("late_submission", key, recipients, subject, tuple(lines))
