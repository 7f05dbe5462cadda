"""Reminders to provinces whose submission for a period is due soon or late.

Which reports are expected and when they are due: dbt_project/seeds/expected_submissions.csv, the same
calendar that fct_submission and mart_reporting_completeness use.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg

from ingestion.periods import Period, parse_period
from warehouse.alerts import Alert
from warehouse.settings import DBT_PROJECT_DIR, Settings

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


def due_submissions(conn: psycopg.Connection, today: date) -> list[Due]:
    """Province × period pairs inside their reminder window with no accepted submission yet."""
    with DEADLINES_FILE.open(encoding="utf-8", newline="") as handle:
        rules = {row["period_type"]: row for row in csv.DictReader(handle)}
    provinces = conn.execute(
        "select unit_code, name from ref.unit where map = 'current' and unit_level = 'province' order by 1"
    ).fetchall()
    received = {
        tuple(r)
        for r in conn.execute("select province_code, period_code from ingest.submission where status = 'accepted'")
    }
    due = []
    for period_type, rule in rules.items():
        first = parse_period(rule["since_period"])
        if first.period_type != period_type:
            raise ValueError(f"{DEADLINES_FILE}: since_period of {period_type} is a {first.period_type}")
        for period in periods_between(first, today):
            deadline = period.end + timedelta(days=int(rule["due_days"]))
            if today < deadline - timedelta(days=int(rule["remind_days_before"])):
                continue
            due += [
                Due(code, name, period, deadline) for code, name in provinces if (code, period.code) not in received
            ]
    return due


def reminder_alert(item: Due, contact: str | None, today: date, settings: Settings) -> Alert:
    late = item.overdue(today)
    state_vi = "đã quá hạn" if late else "sắp đến hạn"
    state_en = "is overdue" if late else "is due soon"
    subject = (
        f"[ANTQ] Báo cáo {item.period.code} {state_vi} / Report {item.period.code} {state_en}: {item.province_name}"
    )
    lines = [
        f"Báo cáo phong trào Toàn dân bảo vệ ANTQ kỳ {item.period.code} của {item.province_name} {state_vi} "
        f"(hạn nộp {item.deadline:%d/%m/%Y}); hệ thống chưa nhận được tệp hợp lệ.",
        f"The ANTQ report of {item.province_name} for {item.period.code} {state_en} "
        f"(deadline {item.deadline:%Y-%m-%d}); no accepted file has arrived yet.",
        f"Gửi tệp vào / send the file to: landing/{item.province_code}/{item.period.code}/",
    ]
    if not contact:
        lines.insert(0, f"No contact is set for province {item.province_code}: forward this to the province.")
    recipients = (contact,) if contact else settings.data_team
    key = f"late_submission:{item.province_code}:{item.period.code}:{today.isoformat()}"
    return Alert("late_submission", key, recipients, subject, tuple(lines))
