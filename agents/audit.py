"""The audit agent: a hash chain per site over sovereignty audit events, stored in InfluxDB, with
signed checkpoints on `audit.checkpoints` (compacted) and in InfluxDB.

The ingest agent validates audit events (and dead-letters bad ones) but stores none: this agent
stores them, chained. It consumes the same topic in the same consumer group; Faust delivers each
record to both agents and commits an offset only once both acked it.

Sequencing rules and why they are exactly-once: `agents.audit_state`. The chain state is the
table `sovwatch-audit-heads` (site -> durable head), recovered from its changelog on start and
rebalance. Its writes use the producer's partitioner on the site key, the same as the audit
topic's, so the head of a site lives in the partition of its events; that lets the ack callback
and the checkpoint timer update it outside stream iteration.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from faust.web import View
from prometheus_client import Counter

from agents.audit_chain import canonical_json, record_line
from agents.audit_sign import Checkpoint, Signer, checkpoint_line
from agents.audit_state import AuditChain, Sequenced
from agents.influx_writer import InfluxWriter
from agents.ingest import dead_letter, rejected_by_influxdb, within_limit
from agents.sink import OPEN_SINKS, Destination, PointSink
from schemas.audit import AuditEvent
from schemas.deadletter import capped_key
from schemas.decode import decode_as
from schemas.errors import DecodeError
from schemas.personal import pseudonymise
from streams import metrics
from streams.app import app, dlq_topic, settings
from streams.privacy import Pseudonymiser

log = logging.getLogger(__name__)

RECORDS = Counter(
    "sovwatch_audit_records_total",
    "Audit records chained and acknowledged by InfluxDB",
    registry=metrics.REGISTRY,
)
SKIPPED = Counter(
    "sovwatch_audit_skipped_total",
    "Audit events given no new sequence number",
    ["reason"],
    registry=metrics.REGISTRY,
)
CHECKPOINTS = Counter(
    "sovwatch_audit_checkpoints_total",
    "Signed checkpoints published",
    registry=metrics.REGISTRY,
)

audit_topic = app.topic(settings.topics.audit, key_type=bytes, value_type=bytes)
checkpoint_topic = app.topic(settings.topics.audit_checkpoints, key_type=bytes, value_type=bytes)
heads = app.Table(
    "sovwatch-audit-heads",
    key_type=bytes,
    value_type=bytes,
    partitions=settings.topics.partitions,
    use_partitioner=True,
    help="Audit chain: site -> durable head (seq, hash, offset, Merkle frontier)",
)
chain = AuditChain(heads, settings.audit.recent_event_ids)
signer = Signer.from_secret(settings.audit.signing_key) if settings.audit.signing_key else None


@dataclass(frozen=True)
class _Item:
    event: faust.types.EventT
    sequenced: Sequenced | None
    country: str


_checkpoint_lock = asyncio.Lock()


def _assigned(partition: int) -> bool:
    return any(
        tp.topic == settings.topics.audit and tp.partition == partition
        for tp in app.consumer.assignment()
    )


def _destination(country: str) -> Destination:
    return Destination(settings.influxdb.target_for(country), settings.influxdb.buckets.audit)


@app.agent(audit_topic, name="sovwatch.audit")
async def audit_agent(stream: faust.StreamT[bytes]) -> None:
    manual = stream.noack()
    pseudonymiser = Pseudonymiser.from_settings(settings.privacy)
    writer = InfluxWriter(settings.worker, timeout_s=settings.influxdb.timeout_s)
    if signer is None:
        log.warning(
            "audit records are chained but NOT signed: set SOVWATCH_AUDIT__SIGNING_KEY "
            "('sovwatch audit keygen') to publish checkpoints"
        )
    else:
        log.info("audit checkpoints signed with key %s", signer.key_id)  # the id, never the key

    async def confirm(item: _Item) -> None:
        done = item.sequenced
        # A partition revoked meanwhile belongs to another worker now: it re-sequences the
        # same events identically and moves the head itself.
        if done is not None and _assigned(done.partition) and chain.confirm(done, item.country):
            RECORDS.inc()
        await manual.ack(item.event)

    async def reject(item: _Item, reason: str) -> None:
        # InfluxDB refused the point: its seq stays a gap that `audit verify` reports, and the
        # raw event is in the DLQ. Blocking the chain forever would lose more.
        message = item.event.message
        log.error("audit record %s refused by InfluxDB: %s", item.sequenced, reason)
        record = dead_letter(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            error=rejected_by_influxdb(reason),
        )
        await (
            await dlq_topic.send(
                key=capped_key(message.key), value=record.model_dump_json().encode()
            )
        )

    sink: PointSink[_Item] = PointSink(writer, settings.worker, confirm, reject)
    OPEN_SINKS.append(sink)  # partial batches: flushed by agents.pipeline's timer
    try:
        async for event in manual.events():
            message = event.message
            try:
                raw = within_limit(message.value or b"", settings.topics.max_record_bytes)
                decoded = decode_as(raw, AuditEvent)
            except DecodeError:
                await manual.ack(event)  # the ingest agent dead-letters it
                continue
            stored = pseudonymise(decoded, pseudonymiser)  # the chain is over what is stored
            placed = chain.sequence(stored, message.partition, message.offset)
            if isinstance(placed, str):
                SKIPPED.labels(reason=placed).inc()
                await manual.ack(event)
                continue
            item = _Item(event, placed, stored.country)
            await sink.add(item, [(_destination(stored.country), record_line(placed.record))])
    finally:
        OPEN_SINKS.remove(sink)
        await writer.close()


async def checkpoint_now() -> list[Checkpoint]:
    """Sign and publish a checkpoint for every site of this worker with new records (and any
    checkpoint a crash left unpublished)."""
    if signer is None:
        return []
    async with _checkpoint_lock:
        published: list[Checkpoint] = []
        for site in list(chain.sites()):
            head = chain.head(site)
            if not _assigned(head.partition):
                continue  # a standby copy, or a site another worker owns now
            ts = datetime.now(UTC).isoformat(timespec="microseconds")
            checkpoint = chain.begin_checkpoint(site, ts, signer.key_id)
            if checkpoint is None:
                continue
            signed = signer.sign(checkpoint)
            await _publish(signed)
            chain.finish_checkpoint(signed)
            CHECKPOINTS.inc()
            published.append(signed)
        return published


async def _publish(checkpoint: Checkpoint) -> None:
    delivery = await checkpoint_topic.send(
        key=checkpoint.site.encode(), value=canonical_json(checkpoint.as_dict())
    )
    await delivery
    destination = _destination(checkpoint.country)
    writer = _checkpoint_writer()
    await writer.write(destination.target, destination.bucket, [checkpoint_line(checkpoint)])
    log.info(
        "audit checkpoint site=%s seq %d..%d root %s",
        checkpoint.site,
        checkpoint.first_seq,
        checkpoint.last_seq,
        checkpoint.merkle_root[:16],
    )


_writers: list[InfluxWriter] = []


def _checkpoint_writer() -> InfluxWriter:
    if not _writers:
        _writers.append(InfluxWriter(settings.worker, timeout_s=settings.influxdb.timeout_s))
    return _writers[0]


@app.timer(interval=settings.audit.checkpoint_interval_s)
async def periodic_checkpoints() -> None:
    await checkpoint_now()


@app.on_partitions_revoked.connect
async def forget_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
    chain.forget({tp.partition for tp in revoked if tp.topic == settings.topics.audit})


@app.page("/audit/checkpoint")
class CheckpointView(View):  # type: ignore[misc]
    """POST: checkpoint now (what `sovwatch audit checkpoint` calls)."""

    async def post(self, request: Any) -> Any:
        if signer is None:
            return self.json(
                {"error": "no signing key: set SOVWATCH_AUDIT__SIGNING_KEY"}, status=409
            )
        done = await checkpoint_now()
        return self.json({"checkpoints": [c.as_dict() for c in done]})
