"""MkDocs hooks (mkdocs.yml) that make one site of the README, the guides and dbt's own documentation.

- The README is the site's home page as it is, not a copy: its links into `docs/`, and the guides' links back
  to it, are rewritten for the site, where both sit side by side.
- dbt's documentation (every model, its columns, grain, tests and lineage) is generated without a database and
  placed at `dbt/index.html`, so the site builds on a fresh clone: `dbt parse` writes the manifest, then
  `dbt docs generate --no-compile --empty-catalog --static` one page that holds it. Compiling would need the
  warehouse (incremental models ask it what they hold, `is_incremental()`), and so would the catalogue of column
  types: the page has neither; `python -m warehouse docs` makes that fuller site from a running warehouse.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from core.settings import DBT_PROJECT_DIR, PROJECT_DIR, Settings
from publishing.transform import dbt_env

README = PROJECT_DIR / "README.md"
DBT_PAGE = "dbt/index.html"
NO_DATABASE = "postgresql://nobody@localhost:1/nothing"  # dbt reads the profile; nothing here connects


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, "index.md", abs_src_path=str(README)))
    files.append(File.generated(config, DBT_PAGE, content=dbt_documentation()))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri == "index.md":
        return re.sub(r"\]\(docs/", "](", markdown)
    return re.sub(r"\]\(\.\./README\.md", "](index.md", markdown)


def dbt_documentation() -> bytes:
    dbt = Path(sys.executable).with_name("dbt")
    with tempfile.TemporaryDirectory(prefix="antq-dbt-docs-") as scratch:
        env = dbt_env(NO_DATABASE, replace(Settings.from_env(), data_dir=Path(scratch)))
        target = ["--project-dir", str(DBT_PROJECT_DIR), "--target-path", f"{scratch}/target", "--quiet"]
        for command in (["parse"], ["docs", "generate", "--no-compile", "--empty-catalog", "--static"]):
            ran = subprocess.run([str(dbt), *command, *target], env=env, capture_output=True, text=True)
            if ran.returncode != 0:
                raise PluginError(f"dbt {' '.join(command)} failed:\n{ran.stdout[-3000:]}{ran.stderr[-3000:]}")
        return (Path(scratch) / "target" / "static_index.html").read_bytes()
