"""`sovwatch stack up|status|down` on a second, private stack (own ports and run directory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SOVWATCH = str(Path(sys.executable).with_name("sovwatch"))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOVWATCH, "stack", *args], env=env, capture_output=True, text=True, timeout=600
    )


def processes_mentioning(marker: str) -> list[int]:
    """Pids of live processes whose command line names marker."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_status_up_down_report_truthfully_and_down_leaves_no_process(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {
        **os.environ,
        "SOVWATCH_STACK__RUN_DIR": str(run_dir),
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:19092",
        "SOVWATCH_INFLUXDB__URL": "http://127.0.0.1:18086",
    }
    try:
        before = run(env, "status")
        assert before.returncode == 1
        assert before.stdout.count(" down ") == 2, before.stdout

        up = run(env, "up")
        assert up.returncode == 0, up.stderr
        status = run(env, "status")
        assert status.returncode == 0, status.stdout
        assert "127.0.0.1:19092" in status.stdout
        assert "http://127.0.0.1:18086" in status.stdout
        assert len(processes_mentioning(str(run_dir))) >= 2

        down = run(env, "down")
        assert down.returncode == 0
        assert "stopped: influxdb, kafka" in down.stdout
        assert processes_mentioning(str(run_dir)) == []
        assert run(env, "status").returncode == 1
        assert "nothing was running" in run(env, "down").stdout
    finally:
        run(env, "down")
