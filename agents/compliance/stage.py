"""Compliance: every valid telemetry event of a batch goes through the rule engine; its alerts
are published to alerts.<team> at once and their points join the batch's InfluxDB write.

Rule evaluation runs inside the ingest agent's batches rather than as a second agent on the same
topics: one stream decodes and pseudonymises each event once for both concerns.

Rule state lives in a Faust table (changelog-backed), so a restart resumes every open window.
Time-driven rules (absence, not-followed-by, two-person) are judged by a timer on a clock that
follows event time (`EventClock`), only for the partitions this worker actively owns: a standby
copy of another worker's partitions never fires.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agents import metrics
from agents.compliance.alerts import AlertFanout, Point
from agents.compliance.rule_state import TableState
from agents.rules.engine import RuleEngine
from schemas.alert import Alert
from schemas.decode import Event

log = logging.getLogger(__name__)


class EventClock:
    """Event time that keeps moving with the wall clock between events.

    Never ahead of the wall clock by more than `max_skew_s`: ingest dead-letters events dated
    further ahead, and the clock clamps what it observes as well, so one bad timestamp cannot make
    every open deadline look expired.
    """

    def __init__(
        self,
        max_skew_s: float,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_skew = timedelta(seconds=max_skew_s)
        self._wall = wall
        self._monotonic = monotonic
        self._event_ts: datetime | None = None
        self._seen_at = 0.0

    def observe(self, ts: datetime) -> None:
        ts = min(ts, self._wall() + self._max_skew)
        if self._event_ts is None or ts > self._event_ts:
            self._event_ts = ts
            self._seen_at = self._monotonic()

    def now(self) -> datetime:
        if self._event_ts is None:
            return self._wall()
        elapsed = timedelta(seconds=self._monotonic() - self._seen_at)
        return min(self._event_ts + elapsed, self._wall() + self._max_skew)


class Compliance:
    """The rule engine of one worker, its state, clock and alert sink."""

    def __init__(
        self, engine: RuleEngine, state: TableState, clock: EventClock, alerts: AlertFanout
    ) -> None:
        self.engine = engine
        self._state = state
        self._clock = clock
        self._alerts = alerts

    def evaluate(self, items: Sequence[tuple[Event, int]]) -> list[Alert]:
        """Alerts caused by validated, pseudonymised events, each with its Kafka partition."""
        with self._state.batch():
            alerts = self.engine.process_batch(items, now=datetime.now(UTC))
        if items:
            self._clock.observe(max(event.ts for event, _ in items))
        return alerts

    async def publish(self, alerts: Sequence[Alert]) -> tuple[list[Awaitable[Any]], list[Point]]:
        """Sent to Kafka now; returns the deliveries and the points the batch must await/write."""
        return await self._alerts.stage(alerts)

    async def tick(self, active_partitions: Collection[int]) -> None:
        """Judge the time-driven rules of the partitions this worker actively owns."""
        started = time.perf_counter()
        try:
            due = self.engine.tick(
                self._clock.now(), active=self._state.in_partitions(active_partitions)
            )
        except Exception:  # a bad rule or state must not stop ingestion; the next tick retries
            log.exception("time-driven rules failed")
            return
        if due.alerts:
            try:
                await self._alerts.emit(due.alerts)
            except Exception:  # not delivered: nothing stored, the next tick fires them again
                log.exception("time-driven alerts not delivered; retried at the next tick")
                return
        due.commit()  # only now is "fired" stored: a crash before this re-fires the same ids
        metrics.RULE_TICK_SECONDS.observe(time.perf_counter() - started)

    async def close(self) -> None:
        await self._alerts.close()
