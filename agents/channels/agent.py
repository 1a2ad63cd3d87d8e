"""The alert channels' agent: reads the alert topics and offers each incident record to every
configured channel (Alertmanager, webhook, syslog CEF).

An alert topic's offset is committed at a checkpoint only once every record before it was
settled by every channel (sent, or given up after the retries, or dropped by the bounded queue's
policy: `agents.channels.delivery`). A crash re-sends what was not settled; receivers deduplicate
by incident id. A record that is not an alert (someone else wrote to the topic) is logged and
skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError

from agents.channels.delivery import Delivery, close_all
from schemas.alert import Alert

log = logging.getLogger(__name__)

Partition = tuple[str, int]


class Settlement:
    """Per partition, the offsets whose record some channel has not settled yet."""

    def __init__(self) -> None:
        self._open: dict[Partition, dict[int, int]] = {}  # offset -> channels still to settle

    def track(self, partition: Partition, offset: int, channels: int) -> Callable[[], None]:
        """The callback each of `channels` calls once it settled the record."""
        open_offsets = self._open.setdefault(partition, {})
        open_offsets[offset] = channels

        def done() -> None:
            left = open_offsets.get(offset)
            if left is None:
                return  # discarded by a revoke meanwhile
            if left <= 1:
                del open_offsets[offset]
            else:
                open_offsets[offset] = left - 1

        return done

    def limit(self, partition: Partition, next_offset: int) -> int:
        """How far the partition may be committed: its first unsettled offset."""
        open_offsets = self._open.get(partition)
        return min(open_offsets, default=next_offset) if open_offsets else next_offset

    def seal(self) -> None:
        pass  # nothing to write: the commit itself is limited (`limit`)

    def write(self) -> list[Awaitable[object]]:
        return []

    def discard(self) -> None:
        self._open.clear()


class AlertChannels:
    """One batch of alert records at a time into the channels' delivery queues."""

    def __init__(self, deliveries: Sequence[Delivery]) -> None:
        self.deliveries = list(deliveries)
        self.settlement = Settlement()

    async def handle(self, events: list[Any]) -> None:
        channels = len(self.deliveries)
        for event in events:
            message = event.message
            try:
                alert = Alert.model_validate_json(message.value or b"")
            except ValidationError as exc:
                log.warning(
                    "%s[%d]@%d is not an alert record, not delivered: %s",
                    message.topic, message.partition, message.offset, exc.errors()[0]["msg"],
                )  # fmt: skip
                continue
            where = (message.topic, message.partition)
            done = self.settlement.track(where, message.offset, channels)
            for delivery in self.deliveries:
                delivery.offer(alert, done)

    async def close(self, timeout_s: float = 2.0) -> None:
        await close_all(self.deliveries, timeout_s)
