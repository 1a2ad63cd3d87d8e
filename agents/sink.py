"""Batching points into acknowledged InfluxDB writes, and acking the Kafka events behind them.

Each buffered entry remembers the Kafka event it came from. A batch is flushed when it holds
`batch_max_points` points or its oldest point is `batch_max_age_s` old; only after every write of
the batch was acknowledged are its events acked (so Faust may commit their offsets).

One batch is written in the background while the next one fills (double buffering). When the
next one is full before the write finished — InfluxDB slow or down and retrying — `add` waits:
the agent stops pulling from Kafka and memory stays bounded at two batches. Nothing is dropped.

Batches are written and acked one after the other, so acks reach Kafka in offset order for every
partition. A write abandoned at shutdown (`WriteAbandonedError`) leaves its events and every later
one unacked: the next owner replays them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from agents.influx_writer import WriteAbandonedError, WriteRejectedError
from streams import metrics
from streams.settings import InfluxTarget, WorkerSettings

log = logging.getLogger(__name__)

E = TypeVar("E")


class LineWriter(Protocol):
    """What the sink needs of a writer (`InfluxWriter` in production)."""

    async def write(self, target: InfluxTarget, bucket: str, lines: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class Destination:
    """Where points go: a target (server/org) of the right jurisdiction, and a bucket."""

    target: InfluxTarget
    bucket: str

    def key(self) -> tuple[str, str, str]:
        return (self.target.url, self.target.org, self.bucket)


@dataclass
class _Batch(Generic[E]):
    lines: dict[tuple[str, str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    destinations: dict[tuple[str, str, str], Destination] = field(default_factory=dict)
    # Per destination, the event of each line (for per-line retries of a rejected batch).
    line_events: dict[tuple[str, str, str], list[E | None]] = field(
        default_factory=lambda: defaultdict(list)
    )
    events: list[E] = field(default_factory=list)
    # Other acknowledgements the events wait for (Kafka deliveries of their alerts).
    waits: list[Awaitable[Any]] = field(default_factory=list)
    points: int = 0
    opened: float = field(default_factory=time.monotonic)

    def put(self, points: Sequence[tuple[Destination, str]], event: E | None) -> None:
        """Buffer lines, each remembering its event (None: a line of no one event)."""
        for destination, line in points:
            key = destination.key()
            self.destinations[key] = destination
            self.lines[key].append(line)
            self.line_events[key].append(event)
        self.points += len(points)


class PointSink(Generic[E]):
    """Buffer -> acknowledged write -> ack. `E` is the Kafka event type (opaque here)."""

    def __init__(
        self,
        writer: LineWriter,
        worker: WorkerSettings,
        ack: Callable[[E], Awaitable[None]],
        reject: Callable[[E | None, str], Awaitable[None]],
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._writer = writer
        self._max_points = worker.batch_max_points
        self._max_age = worker.batch_max_age_s
        self._ack = ack
        self._reject = reject
        self._batch: _Batch[E] = _Batch()
        self._lock = asyncio.Lock()
        self._inflight: asyncio.Future[None] | None = None
        self._stopping = stopping
        self.abandoned = False  # a write was given up at shutdown: nothing is acked any more

    @property
    def pending_points(self) -> int:
        """Points buffered, not counting the batch being written."""
        return self._batch.points

    def progress(self) -> dict[str, Any]:
        """Where this sink's events are (for /health): buffered, and whether a write is on."""
        batch = self._batch
        return {
            "buffered_events": len(batch.events),
            "buffered_points": batch.points,
            "batch_age_s": round(time.monotonic() - batch.opened, 1) if batch.events else 0.0,
            "writing": self._inflight is not None and not self._inflight.done(),
            "abandoned": self.abandoned,
        }

    async def add(
        self,
        event: E,
        points: Sequence[tuple[Destination, str]],
        waits: Sequence[Awaitable[Any]] = (),
    ) -> None:
        """Buffer the points of one event (an event may have none: it is acked with the batch),
        and anything else that must be acknowledged before it is acked (`waits`)."""
        batch = self._batch
        batch.waits.extend(waits)
        if not batch.events:
            batch.opened = time.monotonic()
        batch.put(points, event)
        batch.events.append(event)
        metrics.PENDING_POINTS.set(batch.points)
        if batch.points >= self._max_points:
            await self._start_flush()

    async def add_lines(
        self, points: Sequence[tuple[Destination, str]], waits: Sequence[Awaitable[Any]] = ()
    ) -> None:
        """Points that belong to no one event (alerts of the batch), and what the batch's
        events must wait for besides (dead-letter and alert deliveries). A line InfluxDB
        rejects is handed to `reject` with no event."""
        batch = self._batch
        batch.waits.extend(waits)
        batch.put(points, None)
        if batch.points >= self._max_points:
            await self._start_flush()

    async def flush_if_due(self) -> None:
        """Flush a partial batch that has waited long enough (at once when stopping)."""
        if self._batch.events and (
            self._stopping() or time.monotonic() - self._batch.opened >= self._max_age
        ):
            await self._start_flush()

    async def flush(self) -> None:
        """Write everything buffered; returns when it is written and acked."""
        await self._start_flush()
        await self._wait_inflight()

    async def _start_flush(self) -> None:
        """Hand the current batch to a background write, once the previous write is done."""
        async with self._lock:
            await self._wait_inflight()
            batch, self._batch = self._batch, _Batch()
            if batch.events:
                self._inflight = asyncio.ensure_future(self._write_batch(batch))

    async def _wait_inflight(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            await inflight

    async def _write_batch(self, batch: _Batch[E]) -> None:
        if self.abandoned:
            return
        try:
            for key, lines in batch.lines.items():
                await self._write(batch.destinations[key], lines, batch.line_events[key])
        except WriteAbandonedError as exc:
            self.abandoned = True
            log.warning("%s: %d events left unacked for replay", exc, len(batch.events))
            return
        for wait in batch.waits:
            await wait
        for event in batch.events:
            await self._ack(event)
        metrics.PENDING_POINTS.set(self._batch.points)

    async def _write(
        self, destination: Destination, lines: list[str], events: list[E | None]
    ) -> None:
        try:
            await self._writer.write(destination.target, destination.bucket, lines)
        except WriteRejectedError as batch_error:
            # Find the culprits line by line; rewriting the good ones is harmless (idempotent).
            log.warning("%s; retrying its %d lines one by one", batch_error, len(lines))
            for line, event in zip(lines, events, strict=True):
                try:
                    await self._writer.write(destination.target, destination.bucket, [line])
                except WriteRejectedError as line_error:
                    await self._reject(event, line_error.message)
