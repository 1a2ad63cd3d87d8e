"""`sovwatch demo` as `make demo` runs it on a fresh machine: its own stack (free ports, a fresh
run directory), the local secrets of `make dev-env`, the simulated fleet through a background
worker, the signed audit checkpoint and the report; then every command it prints at its end,
each run as printed in a new shell (no environment but HOME, PATH and LANG)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.dev.env import ensure_dev_env
from streams.dev.next_steps import COMMAND_MARK
from streams.simulator.malformed import MALFORMED
from streams.simulator.recent import DEMO_SITES
from streams.stack.process import free_port, free_port_pair
from tests.integration.pipeline import SOVWATCH


@dataclass(frozen=True)
class Demo:
    directory: Path
    env: dict[str, str]
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo run on a fresh run dir and free ports; every server it starts is stopped
    afterwards."""
    directory = tmp_path_factory.mktemp("demo")
    ensure_dev_env(directory)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SOVWATCH_")},
        "SOVWATCH_STACK__RUN_DIR": str(directory / "run"),
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port_pair()}",
        "SOVWATCH_INFLUXDB__URL": f"http://127.0.0.1:{free_port()}",
        "SOVWATCH_WORKER__WEB_PORT": str(free_port()),
    }
    try:
        done = subprocess.run(
            [SOVWATCH, "demo", "--minutes", "40"],
            env=env,
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        yield Demo(directory, env, done)
    finally:
        subprocess.run(
            [str(SOVWATCH), "stack", "down"],
            env=env,
            cwd=directory,
            capture_output=True,
            check=False,
        )


def test_the_demo_stores_the_fleet_dead_letters_the_garbage_and_reports_alerts(
    demo: Demo,
) -> None:
    out = demo.done.stdout
    assert demo.done.returncode == 0, out + demo.done.stderr
    produced = int(re.search(r"produced (\d+) records", out).group(1))  # type: ignore[union-attr]
    assert f"stored {produced - len(MALFORMED)} events in InfluxDB" in out, out
    assert f"{len(MALFORMED)} dead letters" in out, out
    (signed,) = [line for line in out.splitlines() if line.startswith("audit checkpoint signed")]
    assert all(re.search(rf"\b{site} seq 1\.\.\d+ ", signed) for site, _ in DEMO_SITES), signed
    report = demo.directory / "run" / "report.html"
    assert f": {report}" in out, out
    page = report.read_text()
    alerts = re.search(r"Distinct alert ids \(bucket alerts\); (\d+) in all", page)
    assert alerts is not None and int(alerts.group(1)) > 0, "the report shows no alert"
    assert page.count("INTACT") >= 2  # both sites' audit chains verified
    # The worker judged the demo's sites by the registry it wrote; the report shows each
    # incident's start by its site's clock (Frankfurt and Paris: CET or CEST) next to UTC.
    assert "site registry " + str(demo.directory / "run" / "sites.yaml") in out, out
    assert "<th>site-local time</th>" in page
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d CES?T \(\w{3}\)</td>", page), page


def in_a_new_shell(line: str) -> subprocess.CompletedProcess[str]:
    """`line` as a user would paste it into a new terminal: bash with only HOME, PATH, LANG."""
    fresh = {"HOME": os.environ["HOME"], "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(
        ["bash", "-c", line],
        env=fresh,
        cwd=os.environ["HOME"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_every_command_the_demo_prints_works_as_printed_in_a_new_shell(demo: Demo) -> None:
    assert demo.done.returncode == 0, demo.done.stdout + demo.done.stderr
    printed = [
        line[len(COMMAND_MARK) :]
        for line in demo.done.stdout.splitlines()
        if line.startswith(COMMAND_MARK)
    ]
    cd, *commands = printed
    assert cd.startswith("cd ") and in_a_new_shell(cd).returncode == 0, cd
    assert not any("curl" in command for command in commands), commands
    outputs: dict[str, str] = {}
    for command in commands:  # in the printed order: `stack down` comes last
        done = in_a_new_shell(f"{cd} && {command}")
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs[command] = done.stdout

    def output(of: str) -> str:
        (found,) = [out for command, out in outputs.items() if f"sovwatch {of}" in command]
        return found

    assert output("audit verify").startswith("INTACT:"), output("audit verify")
    limit = int(re.search(r"--limit (\d+)", " ".join(commands)).group(1))  # type: ignore[union-attr]
    assert len(output("alerts tail").splitlines()) == limit, output("alerts tail")
    tail = output("alerts tail").splitlines()
    assert all(re.search(r"Z \(local \S+ \d\d:\d\d CES?T", line) for line in tail), tail
    assert output("audit query").splitlines()[0].split()[:3] == ["time", "(UTC)", "site"]
    assert f"{len(MALFORMED)} dead letters" in output("dlq list")
    assert "worker" in output("stack status")
    assert "stopped" in output("stack down")
