"""Match administrative unit names as people write them: with or without diacritics, prefixes, apostrophes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from ingestion.legacy_fonts import readings

# Longest first, so that "thành phố" is removed before "phố" could be considered.
PREFIXES = (
    "thanh pho truc thuoc trung uong",
    "thanh pho",
    "thi tran",
    "thi xa",
    "dac khu",
    "phuong",
    "huyen",
    "quan",
    "tinh",
    "xa",
    "tp",
    "tt",
    "tx",
    "p",
    "q",
    "h",
)


@lru_cache(maxsize=65536)
def fold(name: str) -> str:
    """'Thành phố Hà Nội', 'TP. Ha Noi' and 'ha  noi' all fold to 'ha noi'."""
    text = unicodedata.normalize("NFD", name.replace("’", "'").replace("‘", "'"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").replace("đ", "d").replace("Đ", "D")
    text = re.sub(r"[^a-z0-9' ]+", " ", text.casefold()).strip()
    text = " ".join(text.split())
    for prefix in PREFIXES:
        if text.startswith(prefix + " "):
            return text[len(prefix) + 1 :]
    return text


def lookup(name: str, units: dict[str, tuple[str, ...]]) -> tuple[str | None, list[str]]:
    """Find a unit by name among units (code -> (province code, name, ...)).

    Returns (code, []) for one match, (None, candidates) when several units share the folded name, and
    (None, []) for none. Ambiguity is refused, never guessed: the candidates say what to write instead.
    """
    return lookup_names(name, ((code, unit[1]) for code, unit in units.items()))


def lookup_names(name: str, named: Iterable[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """lookup() among (code, name) pairs, where a unit may come with several names."""
    wanted = fold(name)
    matches = sorted({code: unit_name for code, unit_name in named if fold(unit_name) == wanted}.items())
    if len(matches) == 1:
        return matches[0][0], []
    return None, [f"{unit_name} ({code})" for code, unit_name in matches]


def lookup_legacy(name: str, units: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(encoding, the name read in it, code) for each legacy font reading of the name that names one unit."""
    found = []
    for encoding, reading in readings(name).items():
        code, _ = lookup(reading, units)
        if code:
            found.append((encoding, reading, code))
    return found
