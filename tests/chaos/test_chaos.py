"""The seeded chaos run (`make test-chaos`, `make chaos-soak SEEDS=N`): three real workers of
one consumer group, simulator traffic of all four families with time-driven incidents and
malformed records, produced while a seeded schedule of faults runs (kill -9, SIGSTOP past the
session timeout, graceful stop, a worker joining, a broker restart, InfluxDB down 60 s). At the
end, from the servers alone: every event stored once or dead-lettered, every audit chain intact
and complete, every incident alerted, every time-driven incident under one id with each of its
state changes. A failure prints the seed and the fault timeline; see `tests/chaos/seeds.py` for
replays and regression seeds."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.chaos.report import SeedReport
from tests.chaos.run import run_seed
from tests.chaos.seeds import REGRESSION_SEEDS, session_seeds
from tests.faults.harness import FaultStack

CASES = [pytest.param(seed, id=f"seed-{seed}") for seed in session_seeds(os.environ)] + [
    pytest.param(seed, id=f"regression-{seed}") for seed, _why in REGRESSION_SEEDS
]


@pytest.mark.parametrize("seed", CASES)
def test_a_seeded_chaos_run_loses_forks_and_doubles_nothing(
    seed: int, chaos_stack: FaultStack, chaos_dir: Path, seed_reports: list[SeedReport]
) -> None:
    run_dir = chaos_dir / f"seed-{seed}"
    run_dir.mkdir(exist_ok=True)
    report = run_seed(chaos_stack, seed, uuid.uuid4().hex[:10], run_dir)
    report.write(run_dir / "report.json")
    seed_reports.append(report)
    assert report.passed, report.text()
