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

from tests.faults.harness import FaultStack, Scenario, private_stack

REPORT: list[Scenario] = []


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with private_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


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
