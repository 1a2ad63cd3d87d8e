"""Offsets a worker was never handed, within one assignment of its partitions.

Within one assignment Kafka hands a consumer every offset of a (non-compacted, non-transactional)
partition in order, and the worker acks them in order. An acked offset past the next expected one
means events were skipped before they reached the agent: Faust's fetcher can drop them around a
rebalance (it records a stale read offset, or takes the hole for a compaction gap and commits
past it). A rebalance clears what is expected: the partition may have been someone else's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents import metrics

log = logging.getLogger(__name__)


@dataclass
class OffsetWatch:
    agent: str
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def acked(self, topic: str, partition: int, offset: int) -> None:
        """One acked offset; logs and counts the offsets skipped before it."""
        key = (topic, partition)
        expected = self.next_offsets.get(key)
        if expected is not None and offset > expected:
            log.warning(
                "%s[%d]: offsets %d..%d were never handed to this worker's %s agent: events "
                "skipped (the consumer reads them again before it commits past them)",
                topic,
                partition,
                expected,
                offset - 1,
                self.agent,
            )
            metrics.OFFSETS_SKIPPED.labels(topic=topic, agent=self.agent).inc(offset - expected)
        if expected is None or offset >= expected:
            self.next_offsets[key] = offset + 1

    def watching(self, ack: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[None]]:
        """`ack` (an agent's manual ack of a Faust event), then this watch told of its offset."""

        async def watched(event: Any) -> None:
            await ack(event)
            message = event.message
            self.acked(message.topic, message.partition, message.offset)

        return watched

    def reassigned(self) -> None:
        """A rebalance: any partition may have moved; expect nothing."""
        self.next_offsets.clear()
