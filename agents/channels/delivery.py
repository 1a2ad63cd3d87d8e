"""Delivery of incident records to external channels (Alertmanager, webhook, syslog), beside the
pipeline and never in its way.

Each channel has one bounded queue and one task that sends from it, retrying a failed record with
exponential backoff and jitter. `offer` never waits: when the queue is full the oldest `updated`
record is dropped first (a later record of the same incident carries its content); only when none
is queued does the oldest firing/resolved record go. A queued `updated` record is replaced by any
later record of its incident (the receiver only needs the latest state). Every drop is counted in
`sovwatch_alert_deliveries_dropped_total`; per channel also sent, failed (given up after the
retries) and queued. Each record may carry a `done` callback, called once the record is settled
(sent, given up, dropped or superseded): the channel agent commits an alert's offset only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agents import metrics
from schemas.alert import Alert

log = logging.getLogger(__name__)
LOG_DROPS_EVERY_S = 60.0


class DeliveryError(Exception):
    """A receiver refused or could not take a record (retried)."""


class Channel(Protocol):
    """Where incident records go. `send` raises (any Exception) when the record was not taken;
    `due` returns records to send again now (Alertmanager's re-posts of open incidents)."""

    name: str

    async def send(self, alert: Alert) -> None: ...

    def due(self, now: float) -> list[Alert]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.5
    max_s: float = 30.0
    attempts: int = 6

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry `attempt` (1 = the first retry): exponential, capped, with
        jitter of up to half the delay so a fleet of workers does not retry in step."""
        base = min(self.max_s, self.initial_s * 2.0 ** (attempt - 1))
        return float(base * (0.5 + 0.5 * rand()))


Done = Callable[[], None]


def _nothing() -> None:
    pass


class DeliveryQueue:
    """A bounded FIFO of records (each with its `done` callback) with the drop policy above."""

    def __init__(self, channel: str, max_records: int) -> None:
        self.channel = channel
        self.max_records = max_records
        self._records: deque[tuple[Alert, Done]] = deque()
        self._dropped = 0
        self._logged_at = float("-inf")

    def __len__(self) -> int:
        return len(self._records)

    def put(self, alert: Alert, done: Done = _nothing) -> None:
        superseded = next(
            (r for r in self._records if r[0].id == alert.id and r[0].status == "updated"), None
        )
        if superseded is not None:
            self._records.remove(superseded)
            superseded[1]()
        if len(self._records) >= self.max_records:
            victim = next((r for r in self._records if r[0].status == "updated"), self._records[0])
            self._records.remove(victim)
            victim[1]()
            dropped = victim[0]
            metrics.DELIVERIES_DROPPED.labels(channel=self.channel, status=dropped.status).inc()
            self._dropped += 1
            now = time.monotonic()
            if now - self._logged_at >= LOG_DROPS_EVERY_S:  # a flood logs once a minute
                log.warning(
                    "%s queue full (%d records): %d dropped since the last report, the latest "
                    "the %s record of %s",
                    self.channel,
                    self.max_records,
                    self._dropped,
                    dropped.status,
                    dropped.id,
                )
                self._logged_at, self._dropped = now, 0
        self._records.append((alert, done))
        self._gauge()

    def pop(self) -> tuple[Alert, Done] | None:
        record = self._records.popleft() if self._records else None
        self._gauge()
        return record

    def _gauge(self) -> None:
        metrics.DELIVERIES_QUEUED.labels(channel=self.channel).set(len(self._records))


class Delivery:
    """One channel's queue and the task that empties it."""

    def __init__(
        self,
        channel: Channel,
        max_queued: int,
        backoff: Backoff,
        poll_s: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.channel = channel
        self.queue = DeliveryQueue(channel.name, max_queued)
        self.backoff = backoff
        self._poll_s = poll_s
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def offer(self, alert: Alert, done: Done = _nothing) -> None:
        """Queue a record; returns at once (never blocks the pipeline). `done` is called once
        the record is settled."""
        self.queue.put(alert, done)
        self._wake.set()
        if self._task is None and not self._closing:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self._closing:
            for alert in self.channel.due(time.monotonic()):
                self.queue.put(alert)
            queued = self.queue.pop()
            if queued is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
                continue
            record, done = queued
            await self._deliver(record)  # cancelled (shutdown): not settled, re-sent by the next
            done()

    async def _deliver(self, record: Alert) -> None:
        name = self.channel.name
        for attempt in range(1, self.backoff.attempts + 1):
            try:
                await self.channel.send(record)
                metrics.DELIVERIES_SENT.labels(channel=name).inc()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any receiver failure is retried, then counted
                log.warning(
                    "%s delivery of %s (%s) failed, attempt %d/%d: %s",
                    name,
                    record.id,
                    record.status,
                    attempt,
                    self.backoff.attempts,
                    exc,
                )
                if attempt < self.backoff.attempts and not self._closing:
                    await self._sleep(self.backoff.delay(attempt))
        metrics.DELIVERIES_FAILED.labels(channel=name).inc()

    async def drain(self, timeout_s: float) -> None:
        """Give the queue up to `timeout_s` to empty (shutdown), then stop."""
        deadline = time.monotonic() + timeout_s
        while len(self.queue) and self._task is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.channel.close()


async def close_all(deliveries: Sequence[Delivery], timeout_s: float = 2.0) -> None:
    await asyncio.gather(*(d.drain(timeout_s) for d in deliveries))
