"""The project's shape: dbt layers that flow one way, SQL in the house style, schemas named in one place, an
environment installed as bytecode, and dependencies by use (the runtime set; tests and lint in the dev group)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from core import schemas
from core.settings import DBT_PROJECT_DIR, PROJECT_DIR, Settings
from publishing.transform import dbt_env

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, dict]:
    """Every model as `dbt ls` sees it (no database is needed to parse): name -> its path, schema and parents."""
    settings = replace(Settings.from_env(), data_dir=tmp_path_factory.mktemp("dbt"))
    env = dbt_env("postgresql://nobody@localhost:1/nothing", settings)
    listed = subprocess.run(
        [str(BIN / "dbt"), "ls", "--resource-type", "model", "--output", "json", "--project-dir", str(DBT_PROJECT_DIR)]
        + ["--output-keys", "name original_file_path config depends_on", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    nodes = [json.loads(line) for line in listed.splitlines() if line.startswith("{")]
    return {node["name"]: node for node in nodes}


def layer(node: dict) -> str:
    return Path(node["original_file_path"]).parts[1]  # models/<layer>/...


def test_dbt_layers_flow_one_way_staging_intermediate_marts(models):
    order = {"staging": 0, "intermediate": 1, "marts": 2}
    backwards = [
        f"{name} ({layer(node)}) reads {parent.split('.')[-1]} ({layer(models[parent.split('.')[-1]])})"
        for name, node in models.items()
        for parent in node["depends_on"]["nodes"]
        if parent.startswith("model.") and order[layer(models[parent.split(".")[-1]])] > order[layer(node)]
    ]
    assert backwards == []
    assert {layer(node) for node in models.values()} == set(order)


def test_each_model_goes_to_the_schema_warehouse_schemas_names(models):
    expected = {"staging": schemas.STAGING, "intermediate": schemas.INTERMEDIATE, "marts": None}
    wrong = {
        name: node["config"]["schema"]
        for name, node in models.items()
        if node["config"]["schema"] != expected[layer(node)]
    }
    assert wrong == {}, "dbt_project.yml sets each layer's schema from ANTQ_*_SCHEMA (core/schemas.py)"


def test_the_sql_of_the_models_passes_sqlfluff():
    linted = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "models", "--processes", "2"],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout[-4000:]


@pytest.mark.parametrize("package", ["airflow", "dbt.cli.main", "great_expectations"])
def test_the_large_packages_are_installed_compiled(package):
    """make's install compiles the venv: where Python may not write __pycache__ (PYTHONDONTWRITEBYTECODE, as on
    these machines, or a read-only venv) each process would otherwise compile them from source again: 17 s of
    CPU to import Great Expectations instead of 6, in every Airflow task and every `airflow dags test`."""
    module = importlib.import_module(package)
    assert Path(importlib.util.cache_from_source(module.__file__)).exists(), f"{package} has no bytecode"


def test_what_only_reads_a_gate_report_does_not_import_great_expectations():
    """A publish, an alert or a hold reads the gate's findings: importing Great Expectations for them cost a
    publish about 5 s and ~190 MB (expectations/findings.py)."""
    code = (
        "import sys, warehouse.pipeline, publishing.publish, review.holds, notify.alerts, expectations.report\n"
        "from expectations.findings import GateReport\n"
        "GateReport.from_dict({'schema': 'build', 'checks_run': 1, 'findings': []})\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'great_expectations', 'dbt', 'pandas'}))"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]", imported.stdout


def test_the_gate_leaves_scipy_stats_and_altair_to_their_first_use():
    """Importing the gate and its suites runs neither scipy.stats nor altair (76 MB that no check of ours
    uses: expectations/__init__.py), nor does reading every module's __file__ as dbt does (inspect.stack());
    they still work, fully loaded, when something uses them."""
    code = (
        "import inspect, sys, expectations.gate, expectations.suites\n"
        "ran = lambda: sorted(n for n in ('scipy.stats._stats_py', 'altair.vegalite') if n in sys.modules)\n"
        "print(ran())\n"
        "inspect.stack()\n"
        "print(ran(), hasattr(sys.modules['altair'], '__file__'), hasattr(sys.modules['scipy.stats'], '__path__'))\n"
        "from scipy import stats\n"
        "import altair\n"
        "print(stats.norm.cdf(0), altair.Chart.__name__, ran(), type(stats).__name__)"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert imported.stdout.splitlines() == [
        "[]",
        "[] True True",
        "0.5 Chart ['altair.vegalite', 'scipy.stats._stats_py'] module",
    ]


def _make_user(barrier, name: str, uids) -> None:
    from core.db import system_user

    barrier.wait()
    uids.put(system_user(name))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root makes system users (pgserver's, as root)")
def test_servers_started_at_once_as_root_make_one_system_user():
    """Six processes asking for a new system user at the same moment all get the same one (without the lock
    around useradd each got a uid of its own, the last one kept: the suite's two workers failed that way)."""
    import multiprocessing
    import pwd

    name = f"antqtest{os.getpid()}"
    context = multiprocessing.get_context("spawn")
    barrier, uids = context.Barrier(6), context.Queue()
    workers = [context.Process(target=_make_user, args=(barrier, name, uids)) for _ in range(6)]
    try:
        for worker in workers:
            worker.start()
        got = [uids.get(timeout=60) for _ in workers]
        assert set(got) == {pwd.getpwnam(name).pw_uid}
        assert Path("/etc/passwd").read_text().count(f"\n{name}:") == 1
    finally:
        for worker in workers:
            worker.join(timeout=60)
        subprocess.run(["userdel", name], capture_output=True)


TEST_AND_LINT_TOOLS = {"pytest", "pytest-xdist", "ruff", "sqlfluff", "selenium"}
RUNTIME_PACKAGES = (
    "core",
    "ingestion",
    "expectations",
    "publishing",
    "review",
    "notify",
    "reports",
    "warehouse",
    "portal",
    "dags",
)


def _pyproject() -> dict:
    return tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def test_the_runtime_dependencies_carry_no_test_or_lint_tool():
    """What the image installs is `[project].dependencies`; the tests' and lint's tools are the `dev` group's,
    in pyproject.toml and in the lock the image installs from."""
    project = _pyproject()
    assert {_name(dep) for dep in project["project"]["dependencies"]} & TEST_AND_LINT_TOOLS == set()
    assert {_name(dep) for dep in project["dependency-groups"]["dev"]} >= TEST_AND_LINT_TOOLS
    locked = tomllib.loads((PROJECT_DIR / "uv.lock").read_text(encoding="utf-8"))
    (ours,) = [package for package in locked["package"] if package["name"] == project["project"]["name"]]
    assert {dep["name"] for dep in ours["dependencies"]} & TEST_AND_LINT_TOOLS == set()


def test_no_runtime_module_imports_a_package_of_the_dev_group():
    """The image lacks the dev group: a module the services run that imported one would fail there only."""
    dev = {_name(dep).replace("-", "_") for dep in _pyproject()["dependency-groups"]["dev"]} | {"xdist"}
    imported = {}
    for package in RUNTIME_PACKAGES:
        for path in (PROJECT_DIR / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    if name.split(".")[0] in dev:
                        imported[f"{path.relative_to(PROJECT_DIR)}:{node.lineno}"] = name
    assert imported == {}


def test_the_image_installs_without_the_dev_group():
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text(encoding="utf-8")
    syncs = re.findall(r"\buv sync\b[^\n\\&]*", dockerfile)
    assert syncs and all("--no-dev" in sync for sync in syncs), syncs
