"""No alert is lost: an alert is queued in the transaction of the event that causes it, and the outbox
delivers it once the mail server answers, exactly once per alert, with a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from ingestion.faults import FAULTS, write_fault
from ingestion.loader import ingest_file
from notify import alerts
from tests.helpers import free_port
from warehouse import pipeline
from warehouse.__main__ import alert_list

REFUSED = sorted(kind for kind, fault in FAULTS.items() if fault.expected)[:10]


def outbox(settings) -> list[tuple]:
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        return conn.execute(
            "select alert_key, status, attempts, last_error from meta.alert_outbox order by alert_key"
        ).fetchall()


def the_backoff_passes(settings) -> None:
    """The test cannot wait the minutes of the backoff: every waiting alert becomes due now."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute("update meta.alert_outbox set next_attempt_at = now() where status = 'pending'")


def test_ten_refusals_while_the_mail_server_is_down_are_each_mailed_once_when_it_is_back(settings, mailbox):
    down = replace(settings, smtp_port=free_port())  # nothing listens there
    for kind in REFUSED:
        assert pipeline.ingest(str(write_fault(settings.landing_dir, kind)), down)["status"] == "rejected"
    assert mailbox.take() == []
    waiting = outbox(settings)
    assert len(waiting) == 10
    assert {status for _, status, _, _ in waiting} == {"pending"}
    assert all(attempts >= 1 and "ConnectionRefusedError" in error for _, _, attempts, error in waiting)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        shown = alert_list(conn)
    assert "10 alert(s) not delivered" in shown and "ConnectionRefusedError" in shown

    assert alerts.deliver(down).sent == 0, "nothing is due before its backoff has passed"
    the_backoff_passes(settings)
    assert alerts.deliver(down).failed == 10, "still down: each is kept, with its error, for later"

    the_backoff_passes(settings)
    delivery = pipeline.deliver_alerts(settings)  # the server is back: the antq_alerts DAG's step
    assert delivery == {"sent": 10, "failed": 0, "given_up": 0, "pending": 0}
    mails = mailbox.take()
    assert len(mails) == 10
    assert len({m["Message-ID"] for m in mails}) == 10
    names = {FAULTS[kind].file_name for kind in REFUSED}
    assert {next(n for n in names if n in m["Subject"]) for m in mails} == names, "one email per refused file"
    assert all("Tệp bị từ chối / File rejected" in m["Subject"] for m in mails)

    the_backoff_passes(settings)
    assert pipeline.deliver_alerts(settings)["sent"] == 0
    assert mailbox.take() == [], "each alert is sent once"
    assert {status for _, status, _, _ in outbox(settings)} == {"sent"}
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        assert alert_list(conn) == "every alert was delivered"


def test_an_alert_the_server_keeps_refusing_is_given_up_with_its_error_after_the_bounded_time(settings, mailbox):
    down = replace(settings, smtp_port=free_port(), alert_give_up_hours=0)
    assert pipeline.ingest(str(write_fault(settings.landing_dir, REFUSED[0])), down)["status"] == "rejected"
    [(_, status, attempts, error)] = outbox(settings)
    assert (status, attempts) == ("given_up", 1) and "ConnectionRefusedError" in error
    assert pipeline.deliver_alerts(settings)["sent"] == 0, "given up is final"
    assert mailbox.take() == []
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        assert "given up" in alert_list(conn)


def test_a_refusal_and_its_alert_are_recorded_together_or_not_at_all(settings, conn, mailbox):
    path = write_fault(settings.landing_dir, REFUSED[0])

    def queue_then_crash(conn, result):
        alerts.queue(conn, alerts.rejection_alert(result, None, settings), settings)
        raise RuntimeError("the process dies before the refusal commits")

    with pytest.raises(RuntimeError):
        ingest_file(conn, path, settings, on_rejected=queue_then_crash)
    assert conn.execute("select count(*) from ingest.submission").fetchone()[0] == 0
    assert outbox(settings) == [], "no alert for a refusal that did not happen"
    assert path.exists(), "the landing file waits for the rerun"
    kept = [f for f in settings.quarantine_dir.rglob("*") if f.is_file()] if settings.quarantine_dir.exists() else []
    assert kept == [], "no copy is kept under the id of a refusal that was rolled back"

    assert pipeline.ingest(str(path), settings)["status"] == "rejected"
    assert [status for _, status, _, _ in outbox(settings)] == ["sent"]
    assert len([f for f in settings.quarantine_dir.rglob("*") if f.is_file()]) == 1
    assert len(mailbox.take()) == 1
