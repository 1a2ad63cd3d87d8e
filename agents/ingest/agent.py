"""The ingest stage: every record of a batch ends up in InfluxDB or in the dead-letter topic, and
every valid one goes through the compliance rules on the way.

Per batch (`IngestStage.handle`): decode + validate each record once (bad ones: a dead letter is
sent at once; a record of the OTLP topic gives many GPU samples, admitted and acknowledged as
its one record), pseudonymise, evaluate the rules, publish their alerts at once, then hand the
points to the sink: an audit event's point is its chained record (`agents.audit.stage`), every
other family's its sample. Nothing is acknowledged per record: the worker's checkpoint
(`agents.checkpoint`) flushes the sink, awaits the dead letters and alerts, writes the state and
only then commits the batch's offsets. Every effect is idempotent, so a replay rewrites the same.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from agents import metrics
from agents.audit.stage import AuditStage, keyed_by_site
from agents.compliance.stage import Compliance, Item
from agents.dead_letters import SendDeadLetter
from agents.influx.batches import LineWriter, PointSink
from agents.ingest.steps import Ingest, rejected_by_influxdb
from schemas.audit import AuditEvent
from schemas.decode import Event
from schemas.errors import DecodeError
from schemas.settings import Settings

log = logging.getLogger(__name__)


class IngestStage:
    """One batch of Faust events through decode, rules and points into the sink."""

    def __init__(
        self,
        ingest: Ingest,
        compliance: Compliance,
        audit: AuditStage,
        sink: PointSink[Any],
        send_dead_letter: SendDeadLetter,
    ) -> None:
        self._ingest = ingest
        self._compliance = compliance
        self._audit = audit
        self._sink = sink
        self._send_dead_letter = send_dead_letter

    async def handle(self, events: list[Any]) -> None:
        ingest = self._ingest
        now = datetime.now(UTC)
        valid: list[Item] = []
        kept: list[Any] = []
        many: dict[int, list[Event]] = {}  # index in `kept` -> the events of a many-event record
        waits: list[Awaitable[Any]] = []
        arrived: Counter[str] = Counter()
        for event in events:
            message = event.message
            topic = message.topic
            arrived[topic] += 1
            if topic == ingest.otlp_topic:
                goods, waited = await self._decode_many(event, now)
                waits += waited
                if goods is not None:
                    many[len(kept)] = goods
                    kept.append(event)
                    where = (topic, message.partition, message.offset)
                    valid += [(good, *where) for good in goods]
                continue
            try:
                good = ingest.pseudonymised(ingest.decode(message.value, topic, now))
                if isinstance(good, AuditEvent):
                    keyed_by_site(good, message.key)
            except DecodeError as error:
                waits.append(await self._send_dead_letter(event, error))
                continue
            valid.append((good, topic, message.partition, message.offset))
            kept.append(event)
        for topic, count in arrived.items():
            metrics.events_in(topic).inc(count)
        compliance = self._compliance
        deliveries, alert_points = await compliance.publish(compliance.evaluate(valid))
        sink = self._sink
        await sink.add_lines(alert_points, [*waits, *deliveries])
        audit = self._audit
        items = iter(valid)
        for index, event in enumerate(kept):
            goods = many.get(index)
            if goods is not None:  # one record's samples: one entry, acknowledged together
                for _ in goods:
                    next(items)
                await sink.add(event, [point for good in goods for point in ingest.points(good)])
                continue
            good, _, partition, offset = next(items)
            if isinstance(good, AuditEvent):
                await sink.add(event, audit.points(good, partition, offset))
            else:
                await sink.add(event, ingest.points(good))
        audit.log_replays()

    async def _decode_many(
        self, event: Any, now: datetime
    ) -> tuple[list[Event] | None, list[Awaitable[Any]]]:
        """The events of a many-event record (None: it is dead-lettered whole) and the
        dead-letter deliveries to await (one for the record if some samples were rejected)."""
        ingest = self._ingest
        try:
            goods, rejected = ingest.decode_many(event.message.value, now)
        except DecodeError as error:
            return None, [await self._send_dead_letter(event, error)]
        waits = [] if rejected is None else [await self._send_dead_letter(event, rejected)]
        return [ingest.pseudonymised(good) for good in goods], waits


def make_sink(
    writer: LineWriter,
    settings: Settings,
    send_dead_letter: SendDeadLetter,
    stopping: Callable[[], bool],
) -> PointSink[Any]:
    """The sink of stored events: counts them once written; a point InfluxDB refuses for good
    sends its event to the DLQ."""

    async def written(event: Any) -> None:
        metrics.events_stored(event.message.topic).inc()

    async def reject(event: Any | None, reason: str) -> None:
        if event is None:  # an alert point: the alert is on Kafka already
            log.warning("alert point not stored in InfluxDB: %s", reason)
            metrics.SINK_FAILURES.labels(sink="influxdb").inc()
            return
        await (await send_dead_letter(event, rejected_by_influxdb(reason)))

    return PointSink(writer, settings.worker, written, reject, stopping)
