"""The audit chain's durable heads on a Faust table, each written to its events' partition.

Heads are written from the sink's ack callback and the checkpoint timer, outside stream
iteration, where Faust has no current event to take the partition from. Left to the producer's
partitioner (`use_partitioner`), the write needs the changelog topic in the producer's metadata,
and aiokafka keeps only the topics it has produced to since it last refreshed: the first head
written after another topic's first send failed with a TypeError inside the ack callback, and
the audit agent acked nothing from then on. A head knows the partition of the events it
chains, which is where recovery reads it back, so it is written there directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class TableHeads:
    """A `HeadStore` (agents.audit.chain) over a Faust table: its local data and changelog."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: bytes, /) -> bytes | None:
        value: bytes | None = self._table.data.get(key)
        return value

    def keys(self) -> Iterable[bytes]:
        keys: Iterable[bytes] = self._table.data.keys()  # AuditChain.sites copies them
        return keys

    def put(self, key: bytes, value: bytes, partition: int) -> None:
        if partition < 0:
            raise ValueError(f"audit head {key!r} has no partition yet: nothing was chained")
        self._table.data[key] = value
        self._table.send_changelog(partition, key, value)
