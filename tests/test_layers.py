"""Imports flow one way (docs/architecture.md, "Packages"): a package imports only packages of the layers below
it, never one beside or above it, and no module imports, through others, itself. Imports inside functions
count: a lazy import is still an arrow."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# From the bottom: each layer may import the layers before it.
LAYERS = (
    ("core",),  # settings, the database, schemas, migrations, roles, notation
    ("ingestion",),  # the contract and the door: reading, checking, loading files
    ("expectations",),  # the quality gate
    ("publishing", "review", "reports"),  # dbt, publishing, access copies; holds; the ministry's reports
    ("notify",),  # alerts and reminders
    ("warehouse",),  # the pipeline, the CLI, the demo, the desk, running it (services, backup, Airflow)
    ("portal",),  # the web pages
    ("dags", "bench"),  # Airflow's DAG files; the benchmark
)
LAYER = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYER:
        for path in (PROJECT / package).rglob("*.py"):
            parts = path.relative_to(PROJECT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project's modules a file imports, anywhere in it (a package's name as the package)."""
    named = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in named if name in modules}


def test_every_package_is_in_a_layer():
    packages = {p.name for p in PROJECT.iterdir() if (p / "__init__.py").exists() or p.name == "dags"}
    assert packages <= set(LAYER), "a new package: give it its place in LAYERS and docs/architecture.md"


def test_no_module_imports_a_package_beside_or_above_its_own():
    modules = _modules()
    upward = []
    for module, path in modules.items():
        own = module.split(".")[0]
        for imported in _imports(path, modules):
            other = imported.split(".")[0]
            if other != own and LAYER[other] >= LAYER[own]:
                upward.append(f"{module} imports {imported}")
    assert not upward, "\n".join(sorted(upward))


def test_no_module_imports_itself_through_others():
    modules = _modules()
    graph = {module: _imports(path, modules) - {module} for module, path in modules.items()}
    # A package's __init__ is imported with each of its modules: an arrow to a package means its __init__.
    cycles, done = [], set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            cycles.append(" -> ".join([*trail[trail.index(module) :], module]))
            return
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule catches what it is for: an import inside a function of a lower layer's module."""
    path = tmp_path / "lower.py"
    path.write_text("def f():\n    from portal.app import create_app\n", encoding="utf-8")
    assert _imports(path, _modules()) >= {"portal.app"}
