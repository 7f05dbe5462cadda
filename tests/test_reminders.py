"""Reminders for late provinces: before and after the deadline, never twice a day, never once received; only
for the periods provinces are expected to report, one digest per province, to the province's contacts."""

from dataclasses import replace
from datetime import date

from ingestion.loader import ingest_file
from ingestion.periods import parse_period
from notify.reminders import periods_between
from portal.auth import create_account
from tests.test_ingest import write_csv
from warehouse import pipeline
from warehouse.pipeline import remind_late_provinces


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
    assert "- 2025-Q3: hạn nộp 15/10/2025" in thanh_hoa[0].get_body(("plain",)).get_content()
    assert not any("Hà Nội" in m["Subject"] for m in mails)
    again = remind_late_provinces(date(2025, 10, 12), settings)
    assert again == {"due": 33, "queued": 0, "sent": 0, "undelivered": 0}, "not twice a day"
    assert mailbox.take() == []
    later = remind_late_provinces(date(2025, 10, 20), settings)
    assert later["sent"] == 33
    overdue = [m for m in mailbox.take() if m["To"] == "pv05@thanhhoa.antq.test"]
    assert "đã quá hạn" in overdue[0]["Subject"] and "overdue" in overdue[0]["Subject"]


def test_a_new_warehouse_reminds_no_one_of_reports_nobody_asked_it_for(settings, mailbox):
    """The first `make airflow` once queued 168 overdue reminders for 2025-Q3 to 2026-Q2 on the demo."""
    assert remind_late_provinces(date(2026, 12, 7), settings)["due"] == 0
    assert mailbox.take() == []


def test_provinces_that_first_report_in_2026_q3_are_reminded_from_then_on_in_one_digest_each(settings, conn, mailbox):
    ingest_file(
        conn, write_csv(settings, "01", "2026-Q3", [["2026-Q3", "00070", "security_teams", "", "1", "", ""]]), settings
    )
    reminded = remind_late_provinces(date(2027, 1, 12), settings)  # 2026-Q3 overdue, 2026-Q4 due on 2027-01-15
    assert reminded["due"] == 33 + 34 and reminded["queued"] == 34, "one digest per province, not per period"
    mails = mailbox.take()
    assert len(mails) == 34 and not any("2025" in m["Subject"] or "2026-Q2" in m["Subject"] for m in mails)
    thanh_hoa = next(m for m in mails if "Thanh Hóa" in m["Subject"])
    body = thanh_hoa.get_body(("plain",)).get_content()
    assert "- 2026-Q3: đã quá hạn từ 15/10/2026" in body and "- 2026-Q4: hạn nộp 15/01/2027" in body
    assert "đã quá hạn" in thanh_hoa["Subject"]
    ha_noi = next(m for m in mails if "Hà Nội" in m["Subject"])
    assert "2026-Q3" not in ha_noi.get_body(("plain",)).get_content(), "Hà Nội sent 2026-Q3"


def test_a_start_date_in_settings_bounds_the_reminders(settings, conn, mailbox):
    ingest_file(
        conn, write_csv(settings, "01", "2025-Q3", [["2025-Q3", "00070", "security_teams", "", "1", "", ""]]), settings
    )
    later = replace(settings, reminders_from=date(2026, 7, 1))
    reminded = remind_late_provinces(date(2026, 10, 12), later)
    assert reminded["due"] == 34, "2026-Q3 only, for every province: none of the quarters before July 2026"
    assert all("2026-Q3" in m["Subject"] and "2026-Q2" not in m["Subject"] for m in mailbox.take())


def test_a_provinces_alerts_go_to_its_officers_emails(settings, conn, mailbox):
    create_account(conn, "canbo38", "mat-khau-thu-nghiem", "38", "Lê Văn Thanh", "can.bo@thanhhoa.antq.test")
    create_account(conn, "khong-email", "mat-khau-thu-nghiem", "38", "Không Email")
    refused = write_csv(settings, "38", "2026-09", [["2026-09", "14797", "security_teams", "", "-1", "", ""]])
    assert pipeline.ingest(str(refused), settings)["status"] == "rejected"
    (mail,) = mailbox.take()
    assert (
        mail["To"] == "can.bo@thanhhoa.antq.test" and "No contact is set" not in mail.get_body(("plain",)).get_content()
    )
    nghe_an = write_csv(settings, "40", "2026-09", [["2026-09", "16681", "security_teams", "", "-1", "", ""]])
    pipeline.ingest(str(nghe_an), settings)
    (mail,) = mailbox.take()
    assert mail["To"] == ", ".join(settings.data_team), "a province with no contact: the data team, told to forward it"
    assert "No contact is set for province 40" in mail.get_body(("plain",)).get_content()
