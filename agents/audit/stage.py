"""The audit agent: a hash chain per site over sovereignty audit events, stored in InfluxDB, with
signed checkpoints on `audit.checkpoints` (compacted) and in InfluxDB.

The ingest agent validates audit events (and dead-letters bad ones) but stores none: this agent
stores them, chained, a batch at a time. It consumes the same topic in the same consumer group;
Faust delivers each record to both agents and commits an offset only once both acked it. Records
this agent skips (invalid, future-dated, already chained) are acked with their neighbours, after
the batch's writes, never ahead of them.

Sequencing rules and why they are exactly-once: `agents.audit.chain`. The chain state is the
table `sovwatch-audit-heads` (site -> durable head), recovered from its changelog on start and
rebalance. Each head is written to the changelog partition of its site's events
(`agents.audit.heads_table`), so the ack callback and the checkpoint timer can update it outside
stream iteration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from agents import metrics
from agents.audit.chain import AuditChain, Sequenced
from agents.audit.checkpoints import Checkpoint, Signer, checkpoint_line
from agents.audit.records import canonical_json, record_line
from agents.audit.witness import write_witness
from agents.dead_letters import SendDeadLetter
from agents.influx.batches import Destination, PointSink
from agents.influx.residency import Residency
from agents.influx.writer import InfluxWriter
from agents.ingest.steps import not_in_future, rejected_by_influxdb, within_limit
from agents.privacy import Pseudonymiser
from schemas.audit import AuditEvent
from schemas.decode import decode_as
from schemas.errors import DecodeError
from schemas.personal import pseudonymise
from schemas.settings import Settings

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
WITNESS_FAILURES = Counter(
    "sovwatch_audit_witness_failures_total",
    "Checkpoints that could not be written to the witness directory",
    registry=metrics.REGISTRY,
)


@dataclass(frozen=True)
class _Item:
    event: Any  # the Faust event
    sequenced: Sequenced | None
    country: str


class AuditStage:
    """Chains a batch of audit events and hands their records to the sink; signs checkpoints."""

    def __init__(
        self,
        settings: Settings,
        residency: Residency,
        chain: AuditChain,
        signer: Signer | None,
        pseudonymiser: Pseudonymiser,
        checkpoint_topic: Any,
        checkpoint_writer: InfluxWriter,
        assigned: Callable[[], Collection[int]],
        send_dead_letter: SendDeadLetter,
    ) -> None:
        self._settings = settings
        self._residency = residency
        self.chain = chain
        self.signer = signer
        self._checkpoint_topic = checkpoint_topic
        self._checkpoint_writer = checkpoint_writer
        self._assigned = assigned  # the audit topic's partitions this worker owns now
        self._send_dead_letter = send_dead_letter
        self._pseudonymiser = pseudonymiser
        self._checkpoint_lock = asyncio.Lock()
        self.sink: PointSink[_Item] | None = None

    def make_sink(
        self,
        writer: InfluxWriter,
        manual_ack: Callable[[Any], Awaitable[Any]],
        stopping: Callable[[], bool],
    ) -> PointSink[_Item]:
        async def confirm(item: _Item) -> None:
            done = item.sequenced
            # A partition revoked meanwhile belongs to another worker now: it re-sequences the
            # same events identically and moves the head itself.
            if (
                done is not None
                and done.partition in self._assigned()
                and self.chain.confirm(done, item.country)
            ):
                RECORDS.inc()
            await manual_ack(item.event)

        async def reject(item: _Item | None, reason: str) -> None:
            # InfluxDB refused the point: its seq stays a gap that `audit verify` reports, and
            # the raw event goes to the DLQ. Blocking the chain forever would lose more.
            assert item is not None  # every audit line belongs to its event
            log.error("audit record %s refused by InfluxDB: %s", item.sequenced, reason)
            await (await self._send_dead_letter(item.event, rejected_by_influxdb(reason)))

        self.sink = PointSink(writer, self._settings.worker, confirm, reject, stopping)
        return self.sink

    async def close(self) -> None:
        await self._checkpoint_writer.close()

    def _destination(self, country: str) -> Destination:
        return Destination(
            self._residency.target_for(country), self._settings.influxdb.buckets.audit
        )

    async def handle(self, events: list[Any]) -> None:
        assert self.sink is not None
        sink, chain, settings = self.sink, self.chain, self._settings
        now = datetime.now(UTC)
        replayed: dict[str, tuple[int, int, int]] = {}  # site -> (count, first, last offset)
        for event in events:
            message = event.message
            try:
                raw = within_limit(message.value or b"", settings.topics.max_record_bytes)
                decoded = self._residency.resident(
                    not_in_future(
                        decode_as(raw, AuditEvent), now, settings.worker.max_future_skew_s
                    )
                )
            except DecodeError:
                await sink.add(_Item(event, None, ""), ())  # the ingest agent dead-letters it
                continue
            stored = pseudonymise(decoded, self._pseudonymiser)  # the chain is over what is stored
            placed = chain.sequence(stored, message.partition, message.offset)
            if isinstance(placed, str):
                SKIPPED.labels(reason=placed).inc()
                if placed == "stored":  # every replayed event after a restart: one line a batch
                    count, first, _ = replayed.get(stored.site_id, (0, message.offset, 0))
                    replayed[stored.site_id] = (count + 1, first, message.offset)
                else:
                    log.info(
                        "audit event %s (partition %d offset %d) gets no seq: %s",
                        stored.event_id, message.partition, message.offset, placed,
                    )  # fmt: skip
                await sink.add(_Item(event, None, stored.country), ())
                continue
            destination = self._destination(stored.country)
            await sink.add(
                _Item(event, placed, stored.country), [(destination, record_line(placed.record))]
            )
        for site, (count, first, last) in replayed.items():
            head = chain.head(site)
            log.info(
                "audit site %s: %d replayed events (offsets %d..%d) already stored (durable "
                "head: seq %d, partition %d, offset %d)",
                site, count, first, last, head.seq, head.partition, head.offset,
            )  # fmt: skip

    async def checkpoint_now(self) -> list[Checkpoint]:
        """Sign and publish a checkpoint for every site of this worker with new records (and
        any checkpoint a crash left unpublished)."""
        signer = self.signer
        if signer is None:
            return []
        async with self._checkpoint_lock:
            published: list[Checkpoint] = []
            assigned = self._assigned()
            for site in list(self.chain.sites()):
                head = self.chain.head(site)
                if head.partition not in assigned:
                    continue  # a standby copy, or a site another worker owns now
                ts = datetime.now(UTC).isoformat(timespec="microseconds")
                checkpoint = self.chain.begin_checkpoint(site, ts, signer.key_id)
                if checkpoint is None:
                    continue
                signed = signer.sign(checkpoint)
                await self._publish(signed)
                self.chain.finish_checkpoint(signed)
                CHECKPOINTS.inc()
                published.append(signed)
            return published

    async def _publish(self, checkpoint: Checkpoint) -> None:
        delivery = await self._checkpoint_topic.send(
            key=checkpoint.site.encode(), value=canonical_json(checkpoint.as_dict())
        )
        await delivery
        await self._witness(checkpoint)
        destination = self._destination(checkpoint.country)
        await self._checkpoint_writer.write(
            destination.target, destination.bucket, [checkpoint_line(checkpoint)]
        )
        log.info(
            "audit checkpoint site=%s seq %d..%d root %s",
            checkpoint.site,
            checkpoint.first_seq,
            checkpoint.last_seq,
            checkpoint.merkle_root[:16],
        )

    async def _witness(self, checkpoint: Checkpoint) -> None:
        """Write the checkpoint's witness file, if a witness directory is set. A failure is
        logged and counted but does not hold the checkpoint back: Kafka already witnesses it,
        the next checkpoint writes a newer file, and a full or unmounted disk must not stop
        every site's checkpoints (nor keep this one pending forever)."""
        directory = self._settings.audit.witness_dir
        if directory is None:
            return
        try:
            await asyncio.to_thread(write_witness, directory, checkpoint)
        except OSError as exc:
            WITNESS_FAILURES.inc()
            log.error(
                "audit checkpoint site=%s seq %d not written to the witness directory %s: %s",
                checkpoint.site,
                checkpoint.last_seq,
                directory,
                exc,
            )
