"""The audit family in the worker: each valid audit event chained per site and stored in
InfluxDB as its record; signed checkpoints of each site's period on `audit.checkpoints`
(compacted), in InfluxDB and in the witness directory.

The audit topic has one agent, which decodes, dead-letters and runs the rules like every other
family (`agents.ingest.agent`) and asks this stage for each valid event's points. Sequencing
rules and why they are exactly-once: `agents.audit.chain`. A site's period is signed at a worker
checkpoint, after the fence (only for sites of partitions owned now), kept as pending in the head
that the checkpoint writes, and published once the offsets are committed; a crash before the
publish re-publishes the same checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from agents import metrics
from agents.audit.chain import AuditChain
from agents.audit.checkpoints import Checkpoint, Signer, checkpoint_line
from agents.audit.records import canonical_json, record_line
from agents.audit.witness import write_witness
from agents.influx.batches import Destination
from agents.influx.residency import Residency
from agents.influx.writer import InfluxWriter
from schemas.audit import AuditEvent
from schemas.errors import DecodeError, FieldIssue
from schemas.settings import Settings

Point = tuple[Destination, str]

log = logging.getLogger(__name__)

RECORDS = Counter(
    "sovwatch_audit_records_total",
    "Audit records chained (a replay after a crash chains its events again, identically)",
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


def keyed_by_site(event: AuditEvent, key: bytes | None) -> None:
    """A site's chain must live on one partition: its records are keyed by the site id."""
    if key != event.site_id.encode():
        shown = "none" if key is None else repr(key.decode(errors="replace"))
        raise DecodeError(
            f"an audit record must be keyed by its site_id {event.site_id!r}, its key is {shown}",
            (
                FieldIssue(
                    field="key",
                    constraint="equals site_id",
                    value=shown,
                    message="the record key differs from site_id",
                ),
            ),
        )


class AuditStage:
    """Chains audit events into records and signs each site's periods."""

    def __init__(
        self,
        settings: Settings,
        residency: Residency,
        chain: AuditChain,
        signer: Signer | None,
        checkpoint_topic: Any,
        checkpoint_writer: InfluxWriter,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._residency = residency
        self.chain = chain
        self.signer = signer
        self._checkpoint_topic = checkpoint_topic
        self._checkpoint_writer = checkpoint_writer
        self._monotonic = monotonic
        self._signed_at = monotonic()
        self._sign_now = False
        self._to_publish: list[Checkpoint] = []  # signed at this checkpoint
        self._sealed_publish: list[Checkpoint] = []  # published once this checkpoint commits
        self.published: list[Checkpoint] = []  # by the last checkpoint that published any
        self._covered: dict[str, tuple[int, int, int]] = {}  # site -> (count, first, last)

    async def close(self) -> None:
        await self._checkpoint_writer.close()

    def _destination(self, country: str) -> Destination:
        return Destination(
            self._residency.target_for(country), self._settings.influxdb.buckets.audit
        )

    def points(self, event: AuditEvent, partition: int, offset: int) -> list[Point]:
        """The record of one valid, pseudonymised audit event (none if it gets no seq)."""
        placed = self.chain.sequence(event, partition, offset)
        if isinstance(placed, str):
            SKIPPED.labels(reason=placed).inc()
            if placed == "covered":  # every replayed event after a crash: one line a batch
                count, first, _ = self._covered.get(event.site_id, (0, offset, 0))
                self._covered[event.site_id] = (count + 1, first, offset)
            else:
                log.info(
                    "audit event %s (partition %d offset %d) gets no seq: %s",
                    event.event_id, partition, offset, placed,
                )  # fmt: skip
            return []
        RECORDS.inc()
        return [(self._destination(event.country), record_line(placed.record))]

    def log_replays(self) -> None:
        """One line per site whose replayed events the head already covered (this batch)."""
        for site, (count, first, last) in self._covered.items():
            head = self.chain.head(site)
            log.info(
                "audit site %s: %d replayed events (offsets %d..%d) already chained (head: seq "
                "%d, partition %d, offset %d)",
                site, count, first, last, head.seq, head.partition, head.offset,
            )  # fmt: skip
        self._covered.clear()

    def sign_soon(self) -> None:
        """Sign every site's period at the next checkpoint, whatever the interval."""
        self._sign_now = True

    async def sign_due(self, owned: Mapping[str, frozenset[int]]) -> None:
        """At a checkpoint, after the fence: close and sign the period of every site of an
        owned partition with new records, if the interval passed (or `sign_soon`)."""
        signer = self.signer
        now = self._monotonic()
        due = now - self._signed_at >= self._settings.audit.checkpoint_interval_s
        if signer is None or not (due or self._sign_now):
            return
        self._signed_at, self._sign_now = now, False
        partitions = owned.get(self._settings.topics.audit, frozenset())
        for site in list(self.chain.sites()):
            if self.chain.head(site).partition not in partitions:
                continue  # a standby copy, or a site another worker owns now
            left_over = self.chain.pending(site)  # a crash came before their publish
            ts = datetime.now(UTC).isoformat(timespec="microseconds")
            checkpoint = self.chain.begin_checkpoint(site, ts, signer.key_id)
            fresh = [] if checkpoint is None else [checkpoint]
            self._to_publish.extend(signer.sign(c) for c in [*left_over, *fresh])

    async def publish_signed(self) -> None:
        """After the commit: publish what `sign_due` signed (its heads are written)."""
        published: list[Checkpoint] = []
        while self._sealed_publish:
            signed = self._sealed_publish[0]
            try:
                await self._publish(signed)
            except Exception:  # still pending in the head: signed and published again later
                log.exception("audit checkpoint site=%s not published", signed.site)
                self._sealed_publish.clear()
                break
            self._sealed_publish.pop(0)
            self.chain.finish_checkpoint(signed)
            CHECKPOINTS.inc()
            published.append(signed)
        if published:
            self.published = published

    def seal(self) -> None:
        self.chain.seal()
        self._sealed_publish.extend(self._to_publish)
        self._to_publish = []

    def write(self) -> list[Awaitable[object]]:
        """Checkpoint: the changed heads to their changelog."""
        return self.chain.write()

    def discard(self) -> None:
        """A revoke: head changes not written are dropped; what was signed but not published
        is published by the next owner."""
        self.chain.discard()
        self._to_publish.clear()
        self._sealed_publish.clear()

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
