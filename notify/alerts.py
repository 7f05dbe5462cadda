"""Alerts by SMTP: one email per distinct alert, HTML and plain text, never sent twice for one key.

An alert is queued in the outbox (meta.alert_outbox) in the transaction of the event that causes it, and
delivered from there (`deliver`): by the step that queued it, at once, and by the antq_alerts DAG every few
minutes, so a mail server that is down delays alerts and loses none."""

from __future__ import annotations

import hashlib
import html
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from core.db import connect, warehouse_url
from core.migrate import migrate
from core.settings import Settings
from ingestion.contract import column_label

if TYPE_CHECKING:
    from expectations.findings import GateReport
    from ingestion.loader import IngestResult
    from review.holds import Hold


@dataclass(frozen=True)
class Alert:
    kind: str  # gate_failed, gate_warnings, file_rejected, late_submission, task_failed, held, hold_*, report_written
    key: str  # same key, same alert: sent once
    recipients: tuple[str, ...]
    subject: str
    lines: tuple[str, ...]  # plain text, one paragraph or list item per line
    table: tuple[tuple[str, ...], ...] = ()  # optional rows for the HTML part, first row is the header

    def email(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = self.subject
        text = "\n".join(self.lines)
        if self.table:
            text += "\n\n" + "\n".join(" | ".join(row) for row in self.table)
        message.set_content(text)
        body = "".join(f"<p>{html.escape(line)}</p>" for line in self.lines)
        if self.table:
            head, *rows = self.table
            cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
            body += f"<table border='1' cellpadding='4'><tr>{cells}</tr>"
            for row in rows:
                body += "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            body += "</table>"
        message.add_alternative(f"<html><body>{body}</body></html>", subtype="html")
        return message


def province_contacts(conn: psycopg.Connection, province_code: str | None) -> tuple[str, ...]:
    """Who hears of a province's refusals, holds and reminders: its officers' portal accounts with an email,
    and the addresses of ref.province_contact. Empty when the province has neither: the data team is told
    instead (to_province), and the desk lists such provinces."""
    rows = conn.execute(
        """select email from portal.account where province_code = %(province)s and email is not null and not disabled
           union select email from ref.province_contact where province_code = %(province)s
           order by 1""",
        {"province": province_code},
    )
    return tuple(email for (email,) in rows)


def to_province(province_code: str | None, contacts: tuple[str, ...], settings: Settings) -> tuple[tuple, tuple]:
    """The recipients of an alert meant for a province, and the line that opens it when it goes to the data
    team because the province has no contact."""
    if contacts:
        return contacts, ()
    return settings.data_team, (f"No contact is set for province {province_code}: forward this to the province.",)


def queue(conn: psycopg.Connection, alert: Alert, settings: Settings) -> bool:
    """Put the alert in the outbox, in the caller's transaction: it exists if and only if the event that
    causes it was committed. Returns whether it is new (an alert key is queued once, ever)."""
    if not alert.recipients:
        return False
    message = alert.email(settings.smtp_sender)
    # The same Message-ID on every attempt: if a crash ever lands between the mail server accepting it and
    # the outbox recording that, the second copy is recognisably the same message.
    message["Message-ID"] = f"<{hashlib.sha256(alert.key.encode()).hexdigest()[:32]}@antq.warehouse>"
    return (
        conn.execute(
            """insert into meta.alert_outbox (alert_key, kind, recipients, subject, message)
               values (%s, %s, %s, %s, %s) on conflict (alert_key) do nothing returning alert_key""",
            [alert.key, alert.kind, list(alert.recipients), alert.subject, message.as_bytes(policy=policy.SMTP)],
        ).fetchone()
        is not None
    )


def queue_and_deliver(alert: Alert, settings: Settings) -> bool:
    """For an alert that has no database event to commit with (a failed gate, a crashed task): queue it in
    its own transaction, then deliver what is due."""
    with connect(warehouse_url(settings)) as conn:
        migrate(conn)  # a task that crashed on a new warehouse, before any step made its outbox
        new = queue(conn, alert, settings)
    deliver(settings)
    return new


def content_key(kind: str, *parts: str) -> str:
    """A key for alerts whose identity is their content (the same failure found again by a retry)."""
    return f"{kind}:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int  # failed for now: tried again after a backoff
    given_up: int
    pending: int  # still waiting after this round (failed for now, or not due yet)


def deliver(settings: Settings | None = None, limit: int = 500) -> Delivery:
    """Send the due alerts of the outbox, each at most once: an alert is locked while it is sent and marked
    sent in the same transaction. A failure is kept with the alert, which is tried again after a backoff
    (1, 2, 4 ... minutes, at most an hour) until settings.alert_give_up_hours after it was queued. Several
    senders at once (a DAG run and the sender DAG) share the work: a locked alert is skipped, not waited for.
    """
    settings = settings or Settings.from_env()
    sent = failed = given_up = 0
    smtp: smtplib.SMTP | None = None
    unreachable: BaseException | None = None
    with connect(warehouse_url(settings)) as conn:
        try:
            for _ in range(limit):
                with conn.transaction():
                    row = conn.execute(
                        """select alert_key, recipients, message, now() - queued_at > %s from meta.alert_outbox
                           where status = 'pending' and next_attempt_at <= now()
                           order by next_attempt_at, alert_key limit 1 for update skip locked""",
                        [timedelta(hours=settings.alert_give_up_hours)],
                    ).fetchone()
                    if row is None:
                        break
                    key, recipients, message, too_old = row
                    try:
                        if unreachable is not None:
                            raise unreachable
                        if smtp is None:
                            try:
                                smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
                            except (OSError, smtplib.SMTPException) as error:
                                unreachable = error  # no other alert is tried this round
                                raise
                        smtp.sendmail(settings.smtp_sender, recipients, message)
                    except (OSError, smtplib.SMTPException) as error:
                        smtp = _close(smtp)  # the next alert starts a new connection
                        print(f"alert {key} not sent ({'given up' if too_old else 'tried again later'}): {error!r}")
                        given_up += too_old
                        failed += not too_old
                        conn.execute(
                            """update meta.alert_outbox set attempts = attempts + 1, last_error = %s,
                                   status = case when %s then 'given_up' else 'pending' end,
                                   next_attempt_at = now() + least(interval '1 minute' * power(2, attempts),
                                                                   interval '1 hour')
                               where alert_key = %s""",
                            [f"{type(error).__name__}: {error}", too_old, key],
                        )
                        continue
                    conn.execute(
                        """update meta.alert_outbox set status = 'sent', sent_at = now(), attempts = attempts + 1
                           where alert_key = %s""",
                        [key],
                    )
                    sent += 1
        finally:
            _close(smtp)
        pending = conn.execute("select count(*) from meta.alert_outbox where status = 'pending'").fetchone()[0]
    return Delivery(sent, failed, given_up, pending)


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def undelivered(conn: psycopg.Connection) -> list[tuple]:
    """The alerts not sent (pending or given up), oldest first: for `make status` and the portal."""
    return conn.execute(
        """select alert_key, kind, array_to_string(recipients, ', '), subject, status, attempts, queued_at,
                  next_attempt_at, last_error
           from meta.alert_outbox where status <> 'sent' order by queued_at, alert_key"""
    ).fetchall()


def gate_alert(report: GateReport, settings: Settings, published: bool) -> Alert:
    """Failed gate (nothing published) or, after a publish, the digest of its warnings."""
    findings = report.findings if published else report.errors
    checks = ", ".join(sorted({f.check for f in findings}))
    if published:
        subject = f"[ANTQ] Published with {len(findings)} warning(s): {checks}"
        opening = "The marts were published. These checks found something worth a look:"
    else:
        subject = f"[ANTQ] Publishing blocked: {len(findings)} check(s) failed: {checks}"
        opening = "Nothing was published: schema marts still holds the last good version. Failed checks:"
    lines = [opening]
    for finding in findings:
        where = "; ".join(
            filter(
                None,
                [
                    f"provinces: {', '.join(finding.provinces)}" if finding.provinces else "",
                    f"periods: {', '.join(finding.periods)}" if finding.periods else "",
                ],
            )
        )
        lines.append(f"- {finding.describe().splitlines()[0]}" + (f" ({where})" if where else ""))
    if report.report_url:
        lines.append(f"Report of this run (one self-contained page, opens offline): {report.report_url}")
    if report.docs_url:
        lines.append(f"Great Expectations data docs of this run (their styles need the internet): {report.docs_url}")
    lines.append(f"dbt and Airflow logs: {settings.data_dir / 'logs'}")
    table = [("check", "table", "severity", "rows", "example")]
    for finding in findings:
        example = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in finding.sample[:3])
        table.append((finding.check, finding.table, finding.severity, str(finding.unexpected_count or ""), example))
    kind = "gate_warnings" if published else "gate_failed"
    return Alert(kind, content_key(kind, report.summary()), settings.data_team, subject, tuple(lines), tuple(table))


def rejection_alert(result: IngestResult, contacts: tuple[str, ...], settings: Settings) -> Alert:
    """The rejection report for the province (province_contacts): every problem, in Vietnamese and English."""
    recipients, forward = to_province(result.province_code, contacts, settings)
    subject = (
        f"[ANTQ] Tệp bị từ chối / File rejected: {result.file_name} "
        f"({result.province_code or '?'} {result.period_code or '?'})"
    )
    lines = [
        f"Tệp {result.file_name} không được tiếp nhận; không có dữ liệu nào của tệp được lưu. "
        f"Vui lòng sửa các lỗi dưới đây và gửi lại toàn bộ tệp.",
        f"The file {result.file_name} was not accepted; none of its data was stored. "
        f"Please fix the problems below and send the whole file again.",
        f"Mã hồ sơ / submission id: {result.submission_id}",
    ]
    lines[:0] = forward
    table = [("sheet", "dòng / row", "cột / column", "giá trị / value", "lý do", "reason")]
    for p in result.problems[:200]:
        table.append(
            (
                p.sheet or "",
                "" if p.row is None else str(p.row),
                column_label(p.column),
                p.value or "",
                p.reason_vi,
                p.reason_en,
            )
        )
    if len(result.problems) > 200:
        lines.append(f"... and {len(result.problems) - 200} more problems: see ingest.rejection.")
    return Alert(
        "file_rejected", f"file_rejected:{result.submission_id}", recipients, subject, tuple(lines), tuple(table)
    )


def holds_alert(new: list[Hold], settings: Settings) -> Alert:
    """The data team hears of each hold once: province, period, figure, its history and the rule."""
    provinces = sorted({f"{h.province_code} {h.province_name or ''}".strip() for h in new})
    subject = f"[ANTQ] Held for review: {len(new)} figure(s) of {', '.join(provinces)}"
    lines = [
        "These submissions were held back; every other province's new figures were published. Each held "
        "province × period keeps its previously published version in marts until you review it:",
        *(f"- #{h.hold_id} {h.province_code} {h.province_name or ''} {h.period_code}: {h.figure()}" for h in new),
        "Rules: " + "; ".join(sorted({f"{h.check_name}: {h.rule}" for h in new})),
        "Review: python -m warehouse review, then confirm ID --reason '...' (the figure is real: it is published"
        " on the next run) or reject ID --reason '...' (it stays out and the province is told).",
    ]
    table = [("hold", "province", "period", "check", "indicator", "figure period", "value", "median", "file")]
    for h in new:
        table.append(
            (
                str(h.hold_id),
                f"{h.province_code} {h.province_name or ''}",
                h.period_code,
                h.check_name,
                h.indicator_code or "",
                h.figure_period or "",
                str(h.detail.get("value", h.detail.get("numerator", ""))),
                str(h.detail.get("median_last_6", h.detail.get("denominator", ""))),
                f"{h.file_name} v{h.version}",
            )
        )
    key = "held:" + ",".join(str(h.hold_id) for h in new)
    return Alert("held", key, settings.data_team, subject, tuple(lines), tuple(table))


def hold_province_alert(held: list[Hold], contacts: tuple[str, ...], settings: Settings) -> Alert:
    """To the province, in Vietnamese first: one submission was held, for the findings listed; please confirm
    or correct it."""
    first = held[0]
    recipients, forward = to_province(first.province_code, contacts, settings)
    subject = f"[ANTQ] Số liệu cần xác nhận / Figures to confirm: {first.file_name} ({first.period_code})"
    lines = [
        f"Số liệu kỳ {first.period_code} trong tệp {first.file_name} (lần gửi {first.version}) chưa được công bố vì"
        " kiểm tra phát hiện điểm cần xác nhận (nêu dưới đây); số liệu đã công bố trước đó vẫn được giữ nguyên."
        " Vui lòng kiểm tra: nếu số liệu đúng, hãy báo cho Cục để xác nhận; nếu sai, hãy gửi lại toàn bộ tệp đã sửa.",
        f"The figures for {first.period_code} in {first.file_name} (version {first.version}) were not published"
        " yet: the checks found what is listed below; the figures published before stay. Please check them: if"
        " they are right, tell the ministry so it can confirm them; if not, send the corrected file.",
        *(f"- {h.finding('vi')}\n  {h.finding('en')}" for h in held),
    ]
    lines[:0] = forward
    key = "hold_province:" + ",".join(str(h.hold_id) for h in held)
    return Alert("hold_province", key, recipients, subject, tuple(lines))


def hold_rejected_alert(hold: Hold, contacts: tuple[str, ...], settings: Settings) -> Alert:
    """To the province: the data team rejected a held figure; it stays out until a corrected file comes."""
    recipients, forward = to_province(hold.province_code, contacts, settings)
    subject = f"[ANTQ] Số liệu không được công bố / Figures rejected: {hold.file_name} ({hold.period_code})"
    lines = (
        *forward,
        f"Cục không công bố số liệu sau trong tệp {hold.file_name}: {hold.finding('vi')}. Lý do: {hold.review_reason}."
        " Vui lòng gửi lại toàn bộ tệp đã sửa.",
        f"The ministry did not publish this figure of {hold.file_name}: {hold.finding('en')}."
        f" Reason: {hold.review_reason}. Please send the whole corrected file again.",
        f"Người xem xét / reviewed by: {hold.reviewed_by}",
    )
    return Alert("hold_rejected", f"hold_rejected:{hold.hold_id}", recipients, subject, lines)


def report_key(period_code: str, publish_id: int) -> str:
    return f"report_written:{period_code}:{publish_id}"


def report_alert(period_code: str, publish_id: int, files: list[Path], settings: Settings) -> Alert:
    """To the data team: a period's national figures became final, and its report is written (where, and its
    place on the portal's /reports page)."""
    subject = f"[ANTQ] Báo cáo kỳ {period_code} (số liệu chính thức) / The {period_code} report (final figures)"
    lines = (
        f"Số liệu toàn quốc kỳ {period_code} đã là số liệu chính thức; báo cáo đã được viết từ số liệu đã công bố,"
        " sẵn sàng để chỉnh sửa và ký.",
        f"The national figures of {period_code} are final; its report is written from the published figures, ready"
        " to edit and sign.",
        *(f"- {path}" for path in files),
        "Cổng / portal: /reports",
    )
    return Alert("report_written", report_key(period_code, publish_id), settings.data_team, subject, lines)


def task_failure_alert(dag_id: str, run_id: str, task_id: str, error: str, settings: Settings) -> Alert:
    subject = f"[ANTQ] Task failed: {dag_id}.{task_id}"
    lines = (
        f"The task {task_id} of DAG {dag_id} (run {run_id}) failed after its retries.",
        f"Error: {error}",
        f"Logs: the Airflow UI, or {settings.airflow_home / 'logs'}",
    )
    return Alert("task_failed", f"task_failed:{dag_id}:{run_id}:{task_id}", settings.data_team, subject, lines)
