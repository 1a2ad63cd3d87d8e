"""Canary for the one private Faust member sovwatch uses (`streams.worker.offsets`): a real
Faust consumer in a real group commits exactly the offsets the checkpoint gives it, refuses a
commit naming a partition it does not hold (and one after the group removed it), and the start
offsets are read back from Kafka. If a Faust or aiokafka
upgrade changes `Consumer._commit`, this fails before any checkpoint silently stops committing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import faust
import pytest
from kafka import TopicPartition
from kafka.admin import MemberToRemove, NewTopic

from schemas.settings import Settings
from streams.admin.connect import kafka_admin
from streams.admin.produce import kafka_producer
from streams.admin.topics import wait_until_led
from streams.stack import Stack
from streams.worker.offsets import StartOffsets, commit_offsets, seek_held


@pytest.fixture
async def running_app(
    stack: Stack, settings: Settings, unique: str
) -> AsyncIterator[tuple[Any, str, Settings]]:
    topic = f"canary-{unique}"
    admin = kafka_admin(settings.kafka)
    admin.create_topics([NewTopic(topic, 2, 1)])
    wait_until_led(admin, {topic: 2}, timeout_s=60)  # a group that joins before sees nothing
    chosen = settings.model_copy(deep=True)
    chosen.worker.app_id = f"canary-{unique}"
    app = faust.App(
        chosen.worker.app_id,
        broker=f"kafka://{chosen.kafka.bootstrap_servers}",
        store="memory://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        autodiscover=False,
    )

    seen: list[int] = []  # offsets of partition 0 handed to the agent, in order
    app.seen_offsets = seen

    @app.agent(app.topic(topic, acks=False, value_type=bytes, value_serializer="raw"))  # type: ignore[untyped-decorator]
    async def reader(stream: Any) -> None:
        async for event in stream.events():
            if event.message.partition == 0:
                seen.append(event.message.offset)

    await app.start()
    try:
        for _ in range(600):  # the group's first assignment (bounded: 60 s)
            if {tp.partition for tp in app.consumer.assignment() if tp.topic == topic} == {0, 1}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the canary app was never assigned {topic}: {app.consumer}")
        yield app, topic, chosen
    finally:
        await app.stop()
        admin.delete_topics([topic])
        admin.close()


def group_offsets(settings: Settings, topic: str) -> dict[int, int]:
    admin = kafka_admin(settings.kafka)
    try:
        group = settings.worker.app_id
        found = admin.list_group_offsets({group: [TopicPartition(topic, p) for p in (0, 1)]})[group]
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in found.items() if meta.offset >= 0}


async def test_the_commit_call_commits_exactly_the_given_offsets_of_owned_partitions(
    running_app: tuple[Any, str, Settings],
) -> None:
    app, topic, settings = running_app
    assert await commit_offsets(app, {(topic, 0): 3, (topic, 1): 0})
    assert group_offsets(settings, topic) == {0: 3, 1: 0}
    assert await commit_offsets(app, {(topic, 0): 5})
    assert group_offsets(settings, topic) == {0: 5, 1: 0}
    starts = StartOffsets(app, settings)
    try:
        assert await starts([(topic, 0), (topic, 1)]) == {(topic, 0): 5, (topic, 1): 0}
    finally:
        await starts.close()


async def test_a_commit_of_a_partition_the_consumer_does_not_hold_is_refused_whole(
    running_app: tuple[Any, str, Settings],
) -> None:
    """Faust's commit drops what the consumer is not assigned and commits the rest: a member
    the broker forgot (its assignment dropped) would "commit" nothing and succeed. The fence
    must fail instead, and commit none of the offsets."""
    app, topic, settings = running_app
    assert await commit_offsets(app, {(topic, 0): 2})
    assert not await commit_offsets(app, {(topic, 0): 6, (f"{topic}-not-ours", 0): 9})
    assert group_offsets(settings, topic).get(0) == 2


async def test_the_commit_call_is_refused_once_the_group_moved_on_without_the_worker(
    running_app: tuple[Any, str, Settings],
) -> None:
    """A zombie: the group removed the member (as after a session timeout); its next commit,
    before it rejoins, must be refused, not committed under its old generation."""
    app, topic, settings = running_app
    admin = kafka_admin(settings.kafka)
    outcomes: list[bool] = []
    try:
        for _ in range(5):  # the member may rejoin before the commit: then try again
            group = admin.describe_groups([settings.worker.app_id])[settings.worker.app_id]
            members = [MemberToRemove(member_id=m["member_id"]) for m in group["members"]]
            assert members, f"the canary app is not a member of its group: {group}"
            admin.remove_group_members(settings.worker.app_id, members)
            outcomes.append(await commit_offsets(app, {(topic, 0): 7}))
            if not outcomes[-1]:
                break
            await assigned_again(app, topic)
    finally:
        admin.close()
    assert False in outcomes, f"every commit after a removal was accepted: {outcomes}"
    if outcomes == [False]:
        assert group_offsets(settings, topic).get(0) != 7


async def assigned_again(app: Any, topic: str) -> None:
    for _ in range(600):
        if any(tp.topic == topic for tp in app.consumer.assignment()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the canary app never got {topic} back")


async def test_a_held_seek_hands_the_records_over_again_from_that_offset(
    running_app: tuple[Any, str, Settings],
) -> None:
    """`seek_held`, the checkpoint's seek back after a jump: the records from the offset come
    again, in order, even while the agent is being handed records."""
    app, topic, settings = running_app
    seen: list[int] = app.seen_offsets
    producer = kafka_producer(settings.kafka)
    try:
        for n in range(200):
            producer.send(topic, value=b"x%d" % n, partition=0)
        producer.flush(timeout=30)
    finally:
        producer.close()
    await until(lambda: 199 in seen, "the first read of offsets 0..199")
    await seek_held(app, (topic, 0), 10)
    await until(lambda: seen.count(199) == 2, "offsets 10..199 handed over again")
    again = seen[seen.index(199) + 1 :]
    assert again == list(range(10, 200)), f"after the seek: {again[:20]}..."


async def until(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")
