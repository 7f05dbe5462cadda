"""Holds: a province × period submission that a submission check held back, and the data team's review.

A hold keeps the submission out of the marts (int_counted_submissions counts the version published before
it, if any) until the data team confirms the figure as real or rejects it. Confirming publishes it on the
next run and the same submission version is never held again for that finding; rejecting keeps it out
and tells the province. A newer version of the file replaces the hold: it is judged afresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from core.notation import number
from expectations.findings import Finding
from ingestion import versions
from ingestion.catalogue import load_catalogue

OPEN, CONFIRMED, REJECTED = "open", "confirmed", "rejected"


class ReviewError(ValueError):
    pass


@dataclass(frozen=True)
class Hold:
    hold_id: int
    submission_id: int
    file_name: str
    version: int | None
    province_code: str
    province_name: str | None
    period_code: str
    check_name: str
    indicator_code: str | None
    figure_period: str | None
    rule: str
    detail: dict
    status: str
    held_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None
    is_replaced: bool  # a newer version of the file arrived: the hold no longer holds anything
    gate_report: str | None = None  # the report of the run that made it (<data dir>/gx/reports/)
    published_in: int | None = None  # the first publish that counted the held submission (once confirmed)

    def figure(self) -> str:
        """What was found, in a line: 'security_teams 2026-09 = 43510, median of its last periods 4351 (x3)'."""
        d = self.detail
        if self.check_name == versions.CHECK:
            return versions.VersionDrop.from_row(d).describe()
        if self.check_name == "outlier":
            return (
                f"{self.indicator_code} {self.figure_period} = {d.get('value')}, median of its last periods "
                f"{d.get('median_last_6')} (allowed ×{d.get('outlier_ratio')})"
            )
        if "numerator" in d:
            return f"{self.indicator_code} {self.figure_period}: {d.get('numerator')} / {d.get('denominator')}"
        return f"{self.indicator_code} {self.figure_period}: " + ", ".join(f"{k}={v}" for k, v in d.items())

    def finding(self, language: str) -> str:
        """What was found, in a sentence of the province's language: what each kind of check saw, with the
        figures in the language's notation."""
        d, vi = self.detail, language == "vi"
        indicator = load_catalogue().get(self.indicator_code or "")
        name = (indicator.name_vi if vi else indicator.name_en) if indicator else self.indicator_code
        if self.check_name == versions.CHECK:
            drop = versions.VersionDrop.from_row(d)
            figures, previous = number(language, drop.figures), number(language, drop.previous_figures)
            units, previous_units = number(language, drop.units), number(language, drop.previous_units)
            if vi:
                return (
                    f"bản {drop.version} chỉ có {figures} số liệu của {units} đơn vị, trong khi bản"
                    f" {drop.previous_version} có {previous} số liệu của {previous_units} đơn vị: bản mới thay thế"
                    " cả bản trước, nên các số liệu không có trong bản mới sẽ bị xoá"
                )
            return (
                f"version {drop.version} has {figures} figures of {units} units where version"
                f" {drop.previous_version} had {previous} of {previous_units}: a new version replaces the earlier"
                " one whole, so the figures it leaves out would be deleted"
            )
        if self.check_name == "outlier" and d.get("value") is not None and d.get("median_last_6") is not None:
            value, median = number(language, int(d["value"])), number(language, int(d["median_last_6"]))
            ratio = str(d.get("outlier_ratio")).replace(".", "," if vi else ".")
            if vi:
                return (
                    f"{name} kỳ {self.figure_period} là {value}, khác xa các kỳ trước của tỉnh (trung vị {median};"
                    f" chênh quá {ratio} lần thì cần xác nhận)"
                )
            return (
                f"{name} for {self.figure_period} is {value}, far from the province's earlier periods (median"
                f" {median}; more than ×{ratio} apart needs confirming)"
            )
        if d.get("numerator") is not None and d.get("denominator") is not None:
            numerator, denominator = number(language, int(d["numerator"])), number(language, int(d["denominator"]))
            if vi:
                return (
                    f"{name} kỳ {self.figure_period}: tử số {numerator} lớn hơn mẫu số {denominator} (tỷ lệ trên 100%)"
                )
            over = f"numerator {numerator} exceeds denominator {denominator} (over 100%)"
            return f"{name} for {self.figure_period}: {over}"
        return self.figure()

    def describe(self) -> str:
        state = "replaced by a newer version" if self.is_replaced else self.status
        line = (
            f"hold #{self.hold_id} [{state}] {self.province_code} {self.province_name or ''} {self.period_code}"
            f" (submission #{self.submission_id} {self.file_name} v{self.version}): {self.check_name}: {self.figure()}"
        )
        line += f"\n    found {self.held_at:%Y-%m-%d %H:%M}"
        line += f", report {self.gate_report}" if self.gate_report else ""
        if self.reviewed_by:
            when = f"{self.reviewed_at:%Y-%m-%d %H:%M}"
            line += f"\n    {self.status} by {self.reviewed_by} at {when}: {self.review_reason}"
        if self.published_in:
            line += f"\n    published in publish #{self.published_in}"
        return line


_SELECT = """
    select h.hold_id, h.submission_id, s.file_name, s.version, h.province_code, p.name as province_name,
           h.period_code, h.check_name, h.indicator_code, h.figure_period, h.rule, h.detail, h.status, h.held_at,
           h.reviewed_by, h.reviewed_at, h.review_reason, s.status <> 'accepted' as is_replaced, h.gate_report,
           case when h.status = 'confirmed' then (
               select l.publish_id from meta.publish_log as l
               where l.action = 'publish' and l.published_at >= h.reviewed_at
                 and h.submission_id = any(l.submission_ids)
               order by l.publish_id limit 1
           ) end as published_in
    from meta.hold as h
    inner join ingest.submission as s using (submission_id)
    left join ref.unit as p on p.map = 'current' and p.unit_level = 'province' and p.unit_code = h.province_code
"""


def _finding_key(check: str, row: dict) -> str:
    return f"{check}:{row.get('period_code')}:{row.get('indicator_code')}"


def record(conn: psycopg.Connection, findings: list[Finding], gate_report: str | None = None) -> list[Hold]:
    """One hold per submission × finding, naming the report of the run that found it; returns the new ones.
    A finding already recorded for the same submission version (open, confirmed or rejected) is not recorded
    again: a confirmed figure stays confirmed."""
    new_ids = []
    with conn.transaction():
        for finding in findings:
            for row in finding.rows:
                created = conn.execute(
                    """insert into meta.hold (submission_id, province_code, period_code, check_name, finding_key,
                                              indicator_code, figure_period, rule, detail, gate_report)
                       select s.submission_id, %s, s.period_code, %s, %s, %s, %s, %s, %s, %s
                       from ingest.submission as s where s.submission_id = %s
                       on conflict (submission_id, finding_key) do nothing
                       returning hold_id""",
                    [
                        row["province_code"],
                        finding.check,
                        _finding_key(finding.check, row),
                        row.get("indicator_code"),
                        row.get("period_code"),
                        finding.description,
                        json.dumps({k: v for k, v in row.items() if k != "submission_id"}, default=str),
                        gate_report,
                        row["submission_id"],
                    ],
                ).fetchone()
                if created:
                    new_ids.append(created[0])
    return holds(conn, ids=new_ids) if new_ids else []


def holds(
    conn: psycopg.Connection, ids: list[int] | None = None, pending_only: bool = False, decided: int | None = None
) -> list[Hold]:
    """Holds by id, or every hold (pending_only: open ones that still hold a current version; decided: the last
    `decided` holds confirmed or rejected, newest first)."""
    where, params, order = "true", [], "h.hold_id"
    if ids is not None:
        where, params = "h.hold_id = any(%s)", [ids]
    elif pending_only:
        where = "h.status = 'open' and s.status = 'accepted'"
    elif decided is not None:
        where, order, params = "h.status <> 'open'", "h.reviewed_at desc nulls last, h.hold_id desc limit %s", [decided]
    with conn.cursor(row_factory=class_row(Hold)) as cursor:
        return cursor.execute(f"{_SELECT} where {where} order by {order}", params).fetchall()


def review(conn: psycopg.Connection, hold_id: int, decision: str, reason: str, by: str) -> Hold:
    """Confirm (the figure is real: publish it) or reject (keep it out) one open hold."""
    if decision not in (CONFIRMED, REJECTED):
        raise ReviewError(f"a review confirms or rejects, not {decision!r}")
    if not reason.strip():
        raise ReviewError("say why: --reason is kept with the review")
    found = holds(conn, ids=[hold_id])
    if not found:
        raise ReviewError(f"there is no hold #{hold_id} (python -m warehouse review lists them)")
    hold = found[0]
    if hold.status != OPEN:
        raise ReviewError(f"hold #{hold_id} was already {hold.status} by {hold.reviewed_by}")
    if hold.is_replaced:
        raise ReviewError(f"hold #{hold_id} was replaced by a newer version of the file: nothing to review")
    with conn.transaction():
        conn.execute(
            """update meta.hold set status = %s, reviewed_by = %s, reviewed_at = now(), review_reason = %s
               where hold_id = %s and status = 'open'""",
            [decision, by, reason.strip(), hold_id],
        )
    return holds(conn, ids=[hold_id])[0]
