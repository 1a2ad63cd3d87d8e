"""Headless Chromium (Debian package `chromium`), run with a fresh profile and nothing that
phones home: print a page to PDF, take a screenshot, dump the DOM after rendering."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from schemas.errors import SovwatchError

FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _run(page: Path, *extra: str, timeout_s: float = 120) -> bytes:
    browser = shutil.which("chromium")
    if browser is None:
        raise SovwatchError(
            "chromium is not installed", "apt-get install chromium (docker/native/system-deps.sh)"
        )
    with tempfile.TemporaryDirectory(prefix="sovwatch-chromium-") as profile:
        result = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise SovwatchError(f"chromium failed on {page}: {' '.join(tail)}")
    return result.stdout


def print_pdf(page: Path, pdf: Path) -> Path:
    _run(page, f"--print-to-pdf={pdf.resolve()}", "--no-pdf-header-footer")
    return pdf


def screenshot(page: Path, png: Path, width: int = 1400, height: int = 2400) -> Path:
    _run(page, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")
    return png


def rendered_dom(page: Path) -> str:
    return _run(page, "--dump-dom").decode(errors="replace")
