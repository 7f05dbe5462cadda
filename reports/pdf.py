"""A PDF of the report's DOCX, by LibreOffice headless (`soffice --headless --convert-to pdf`), which `make
report` and `make test` install where they can (Debian's libreoffice-writer-nogui). Without it the DOCX and the
annex are still written, and the caller says plainly what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL = "as root on Debian or Ubuntu: apt-get install libreoffice-writer-nogui (make report does it where it can)"
TIMEOUT_SECONDS = 180


class NoLibreOffice(RuntimeError):
    """LibreOffice (soffice) is not installed here."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: Path) -> Path:
    """Convert `docx` into a PDF beside it; its path. Each conversion has a LibreOffice profile of its own, in a
    temporary folder: two at once (two reports, two test workers) would otherwise share one and fail, and the
    service's user may have no writable home."""
    program = soffice()
    if program is None:
        raise NoLibreOffice(f"LibreOffice (soffice) is not installed, so no PDF was written: {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="antq-soffice-") as profile:
        done = subprocess.run(
            [
                program,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--norestore",
                "--nolockcheck",
                "--convert-to",
                "pdf",
                "--outdir",
                str(docx.parent),
                str(docx),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            env={**os.environ, "HOME": profile},
            check=False,
        )
    pdf = docx.with_suffix(".pdf")
    if done.returncode != 0 or not pdf.exists():
        raise RuntimeError(f"LibreOffice could not convert {docx} (exit {done.returncode}): {done.stderr.strip()}")
    return pdf
