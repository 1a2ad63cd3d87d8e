"""Event -> alert latency through real Kafka and one `sovwatch worker`.

The worker is fed `rate` events/s for `seconds`: GPU samples from the demo generator, with every
100th event a door forced open (a stateless rule: `sec.door_forced_open`, one alert per door).
Latency = time the alert reaches a consumer of the security alerts topic - time its event was
handed to the producer. Before the paced phase, single forced-door events are sent until the
first alert comes back, so worker start-up is not counted (and no fixed sleep is guessed).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchenv import cleanup, make_buckets, run_env, settings_for, start_worker
from drain import RunFailedError, stop
from kafka import KafkaConsumer

from schemas.physical import PhysicalEvent
from schemas.settings import Settings
from streams.admin.connect import kafka_admin
from streams.admin.produce import kafka_producer
from streams.admin.topics import ensure_topics
from streams.simulator.recent import recent_records, small_fleet

EVERY = 100  # one forced door per this many events
WARM_UP_S = 240.0
STRAGGLERS_S = 60.0


@dataclass(frozen=True)
class Latency:
    samples_s: list[float]
    expected: int  # forced doors sent in the paced phase
    rate: int
    seconds: int

    @property
    def missing(self) -> int:
        return self.expected - len(self.samples_s)

    def quantile_ms(self, q: int) -> float:
        """The q-th percentile in ms, counting a missing alert as infinitely late."""
        ordered = sorted(self.samples_s) + [float("inf")] * self.missing
        if len(ordered) < 2:
            return float("inf")
        return 1000 * statistics.quantiles(ordered, n=100, method="inclusive")[q - 1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seconds": self.seconds,
            "expected_alerts": self.expected,
            "missing_alerts": self.missing,
            "p50_ms": self.quantile_ms(50),
            "p99_ms": self.quantile_ms(99),
            "max_ms": 1000 * max(self.samples_s, default=float("inf")),
        }


def forced_door(event_id: str, n: int) -> PhysicalEvent:
    return PhysicalEvent(
        event_id=event_id,
        site_id=f"site-{n % 7}",
        country="DE",
        ts=datetime.now(UTC),
        source="bench",
        kind="door_forced_open",
        zone_type="door",
        zone_id=f"door-{event_id}",
    )


class _Collector(threading.Thread):
    """Reads alerts; records arrival - production time of each awaited evidence event."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        super().__init__(daemon=True)
        self.consumer = consumer
        self.produced_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def expect(self, event_id: str) -> None:
        with self.lock:
            self.produced_at[event_id] = time.time()

    def pending(self) -> int:
        with self.lock:
            return len(self.produced_at)

    def run(self) -> None:
        while not self.stopping.is_set():
            for record in self.consumer:
                received = time.time()
                with self.lock:
                    for event_id in json.loads(record.value).get("evidence_event_ids", ()):
                        if (sent := self.produced_at.pop(event_id, None)) is not None:
                            self.latencies.append(received - sent)


def measure_latency(seconds: int, rate: int, log: Path) -> Latency:
    """One worker on topics and buckets of its own (removed after); `RunFailedError` if the
    worker fails or never alerts."""
    run = uuid.uuid4().hex[:8]
    env = run_env(run)
    settings = settings_for(env)
    admin = kafka_admin(settings.kafka)
    ensure_topics(admin, settings.topics)
    make_buckets(settings)
    try:
        return _measure(env, settings, run, seconds, rate, log)
    finally:
        cleanup(admin, settings, run)
        admin.close()


def _measure(
    env: Mapping[str, str], settings: Settings, run: str, seconds: int, rate: int, log: Path
) -> Latency:
    worker = start_worker(env, f"bench-{run}-latency", log)
    consumer = KafkaConsumer(
        settings.topics.alerts_security,
        auto_offset_reset="earliest",
        consumer_timeout_ms=200,
        **settings.kafka.client_config(),
    )
    collector = _Collector(consumer)
    collector.start()
    producer = kafka_producer(settings.kafka, linger_ms=2)  # each door event goes at once

    def send_door(event_id: str, n: int) -> None:
        event = forced_door(event_id, n)
        collector.expect(event_id)
        producer.send(
            settings.topics.physical,
            key=event.site_id.encode(),
            value=event.model_dump_json(exclude_none=True).encode(),
        )

    try:
        _warm_up(worker, collector, send_door, run, log)
        collector.latencies.clear()
        filler = [
            (topic, key, value)
            for topic, key, value in recent_records(settings.topics, small_fleet(), minutes=5)
            if topic == settings.topics.gpu
        ]
        started, sent, doors = time.monotonic(), 0, 0
        while time.monotonic() - started < seconds:
            due = int((time.monotonic() - started) * rate)
            while sent < due:
                if sent % EVERY == 0:
                    send_door(f"forced-{run}-{sent}", sent)
                    doors += 1
                else:
                    topic, key, value = filler[sent % len(filler)]
                    producer.send(topic, key=key, value=value)
                sent += 1
            time.sleep(0.001)
        producer.flush()
        waited = time.monotonic()
        while collector.pending() and time.monotonic() - waited < STRAGGLERS_S:
            if worker.poll() is not None:
                break
            time.sleep(0.5)
        collector.stopping.set()
        collector.join(timeout=5)
        with collector.lock:
            return Latency(list(collector.latencies), doors, rate, seconds)
    finally:
        collector.stopping.set()
        producer.close()
        stop([worker])
        consumer.close()


def _warm_up(worker: Any, collector: _Collector, send_door: Any, run: str, log: Path) -> None:
    deadline = time.monotonic() + WARM_UP_S
    n = 0
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RunFailedError(f"latency worker exited with code {worker.returncode}: {tail}")
        with collector.lock:
            if collector.latencies:
                collector.produced_at.clear()
                return
        send_door(f"warm-{run}-{n}", n)
        n += 1
        time.sleep(1.0)
    raise RunFailedError(f"no alert came back within {WARM_UP_S:.0f}s of start (log {log})")


def latency_log() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-latency-")) / "worker.log"
