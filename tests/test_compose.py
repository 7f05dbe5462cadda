"""docker-compose.yml cannot be started here (no Docker engine), so its consistency is checked statically."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from core.settings import PROJECT_DIR
from warehouse.services import SCHEDULER_IDLE_SLEEP, STOP_SECONDS

COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
LONG_RUNNING = set(SERVICES) - {"airflow-init"}


def env_example() -> dict[str, str]:
    lines = (PROJECT_DIR / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_production_services_are_all_there():
    assert {"postgres", "mailpit", "airflow-init"} | AIRFLOW_SERVICES <= set(SERVICES)


def test_every_image_is_pinned_to_a_version():
    for name, service in SERVICES.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name} uses an unpinned image {image}"
        assert re.search(r":v?\d", image), f"{name}: {image} is not pinned to a version"


def test_every_long_running_service_has_a_healthcheck_and_a_restart_policy():
    for name in LONG_RUNNING:
        assert SERVICES[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert SERVICES[name].get("restart") == "unless-stopped", name


def test_dependencies_name_real_services_with_conditions_that_fit_them():
    for name, service in SERVICES.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{name} waits for {dependency} health it lacks"
            else:
                assert condition == "service_completed_successfully" and dependency == "airflow-init"
    for name in AIRFLOW_SERVICES:
        assert set(SERVICES[name]["depends_on"]) >= {"postgres", "airflow-init"}, name


def test_the_scheduler_starts_after_the_api_server_answers_and_stops_before_it_letting_tasks_finish():
    """Its tasks report to the API server (warehouse/services.py starts and stops them in that order too)."""
    scheduler = SERVICES["airflow-scheduler"]
    assert scheduler["command"] == ["python", "-m", "warehouse.scheduler"], "the tasks' libraries imported once"
    idle = scheduler["environment"]["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"]
    assert idle == SCHEDULER_IDLE_SLEEP, "make airflow and production loop alike"
    assert scheduler["depends_on"]["airflow-apiserver"] == {"condition": "service_healthy"}
    seconds = int(scheduler["stop_grace_period"].removesuffix("s"))
    assert seconds >= STOP_SECONDS, "compose's default 10 s would kill the tasks in flight"


def test_named_volumes_are_declared_and_bind_mounts_exist():
    declared = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            if source.startswith("."):
                assert (PROJECT_DIR / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_every_variable_the_compose_file_uses_is_in_env_example():
    used = set(re.findall(r"\$\{(\w+)", (PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8")))
    assert used <= set(env_example()), f"missing from .env.example: {used - set(env_example())}"


def test_airflow_services_reach_the_warehouse_airflow_db_and_mail_catcher_by_service_name():
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        env = SERVICES[name]["environment"]
        assert "@postgres:5432/antq" in env["ANTQ_WAREHOUSE_URL"]
        assert "@postgres:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["ANTQ_SMTP_HOST"] == "mailpit"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")
        assert "landing:/opt/antq/landing" in SERVICES[name]["volumes"]


def test_the_settings_the_code_reads_are_the_ones_compose_sets():
    read = set(re.findall(r'"(ANTQ_[A-Z_]+)"', Path(PROJECT_DIR / "core" / "settings.py").read_text()))
    env = SERVICES["airflow-scheduler"]["environment"]
    assert {"ANTQ_WAREHOUSE_URL", "ANTQ_LANDING_DIR", "ANTQ_SMTP_HOST", "ANTQ_DATA_TEAM"} <= read
    once = set(SERVICES["airflow-init"]["environment"]) - set(env)  # for the one-off set-up only
    assert read - set(env) - once <= {"ANTQ_QUARANTINE_DIR"}, f"not set in compose: {read - set(env)}"


def test_the_init_script_creates_the_databases_compose_connects_to():
    script = (PROJECT_DIR / "docker" / "postgres-init.sh").read_text(encoding="utf-8")
    assert "create database antq" in script and "create database airflow" in script
    for password in ("ANTQ_DB_PASSWORD", "AIRFLOW_DB_PASSWORD"):
        assert password in SERVICES["postgres"]["environment"]


def test_the_optional_bi_tool_is_behind_a_profile():
    assert SERVICES["metabase"]["profiles"] == ["bi"]
    assert "ANTQ_BI_READER_PASSWORD" in SERVICES["airflow-init"]["environment"]


def test_the_image_installs_from_the_lock_file():
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --frozen" in dockerfile and "COPY pyproject.toml uv.lock" in dockerfile
    # the services run as a user who cannot write the venv's __pycache__: compiled when installed, or every
    # task process compiles Airflow, dbt and Great Expectations from source again
    assert re.search(r"^\s*UV_COMPILE_BYTECODE=1\b", dockerfile, re.MULTILINE)


def test_the_portal_lands_files_where_the_ingest_dag_reads_them():
    portal, scheduler = SERVICES["portal"], SERVICES["airflow-scheduler"]
    assert portal["command"] == ["python", "-m", "portal"]
    assert "landing:/opt/antq/landing" in portal["volumes"]
    for name in ("ANTQ_WAREHOUSE_URL", "ANTQ_LANDING_DIR", "ANTQ_DATA_DIR", "ANTQ_MAX_FILE_MB"):
        assert portal["environment"][name] == scheduler["environment"][name], name
    assert portal["environment"]["ANTQ_PORTAL_HOST"] == "0.0.0.0" and "8000:8000" in portal["ports"]
    assert "localhost:8000" in " ".join(portal["healthcheck"]["test"])


def test_the_pipeline_runs_as_a_non_superuser_set_up_once_by_the_superuser():
    init = (PROJECT_DIR / "docker" / "postgres-init.sh").read_text(encoding="utf-8")
    assert "create role antq login createrole" in init and "superuser" not in init.split("create role antq")[1]
    setup = SERVICES["airflow-init"]["environment"]["ANTQ_SUPERUSER_URL"]
    assert setup.startswith("postgresql://postgres:") and setup.endswith("@postgres:5432/antq")
    assert "ANTQ_SUPERUSER_URL" not in SERVICES["airflow-scheduler"]["environment"], "only the one-off init has it"


def test_the_triggerer_watches_the_landing_volume_the_ingest_dag_is_scheduled_on():
    from warehouse.assets import LANDING
    from warehouse.triggers import LandingTrigger

    triggerer, scheduler = SERVICES["airflow-triggerer"], SERVICES["airflow-scheduler"]
    assert "landing:/opt/antq/landing" in triggerer["volumes"]
    assert triggerer["environment"]["ANTQ_LANDING_DIR"] == scheduler["environment"]["ANTQ_LANDING_DIR"]
    (watcher,) = LANDING.watchers
    assert isinstance(watcher.trigger, LandingTrigger)
    dag_source = (PROJECT_DIR / "dags" / "antq_ingest.py").read_text(encoding="utf-8")
    assert "assets=[LANDING]" in dag_source, "antq_ingest runs when the landing asset's watcher fires"


def test_the_portal_gets_the_warehouse_settings_and_nothing_of_airflow():
    """The portal faces the provinces: it gets what the warehouse's code reads, no Airflow secret (JWT key,
    metadata database password), no other login's password."""
    portal, scheduler = SERVICES["portal"]["environment"], SERVICES["airflow-scheduler"]["environment"]
    assert [name for name in portal if not name.startswith("ANTQ_")] == []
    values = " ".join(str(value) for value in portal.values())
    for secret in ("AIRFLOW_JWT_SECRET", "AIRFLOW_DB_PASSWORD", "POSTGRES_PASSWORD", "ANTQ_BI_READER_PASSWORD"):
        assert f"${{{secret}}}" not in values, secret
    warehouse = {name: v for name, v in scheduler.items() if name.startswith("ANTQ_") and "PASSWORD" not in name}
    assert {name: portal[name] for name in warehouse} == warehouse, "the portal runs prepare with the same settings"
    assert "ANTQ_PORTAL_PASSWORD" not in (PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8")


def test_readers_cannot_take_the_connections_of_the_pipeline_the_portal_and_airflow():
    """Postgres keeps reserved_connections for pg_use_reserved_connections, which the superuser's set-up grants
    to the pipeline's and the portal's roles and to Airflow's user; every reader login has a limit."""
    options = dict(arg.split("=", 1) for arg in SERVICES["postgres"]["command"] if "=" in arg)
    assert SERVICES["postgres"]["command"][0] == "postgres"
    reserved, most = int(options["reserved_connections"]), int(options["max_connections"])
    env = SERVICES["airflow-scheduler"]["environment"]
    assert reserved >= 20 and most - reserved - 3 > int(env["ANTQ_READER_CONNECTION_LIMIT"])
    airflow_user = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).username
    init = SERVICES["airflow-init"]["environment"]
    assert airflow_user in init["ANTQ_RESERVED_CONNECTION_USERS"].split(",")
    for name in ("STATEMENT_TIMEOUT", "TEMP_FILE_LIMIT", "IDLE_IN_TRANSACTION_TIMEOUT"):
        assert env[f"ANTQ_READER_{name}"], name


def test_the_portal_mounts_only_what_it_reads_and_writes_of_the_data_volume():
    """It lands files, ingests them (archive, quarantine) and shows the gate's reports (gx, read only): not
    Airflow's home and logs (task results with rejected values), dbt's files or backups, which the whole
    data volume holds."""
    portal = SERVICES["portal"]["volumes"]
    assert "antq-data:/opt/antq/data" in SERVICES["airflow-scheduler"]["volumes"]
    assert not [v for v in portal if isinstance(v, str) and v.startswith("antq-data:")], "the whole data volume"
    parts = {v["volume"]["subpath"]: v for v in portal if isinstance(v, dict) and v["source"] == "antq-data"}
    assert set(parts) == {"archive", "quarantine", "gx"}
    for subpath, volume in parts.items():
        assert volume["type"] == "volume" and volume["target"] == f"/opt/antq/data/{subpath}", subpath
        assert volume.get("read_only", False) == (subpath == "gx"), subpath
    assert "landing:/opt/antq/landing" in portal
    # a subpath must exist before it is mounted: the one-off init makes them in a data volume made before
    assert "mkdir -p /opt/antq/data/{archive,quarantine,gx}" in SERVICES["airflow-init"]["command"][-1]


def test_every_service_writes_files_its_owner_only_and_shares_landing_with_its_group():
    """Airflow's services run `airflow ...` directly, not an entry point of ours: the image's entrypoint sets
    the umask their tasks inherit. The landing folder is the group's drop box (setgid), never others'."""
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text(encoding="utf-8")
    (entrypoint,) = re.findall(r"^ENTRYPOINT (.+)$", dockerfile, re.MULTILINE)
    assert "umask 0077 && exec" in entrypoint
    for name, service in SERVICES.items():
        if service.get("image", "").startswith("antq-warehouse"):
            assert "entrypoint" not in service, f"{name} would bypass the umask"
    assert "chmod 0700 /opt/antq/data " in dockerfile and "chmod 2770 /opt/antq/landing" in dockerfile
