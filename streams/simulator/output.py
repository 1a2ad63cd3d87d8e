"""Where simulated events go: Kafka (kafka-python, tuned so the simulator is never the bottleneck)
or a JSON-lines file (`--dry-run`); paced to `--rate` events/s of wall time (0 = flat out), with a
progress bar, noting when each incident became detectable (wall time) for the score."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from kafka.errors import KafkaError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from schemas.decode import Event
from schemas.errors import SovwatchError
from schemas.settings import KafkaSettings, TopicSettings
from streams.admin.produce import kafka_producer
from streams.simulator.incidents import Incident


class Output(Protocol):
    def send(self, topic: str, key: bytes, value: bytes) -> None: ...
    def close(self) -> None: ...


class FileOutput:
    """JSON lines {"topic", "key", "value"}; value is the event's JSON object."""

    def __init__(self, path: Path) -> None:
        self._out: IO[str] = path.open("w")

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        self._out.write(
            f'{{"topic":{json.dumps(topic)},"key":{json.dumps(key.decode())},"value":{value.decode()}}}\n'
        )

    def close(self) -> None:
        self._out.close()


class KafkaOutput:
    """The bulk producer of `streams.admin.produce` (`compression`: gzip unless told otherwise);
    errors surface at close."""

    def __init__(self, kafka: KafkaSettings, compression: str | None = "gzip") -> None:
        self._producer = kafka_producer(kafka, bulk=True, compression_type=compression)
        self._failed: list[BaseException] = []

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        future = self._producer.send(topic, key=key, value=value)
        if not self._failed:
            future.add_errback(self._failed.append)

    def close(self) -> None:
        try:
            self._producer.flush(timeout=120)
        except KafkaError as exc:
            raise SovwatchError(f"producing to Kafka failed: {exc}") from exc
        finally:
            self._producer.close()
        if self._failed:
            raise SovwatchError(f"producing to Kafka failed: {self._failed[0]}")


class Pacer:
    """Sleeps so that `n` events take at least n / rate seconds (rate 0: never sleeps)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.started = time.perf_counter()

    def wait(self, sent: int) -> None:
        if self.rate > 0:
            ahead = sent / self.rate - (time.perf_counter() - self.started)
            if ahead > 0.005:
                time.sleep(ahead)


def record(topics: TopicSettings, event: Event) -> tuple[str, bytes, bytes]:
    topic: str = getattr(topics, event.family)
    return topic, event.site_id.encode(), event.model_dump_json(exclude_none=True).encode()


class Progressbar:
    def __init__(self, enabled: bool, start: datetime, end: datetime) -> None:
        self._span = (end - start).total_seconds()
        self._start = start
        self._progress = Progress(
            TextColumn("[bold]simulated"),
            BarColumn(),
            TextColumn("{task.fields[clock]}"),
            TextColumn("{task.fields[events]:>12,} events"),
            TextColumn("{task.fields[rate]:>9,.0f} ev/s"),
            TimeElapsedColumn(),
            disable=not enabled,
        )
        self._task = self._progress.add_task("sim", total=self._span, clock="", events=0, rate=0.0)
        self._t0 = time.perf_counter()

    def __enter__(self) -> Progressbar:
        self._progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.__exit__(kind, exc, tb)

    def update(self, ts: datetime, events: int) -> None:
        rate = events / max(time.perf_counter() - self._t0, 1e-9)
        self._progress.update(
            self._task,
            completed=(ts - self._start).total_seconds(),
            clock=ts.strftime("%Y-%m-%d %H:%M"),
            events=events,
            rate=rate,
        )


def emit(
    events: Iterable[Event],
    sink: Output,
    topics: TopicSettings,
    *,
    rate: float,
    incidents: list[Incident],
    progress: Progressbar,
) -> tuple[int, dict[str, datetime]]:
    """Sends every event; returns the count and, per incident, the wall time at which the first
    event at or after its `due` time was sent."""
    pending = sorted(incidents, key=lambda i: i.due)
    due_wall: dict[str, datetime] = {}
    pacer = Pacer(rate)
    chunk = max(1, min(2000, int(rate / 50))) if rate > 0 else 2000
    sent = 0
    ts = None
    try:
        for event in events:
            ts = event.ts
            while pending and pending[0].due <= ts:
                due_wall[pending.pop(0).id] = datetime.now(UTC)
            sink.send(*record(topics, event))
            sent += 1
            if sent % chunk == 0:
                pacer.wait(sent)
                if sent % 2000 < chunk:
                    progress.update(ts, sent)
        if ts is not None:
            progress.update(ts, sent)
    finally:
        sink.close()
    return sent, due_wall
