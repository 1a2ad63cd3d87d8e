"""A Kafka broker restart under a running worker, and a rebalance storm (workers joining and
leaving every few seconds): the worker reconnects by itself and nothing is lost or doubled."""

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
from tests.integration.pipeline import Isolated, Worker, log_lines, wait_for

STORED = "sovwatch_events_stored_total"
RESUME_GOAL_S = 30  # the goal, reported; the test only requires that it resumes by itself


def test_a_broker_restart_is_survived_and_consumption_resumes(
    fault_stack: FaultStack, unique: str, tmp_path: Path, report: list[Scenario]
) -> None:
    pipeline = fault_stack.pipeline(unique, tmp_path)
    records, truth = traffic(pipeline, sites=8, minutes=10)
    half = len(records) // 2
    kafka = fault_stack.stack.kafka
    with pipeline.worker() as worker:
        Producer(pipeline, records[:half]).start().join()
        assert wait_for(lambda: worker.metric(STORED) > 0, 120)
        kafka.stop()
        kafka.start()
        kafka.wait_ready(120)
        back = time.monotonic()
        before = worker.metric(STORED)
        Producer(pipeline, records[half:]).start().join()
        resumed = wait_for(lambda: worker.metric(STORED) > before, 120, every_s=0.2)
        resumed_s = time.monotonic() - back
        assert resumed, "the worker did not resume consuming after the broker restart"
        assert worker.process is not None and worker.process.poll() is None
        probe = LagProbe(pipeline)
        with Sampler(probe) as lag:
            wait_until_stored(pipeline, truth, 300, [worker])
        probe.close()
        outcome = read_outcome(pipeline, truth)
    scenario = Scenario("Kafka broker restart", produced=truth.produced, max_lag=lag.peak())
    scenario.recovery_s = resumed_s
    scenario.notes = f"recovery = broker ready -> worker stores again (goal {RESUME_GOAL_S} s)"
    report.append(scenario)
    check(outcome, truth, scenario)


def test_a_rebalance_storm_duplicates_nothing_downstream(
    fault_stack: FaultStack, unique: str, tmp_path: Path, report: list[Scenario]
) -> None:
    pipeline = fault_stack.pipeline(unique, tmp_path)
    records, truth = traffic(pipeline, sites=16, minutes=20)
    rng = random.Random(unique)
    joined = 0
    with pipeline.worker("steady") as steady:
        extra: list[Worker] = []
        probe = LagProbe(pipeline)
        with Sampler(probe) as lag:
            producer = Producer(pipeline, records, rate=1_000).start()
            storm_ends = time.monotonic() + 60
            while time.monotonic() < storm_ends:
                if extra and (len(extra) == 2 or rng.random() < 0.5):
                    leaving = extra.pop(rng.randrange(len(extra)))
                    leaving.stop(rng.choice([signal.SIGTERM, signal.SIGKILL]))
                else:
                    joined += 1
                    newcomer = Worker(pipeline, f"storm{joined}", pipeline.env)
                    newcomer.start()
                    extra.append(newcomer)
                time.sleep(rng.uniform(2.0, 5.0))
            for worker in extra:
                worker.stop()
            calm = time.monotonic()
            producer.join()
            waited = wait_until_stored(pipeline, truth, timeout_s=300)
            done = time.monotonic()
            wait_for_alerts(pipeline, truth)
            outcome = read_outcome(pipeline, truth)
            # Not all stored: uncommitted partitions mean a stuck worker, none mean lost events.
            uncommitted = probe.by_partition() if waited is None else {}
            health = steady.page("/health").decode() if waited is None else ""
        probe.close()
        assert steady.process is not None and steady.process.poll() is None
    scenario = Scenario("rebalance storm", produced=truth.produced, max_lag=lag.peak())
    scenario.recovery_s = None if waited is None else done - calm
    scenario.notes = f"{joined} workers joined and left (SIGTERM or SIGKILL) in 60 s"
    report.append(scenario)
    assert waited is not None, (
        f"not all stored within 300 s: stored {outcome.distinct}, expected {truth.valid}; "
        f"uncommitted by partition {uncommitted}; the steady worker: {health}; "
        f"skips the workers saw: {skips_logged(pipeline)}"
    )
    check(outcome, truth, scenario)


def skips_logged(pipeline: Isolated) -> list[str]:
    """The workers' log lines about offsets they skipped or were never handed."""
    return [
        f"{log.name}: {line}"
        for log in sorted(pipeline.log_dir.glob("*.log"))
        for line in log_lines(log, "seeking back")
    ]
