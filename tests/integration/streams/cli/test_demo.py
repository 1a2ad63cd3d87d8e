"""`sovwatch demo` as `make demo` runs it on a fresh machine: its own stack (free ports, a fresh
run directory), the local secrets of `make dev-env`, the simulated fleet through a background
worker, the signed audit checkpoint and the report."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.dev.env import ensure_dev_env
from streams.simulator.malformed import MALFORMED
from streams.simulator.recent import DEMO_SITES
from streams.stack.process import free_port, free_port_pair
from tests.integration.pipeline import SOVWATCH


@pytest.fixture
def demo_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh run dir and free ports; every server the demo starts is stopped afterwards."""
    ensure_dev_env(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SOVWATCH_")},
        "SOVWATCH_STACK__RUN_DIR": str(tmp_path / "run"),
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port_pair()}",
        "SOVWATCH_INFLUXDB__URL": f"http://127.0.0.1:{free_port()}",
        "SOVWATCH_WORKER__WEB_PORT": str(free_port()),
    }
    try:
        yield env
    finally:
        subprocess.run(
            [str(SOVWATCH), "stack", "down"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            check=False,
        )


def test_the_demo_stores_the_fleet_dead_letters_the_garbage_and_reports_alerts(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [SOVWATCH, "demo", "--minutes", "40"],
        env=demo_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    produced = int(re.search(r"produced (\d+) records", out).group(1))  # type: ignore[union-attr]
    assert f"stored {produced - len(MALFORMED)} events in InfluxDB" in out, out
    assert f"{len(MALFORMED)} dead letters" in out, out
    (signed,) = [line for line in out.splitlines() if line.startswith("audit checkpoint signed")]
    assert all(re.search(rf"\b{site} seq 1\.\.\d+ ", signed) for site, _ in DEMO_SITES), signed
    report = tmp_path / "run" / "report.html"
    assert f": {report}" in out, out
    page = report.read_text()
    alerts = re.search(r"Distinct alert ids \(bucket alerts\); (\d+) in all", page)
    assert alerts is not None and int(alerts.group(1)) > 0, "the report shows no alert"
    assert page.count("INTACT") >= 2  # both sites' audit chains verified
