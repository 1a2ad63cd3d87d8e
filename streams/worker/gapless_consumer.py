"""Faust's Kafka consumer without its gap filling, which can commit events no agent processed.

When the next offset Faust reads from a partition is more than one past the last it read, Faust
takes the offsets between for a gap of the log (compaction, transaction markers) and counts them
as acked, so its commits move past them. sovwatch's topics are neither compacted nor written
transactionally: such a jump only happens when Faust's read position went wrong (seen around
rebalances), and counting the skipped events as done loses them for good. Here a jump is logged
and counted instead, the partition is sought back to where the reading jumped from before the
next fetch, and nothing is committed past the hole until its events were processed (replayed
events are idempotent downstream).

Faust's commit also tolerates one missing offset at the head of a partition: it refuses to commit
when the first acked offset is more than one past the committed offset, which is itself the next
offset to read, so an event at exactly the committed offset that never reached an agent (Faust
drops a message whose delivery races a flow suspension, as in recovery) was committed past and
lost (seen once under kill -9). Here nothing is committed unless the acked run starts at the
committed offset (raised to the log's first offset if retention deleted it since), and the
partition is read again from there. A partition the group never committed keeps Faust's rule:
its first commit attempt trims the acked list, so after a failed one the head would look
missing and the whole partition would be read again.
Acks arrive in offset order per partition, so a later offset acked before the head means the
head was never handed over, not that it is in flight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from faust.transport.drivers.aiokafka import Consumer

from agents import metrics

log = logging.getLogger(__name__)

REREAD_AFTER_S = 120.0


class GaplessConsumer(Consumer):  # type: ignore[misc]  # faust is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._holes: dict[Any, int] = {}  # partition -> offset to read again from
        self._read_again_at: dict[Any, tuple[int, float]] = {}  # partition -> (offset, when)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        committed = {tp: o for tp, o in self._committed_offset.items() if o is not None}
        try:
            first = await self.earliest_offsets(*committed) if committed else {}
        except Exception as exc:  # asked again at the next assignment
            log.warning("first offsets of %d partitions not read: %r", len(committed), exc)
            first = {}
        for tp, offset in first.items():
            if committed[tp] < offset:  # deleted by retention since: read from the log's start
                self._committed_offset[tp] = offset

    def _new_offset(self, tp: Any) -> int | None:
        acked = self._acked[tp]
        head = self._committed_offset[tp]  # Kafka's: the next offset to read
        # Only for partitions still assigned: commits while revoking are discarded anyway, and
        # a discarded attempt has already trimmed the acked list.
        if acked and head is not None and min(acked) > head and tp in self.assignment():
            # Asked once; again only if the head is still missing long after (a re-read under
            # way is in flight, and an InfluxDB outage holds every ack for minutes).
            asked = self._read_again_at.get(tp)
            if asked is None or asked[0] != head or time.monotonic() - asked[1] > REREAD_AFTER_S:
                metrics.READ_JUMPS.labels(topic=tp.topic).inc()
                log.warning(
                    "%s[%d]: offset %d was never acked but later ones were; committing nothing "
                    "past it and reading again from it",
                    tp.topic,
                    tp.partition,
                    head,
                )
                self.read_again(tp, head)
            return None
        offset: int | None = super()._new_offset(tp)
        return offset

    def read_again(self, tp: Any, offset: int) -> None:
        """Seek `tp` back to `offset` before the next fetch (to the lowest offset asked for)."""
        self._holes[tp] = min(offset, self._holes.get(tp, offset))
        self._read_again_at[tp] = (offset, time.monotonic())  # the offset asked for, not the min

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        # `offset_from - 1` is the last offset read (or, just after a seek, the next one to read):
        # reading it again is harmless, skipping it is not.
        start = offset_from - 1
        self.read_again(tp, start)
        metrics.READ_JUMPS.labels(topic=tp.topic).inc()
        log.warning(
            "%s[%d]: read jumped from offset %d to %d; seeking back to %d (not a gap: "
            "nothing is committed past the skipped offsets)",
            tp.topic,
            tp.partition,
            start,
            offset_to,
            self._holes[tp],
        )

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        if self._holes:
            await self.seek_holes()
        async for record in super().getmany(timeout):
            yield record

    async def seek_holes(self) -> None:
        """Seek every partition that jumped back to where it jumped from."""
        holes, self._holes = self._holes, {}
        for tp, offset in holes.items():
            try:
                await self.seek(tp, offset)
            except Exception as exc:  # revoked meanwhile: its owner reads from the commit
                log.info("%s[%d]: not sought back: %r", tp.topic, tp.partition, exc)
