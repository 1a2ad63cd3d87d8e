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


async def test_the_app_reads_with_the_gapless_consumer() -> None:
    assert isinstance(consumer("gapless-type"), GaplessConsumer)


async def test_a_read_jump_is_not_committed_past_and_is_sought_back() -> None:
    reading = consumer("gapless-jump")
    reading._committed_offset[TOPIC] = 10  # processed up to 9
    reading._read_offset[TOPIC] = 10
    # Faust's fetch loop: the next message read is offset 20, so 11..19 were never handed over.
    await reading._add_gap(TOPIC, 11, 20)
    reading._acked[TOPIC].extend([20, 21])
    reading._acked_index[TOPIC].update([20, 21])
    assert reading._new_offset(TOPIC) is None  # Faust's own consumer commits 22 here
    sought: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        sought.append((tp, offset))

    reading.seek = seek
    await reading.seek_holes()
    assert sought == [(TOPIC, 10)]
    await reading.seek_holes()
    assert sought == [(TOPIC, 10)]  # once
