"""kill -9 the worker at 10 random points while 100k events flow: after restarts every valid
event is stored exactly once, alert ids are unique and as computed, audit chains have no gap."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from tests.faults.harness import (
    FaultStack,
    LagProbe,
    Producer,
    Sampler,
    Scenario,
    check,
    read_outcome,
    traffic,
    wait_for_alerts,
    wait_until_stored,
)
from tests.integration.pipeline import Worker

KILLS = 10
EVENTS = 100_000


def test_kill_9_at_ten_random_points_loses_and_duplicates_nothing(
    fault_stack: FaultStack, unique: str, tmp_path: Path, report: list[Scenario]
) -> None:
    pipeline = fault_stack.pipeline(unique, tmp_path)
    records, truth = traffic(pipeline, sites=20, minutes=48)
    assert truth.produced >= EVENTS and truth.alerts and truth.audit
    scenario = Scenario("kill -9 worker x10", produced=truth.produced)
    rng = random.Random(unique)
    probe = LagProbe(pipeline)
    with Sampler(probe) as lag:
        producer = Producer(pipeline, records).start()
        for kill in range(KILLS):
            worker = Worker(pipeline, f"w{kill}", pipeline.env)
            worker.start()
            time.sleep(rng.uniform(1.0, 6.0))  # a random point of the flow
            worker.stop(signal.SIGKILL)
        producer.join()
        with pipeline.worker("final") as final:
            scenario.recovery_s = wait_until_stored(pipeline, truth, 600, [final])
            wait_for_alerts(pipeline, truth)
            outcome = read_outcome(pipeline, truth)
    probe.close()
    scenario.max_lag = lag.peak()
    scenario.notes = f"recovery = final worker start -> all stored; {KILLS} SIGKILLs"
    report.append(scenario)
    check(outcome, truth, scenario)
