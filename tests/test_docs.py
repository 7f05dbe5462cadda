"""The documentation a newcomer enters by: a short README that opens with the two commands and leads to one guide
per audience in docs/, whose links all arrive somewhere; and the one offline site `make docs` builds of them
(MkDocs Material, mkdocs.yml), with dbt's documentation inside, whose every link and anchor arrives in the site and
whose pages load nothing from the internet."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from core.settings import PROJECT_DIR

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def documents() -> list[Path]:
    return [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]


def links(document: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", document.read_text(encoding="utf-8")))


def anchors(document: Path) -> set[str]:
    """The anchors GitHub gives a document's headings: lowercased, punctuation dropped, spaces made hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", document.read_text(encoding="utf-8")), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_the_readme_opens_with_the_two_commands_and_stays_short():
    lines = (PROJECT_DIR / "README.md").read_text(encoding="utf-8").splitlines()
    opening = "\n".join(lines[:20])
    assert re.search(r"^make demo\b", opening, re.MULTILINE) and re.search(r"^make test\b", opening, re.MULTILINE)
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move the rest to a guide in docs/"


def test_every_relative_link_of_the_readme_and_the_guides_arrives_and_none_is_a_dead_end():
    broken = []
    for document in documents():
        relative = [target for target in links(document) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]
        if not relative:
            broken.append(f"{document.name}: links to no other page")
        for target in relative:
            path, _, anchor = unquote(target).partition("#")
            arrival = (document.parent / path).resolve() if path else document
            if not arrival.is_file():
                broken.append(f"{document.name}: {target} (no such file)")
            elif anchor and arrival.suffix == ".md" and anchor not in anchors(arrival):
                broken.append(f"{document.name}: {target} (no such heading)")
    assert broken == []


def test_the_readme_leads_to_every_guide():
    linked = {(PROJECT_DIR / target.partition("#")[0]).resolve() for target in links(PROJECT_DIR / "README.md")}
    guides = set((PROJECT_DIR / "docs").glob("*.md"))
    audiences = {"officers", "data-team", "analysts", "operators", "security", "architecture", "costs"}
    assert {f"{name}.md" for name in audiences} <= {g.name for g in guides}
    assert {guide.resolve() for guide in guides} - linked == set()


# The built site: what `make docs` runs (mkdocs.yml, docs/hooks/site.py), into a folder of the test's own.

BIN = Path(sys.executable).parent
DBT_PAGE = "dbt/index.html"  # dbt's own documentation, a single-page app: its links are its own routes
LOADS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "embed": "src", "object": "data"}
EXTERNAL_IN_CSS = re.compile(r"""(?:url\(|@import)\s*(?:url\()?\s*['"]?(?:https?:)?//""", re.IGNORECASE)


class Html(HTMLParser):
    """What one built page links to, loads and names as anchors."""

    def __init__(self, text: str):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.loads: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        self.ids.update(attrs[key] for key in ("id", "name") if attrs.get(key))
        if tag in ("a", "area") and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])
            self.loads.append(attrs["href"])
        if attrs.get(LOADS.get(tag, "")):
            self.links.append(attrs[LOADS[tag]])
            self.loads.append(attrs[LOADS[tag]])
        if attrs.get("style"):
            self.styles.append(attrs["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def broken_links(site: Path) -> list[str]:
    """Every link of every page of the site (but dbt's) that does not arrive: no such file in the site, or no such
    anchor in the page it names. A path from the site's root (/assets/..., 404.html's) is taken as the site's."""
    pages = {page: Html(page.read_text(encoding="utf-8")) for page in site.rglob("*.html")}
    site = site.resolve()
    broken = []
    for page, parsed in pages.items():
        if page.relative_to(site) == Path(DBT_PAGE):
            continue
        for link in parsed.links:
            if is_external(link):
                continue
            parts = urlsplit(link)
            path = unquote(parts.path)
            arrival = page if not path else site / path.lstrip("/") if path.startswith("/") else page.parent / path
            arrival = arrival.resolve()
            if arrival.is_dir():
                arrival = arrival / "index.html"
            where = f"{page.relative_to(site)}: {link}"
            if not arrival.is_relative_to(site) or not arrival.is_file():
                broken.append(f"{where} (no such file in the site)")
            elif (
                parts.fragment
                and arrival.suffix == ".html"
                and arrival.relative_to(site) != Path(DBT_PAGE)
                and unquote(parts.fragment) not in pages[arrival].ids
            ):
                broken.append(f"{where} (no such anchor)")
    return broken


def loaded_from_the_internet(site: Path) -> list[str]:
    """Every script, stylesheet, font, image or frame a page of the site (dbt's included) or one of its
    stylesheets would fetch from another host."""
    found = []
    for page in site.rglob("*.html"):
        parsed = Html(page.read_text(encoding="utf-8"))
        found += [f"{page.relative_to(site)}: {url}" for url in parsed.loads if is_external(url)]
        found += [f"{page.relative_to(site)}: {css[:120]}" for css in parsed.styles if EXTERNAL_IN_CSS.search(css)]
    for stylesheet in site.rglob("*.css"):
        found += [f"{stylesheet.relative_to(site)}: {m}" for m in EXTERNAL_IN_CSS.findall(stylesheet.read_text())]
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site as `make docs` builds it (strict: a warning, such as a link to no page, fails the build)."""
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(folder)],
        cwd=PROJECT_DIR,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return folder


def test_the_site_holds_the_readme_every_guide_and_the_dbt_documentation_in_its_navigation(site):
    home = Html((site / "index.html").read_text(encoding="utf-8"))
    guides = {f"{guide.stem}.html" for guide in (PROJECT_DIR / "docs").glob("*.md")}
    assert guides | {DBT_PAGE} <= set(home.links)
    assert "make demo" in (site / "index.html").read_text(encoding="utf-8")
    dbt = (site / DBT_PAGE).read_text(encoding="utf-8")
    assert "model.antq.mart_national_indicator" in dbt, "dbt's page holds the manifest of the project"


def test_every_internal_link_and_anchor_of_the_built_site_arrives(site):
    assert broken_links(site) == []


def test_no_page_of_the_site_loads_anything_from_the_internet_and_search_works_offline(site):
    assert loaded_from_the_internet(site) == []
    assert (site / "search" / "search_index.js").is_file(), "the offline plugin inlines the search index"
    # dbt's page loads its usage tracker from a CDN when the manifest says so: ours says not to
    assert '"send_anonymous_usage_stats": false' in (site / DBT_PAGE).read_text(encoding="utf-8")


def test_the_site_checks_find_a_broken_link_a_missing_anchor_and_a_web_font(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "main.css").write_text("@import url('https://fonts.googleapis.com/css?family=Roboto');")
    (tmp_path / "index.html").write_text(
        '<h2 id="here">x</h2><a href="#here">ok</a><a href="other.html#there">anchor</a><a href="gone.html">file</a>'
        '<script src="https://unpkg.com/x"></script><link rel="stylesheet" href="assets/main.css">'
    )
    (tmp_path / "other.html").write_text('<a href="../outside.html">outside</a><a href="index.html#here">ok</a>')
    (tmp_path.parent / "outside.html").write_text("")
    assert broken_links(tmp_path) == [
        "index.html: other.html#there (no such anchor)",
        "index.html: gone.html (no such file in the site)",
        "other.html: ../outside.html (no such file in the site)",
    ]
    assert sorted(loaded_from_the_internet(tmp_path)) == [
        "assets/main.css: @import url('https://",
        "index.html: https://unpkg.com/x",
    ]
