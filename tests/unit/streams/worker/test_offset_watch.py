from __future__ import annotations

import logging

import pytest

from agents import metrics
from streams.worker.offset_watch import OffsetWatch


def skipped(topic: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value(
            "sovwatch_offsets_skipped_total", {"topic": topic, "agent": "ingest"}
        )
        or 0
    )


def test_offsets_acked_in_a_row_are_not_a_skip(caplog: pytest.LogCaptureFixture) -> None:
    watch = OffsetWatch("ingest")
    before = skipped("w-row")
    for offset in range(10, 20):
        watch.acked("w-row", 0, offset)
    assert skipped("w-row") == before
    assert not caplog.records
    assert watch.next_offsets[("w-row", 0)] == 20


def test_an_offset_past_the_next_expected_is_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = OffsetWatch("ingest")
    before = skipped("w-skip")
    watch.acked("w-skip", 3, 100)
    with caplog.at_level(logging.WARNING):
        watch.acked("w-skip", 3, 108)
    assert skipped("w-skip") == before + 7
    assert (
        "w-skip[3]: offsets 101..107 were never handed to this worker's ingest agent" in caplog.text
    )
    watch.acked("w-skip", 4, 500)  # another partition: nothing expected of it yet
    assert skipped("w-skip") == before + 7


def test_after_a_rebalance_nothing_is_expected() -> None:
    watch = OffsetWatch("ingest")
    before = skipped("w-moved")
    watch.acked("w-moved", 0, 5)
    watch.reassigned()  # the partition was someone else's meanwhile
    watch.acked("w-moved", 0, 900)
    watch.acked("w-moved", 0, 901)
    assert skipped("w-moved") == before
