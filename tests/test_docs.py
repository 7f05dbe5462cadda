"""The documentation a newcomer enters by: a short README that opens with the two commands and leads to one guide
per audience in docs/, whose links all arrive somewhere."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from warehouse.settings import PROJECT_DIR

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
    assert len(lines) < 200, f"README.md has {len(lines)} lines: move the rest to a guide in docs/"


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
    assert {"officers.md", "analysts.md", "operators.md", "security.md", "architecture.md"} <= {g.name for g in guides}
    assert {guide.resolve() for guide in guides} - linked == set()
