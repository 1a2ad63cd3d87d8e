"""The ingest agent: every telemetry record ends up in InfluxDB or in the dead-letter topic, and
every valid one goes through the compliance rules on the way — a batch at a time.

Per batch (`IngestStage.handle`): decode + validate each record (bad ones: a dead letter is sent
at once), pseudonymise, evaluate the rules, publish their alerts at once, then hand the points to
the sink. Offsets are acked by the sink only after every effect of the batch is acknowledged
(InfluxDB points, dead letters, alerts), in arrival order: so per partition in offset order. A
crash or restart replays the rest; every effect is idempotent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from agents import metrics
from agents.compliance.stage import Compliance
from agents.dead_letters import SendDeadLetter
from agents.influx.batches import LineWriter, PointSink
from agents.ingest.steps import Ingest, rejected_by_influxdb
from schemas.decode import Event
from schemas.errors import DecodeError
from schemas.settings import Settings

log = logging.getLogger(__name__)

Item = tuple[Any, bool]
"""A Faust event and whether it is stored (False: dead-lettered)."""


class IngestStage:
    """One batch of Faust events through decode, rules and points into the sink."""

    def __init__(
        self,
        ingest: Ingest,
        compliance: Compliance,
        sink: PointSink[Item],
        send_dead_letter: SendDeadLetter,
    ) -> None:
        self._ingest = ingest
        self._compliance = compliance
        self._sink = sink
        self._send_dead_letter = send_dead_letter

    async def handle(self, events: list[Any]) -> None:
        ingest = self._ingest
        now = datetime.now(UTC)
        decoded: list[Event | None] = []
        valid: list[tuple[Event, int]] = []
        waits: list[Awaitable[Any]] = []
        arrived: Counter[str] = Counter()
        for event in events:
            message = event.message
            arrived[message.topic] += 1
            try:
                good = ingest.pseudonymised(ingest.decode(message.value, message.topic, now))
            except DecodeError as error:
                waits.append(await self._send_dead_letter(event, error))
                decoded.append(None)
                continue
            decoded.append(good)
            valid.append((good, message.partition))
        for topic, count in arrived.items():
            metrics.events_in(topic).inc(count)
        deliveries, alert_points = await self._compliance.publish(self._compliance.evaluate(valid))
        # What the events wait for goes in first: a sink batch that fills up while the events
        # are added is acked only after these (see PointSink.add_lines).
        await self._sink.add_lines(alert_points, [*waits, *deliveries])
        sink = self._sink
        for event, one in zip(events, decoded, strict=True):
            if one is None:
                await sink.add((event, False), ())
            else:
                await sink.add((event, True), ingest.points(one))


def make_sink(
    writer: LineWriter,
    settings: Settings,
    manual_ack: Callable[[Any], Awaitable[Any]],
    send_dead_letter: SendDeadLetter,
    stopping: Callable[[], bool],
) -> PointSink[Item]:
    """The ingest sink: acks stored and dead-lettered events alike, counts the stored ones."""

    async def ack(item: Item) -> None:
        event, stored = item
        await manual_ack(event)
        if stored:
            metrics.events_stored(event.message.topic).inc()

    async def reject(item: Item | None, reason: str) -> None:
        if item is None:  # an alert point: the alert is on Kafka already
            log.warning("alert point not stored in InfluxDB: %s", reason)
            metrics.SINK_FAILURES.labels(sink="influxdb").inc()
            return
        await (await send_dead_letter(item[0], rejected_by_influxdb(reason)))

    return PointSink(writer, settings.worker, ack, reject, stopping)
