"""Compliance: every valid event of a batch goes through the rule engine; its alerts are
published to alerts.<team> at once and their points join the batch's InfluxDB write.

Rule evaluation runs inside each agent's batches rather than as an agent of its own: one stream
decodes and pseudonymises each event once for both concerns.

Rule state lives in a Faust table (changelog-backed) and is written at checkpoints
(`agents.compliance.rule_state`), with the offset up to which it applied each partition: a
replay after a crash skips what the state already counted. Time-driven rules (absence,
not-followed-by, two-person) are judged at checkpoints, after the fence, only for the partitions
this worker owns in the current generation and only once their state was recovered; each
partition has its own event clock (`EventClock`), so a lagging partition is judged by its own
time, not by another's. A partition's time is the latest event time of any of its topics (a
family gone silent is what absence rules look for), except while some of the partition's topics
have records not read yet (after a fault one topic may catch up long before another): then it is
the earliest time among those topics, so nothing is judged, resolved or pruned by records read
ahead of the others.
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
from agents.influx.batches import PointSink
from agents.rules.engine import RuleEngine
from schemas.alert import Alert
from schemas.decode import Event

log = logging.getLogger(__name__)


NOT_YET = datetime.min.replace(tzinfo=UTC)
"""The time of a partition that has records to read but none read yet: nothing is due."""


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


Item = tuple[Event, str, int, int]
"""A validated, pseudonymised event and where it was read: topic, partition, offset."""


class Compliance:
    """The rule engine of one worker, its state, clocks and alert sink."""

    def __init__(
        self,
        engine: RuleEngine,
        state: TableState,
        alerts: AlertFanout,
        *,
        new_clock: Callable[[], EventClock],
        tick_interval_s: float,
        timer_sink: PointSink[Any],
        behind: Callable[[int], Collection[str]] = lambda partition: (),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`new_clock`: a partition's event clock (`EventClock(max_future_skew_s)`).
        `timer_sink`: where time-driven alerts' points and deliveries go (the checkpoint makes
        them durable before it writes the state they leave). `behind`: a partition's topics with
        records not read yet (its time is then the earliest of theirs)."""
        self.engine = engine
        self.timer_sink = timer_sink
        self._state = state
        self._alerts = alerts
        self._new_clock = new_clock
        self._tick_interval_s = tick_interval_s
        self._monotonic = monotonic
        self._clocks: dict[tuple[str, int], EventClock] = {}  # (topic, partition) -> clock
        self._behind = behind
        self._ticked_at: float | None = None
        self._recovered = False
        self._owned: frozenset[int] = frozenset()

    def _clock(self, topic: str, partition: int) -> EventClock:
        clock = self._clocks.get((topic, partition))
        if clock is None:
            clock = self._clocks[(topic, partition)] = self._new_clock()
        return clock

    def evaluate(self, items: Sequence[Item]) -> list[Alert]:
        """Alerts caused by the events the state has not applied yet (a replay after a crash
        may hand over events the written state already holds). Several events may share a
        record's offset (an OTLP request's samples): only what the stored state applied is
        skipped, read once per partition."""
        state = self._state
        fresh: list[tuple[Event, int]] = []
        stored: dict[tuple[str, int], int] = {}
        applied: dict[tuple[str, int], int] = {}
        latest: dict[tuple[str, int], datetime] = {}
        for event, topic, partition, offset in items:
            where = (topic, partition)
            below = stored.get(where)
            if below is None:
                below = stored[where] = state.applied(topic, partition)
            if offset < below:
                continue
            applied[where] = max(applied.get(where, below), offset + 1)
            fresh.append((event, partition))
            if where not in latest or event.ts > latest[where]:
                latest[where] = event.ts
        alerts = self.engine.process_batch(fresh, now=datetime.now(UTC))
        for (topic, partition), below in applied.items():
            state.mark_applied(topic, partition, below)
        for (topic, partition), ts in latest.items():
            self._clock(topic, partition).observe(ts)
        return alerts

    async def publish(self, alerts: Sequence[Alert]) -> tuple[list[Awaitable[Any]], list[Point]]:
        """Sent to Kafka now; returns the deliveries and the points the batch must await/write."""
        return await self._alerts.stage(alerts)

    def assigned(self, partitions: Collection[int]) -> None:
        """A new generation: judge nothing until the state of these partitions is recovered.
        Their clocks start again with the records read from the commit on."""
        self._owned = frozenset(partitions)
        self._recovered = False
        self._clocks.clear()

    def rewound(self) -> None:
        """The checkpoint dropped the state changes and sought back to the commits: the clocks
        start again too, or the timer would judge the older state by the time the dropped
        records had reached (chaos seed 744803: a power collector silent from 21:09 by the
        state, at 21:29 by the clock, before the replay read its 21:10 readings again)."""
        self._clocks.clear()
        self.recovered()

    def recovered(self) -> None:
        """The table holds the owned partitions' state: index it (the index of the previous
        assignment knows nothing of partitions taken over)."""
        self.engine.reindex(self._state.in_partitions(self._owned))
        self._recovered = True

    async def tick(self, owned: Collection[int]) -> None:
        """At a checkpoint: judge the time-driven rules of the partitions owned now, at most
        every `tick_interval_s`."""
        now = self._monotonic()
        if not (self._recovered and owned):
            return
        if self._ticked_at is not None and now - self._ticked_at < self._tick_interval_s:
            return
        self._ticked_at = now
        started = time.perf_counter()
        wall = self._new_clock().now()  # a partition read to its end with no events: the wall clock
        clocks = self._clocks
        state = self._state

        by_partition: dict[int, dict[str, datetime]] = {}
        for (topic, partition), clock in clocks.items():
            by_partition.setdefault(partition, {})[topic] = clock.now()
        times = {partition: self._time(partition, seen) for partition, seen in by_partition.items()}
        for partition in set(owned) - times.keys():
            if self._behind(partition):  # no events read yet, some to read: not judged yet
                times[partition] = NOT_YET

        def now_of(key: str) -> datetime:
            partition = state.partition_of(key)
            return times.get(partition if partition is not None else -1, wall)

        latest = max((t for p, t in times.items() if p in owned and t != NOT_YET), default=wall)
        try:
            due = self.engine.tick(latest, active=state.in_partitions(owned), now_of=now_of)
        except Exception:  # a bad rule or state must not stop ingestion; the next tick retries
            log.exception("time-driven rules failed")
            return
        if due.alerts:
            try:
                deliveries, points = await self._alerts.stage(due.alerts)
            except Exception:  # not sent: nothing stored, the next tick fires them again
                log.exception("time-driven alerts not sent; retried at the next tick")
                return
            await self.timer_sink.add_lines(points, deliveries)
        # "Fired" is stored with this checkpoint's state, written only once the alerts were
        # delivered: a crash before re-fires the same ids.
        due.commit()
        metrics.RULE_TICK_SECONDS.observe(time.perf_counter() - started)

    def _time(self, partition: int, seen: dict[str, datetime]) -> datetime:
        """A partition's time, given its topics' clocks (see the module docstring). While a
        topic with records to read has no clock yet (none of its records read since the
        assignment or the rewind), nothing of the partition is judged: its records may lie at
        any time (chaos seed 744803: a power collector judged silent by the gpu topic's time
        just after an assignment, before the power records of those minutes were read)."""
        behind = set(self._behind(partition))
        if not behind:
            return max(seen.values())
        if behind - seen.keys():
            return NOT_YET
        return min(seen[topic] for topic in behind)
