"""The worker's Kafka consumer never commits past offsets it jumped over (Faust's own takes
such a jump for a gap of the log and counts the skipped events as acked)."""

from __future__ import annotations

from typing import Any

from faust.types import TP

from schemas.settings import Settings
from streams.worker.app import create_app
from streams.worker.gapless_consumer import GaplessConsumer

TOPIC = TP("sovwatch.telemetry.gpu", 2)


def consumer(app_id: str) -> Any:
    app = create_app(Settings.model_validate({"worker": {"app_id": app_id}}))
    return app.consumer


def acked(reading: Any, *offsets: int) -> None:
    """What Faust's `Consumer.ack` records for each offset of TOPIC."""
    reading._acked[TOPIC].extend(offsets)
    reading._acked_index[TOPIC].update(offsets)


def recording_seeks(reading: Any) -> list[tuple[TP, int]]:
    """The consumer's seeks, recorded instead of sent to a broker."""
    sought: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        sought.append((tp, offset))

    reading.seek = seek
    return sought


async def test_the_app_reads_with_the_gapless_consumer() -> None:
    assert isinstance(consumer("gapless-type"), GaplessConsumer)


async def test_a_read_jump_is_not_committed_past_and_is_sought_back() -> None:
    reading = consumer("gapless-jump")
    reading.assignment = lambda: {TOPIC}
    reading._committed_offset[TOPIC] = 10  # processed up to 9
    reading._read_offset[TOPIC] = 10
    # Faust's fetch loop: the next message read is offset 20, so 11..19 were never handed over.
    await reading._add_gap(TOPIC, 11, 20)
    acked(reading, 20, 21)
    assert reading._new_offset(TOPIC) is None  # Faust's own consumer commits 22 here
    sought = recording_seeks(reading)
    await reading.seek_holes()
    assert sought == [(TOPIC, 10)]
    await reading.seek_holes()
    assert sought == [(TOPIC, 10)]  # once


async def test_an_unacked_offset_at_the_head_is_not_committed_past_and_is_read_again() -> None:
    reading = consumer("gapless-head")
    reading.assignment = lambda: {TOPIC}
    reading._committed_offset[TOPIC] = 6520  # Kafka's committed offset: the next one to read
    # 6520 never reached an agent (its delivery raced a flow suspension); 6521.. were acked.
    acked(reading, 6521, 6522)
    assert reading._new_offset(TOPIC) is None  # Faust's own consumer commits 6523 here
    sought = recording_seeks(reading)
    await reading.seek_holes()
    assert sought == [(TOPIC, 6520)]
    assert reading._new_offset(TOPIC) is None  # the read again is under way: not asked twice
    await reading.seek_holes()
    assert sought == [(TOPIC, 6520)]
    acked(reading, 6520)
    assert reading._new_offset(TOPIC) == 6523  # read again and acked: the run commits


async def test_a_committed_offset_deleted_by_retention_is_not_waited_for() -> None:
    reading = consumer("gapless-retention")

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, 500)  # 100..499 deleted while the group was away

    async def committed_100() -> dict[TP, int]:
        return {TOPIC: 100}

    recording_seeks(reading)
    reading.assignment = lambda: {TOPIC}
    reading.seek_to_committed = committed_100
    reading.earliest_offsets = earliest_offsets
    await reading.perform_seek()
    acked(reading, 500, 501)
    assert reading._new_offset(TOPIC) == 502


async def test_a_partition_being_revoked_is_left_to_faust() -> None:
    reading = consumer("gapless-revoked")
    reading.assignment = set  # revoking: nothing is assigned any more
    reading._committed_offset[TOPIC] = 6520
    acked(reading, 6521, 6522)
    sought = recording_seeks(reading)
    assert reading._new_offset(TOPIC) == 6523  # Faust's answer; the commit is discarded
    await reading.seek_holes()
    assert sought == []


async def test_a_head_missing_after_a_read_jump_is_asked_for_once() -> None:
    reading = consumer("gapless-jump-head")
    reading.assignment = lambda: {TOPIC}
    reading._committed_offset[TOPIC] = 28480
    reading._read_offset[TOPIC] = 27613  # a stale read position, below the commit
    await reading._add_gap(TOPIC, 27613, 28479)  # sought back to 27612
    acked(reading, 28481)  # 28480 never handed over
    sought = recording_seeks(reading)
    for _ in range(3):  # commits while the reading again is under way
        assert reading._new_offset(TOPIC) is None
        await reading.seek_holes()
    assert sought == [(TOPIC, 27612)]  # once, from the lower of the two
