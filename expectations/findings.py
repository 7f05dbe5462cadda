"""What a run of the checks found, as it travels between Airflow tasks and into alerts and holds: plain data,
so that what only reads a report (a publish, an alert, a hold) does not import Great Expectations (~190 MB
and about 5 s, which a publish paid for this alone)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Finding:
    check: str
    table: str
    severity: str
    description: str
    unexpected_count: int | None
    sample: list[dict] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # every row found, for a check that holds (one hold each)

    def describe(self) -> str:
        count = "" if self.unexpected_count is None else f", {self.unexpected_count} rows"
        lines = [f"[{self.severity}] {self.check} on {self.table}{count}: {self.description}"]
        lines += ["      " + ", ".join(f"{key}={value}" for key, value in row.items()) for row in self.sample]
        return "\n".join(lines)


@dataclass
class GateReport:
    schema: str
    checks_run: int
    findings: list[Finding]
    docs_url: str = ""  # the Great Expectations data docs page of this run
    report_url: str = ""  # our own self-contained HTML report of this run (expectations/report.py)
    # Every check run, passed or not: {"check", "table", "description", "severity", "passed", "observed"}
    checks: list[dict] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> GateReport:
        """The report as it travels between Airflow tasks (XCom holds its asdict())."""
        findings = [Finding(**f) for f in data["findings"]]
        return cls(
            data["schema"],
            data["checks_run"],
            findings,
            data.get("docs_url", ""),
            data.get("report_url", ""),
            data.get("checks", []),
        )

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "critical"]

    @property
    def holds(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "hold"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        head = (
            f"{self.checks_run} checks on schema {self.schema}: "
            f"{len(self.errors)} errors, {len(self.holds)} holding, {len(self.warnings)} warnings"
        )
        return "\n".join([head, *(f"  {f.describe()}" for f in self.findings)])
