"""Ordered acks and standby-safe timers, under faults.

- kill -9 while dead letters sit between records of unwritten batches (InfluxDB slowed by the
  proxy, so every batch stays unwritten for seconds): a dead letter acked ahead of them would let
  Kafka commit past them, and a crash would skip them for good.
- two workers (each holds a standby copy of the other's rule state): every time-driven alert is
  emitted exactly once, and every topic's offsets end up committed (low-volume ones included).
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from pathlib import Path

from agents.rules.loader import load_packs
from tests.faults.harness import (
    FaultStack,
    LagProbe,
    Producer,
    Record,
    Scenario,
    TruthBuilder,
    bulk_traffic,
    check,
    incident_traffic,
    read_outcome,
    wait_for_alerts,
    wait_until_stored,
)
from tests.faults.proxy import SlowProxy
from tests.integration.agents.test_compliance import event_driven_rule_ids
from tests.integration.pipeline import Worker, wait_for

KILLS = 5
GARBAGE_EVERY = 25  # one malformed record in every 25, on the topic and key of its neighbour


def with_garbage(records: list[Record]) -> list[Record]:
    mixed: list[Record] = []
    for index, (topic, key, value) in enumerate(records):
        mixed.append((topic, key, value))
        if index % GARBAGE_EVERY == 0:
            mixed.append((topic, key, b'{"not": "an event", "n": %d' % index))
    return mixed


def test_kill_9_with_dead_letters_inside_unwritten_batches_loses_nothing(
    fault_stack: FaultStack, unique: str, tmp_path: Path, report: list[Scenario]
) -> None:
    influx = fault_stack.stack.influx
    with SlowProxy("127.0.0.1", influx.port) as proxy:
        pipeline = fault_stack.pipeline(
            unique, tmp_path, SOVWATCH_INFLUXDB__URL=f"http://127.0.0.1:{proxy.port}"
        )
        builder = TruthBuilder(pipeline)
        records = [builder.add(r) for r in with_garbage(list(bulk_traffic(pipeline, 8, 10)))]
        truth = builder.truth
        assert truth.malformed > 100
        rng = random.Random(unique)
        proxy.delay_s = 1.5  # every write waits: batches, dead letters among them, stay open
        producer = Producer(pipeline, records, rate=2_000).start()
        for kill in range(KILLS):
            worker = pipeline.worker(f"k{kill}")
            worker.start()
            time.sleep(rng.uniform(2.0, 6.0))
            worker.stop(signal.SIGKILL)
        producer.join()
        proxy.delay_s = 0.0
        with pipeline.worker("final") as final:
            waited = wait_until_stored(pipeline, truth, 600, [final])
            wait_for_alerts(pipeline, truth)
            outcome = read_outcome(pipeline, truth)
    scenario = Scenario("kill -9, DLQ in open batches", produced=truth.produced)
    scenario.recovery_s = waited
    scenario.notes = f"{KILLS} SIGKILLs, 1.5 s per write chunk, 1 malformed in {GARBAGE_EVERY}"
    report.append(scenario)
    check(outcome, truth, scenario)


def checkpoints(worker: Worker) -> float:
    """Checkpoints the worker committed: each ticks the time-driven rules once owned."""
    return worker.metric("sovwatch_checkpoints_total", 'outcome="committed"')


def alert_emissions(values: list[bytes]) -> Counter[tuple[str, str, str, int, str]]:
    """(rule id, alert id, status, evidence count, window end) -> records on the alert topics:
    each state change of an incident (firing, each update, resolved) is one key, so a key seen
    twice is a state change emitted twice."""
    counts: Counter[tuple[str, str, str, int, str]] = Counter()
    for raw in values:
        alert = json.loads(raw)
        state = (alert.get("status", "firing"), len(alert["evidence_event_ids"]))
        counts[(alert["rule_id"], alert["id"], *state, alert["window_end"])] += 1
    return counts


def test_two_workers_emit_every_time_driven_alert_exactly_once(
    fault_stack: FaultStack, unique: str, tmp_path: Path, report: list[Scenario]
) -> None:
    pipeline = fault_stack.pipeline(unique, tmp_path, SOVWATCH_ALERTS__TICK_INTERVAL_S="1")
    builder = TruthBuilder(pipeline)
    records = [builder.add(r) for r in incident_traffic(pipeline)]
    truth = builder.truth
    timed_rules = {r.id for p in load_packs() for r in p.rules} - event_driven_rule_ids()
    with pipeline.worker("a") as a, pipeline.worker("b") as b:
        settled = wait_for(lambda: all(checkpoints(w) > 0 for w in (a, b)), 120)
        assert settled, "the two workers never both committed a checkpoint (no assignment?)"
        # Paced: a tick (1 s) every ~3 minutes of event time, so deadlines are judged in time.
        Producer(pipeline, records, rate=len(records) / 25).start().join()
        waited = wait_until_stored(pipeline, truth, 300, [a, b])
        before = {w.log.name: checkpoints(w) for w in (a, b)}
        ticked = wait_for(lambda: all(checkpoints(w) >= before[w.log.name] + 3 for w in (a, b)), 60)
        assert ticked, "the workers committed no more checkpoints (ticks) over the final state"
        probe = LagProbe(pipeline)
        lag = probe()
        deadline = time.monotonic() + 30
        while lag and time.monotonic() < deadline:  # commits follow the acks within seconds
            time.sleep(2)
            lag = probe()
        probe.close()
        outcome = read_outcome(pipeline, truth)
        on_kafka = pipeline.records(pipeline.alert_topics(), expected=10**9, timeout_s=10)
    emitted = alert_emissions(on_kafka)
    timed = {key: n for key, n in emitted.items() if key[0] in timed_rules}
    incidents = {key[:2] for key in timed}
    scenario = Scenario("2 workers, timed alerts", produced=truth.produced, max_lag=int(lag))
    scenario.recovery_s = waited
    scenario.notes = (
        f"{len(incidents)} time-driven incidents, {len(timed)} state changes, "
        f"emitted {sum(timed.values())} times"
    )
    report.append(scenario)
    check(outcome, truth, scenario)
    assert len(incidents) >= 3, f"only {len(incidents)} time-driven alerts: the test proves little"
    fired = {key[:2] for key in timed if key[2] == "firing"}
    assert fired == incidents, "a time-driven incident has records but never fired"
    repeated = {key: n for key, n in timed.items() if n > 1}
    assert not repeated, f"time-driven state changes emitted more than once: {repeated}"
    assert lag == 0, f"{lag:g} records not committed after the drain"
