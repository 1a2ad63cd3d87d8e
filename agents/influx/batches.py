"""Batching points into acknowledged InfluxDB writes.

Each buffered entry remembers the Kafka event it came from. A batch is flushed when it holds
`batch_max_points` points or its oldest point is `batch_max_age_s` old; once every write of a
batch was acknowledged its events are handed to `written` (a counter), in order. The worker's
checkpoint calls `flush`: it returns once everything handed over is written and every other
acknowledgement the batches wait for (dead letters, alerts) arrived, and only then are offsets
committed.

Each InfluxDB target (a jurisdiction's server and org) has a write lane of its own: a batch's
lines for that target are written after the target's previous lines, independently of the other
targets. So one country's InfluxDB outage does not hold back the other countries' storage, for up
to `max_held_batches` batches handed over and not yet written; then `add` waits (backpressure:
the agent stops pulling from Kafka, memory stays bounded). Nothing is dropped. A write abandoned
at shutdown (`WriteAbandonedError`) makes `flush` raise: the checkpoint commits nothing and the
next owner replays.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from agents import metrics
from agents.influx.writer import WriteAbandonedError, WriteRejectedError
from schemas.settings import InfluxTarget, WorkerSettings

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

    def lane(self) -> tuple[str, str]:
        """The write lane: one per server and org."""
        return (self.target.url, self.target.org)


_Job = tuple[Destination, list[str], list[E | None]]
"""One write of a batch: a destination, its lines, the event of each line."""


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

    @property
    def empty(self) -> bool:
        return not (self.events or self.points or self.waits)

    def by_lane(self) -> dict[tuple[str, str], list[_Job[E]]]:
        """The batch's writes grouped by write lane (server and org), one per bucket."""
        lanes: dict[tuple[str, str], list[_Job[E]]] = defaultdict(list)
        for key, lines in self.lines.items():
            destination = self.destinations[key]
            lanes[destination.lane()].append((destination, lines, self.line_events[key]))
        return lanes

    def put(self, points: Sequence[tuple[Destination, str]], event: E | None) -> None:
        """Buffer lines, each remembering its event (None: a line of no one event)."""
        for destination, line in points:
            key = destination.key()
            self.destinations[key] = destination
            self.lines[key].append(line)
            self.line_events[key].append(event)
        self.points += len(points)


class PointSink(Generic[E]):
    """Buffer -> acknowledged write. `E` is the Kafka event type (opaque here)."""

    def __init__(
        self,
        writer: LineWriter,
        worker: WorkerSettings,
        written: Callable[[E], Awaitable[None]],
        reject: Callable[[E | None, str], Awaitable[None]],
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._writer = writer
        self._max_points = worker.batch_max_points
        self._max_age = worker.batch_max_age_s
        self._written = written
        self._reject = reject
        self._max_held = worker.max_held_batches
        self._batch: _Batch[E] = _Batch()
        self._lock = asyncio.Lock()
        # Per handed-over batch, in order: done once its events are written (or given up).
        self._held: deque[asyncio.Future[None]] = deque()
        # Per write lane, its last write (the next one of the lane starts after it).
        self._lanes: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._stopping = stopping
        self.abandoned = False  # a write was given up at shutdown: nothing is committed any more

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
            "writing": any(not held.done() for held in self._held),
            "held_batches": len(self._held),
            "abandoned": self.abandoned,
        }

    async def add(
        self,
        event: E,
        points: Sequence[tuple[Destination, str]],
        waits: Sequence[Awaitable[Any]] = (),
    ) -> None:
        """Buffer the points of one event (an event may have none),
        and anything else the checkpoint must await besides (`waits`)."""
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
        if not self._batch.empty and (
            self._stopping() or time.monotonic() - self._batch.opened >= self._max_age
        ):
            await self._start_flush()

    async def flush(self) -> None:
        """Write everything buffered; returns when it is written (raises
        `WriteAbandonedError` if a write was given up: those points are not stored)."""
        await self._start_flush()
        async with self._lock:
            while self._held:
                await self._release_oldest()
        if self.abandoned:
            raise WriteAbandonedError("a write was abandoned at shutdown: nothing is committed")

    async def seal(self) -> Awaitable[None]:
        """Hand over everything buffered (a checkpoint: even beyond `max_held_batches`, so the
        checkpoint never waits for room); returns an awaitable that is done once everything
        handed over until now is written, and raises as `flush` does."""
        await self._start_flush(wait_for_room=False)
        return self._all_written(list(self._held))

    async def _all_written(self, held: list[asyncio.Future[None]]) -> None:
        for batch in held:
            await asyncio.shield(batch)
        if self.abandoned:
            raise WriteAbandonedError("a write was abandoned at shutdown: nothing is committed")

    async def _start_flush(self, wait_for_room: bool = True) -> None:
        """Hand the current batch to its lanes' background writes, once fewer than
        `max_held_batches` batches are held (unless not `wait_for_room`)."""
        async with self._lock:
            while self._held and (
                self._held[0].done() or (wait_for_room and len(self._held) >= self._max_held)
            ):
                await self._release_oldest()
            batch, self._batch = self._batch, _Batch()
            if not batch.empty:
                writes = [self._lane_write(lane, jobs) for lane, jobs in batch.by_lane().items()]
                previous = self._held[-1] if self._held else None
                self._held.append(asyncio.ensure_future(self._finish(batch, writes, previous)))

    async def _release_oldest(self) -> None:
        """Wait for the oldest held batch to be written; its failure is this call's."""
        oldest = self._held[0]
        try:
            await asyncio.shield(oldest)
        finally:
            if oldest.done():
                self._held.popleft()

    def _lane_write(self, lane: tuple[str, str], jobs: list[_Job[E]]) -> asyncio.Future[None]:
        previous = self._lanes.get(lane)
        write = asyncio.ensure_future(self._write_in_lane(previous, jobs))
        self._lanes[lane] = write
        return write

    async def _write_in_lane(
        self, previous: asyncio.Future[None] | None, jobs: list[_Job[E]]
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # its outcome is its own batch's business
        if self.abandoned:
            return
        try:
            for destination, lines, events in jobs:
                await self._write(destination, lines, events)
        except WriteAbandonedError:
            self.abandoned = True  # no later write of any lane is started
            raise

    async def _finish(
        self,
        batch: _Batch[E],
        writes: list[asyncio.Future[None]],
        previous: asyncio.Future[None] | None,
    ) -> None:
        """Hand the events to `written` once all its lanes wrote and the batch before did."""
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, WriteAbandonedError):
                raise outcome
        if any(isinstance(outcome, WriteAbandonedError) for outcome in outcomes):
            self.abandoned = True
            log.warning("a write was abandoned: %d events left for replay", len(batch.events))
        if previous is not None:
            await previous
        if self.abandoned:
            return
        for wait in batch.waits:
            await wait
        for event in batch.events:
            await self._written(event)
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
