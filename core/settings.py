"""One settings object for every part of the project: ingestion, dbt, Great Expectations, Airflow, alerts."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
DAGS_DIR = PROJECT_DIR / "dags"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Read from the environment (``ANTQ_*``); every default suits a laptop demo."""

    data_dir: Path
    landing_dir: Path
    quarantine_dir: Path
    warehouse_url: str | None
    smtp_host: str
    smtp_port: int
    smtp_sender: str
    data_team: tuple[str, ...] = field(default_factory=tuple)
    max_file_bytes: int = 200 * 1024 * 1024
    freshness_days: int = 120
    # A national figure reaches province analysts once final or made of at least this many provinces: made
    # of one or two, it is a province's own figure, or tells it by subtraction from the analyst's own.
    small_cell_provinces: int = 3
    # A superuser's URL of the warehouse database, for the few steps only a superuser may take (once), when
    # warehouse_url's user is not one (core/security.py, superuser_setup).
    superuser_url: str | None = None
    # An alert the mail server keeps refusing is retried (backoff up to an hour) for this long, then given up,
    # its error kept in meta.alert_outbox and shown by `make status`.
    alert_give_up_hours: float = 72
    # Every reader login's limits (core/security.py), in Postgres's units: connections each, how long a
    # statement may run (BI's exports read whole marts: longer), temporary files per process (only a superuser
    # may raise it), how long a transaction may sit idle. Readers then cannot take the connections or the disk
    # the pipeline needs.
    reader_connection_limit: int = 10
    reader_statement_timeout: str = "5min"
    bi_reader_statement_timeout: str = "30min"
    reader_temp_file_limit: str = "1GB"
    reader_idle_in_transaction_timeout: str = "60s"
    # Logins besides the pipeline's and the portal's roles that may use the server's reserved connections,
    # e.g. Airflow's when its database is on the same server (granted by the superuser's set-up).
    reserved_connection_users: tuple[str, ...] = field(default_factory=tuple)
    # The portal is served over TLS (behind a proxy that terminates it): every cookie it sets is Secure.
    portal_secure_cookies: bool = False
    # No period may start before this day (nor before the catalogue's first indicator): a slip such as 2012
    # for 2026 is refused rather than stored as history. None: the catalogue's first day only.
    earliest_period: date | None = None
    # Provinces are reminded of periods starting on or after this day; unset: from the first period of each
    # kind the warehouse has received a file for (never of history before it existed).
    reminders_from: date | None = None
    # A new version of a province × period replaces its predecessor whole: one that keeps less than this share
    # of the figures, units or indicators its predecessor reported is held for review (a one-row test file
    # would otherwise delete a province's period), and the dry run warns of it before the file is sent.
    version_keep_ratio: float = 0.5
    # The reports (reports/): the agency that issues them under its parent, as the header names them, the
    # symbol after the number ("Số:      /BC-BCA"), the place before the date and the title the signer signs
    # under. Their sentences are in reports/text/, their layout in reports/template/.
    report_parent_agency: str = "BỘ CÔNG AN"
    report_agency: str = "CỤC XÂY DỰNG PHONG TRÀO BẢO VỆ AN NINH TỔ QUỐC"
    report_number_prefix: str = "BC-BCA"
    report_place: str = "Hà Nội"
    report_signer_title: str = "CỤC TRƯỞNG"

    @property
    def airflow_home(self) -> Path:
        return self.data_dir / "airflow"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def publish_request(self) -> Path:
        """A file in landing whose every change asks for a publish run now (warehouse.pipeline.request_publish,
        watched by warehouse/triggers.py); a dot file, never taken for a submission."""
        return self.landing_dir / ".publish-requested"

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pg"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("ANTQ_DATA_DIR", PROJECT_DIR / ".data")).resolve()
        landing_dir = Path(env.get("ANTQ_LANDING_DIR", data_dir / "landing")).resolve()
        return cls(
            data_dir=data_dir,
            landing_dir=landing_dir,
            quarantine_dir=Path(env.get("ANTQ_QUARANTINE_DIR", data_dir / "quarantine")).resolve(),
            warehouse_url=env.get("ANTQ_WAREHOUSE_URL") or None,
            smtp_host=env.get("ANTQ_SMTP_HOST", "localhost"),
            smtp_port=int(env.get("ANTQ_SMTP_PORT", "1025")),
            smtp_sender=env.get("ANTQ_SMTP_SENDER", "antq-warehouse@localhost"),
            data_team=_split(env.get("ANTQ_DATA_TEAM", "data-team@localhost")),
            max_file_bytes=int(float(env.get("ANTQ_MAX_FILE_MB", "200")) * 1024 * 1024),
            freshness_days=int(env.get("ANTQ_FRESHNESS_DAYS", "120")),
            small_cell_provinces=int(env.get("ANTQ_SMALL_CELL_PROVINCES", cls.small_cell_provinces)),
            superuser_url=env.get("ANTQ_SUPERUSER_URL") or None,
            alert_give_up_hours=float(env.get("ANTQ_ALERT_GIVE_UP_HOURS", "72")),
            reader_connection_limit=int(env.get("ANTQ_READER_CONNECTION_LIMIT", "10")),
            reader_statement_timeout=env.get("ANTQ_READER_STATEMENT_TIMEOUT", "5min"),
            bi_reader_statement_timeout=env.get("ANTQ_BI_READER_STATEMENT_TIMEOUT", "30min"),
            reader_temp_file_limit=env.get("ANTQ_READER_TEMP_FILE_LIMIT", "1GB"),
            reader_idle_in_transaction_timeout=env.get("ANTQ_READER_IDLE_IN_TRANSACTION_TIMEOUT", "60s"),
            reserved_connection_users=_split(env.get("ANTQ_RESERVED_CONNECTION_USERS", "")),
            portal_secure_cookies=env.get("ANTQ_PORTAL_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            earliest_period=date.fromisoformat(env["ANTQ_EARLIEST_PERIOD"])
            if env.get("ANTQ_EARLIEST_PERIOD")
            else None,
            version_keep_ratio=float(env.get("ANTQ_VERSION_KEEP_RATIO", "0.5")),
            reminders_from=date.fromisoformat(env["ANTQ_REMINDERS_FROM"]) if env.get("ANTQ_REMINDERS_FROM") else None,
            report_parent_agency=env.get("ANTQ_REPORT_PARENT_AGENCY", cls.report_parent_agency),
            report_agency=env.get("ANTQ_REPORT_AGENCY", cls.report_agency),
            report_number_prefix=env.get("ANTQ_REPORT_NUMBER_PREFIX", cls.report_number_prefix),
            report_place=env.get("ANTQ_REPORT_PLACE", cls.report_place),
            report_signer_title=env.get("ANTQ_REPORT_SIGNER_TITLE", cls.report_signer_title),
        )


def keep_files_private(settings: Settings) -> None:
    """Make what this process and its children write readable by its owner only (folders 0700, files 0600):
    submission files, rejected values, logs, backups and Airflow's database, whoever started it and whatever
    umask their shell had. Every entry point calls it first (the CLI, the demo, the portal, Airflow's services;
    the image's entrypoint for compose's), so Airflow, dbt, pg_dump and the tasks inherit it.

    The folders that exist already lose what group and others could do, and, the first time, so does all they
    hold: an installation made before is closed once. The landing folder keeps its group's part (never others'):
    a provincial system may drop files there as another account of the warehouse user's group. As root, the
    embedded Postgres runs as its own user in this process's group, which must enter the data folder to reach
    its pgdata (core/db.py), without listing it. What another user owns is left as it is: not ours."""
    os.umask(0o077)
    data = settings.data_dir
    children = [path for path in data.iterdir() if path.is_dir() and not path.is_symlink()] if data.is_dir() else []
    keep = {folder: 0o700 for folder in [*children, settings.quarantine_dir]}
    embedded_as_root = os.geteuid() == 0 and settings.embedded_pgdata.is_dir()
    keep |= {data: 0o710 if embedded_as_root else 0o700, settings.landing_dir: 0o2770}
    for folder, bits in keep.items():
        if _tighten(folder, bits) and folder != data:  # made before: all it holds was written under a wider umask
            for parent, folders, files in os.walk(folder):
                for name in folders:
                    _tighten(Path(parent, name), bits)
                for name in files:
                    _tighten(Path(parent, name), bits & 0o777)


def _tighten(path: Path, bits: int) -> bool:
    """Keep only `bits` of path's mode if it is ours and not a link; whether it had more."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or not info.st_mode & 0o7777 & ~bits:
        return False
    path.chmod(info.st_mode & bits)
    return True
