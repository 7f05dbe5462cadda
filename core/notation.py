"""Numbers as people read them: Vietnamese notation first (4.351 and 97,5%), English beside it. The portal's
pages, the emails to provinces, the demo's print-out, the CLI and the reports write every count and share with
these."""

from __future__ import annotations


def number(language: str, value: int) -> str:
    """A count as each language writes it: 6.102 in Vietnamese (where a comma marks decimals), 6,102 in English."""
    return f"{value:,}".replace(",", "." if language == "vi" else ",")


def decimal(language: str, value: float) -> str:
    """A number to one decimal as each language writes it: 0,4 in Vietnamese, 0.4 in English (a change of a
    share in percentage points)."""
    shown = f"{value:.1f}"
    return shown.replace(".", ",") if language == "vi" else shown


def percent(language: str, value: float) -> str:
    """A share as each language writes it, to one decimal: 97,5% in Vietnamese, 97.5% in English."""
    return f"{decimal(language, value)}%"
