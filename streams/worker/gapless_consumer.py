"""Faust's Kafka consumer without its gap filling, which can commit events no agent processed.

When the next offset Faust reads from a partition is more than one past the last it read, Faust
takes the offsets between for a gap of the log (compaction, transaction markers) and counts them
as acked, so its commits move past them. sovwatch's topics are neither compacted nor written
transactionally: such a jump only happens when Faust's read position went wrong (seen around
rebalances), and counting the skipped events as done loses them for good. Here a jump is logged
and counted instead, the partition is sought back to where the reading jumped from before the
next fetch, and nothing is committed past the hole until its events were processed (replayed
events are idempotent downstream).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from faust.transport.drivers.aiokafka import Consumer

from agents import metrics

log = logging.getLogger(__name__)


class GaplessConsumer(Consumer):  # type: ignore[misc]  # faust is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._holes: dict[Any, int] = {}  # partition -> offset to read again from

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        # `offset_from - 1` is the last offset read (or, just after a seek, the next one to read):
        # reading it again is harmless, skipping it is not.
        start = offset_from - 1
        self._holes[tp] = min(start, self._holes.get(tp, start))
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
