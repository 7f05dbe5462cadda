"""Reminders for late provinces: before and after the deadline, never twice a day, never once received."""

from datetime import date

from ingestion.loader import ingest_file
from ingestion.periods import parse_period
from tests.test_ingest import write_csv
from warehouse.pipeline import remind_late_provinces
from warehouse.reminders import periods_between


def test_periods_between_walks_quarters_across_years():
    codes = [p.code for p in periods_between(parse_period("2025-Q3"), date(2026, 4, 1))]
    assert codes == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]


def test_no_reminder_before_the_window_opens(settings, mailbox):
    # 2025-Q3 is due 2025-10-15, reminders start 2025-10-10.
    assert remind_late_provinces(date(2025, 10, 9), settings) == {"due": 0, "queued": 0, "sent": 0, "undelivered": 0}
    assert mailbox.take() == []


def test_each_province_without_a_file_is_reminded_once_a_day(settings, conn, mailbox):
    conn.execute("insert into ref.province_contact values ('38', 'pv05@thanhhoa.antq.test')")
    ingest_file(
        conn, write_csv(settings, "01", "2025-Q3", [["2025-Q3", "00070", "security_teams", "", "1", "", ""]]), settings
    )
    first = remind_late_provinces(date(2025, 10, 12), settings)
    # Hà Nội sent its file; the 33 others are due soon
    assert first == {"due": 33, "queued": 33, "sent": 33, "undelivered": 0}
    mails = mailbox.take()
    thanh_hoa = [m for m in mails if m["To"] == "pv05@thanhhoa.antq.test"]
    assert len(thanh_hoa) == 1 and "sắp đến hạn" in thanh_hoa[0]["Subject"]
    assert "landing/38/2025-Q3/" in thanh_hoa[0].get_body(("plain",)).get_content()
    assert not any("Hà Nội" in m["Subject"] for m in mails)
    again = remind_late_provinces(date(2025, 10, 12), settings)
    assert again == {"due": 33, "queued": 0, "sent": 0, "undelivered": 0}, "not twice a day"
    assert mailbox.take() == []
    later = remind_late_provinces(date(2025, 10, 20), settings)
    assert later["sent"] == 33
    overdue = [m for m in mailbox.take() if m["To"] == "pv05@thanhhoa.antq.test"]
    assert "đã quá hạn" in overdue[0]["Subject"] and "overdue" in overdue[0]["Subject"]
