"""What the checkpoint asks of Kafka: commit offsets, and where a partition starts.

`commit_offsets` is the one private Faust member sovwatch uses: the driver consumer's `_commit`,
its commit of explicit offsets (Faust's public `commit` only commits the offsets it tracked
through acks, and the worker's topics have none). It commits with the consumer's current group
generation, so the broker refuses it once the group rebalanced without this worker, and returns
False then. `tests/integration/streams/worker/test_offsets.py` is its canary: it drives a real
Faust consumer against Kafka and fails if this call stops committing exactly the given offsets
or stops refusing a stale generation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from faust.types import TP
from kafka import KafkaAdminClient
from kafka import TopicPartition as KafkaPartition

from agents.checkpoint import Partition
from schemas.settings import Settings
from streams.admin.connect import kafka_admin


async def commit_offsets(app: Any, offsets: Mapping[Partition, int]) -> bool:
    """Commit each partition's next offset to read; False if the broker refused the generation."""
    tps = {TP(topic, partition): offset for (topic, partition), offset in offsets.items()}
    return bool(await app.consumer._commit(tps))


class StartOffsets:
    """Where each partition's processing starts in a generation: the group's committed offset,
    raised to the log's first offset (none committed, or deleted by retention since)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self._app = app
        self._settings = settings
        self._admin: KafkaAdminClient | None = None

    async def __call__(self, partitions: Collection[Partition]) -> dict[Partition, int]:
        tps = [TP(topic, partition) for topic, partition in partitions]
        committed = await asyncio.to_thread(self._committed, tps)
        first = await self._app.consumer.earliest_offsets(*tps)
        return {
            (tp.topic, tp.partition): max(committed.get(tp, 0), first.get(tp, 0) or 0) for tp in tps
        }

    def _committed(self, tps: list[TP]) -> dict[TP, int]:
        if self._admin is None:
            self._admin = kafka_admin(self._settings.kafka, client_id="sovwatch-worker-offsets")
        group = self._settings.worker.app_id
        found = self._admin.list_group_offsets(
            {group: [KafkaPartition(tp.topic, tp.partition) for tp in tps]}
        )[group]
        return {
            TP(tp.topic, tp.partition): meta.offset
            for tp, meta in found.items()
            if meta.offset is not None and meta.offset >= 0
        }

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
