"""The fault suite's own native stack (Kafka + InfluxDB on free ports, a fresh run directory):
its tests stop, restart and slow these servers, which the shared stack of the other suites
must never see. The scenarios' counts are printed as one table at the end of the run."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.stack import Stack
from streams.stack.process import free_port, free_port_pair
from tests.faults.harness import FaultStack, Scenario
from tests.integration.pipeline import settings_from

REPORT: list[Scenario] = []


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    run_dir = tmp_path_factory.mktemp("stack")
    env = {
        "SOVWATCH_STACK__RUN_DIR": str(run_dir),
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port_pair()}",
        "SOVWATCH_INFLUXDB__URL": f"http://127.0.0.1:{free_port()}",
    }
    settings = settings_from(env)
    stack = Stack(settings)
    try:
        for node in (stack.kafka, stack.influx):
            node.install()
            node.start()
        stack.kafka.wait_ready(settings.stack.start_timeout_s)
        stack.influx.wait_ready(settings.stack.start_timeout_s)
        stack.influx.initialise()
        yield FaultStack(stack, settings, env)
    finally:
        stack.down()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def report() -> Iterator[list[Scenario]]:
    """Scenarios appended here are printed at the end (and written to $SOVWATCH_FAULTS_REPORT)."""
    rows: list[Scenario] = []
    yield rows
    REPORT.extend(rows)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    terminalreporter.section("fault scenarios")
    terminalreporter.write_line(Scenario.header())
    for row in REPORT:
        terminalreporter.write_line(row.line())
    target = os.environ.get("SOVWATCH_FAULTS_REPORT")
    if target:
        Path(target).write_text(json.dumps([row.as_dict() for row in REPORT], indent=2) + "\n")
