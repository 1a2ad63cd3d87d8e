"""The chaos run's private stack (Kafka + InfluxDB on free ports, a fresh run directory, as the
fault suite's) and its run directory: one folder per seed with the workers' logs and the seed's
report (`report.json`), under $SOVWATCH_CHAOS_DIR (default: pytest's temporary directory).
Each seed's one-line summary is printed as it ends, and all of them with a total at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.chaos.report import SeedReport
from tests.faults.harness import FaultStack, private_stack

REPORTS: list[SeedReport] = []


@pytest.fixture(scope="session")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with private_stack(tmp_path_factory.mktemp("chaos-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def chaos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = os.environ.get("SOVWATCH_CHAOS_DIR")
    root = Path(base) if base else tmp_path_factory.mktemp("chaos")
    run = root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run.mkdir(parents=True, exist_ok=True)
    return run


@pytest.fixture
def seed_reports(request: pytest.FixtureRequest) -> Iterator[list[SeedReport]]:
    """Reports appended here are printed at once (one line) and in the session's summary."""
    rows: list[SeedReport] = []
    yield rows
    writer = request.config.pluginmanager.get_plugin("terminalreporter")
    for row in rows:
        if writer is not None:
            writer.write_line("")
            writer.write_line(row.line())
    REPORTS.extend(rows)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORTS:
        return
    terminalreporter.section("chaos seeds")
    for row in REPORTS:
        terminalreporter.write_line(row.line())
    passed = sum(r.passed for r in REPORTS)
    seconds = sum(r.duration_s for r in REPORTS)
    terminalreporter.write_line(
        f"total: {len(REPORTS)} seeds, {passed} passed, {len(REPORTS) - passed} failed, "
        f"{seconds / 60:.1f} min"
    )
