"""InfluxDB down for two minutes at 5k events/s, and InfluxDB slow (a latency proxy of our own):
nothing is lost, the worker's memory stays bounded, consumption resumes by itself."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.faults.harness import (
    FaultStack,
    LagProbe,
    Producer,
    Sampler,
    Scenario,
    TruthBuilder,
    bulk_traffic,
    check,
    read_outcome,
    rss_of,
    wait_until_stored,
)
from tests.faults.proxy import SlowProxy

RATE = 5_000  # events/s offered while InfluxDB is down
OUTAGE_S = float(os.environ.get("SOVWATCH_FAULTS_OUTAGE_S", "120"))
SITES = 40
RSS_LIMIT_MIB = 400  # two write batches plus Faust's buffers; the backlog stays in Kafka


def test_influxdb_down_two_minutes_at_5k_events_per_second_loses_nothing(
    fault_stack: FaultStack, unique: str, tmp_path: Path, report: list[Scenario]
) -> None:
    pipeline = fault_stack.pipeline(unique, tmp_path, SOVWATCH_WORKER__RETRY_MAX_S="5")
    builder = TruthBuilder(pipeline, alerts=False)
    # Records for the outage and 10 s either side at RATE: a bulk site-minute is ~118 records.
    minutes = int((OUTAGE_S + 20) * RATE / (SITES * 118)) + 1
    traffic = (builder.add(r) for r in bulk_traffic(pipeline, sites=SITES, minutes=minutes))
    influx = fault_stack.stack.influx
    with pipeline.worker() as worker:
        probe = LagProbe(pipeline)
        with Sampler(probe) as lag, Sampler(rss_of(lambda: [worker])) as rss:
            producer = Producer(pipeline, traffic, rate=RATE).start()
            time.sleep(10)
            influx.stop()
            time.sleep(OUTAGE_S)
            influx.start()
            influx.wait_ready(60)
            back = time.monotonic()
            producer.join()
            truth = builder.truth
            waited = wait_until_stored(pipeline, truth, 900, [worker])
            done = time.monotonic()
            outcome = read_outcome(pipeline, truth)
            failures = worker.metric("sovwatch_influx_write_failures_total")
        probe.close()
    scenario = Scenario(f"InfluxDB down {OUTAGE_S:g}s @5k/s", produced=truth.produced)
    scenario.max_lag = lag.peak()
    scenario.recovery_s = None if waited is None else done - back
    scenario.notes = f"max RSS {rss.peak()} MiB; {failures:g} failed writes retried"
    report.append(scenario)
    check(outcome, truth, scenario, alerts=False)
    assert failures > 0  # the outage really hit the worker
    assert rss.maximum is not None and rss.maximum < RSS_LIMIT_MIB


def test_a_slow_influxdb_slows_the_pipeline_down_and_loses_nothing(
    fault_stack: FaultStack, unique: str, tmp_path: Path, report: list[Scenario]
) -> None:
    influx = fault_stack.stack.influx
    with SlowProxy("127.0.0.1", influx.port) as proxy:
        pipeline = fault_stack.pipeline(
            unique,
            tmp_path,
            SOVWATCH_INFLUXDB__URL=f"http://127.0.0.1:{proxy.port}",
            SOVWATCH_INFLUXDB__TIMEOUT_S="5",
            SOVWATCH_WORKER__RETRY_MAX_S="2",
        )
        builder = TruthBuilder(pipeline)
        records = [builder.add(r) for r in bulk_traffic(pipeline, sites=8, minutes=15)]
        truth = builder.truth
        with pipeline.worker() as worker:
            probe = LagProbe(pipeline)
            with Sampler(probe) as lag:
                proxy.delay_s = 0.3  # a slow network: every write waits
                # Paced, so traffic flows through every phase (~40 s of records).
                producer = Producer(pipeline, records, rate=len(records) / 40).start()
                time.sleep(10)
                proxy.delay_s = 8.0  # slower than the write timeout: writes fail and retry
                time.sleep(20)
                proxy.delay_s = 0.0
                healed = time.monotonic()
                producer.join()
                waited = wait_until_stored(pipeline, truth, timeout_s=600)
                done = time.monotonic()
                outcome = read_outcome(pipeline, truth)
                failures = worker.metric("sovwatch_influx_write_failures_total")
            probe.close()
    scenario = Scenario("InfluxDB slow (proxy)", produced=truth.produced, max_lag=lag.peak())
    scenario.recovery_s = None if waited is None else done - healed
    scenario.notes = f"0.3 s then 8 s per chunk (timeout 5 s); {failures:g} failed writes retried"
    report.append(scenario)
    check(outcome, truth, scenario)
    assert failures > 0
