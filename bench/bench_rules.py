"""Rule engine throughput in-process, and event -> alert latency through real Kafka.

    make bench-rules                                   # all three
    .venv/bin/python bench/bench_rules.py --events 200000 --skip-latency

1. throughput: every shipped pack over N mixed, validated events (GPU, power, physical, audit),
   one core, no I/O; events/s of `RuleEngine.process` (decoding excluded: see bench-schemas);
2. timer cost: CPU time of one `RuleEngine.tick` when nothing is due, with one hot GPU on each of
   `--groups` nodes in the state (an absence and a sustained group each);
3. latency: a worker on the native stack fed 5,000 events/s for `--seconds`; every 100th event is
   a door forced open; latency = time the alert reaches a consumer - time its event was produced.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from agents.rules.engine import RuleEngine
from agents.rules.loader import load_packs
from schemas.decode import decode
from schemas.gpu import GpuSample
from schemas.physical import PhysicalEvent
from streams.connect import kafka_admin
from streams.demo import MALFORMED, demo_records
from streams.settings import Settings, TopicSettings
from streams.stack.process import free_port
from streams.topics import ensure_topics

FAMILIES = ("gpu", "power", "physical", "audit")


def throughput(events: int, batch: int = 0) -> tuple[int, float, int]:
    """Events, events/s and alerts of `process` per event, or of `process_batch` in batches."""
    topics = TopicSettings()
    families = {getattr(topics, f): f for f in FAMILIES}
    minutes = max(1, round(events / (40 * 9.4 * 6)))
    sites = tuple((f"site-{i:03d}", ("DE", "FR", "SA", "IN")[i % 4]) for i in range(40))
    decoded = [
        decode(value, families[topic])
        for topic, _, value in demo_records(topics, minutes=minutes, sites=sites)
        if value not in MALFORMED
    ][:events]
    engine = RuleEngine(load_packs())
    alerts = 0
    started = time.process_time()
    if batch:
        for first in range(0, len(decoded), batch):
            chunk = decoded[first : first + batch]
            alerts += len(engine.process_batch([(e, 0) for e in chunk], now=chunk[-1].ts))
    else:
        for event in decoded:
            alerts += len(engine.process(event, now=event.ts))
    elapsed = time.process_time() - started
    return len(decoded), len(decoded) / elapsed, alerts


def tick_cost(groups: int, ticks: int = 50) -> tuple[int, float, float]:
    """Keys of rule state, CPU ms of the first tick (it indexes the state) and of a later one,
    with nothing due (the absence window is 5 min: 51 ticks of 5 s stay inside it)."""
    engine = RuleEngine(load_packs())
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)
    for i in range(groups):
        sample = GpuSample(
            event_id=f"tick-{i}",
            site_id=f"site-{i % 40:03d}",
            country="DE",
            ts=start,
            source="bench",
            node=f"node-{i}",
            gpu_index=0,
            gpu_uuid=f"GPU-{i}",
            gpu_temp_c=90.0,
        )
        engine.process(sample, now=start)
    started = time.process_time()
    engine.tick(start + timedelta(seconds=5)).commit()
    first = time.process_time() - started
    started = time.process_time()
    for n in range(ticks):
        engine.tick(start + timedelta(seconds=5 * (n + 2))).commit()
    return len(engine.state), first * 1000, (time.process_time() - started) / ticks * 1000


def latency(seconds: int, rate: int) -> list[float]:
    run = uuid.uuid4().hex[:8]
    env = {
        "SOVWATCH_WORKER__APP_ID": f"bench-rules-{run}",
        "SOVWATCH_WORKER__WEB_PORT": str(free_port()),
        "SOVWATCH_PRIVACY__PSEUDONYM_KEY": f"bench-key-{run}-0123456789",
        **{f"SOVWATCH_TOPICS__{f.upper()}": f"bench.{run}.{f}" for f in FAMILIES},
        "SOVWATCH_TOPICS__DLQ": f"bench.{run}.dlq",
        "SOVWATCH_TOPICS__ALERTS_SECURITY": f"bench.{run}.alerts.security",
        "SOVWATCH_TOPICS__ALERTS_OPS": f"bench.{run}.alerts.ops",
        "SOVWATCH_TOPICS__ALERTS_COMPLIANCE": f"bench.{run}.alerts.compliance",
    }
    os.environ.update(env)
    settings = Settings()
    admin = kafka_admin(settings.kafka)
    ensure_topics(admin, settings.topics)
    admin.close()
    sovwatch = Path(sys.executable).with_name("sovwatch")
    log = Path(tempfile.mkdtemp()) / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(sovwatch), "worker", "--loglevel", "warning"], stdout=out, stderr=subprocess.STDOUT
        )
    produced_at: dict[str, float] = {}
    latencies: list[float] = []
    consumer = KafkaConsumer(
        settings.topics.alerts_security,
        auto_offset_reset="earliest",
        consumer_timeout_ms=500,
        **settings.kafka.client_config(),
    )

    def collect(stop: threading.Event) -> None:
        while not stop.is_set():
            for record in consumer:
                received = time.time()
                for event_id in json.loads(record.value)["evidence_event_ids"]:
                    if event_id in produced_at:
                        latencies.append(received - produced_at.pop(event_id))

    try:
        time.sleep(12)  # worker start-up
        stop = threading.Event()
        reader = threading.Thread(target=collect, args=(stop,), daemon=True)
        reader.start()
        producer = KafkaProducer(linger_ms=2, **settings.kafka.client_config())
        filler = [
            (topic, key, value)
            for topic, key, value in demo_records(settings.topics, minutes=5)
            if value not in MALFORMED and topic == settings.topics.gpu
        ]
        started, sent = time.monotonic(), 0
        while time.monotonic() - started < seconds:
            due = int((time.monotonic() - started) * rate)
            while sent < due:
                if sent % 100 == 0:
                    event_id = f"forced-{run}-{sent}"
                    event = PhysicalEvent(
                        event_id=event_id,
                        site_id=f"site-{sent % 7}",
                        country="DE",
                        ts=datetime.now(UTC),
                        source="bench",
                        kind="door_forced_open",
                        zone_type="door",
                        zone_id=f"door-{sent}",
                    )
                    produced_at[event_id] = time.time()
                    producer.send(
                        settings.topics.physical,
                        key=event.site_id.encode(),
                        value=event.model_dump_json(exclude_none=True).encode(),
                    )
                else:
                    topic, key, value = filler[sent % len(filler)]
                    producer.send(topic, key=key, value=value)
                sent += 1
            time.sleep(0.001)
        producer.flush()
        sent_all = time.time()
        while produced_at and time.time() - sent_all < 60:  # let a backlog drain
            time.sleep(1)
        stop.set()
        reader.join(timeout=5)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        consumer.close()
    if produced_at:
        print(f"{len(produced_at)} alerts never arrived (worker log: {log})", flush=True)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    count, rate, alerts = throughput(args.events)
    rules = sum(len(p.rules) for p in load_packs())
    print("| measurement | value |\n| --- | ---: |")
    print(
        f"| rule engine, {rules} rules, {count:,} mixed events, 1 core (events/s) | {rate:,.0f} |"
    )
    print(f"| alerts (incl. updates) raised on that input | {alerts:,} |")
    _, batched, _ = throughput(args.events, batch=1000)
    print(f"| the same through process_batch, 1,000 events a batch (events/s) | {batched:,.0f} |")
    keys, first_ms, tick_ms = tick_cost(args.groups)
    print(
        f"| first timer tick (indexes the state), {keys:,} state keys (CPU ms) | {first_ms:,.1f} |"
    )
    print(
        f"| later timer tick + commit, nothing due, {keys:,} state keys (CPU ms) | {tick_ms:,.3f} |"
    )
    if not args.skip_latency:
        samples = latency(args.seconds, args.rate)
        if len(samples) < 2:
            raise SystemExit("too few alerts to measure latency: see the worker log")
        q = statistics.quantiles(samples, n=100)
        print(
            f"| event -> alert latency at {args.rate:,} events/s, p50 (ms) | {q[49] * 1000:,.0f} |"
        )
        print(
            f"| event -> alert latency at {args.rate:,} events/s, p99 (ms) | {q[98] * 1000:,.0f} |"
        )
        print(f"| alerts measured | {len(samples):,} |")


if __name__ == "__main__":
    main()
