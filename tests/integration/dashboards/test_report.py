"""`sovwatch report` over the simulated period, opened in real headless Chromium: the page
renders from a file, a screenshot is taken, and every panel drew data (no empty one, no NaN);
the audit chain of each simulated site verifies with the worker's public key; --pdf prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from dashboards.boards import all_dashboards
from dashboards.queries.dashboard_json import panels
from streams.report.chromium import rendered_dom, screenshot
from tests.integration.dashboards.conftest import Simulated
from tests.integration.pipeline import settings_from

SOVWATCH = str(Path(sys.executable).with_name("sovwatch"))
SECTION = re.compile(
    r"<section class=\"panel [a-z]+\" data-panel=\"([^\"]*)\" data-points=\"(\d+)\""
)


def test_report_renders_every_panel_with_data_in_chromium(
    simulated: Simulated, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    env = {
        **simulated.settings_env,
        "SOVWATCH_STACK__RUN_DIR": str(simulated.settings.stack.run_dir),
    }
    args = [
        SOVWATCH, "report", "--from", simulated.range.start.isoformat(),
        "--to", simulated.range.stop.isoformat(), "--out", str(out), "--pdf",
        *(a for site in simulated.sites for a in ("--site", site)),
    ]  # fmt: skip
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    html = out.read_text()
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"url\((?!#)", html), "only in-page references (SVG clip paths)"
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html), "nothing is loaded"

    png = screenshot(out, tmp_path / "report.png")
    assert png.stat().st_size > 100_000  # a drawn page, not a blank one
    dom = rendered_dom(out)
    drawn = dict(SECTION.findall(dom))
    expected = {p["title"] for b in all_dashboards() for p in panels(b.json)}
    assert expected <= set(drawn), expected - set(drawn)
    empty = sorted(name for name, points in drawn.items() if int(points) == 0)
    assert empty == [], f"panels without data: {empty}"
    assert "No data in this period" not in dom
    assert "NaN" not in re.sub(r"<svg.*?</svg>", "", dom, flags=re.S)
    assert dom.count("<svg") >= 20
    assert dom.count(">INTACT<") == len(simulated.sites)
    settings = settings_from(simulated.settings_env)
    assert settings.audit.public_key_file == simulated.public_key
