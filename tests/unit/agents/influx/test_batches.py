"""PointSink: events are acked only after InfluxDB acknowledged their points."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from agents.influx.batches import Destination, LineWriter, PointSink
from agents.influx.writer import WriteAbandonedError
from schemas.settings import InfluxTarget, WorkerSettings
from tests.unit.agents.fakes import RecordingWriter

DEFAULT = Destination(InfluxTarget(), "telemetry")
GERMANY = Destination(InfluxTarget(url="http://de.invalid:8086", org="de"), "telemetry")


def make_sink(
    writer: LineWriter, max_points: int = 3, max_held: int = 4
) -> tuple[PointSink[str], list[str], list[tuple[str | None, str]]]:
    acked: list[str] = []
    rejected: list[tuple[str | None, str]] = []

    async def ack(event: str) -> None:
        acked.append(event)

    async def reject(event: str | None, reason: str) -> None:
        rejected.append((event, reason))

    worker = WorkerSettings(
        batch_max_points=max_points, batch_max_age_s=60, max_held_batches=max_held
    )
    return PointSink(writer, worker, ack, reject), acked, rejected


async def test_a_full_batch_is_written_then_its_events_acked() -> None:
    writer = RecordingWriter()
    sink, acked, _ = make_sink(writer)
    await sink.add("e1", [(DEFAULT, "m v=1 1")])
    await sink.add("e2", [(DEFAULT, "m v=2 2")])
    assert acked == [] and writer.writes == []
    await sink.add("e3", [(DEFAULT, "m v=3 3")])  # full: its write starts in the background
    await sink.flush()
    assert writer.writes == [
        ("http://127.0.0.1:8086", "telemetry", ["m v=1 1", "m v=2 2", "m v=3 3"])
    ]
    assert acked == ["e1", "e2", "e3"]
    assert sink.pending_points == 0


async def test_points_go_to_their_jurisdiction_in_separate_writes() -> None:
    writer = RecordingWriter()
    sink, acked, _ = make_sink(writer, max_points=10)
    await sink.add("de", [(GERMANY, "m v=1 1")])
    await sink.add("fr", [(DEFAULT, "m v=2 2")])
    await sink.flush()
    assert sorted(writer.writes) == [
        ("http://127.0.0.1:8086", "telemetry", ["m v=2 2"]),
        ("http://de.invalid:8086", "telemetry", ["m v=1 1"]),
    ]
    assert sorted(acked) == ["de", "fr"]


async def test_nothing_is_acked_while_influxdb_does_not_acknowledge() -> None:
    writer = RecordingWriter()
    writer.gate.clear()  # InfluxDB "down": the write does not return
    sink, acked, _ = make_sink(writer, max_points=2, max_held=1)
    await sink.add("e1", [(DEFAULT, "m v=1 1")])
    flushing = asyncio.create_task(sink.add("e2", [(DEFAULT, "m v=2 2")]))
    await asyncio.sleep(0.05)
    assert acked == []
    # The next batch fills up while the first still waits: adding blocks (backpressure).
    await sink.add("e3", [(DEFAULT, "m v=3 3")])
    blocked = asyncio.create_task(sink.add("e4", [(DEFAULT, "m v=4 4")]))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    writer.gate.set()  # InfluxDB is back
    await asyncio.wait_for(asyncio.gather(flushing, blocked), 1)
    await sink.flush()
    assert acked == ["e1", "e2", "e3", "e4"]
    assert [line for *_, lines in writer.writes for line in lines] == [
        "m v=1 1",
        "m v=2 2",
        "m v=3 3",
        "m v=4 4",
    ]


async def test_a_rejected_batch_is_retried_line_by_line_and_only_the_culprit_rejected() -> None:
    writer = RecordingWriter()
    writer.rejected_lines = {'m v="text" 2'}
    sink, acked, rejected = make_sink(writer)
    await sink.add("good1", [(DEFAULT, "m v=1 1")])
    await sink.add("bad", [(DEFAULT, 'm v="text" 2')])
    await sink.add("good2", [(DEFAULT, "m v=3 3")])
    await sink.flush()
    assert [lines for *_, lines in writer.writes] == [["m v=1 1"], ["m v=3 3"]]
    assert [event for event, _ in rejected] == ["bad"]
    assert "field type conflict" in rejected[0][1]
    assert acked == ["good1", "bad", "good2"]  # the bad one is in the DLQ, so it is done too


async def test_flush_if_due_flushes_only_an_old_enough_partial_batch() -> None:
    writer = RecordingWriter()
    acked: list[str] = []

    async def ack(event: str) -> None:
        acked.append(event)

    async def reject(event: str | None, reason: str) -> None:
        raise AssertionError("nothing is rejected here")

    sink = PointSink(
        writer, WorkerSettings(batch_max_points=100, batch_max_age_s=0.05), ack, reject
    )
    await sink.add("e1", [(DEFAULT, "m v=1 1")])
    await sink.flush_if_due()
    assert acked == []
    await asyncio.sleep(0.06)
    await sink.flush_if_due()  # starts the write in the background: the caller goes on
    await sink.flush()
    assert acked == ["e1"]


async def test_an_event_without_points_is_still_acked_with_its_batch() -> None:
    writer = RecordingWriter()
    sink, acked, _ = make_sink(writer)
    await sink.add("empty", [])
    await sink.flush()
    assert acked == ["empty"]
    assert writer.writes == []


async def test_events_wait_for_their_other_acknowledgements_before_the_ack() -> None:
    writer = RecordingWriter()
    sink, acked, _ = make_sink(writer, max_points=10)
    delivered = asyncio.Event()

    async def delivery() -> None:
        await delivered.wait()

    await sink.add("e1", [(DEFAULT, "m v=1 1")], [delivery()])
    flushing = asyncio.create_task(sink.flush())
    await asyncio.sleep(0.05)
    assert writer.writes and acked == []  # written, but the alert is not on Kafka yet
    delivered.set()
    await asyncio.wait_for(flushing, 1)
    assert acked == ["e1"]


async def test_progress_tells_buffered_events_from_a_write_in_flight() -> None:
    writer = RecordingWriter()
    writer.gate.clear()  # InfluxDB does not answer
    sink, acked, _ = make_sink(writer, max_points=2)
    await sink.add("e1", [(DEFAULT, "m v=1 1")])
    buffered = sink.progress()
    assert (buffered["buffered_events"], buffered["buffered_points"]) == (1, 1)
    assert buffered["writing"] is False
    await sink.add("e2", [(DEFAULT, "m v=2 2")])  # full: handed to a write that hangs
    await asyncio.sleep(0)
    writing = sink.progress()
    assert (writing["buffered_events"], writing["writing"]) == (0, True)
    writer.gate.set()
    await sink.flush()
    assert sink.progress()["writing"] is False and acked == ["e1", "e2"]


class CountryWriter(RecordingWriter):
    """InfluxDB servers of several countries: a server whose url is in `down` does not answer
    (`abandon`: the writer gives up on it, as at shutdown)."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()
        self.back = asyncio.Event()
        self.abandon = False

    async def write(self, target: InfluxTarget, bucket: str, lines: Sequence[str]) -> None:
        while target.url in self.down:
            if self.abandon:
                raise WriteAbandonedError(f"gave up on {target.url}")
            self.back.clear()
            await self.back.wait()
        await super().write(target, bucket, lines)

    def restore(self, url: str) -> None:
        self.down.discard(url)
        self.back.set()


async def test_one_countrys_outage_holds_back_acks_but_not_other_countries_writes() -> None:
    writer = CountryWriter()
    writer.down.add(GERMANY.target.url)
    sink, acked, _ = make_sink(writer, max_points=2, max_held=3)
    for n in range(3):  # three batches, each with a German and a French point
        await sink.add(f"de{n}", [(GERMANY, f"m v={n} {n}")])
        # Never waits: Germany's outage must not stop France's batches from being handed over.
        await asyncio.wait_for(sink.add(f"fr{n}", [(DEFAULT, f"m v={n} {n}")]), 1)
    await asyncio.sleep(0.05)
    assert writer.lines() == ["m v=0 0", "m v=1 1", "m v=2 2"]  # France stored meanwhile
    assert acked == []  # acks wait for Germany: its offsets come first in their partitions
    await sink.add("fr3", [(DEFAULT, "m v=3 3")])  # buffered: three batches are held
    assert sink.progress()["held_batches"] == 3
    writer.restore(GERMANY.target.url)
    await sink.flush()
    assert acked == ["de0", "fr0", "de1", "fr1", "de2", "fr2", "fr3"]  # in arrival order
    german = [lines for url, _, lines in writer.writes if url == GERMANY.target.url]
    assert german == [["m v=0 0"], ["m v=1 1"], ["m v=2 2"]]  # in order, each once


async def test_adding_waits_once_max_held_batches_are_held() -> None:
    writer = CountryWriter()
    writer.down.add(GERMANY.target.url)
    sink, acked, _ = make_sink(writer, max_points=1, max_held=2)
    await sink.add("de0", [(GERMANY, "m v=0 0")])
    await sink.add("fr1", [(DEFAULT, "m v=1 1")])
    blocked = asyncio.create_task(sink.add("fr2", [(DEFAULT, "m v=2 2")]))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # two batches held: the agent stops pulling from Kafka
    writer.restore(GERMANY.target.url)
    await asyncio.wait_for(blocked, 1)
    await sink.flush()
    assert acked == ["de0", "fr1", "fr2"]


async def test_an_abandoned_write_fails_the_flush_and_hands_over_nothing() -> None:
    writer = CountryWriter()
    writer.down.add(GERMANY.target.url)
    sink, acked, _ = make_sink(writer, max_points=2, max_held=4)
    await sink.add("fr0", [(DEFAULT, "m v=0 0")])
    await sink.add("de1", [(GERMANY, "m v=1 1")])  # batch 1: France and Germany
    await sink.add("fr2", [(DEFAULT, "m v=2 2")])
    await sink.add("fr3", [(DEFAULT, "m v=3 3")])  # batch 2: France only
    writer.abandon = True
    writer.restore("nowhere")  # wake the waiting German write: it gives up
    with pytest.raises(WriteAbandonedError):
        await sink.flush()  # the checkpoint commits nothing: the next owner replays all four
    assert sink.abandoned and acked == []
