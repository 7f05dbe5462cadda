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


def render(report: GateReport, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    verdict = (
        '<p class="critical">Failed: nothing was published; <code>marts</code> keeps the last good version.</p>'
        if report.errors
        else '<p class="ok">Passed: no check blocks publishing.</p>'
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>ANTQ gate report: {escape(report.schema)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Gate report: schema {escape(report.schema)}</h1>",
        f"<p>{when:%Y-%m-%d %H:%M} UTC · {report.checks_run} checks run · {len(report.findings)} finding(s)</p>",
        verdict,
    ]
    for finding in report.findings:
        count = "" if finding.unexpected_count is None else f" · {finding.unexpected_count} row(s)"
        parts.append(
            f"<h2 class='{escape(finding.severity)}'>[{escape(finding.severity)}] {escape(finding.check)}"
            f" on {escape(finding.table)}{count}</h2><p>{escape(finding.description)}</p>"
        )
        where = [("provinces", finding.provinces), ("periods", finding.periods)]
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


def write_report(report: GateReport, folder: Path) -> Path:
    """Write the report as report-<schema>.html in folder (the last run of each schema) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report-{report.schema}.html"
    path.write_text(render(report), encoding="utf-8")
    return path
