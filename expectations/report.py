"""The gate's report as one self-contained HTML file: no script, no font and no style from anywhere else, so
it opens complete on a ministry network cut off from the internet (Great Expectations' own data docs load
their scripts and styles from public CDNs and show almost nothing offline)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

from expectations.findings import GateReport

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1rem auto; max-width: 70rem; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
.critical { color: #a40000; } .hold { color: #8a5300; } .warning { color: #555; } .ok { color: #1d6b2f; }
"""


SEVERITY_VI = {"critical": "chặn công bố", "hold": "tạm giữ tỉnh", "warning": "cảnh báo"}


def render(report: GateReport, when: datetime | None = None, run: str = "") -> str:
    """The report of one run: its verdict, every check it ran with what it compared and its result, then each
    finding with the rows it found. Vietnamese first, English beside it."""
    when = when or datetime.now(UTC)
    verdict = (
        '<p class="critical">Không đạt: chưa công bố gì; <code>marts</code> giữ phiên bản tốt gần nhất. / Failed:'
        " nothing was published; <code>marts</code> keeps the last good version.</p>"
        if report.errors
        else '<p class="ok">Đạt: không kiểm tra nào chặn công bố. / Passed: no check blocks publishing.</p>'
    )
    parts = [
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>ANTQ gate report: {escape(report.schema)} {escape(run)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Báo cáo kiểm tra / Gate report: {escape(report.schema)}</h1>",
        f"<p>{when:%Y-%m-%d %H:%M} UTC · lần chạy / run {escape(run or '-')} · {report.checks_run} kiểm tra / checks"
        f" · {len(report.findings)} phát hiện / finding(s)</p>",
        verdict,
    ]
    if report.checks:
        parts.append(
            "<h2>Các kiểm tra đã chạy / Checks run</h2><table><tr><th>Kiểm tra / check</th><th>Bảng / table</th>"
            "<th>Mức / severity</th><th>Kết quả / result</th><th>Quan sát / observed</th>"
            "<th>Điều được so sánh / what it compares</th></tr>"
        )
        for check in report.checks:
            result = "đạt / passed" if check["passed"] else "không đạt / failed"
            severity = check["severity"]
            parts.append(
                f"<tr><td>{escape(check['check'])}</td><td>{escape(check['table'])}</td>"
                f"<td>{escape(SEVERITY_VI.get(severity, severity))} / {escape(severity)}</td>"
                f"<td class='{'ok' if check['passed'] else escape(severity)}'>{result}</td>"
                f"<td>{escape('' if check['observed'] is None else str(check['observed']))}</td>"
                f"<td>{escape(check['description'])}</td></tr>"
            )
        parts.append("</table>")
    for finding in report.findings:
        count = "" if finding.unexpected_count is None else f" · {finding.unexpected_count} dòng / row(s)"
        parts.append(
            f"<h2 class='{escape(finding.severity)}'>[{escape(finding.severity)}] {escape(finding.check)}"
            f" on {escape(finding.table)}{count}</h2><p>{escape(finding.description)}</p>"
        )
        where = [("tỉnh / provinces", finding.provinces), ("kỳ / periods", finding.periods)]
        parts += [f"<p>{name}: {escape(', '.join(values))}</p>" for name, values in where if values]
        rows = finding.rows or finding.sample
        if rows:
            columns = list(dict.fromkeys(key for row in rows for key in row))
            parts.append("<table><tr>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>")
            parts += [
                "<tr>" + "".join(f"<td>{escape(str(row.get(c, '')))}</td>" for c in columns) + "</tr>" for row in rows
            ]
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


REPORTS = "reports"  # under the gate's folder: one file per run, kept


def write_report(report: GateReport, folder: Path, when: datetime | None = None) -> Path:
    """Write the run's report as reports/<schema>-<time>.html in folder, kept for good (the report of the run
    that held a province must still be there when the hold is reviewed), and the same as report-<schema>.html,
    the last run of each schema; return the run's own path."""
    when = when or datetime.now(UTC)
    run = f"{report.schema}-{when:%Y%m%d-%H%M%S-%f}"
    kept = folder / REPORTS / f"{run}.html"
    kept.parent.mkdir(parents=True, exist_ok=True)
    page = render(report, when, run)
    kept.write_text(page, encoding="utf-8")
    (folder / f"report-{report.schema}.html").write_text(page, encoding="utf-8")
    return kept
