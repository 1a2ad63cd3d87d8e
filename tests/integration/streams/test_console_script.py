"""The installed `sovwatch` console script itself (the unit tests call its entry point in
process): it starts, runs a command, and turns a user error into one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SOVWATCH = str(Path(sys.executable).with_name("sovwatch"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SOVWATCH, *args], capture_output=True, text=True, timeout=60)


def test_the_script_runs_a_command() -> None:
    result = run("rules", "list")
    assert result.returncode == 0, result.stderr
    assert "ops.gpu_ov" in result.stdout  # the first built-in rule (ids cut to the width)


def test_a_user_error_is_one_line_and_exit_code_2() -> None:
    result = run("--bogus")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: No such option: --bogus; see 'sovwatch --help'"
    ]
