"""The ingest agent: every telemetry record ends up in InfluxDB or in the dead-letter topic,
and every valid one goes through the compliance rules (`agents.compliance`) on the way.

Acks are manual (`noack`): a record's offset may be committed only after InfluxDB acknowledged
its point, or the broker acknowledged its dead letter. A crash or restart replays the rest;
points are idempotent, so a replay changes nothing downstream.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from agents import compliance
from agents.influx_writer import InfluxWriter
from agents.ingest import Ingest, dead_letter, reason_label, rejected_by_influxdb
from agents.sink import OPEN_SINKS, PointSink, flush_due
from schemas.deadletter import capped_key
from schemas.errors import DecodeError
from streams import metrics
from streams.app import app, dlq_topic, settings, telemetry_topics
from streams.privacy import Pseudonymiser

log = logging.getLogger(__name__)

_next_offset: dict[tuple[str, int], int] = {}


async def _send_dead_letter(event: faust.types.EventT, error: DecodeError) -> None:
    message = event.message
    record = dead_letter(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        error=error,
    )
    delivery = await dlq_topic.send(
        key=capped_key(message.key), value=record.model_dump_json().encode()
    )
    await delivery  # the broker has it: only now may the source offset be committed
    metrics.DEAD_LETTERS.labels(topic=message.topic, reason=reason_label(error)).inc()
    log.info("dead letter %s[%s]@%s: %s", message.topic, message.partition, message.offset, error)


@app.agent(telemetry_topics, name="sovwatch.ingest")
async def ingest_agent(stream: faust.StreamT[bytes]) -> None:
    manual = stream.noack()
    ingest = Ingest(settings, Pseudonymiser.from_settings(settings.privacy))
    writer = InfluxWriter(settings.worker, timeout_s=settings.influxdb.timeout_s)

    async def ack(event: faust.types.EventT) -> None:
        await manual.ack(event)
        message = event.message
        _next_offset[(message.topic, message.partition)] = message.offset + 1

    async def stored(event: faust.types.EventT) -> None:
        metrics.events_stored(event.message.topic).inc()
        await ack(event)

    async def reject(event: faust.types.EventT, reason: str) -> None:
        await _send_dead_letter(event, rejected_by_influxdb(reason))

    sink: PointSink[faust.types.EventT] = PointSink(writer, settings.worker, stored, reject)
    OPEN_SINKS.append(sink)
    try:
        async for event in manual.events():
            topic = event.message.topic
            metrics.events_in(topic).inc()
            try:
                decoded = ingest.pseudonymised(ingest.decode(event.message.value, topic))
            except DecodeError as error:
                await _send_dead_letter(event, error)
                await ack(event)
                continue
            deliveries, alert_points = await compliance.evaluate(decoded, event.message.partition)
            await sink.add(event, [*ingest.points(decoded), *alert_points], deliveries)
    finally:
        OPEN_SINKS.remove(sink)
        await writer.close()


@app.timer(interval=settings.worker.batch_max_age_s / 4)
async def flush_partial_batches() -> None:
    await flush_due()  # the ingest and audit agents' sinks alike


@app.timer(interval=5.0)
async def report_consumer_lag() -> None:
    for tp in app.consumer.assignment():
        next_offset = _next_offset.get((tp.topic, tp.partition))
        highwater = app.consumer.highwater(tp)
        if next_offset is not None and highwater is not None:
            metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(
                max(0, highwater - next_offset)
            )


@app.page("/metrics")
async def metrics_page(web: Any, request: Any) -> Any:
    return web.bytes(
        generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


@app.page("/health")
async def health_page(web: Any, request: Any) -> Any:
    pending = sum(sink.pending_points for sink in OPEN_SINKS)
    return web.json(
        {
            "status": "ok",
            "agents": len(OPEN_SINKS),
            "pending_points": pending,
            "stored": _total(metrics.EVENTS_STORED),
            "dead_letters": _total(metrics.DEAD_LETTERS),
        }
    )


def _total(counter: Counter) -> float:
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )
