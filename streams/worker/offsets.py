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

from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as KafkaPartition
from faust.types import TP

from agents.checkpoint import Partition
from schemas.settings import Settings
from streams.worker.kafka_auth import aiokafka_credentials


async def commit_offsets(app: Any, offsets: Mapping[Partition, int]) -> bool:
    """Commit each partition's next offset to read; False if the broker refused the generation
    or the consumer no longer holds one of the partitions.

    The second check is part of the fence: `_commit` drops the partitions the consumer is not
    assigned and commits the rest, and once the broker has forgotten the member (aiokafka resets
    it and drops its assignment until it rejoins) that leaves nothing to send, which "succeeds".
    Chaos seed 744803 forked an audit chain through that: a checkpoint that waited for the batch
    lock through a rebalance wrote its stale heads after such an empty fence."""
    tps = {TP(topic, partition): offset for (topic, partition), offset in offsets.items()}
    if not tps.keys() <= app.consumer.assignment():
        return False
    return bool(await app.consumer._commit(tps))


async def seek_held(app: Any, partition: Partition, offset: int, settle_s: float = 0.2) -> None:
    """Seek a partition so that the seek holds.

    Faust's fetch loop sets its read position after every record it hands over, and drops the
    records below that position. A seek made while it is still handing over a batch fetched
    before is therefore undone: the records the seek asked for again come back below the
    position and are dropped. So the flow is stopped first (the loop leaves its batch), the seek
    made, the flow resumed; not during a rebalance, when Faust holds the flow itself (and seeks
    every partition to its commit when it resumes)."""
    consumer = app.consumer
    tp = TP(*partition)
    if app.rebalancing or not consumer.flow_active:
        await consumer.seek(tp, offset)
        return
    consumer.stop_flow()
    try:
        await asyncio.sleep(settle_s)  # the fetch loop sees the stop at its next record
        await consumer.wait_for_stopped_flow()
        await consumer.seek(tp, offset)
    finally:
        if not app.rebalancing:
            consumer.resume_flow()


class StartOffsets:
    """Where each partition's processing starts in a generation: the group's committed offset,
    raised to the log's first offset (none committed, or deleted by retention since).

    The committed offsets are read by an aiokafka consumer of the worker's own that names the
    group but never joins it (it subscribes to nothing); each lookup is bounded, and a lookup
    that fails is asked again by the caller."""

    def __init__(self, app: Any, settings: Settings, timeout_s: float = 15.0) -> None:
        self._app = app
        self._settings = settings
        self._timeout_s = timeout_s
        self._reader: AIOKafkaConsumer | None = None

    async def __call__(self, partitions: Collection[Partition]) -> dict[Partition, int]:
        async with asyncio.timeout(self._timeout_s):
            reader = await self._started()
            wanted = [KafkaPartition(topic, partition) for topic, partition in partitions]
            committed = await asyncio.gather(*(reader.committed(tp) for tp in wanted))
            first = await self._app.consumer.earliest_offsets(
                *(TP(tp.topic, tp.partition) for tp in wanted)
            )
        return {
            (tp.topic, tp.partition): max(offset or 0, first.get(TP(tp.topic, tp.partition)) or 0)
            for tp, offset in zip(wanted, committed, strict=True)
        }

    async def _started(self) -> AIOKafkaConsumer:
        if self._reader is None:
            reader = AIOKafkaConsumer(
                group_id=self._settings.worker.app_id,
                enable_auto_commit=False,
                client_id="sovwatch-worker-offsets",
                **aiokafka_credentials(self._settings.kafka),
            )
            await reader.start()
            self._reader = reader
        return self._reader

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
