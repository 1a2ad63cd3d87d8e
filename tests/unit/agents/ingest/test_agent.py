"""The ingest stage, in process: batches, dead letters inside batches, alerts at once, acks in
offset order only after every effect of the batch is acknowledged."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from agents.compliance.alerts import AlertFanout, kafka_publisher
from agents.compliance.rule_state import TableState
from agents.compliance.stage import Compliance, EventClock
from agents.dead_letters import DeadLetterMaker, dead_letter_sender
from agents.dlq_crypto import DlqCipher
from agents.influx.batches import PointSink
from agents.influx.residency import Residency
from agents.ingest.agent import IngestStage, Item, make_sink
from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.rules.fixtures import build_event
from schemas.settings import Settings
from tests.unit.agents.fakes import (
    FaustEvent,
    RecordingTable,
    RecordingTopic,
    RecordingWriter,
    events,
)
from tests.unit.agents.rules.helpers import engine

TOPIC = "telemetry.gpu"
HOT = """
- id: t.hot
  title: hot GPU
  desc: test
  applies_to: gpu
  condition: gpu_temp_c > 90
  output: "GPU at {gpu_temp_c} C"
  severity: high
  team: ops
  group_by: [site_id]
"""


def sample(name: str, **fields: object) -> bytes:
    spec = {"family": "gpu", "gpu_util_pct": 50.0, **fields}
    return build_event(spec, name).model_dump_json().encode()


class Pipeline:
    """One ingest stage over fakes; `acked` lists (topic, partition, offset) in ack order."""

    def __init__(self, rules: str = "[]", batch_max_points: int = 5000) -> None:
        self.settings = Settings.model_validate(
            {"worker": {"batch_max_points": batch_max_points, "batch_max_age_s": 60}}
        )
        self.writer = RecordingWriter()
        self.dlq = RecordingTopic()
        self.alerts = RecordingTopic()
        self.acked: list[tuple[str, int, int]] = []
        self.stopping = False
        pseudonymiser = Pseudonymiser(b"unit-test-key-0123456789")
        make = DeadLetterMaker(self.settings.topics, DlqCipher([bytes(32)]), pseudonymiser)
        send = dead_letter_sender(self.dlq, make)

        async def ack(event: FaustEvent) -> None:
            message = event.message
            self.acked.append((message.topic, message.partition, message.offset))

        self.sink: PointSink[Item] = make_sink(
            self.writer, self.settings, ack, send, lambda: self.stopping
        )
        rule_engine = engine(rules)
        state = TableState(RecordingTable())
        rule_engine.state = state
        alert_sink = AlertFanout(
            Residency.from_settings(self.settings),
            self.writer,
            kafka_publisher({"ops": self.alerts, "security": self.alerts}),
        )
        compliance = Compliance(rule_engine, state, EventClock(300), alert_sink)
        ingest = Ingest(self.settings, pseudonymiser)
        self.stage = IngestStage(ingest, compliance, self.sink, send)


async def test_a_dead_letter_between_unwritten_records_waits_for_them() -> None:
    pipeline = Pipeline()
    pipeline.writer.gate.clear()  # InfluxDB does not answer
    batch = events(TOPIC, [sample("g0"), b"{not json", sample("g2")])
    await pipeline.stage.handle(batch)
    flushing = asyncio.ensure_future(pipeline.sink.flush())
    await asyncio.sleep(0.05)
    assert len(pipeline.dlq.sent) == 1  # the dead letter is on its way at once...
    assert pipeline.acked == []  # ...but offset 1 is not acked ahead of the unwritten 0 and 2
    flushing.cancel()  # the worker crashes: nothing of the batch may be committed
    await asyncio.gather(flushing, return_exceptions=True)
    assert pipeline.acked == []


async def test_acks_come_after_the_write_in_offset_order() -> None:
    pipeline = Pipeline()
    await pipeline.stage.handle(events(TOPIC, [sample("g0"), b"{not json", sample("g2")]))
    await pipeline.stage.handle(events(TOPIC, [sample("g3"), sample("g4")], start=3))
    await pipeline.sink.flush()
    assert len(pipeline.writer.lines()) == 4
    assert pipeline.acked == [(TOPIC, 0, offset) for offset in range(5)]


async def test_a_dead_letter_is_acked_only_once_the_broker_has_it() -> None:
    pipeline = Pipeline()
    pipeline.dlq.delivered.clear()  # the broker has not acknowledged the dead letter yet
    await pipeline.stage.handle(events(TOPIC, [sample("g0"), b"{not json"]))
    flushing = asyncio.ensure_future(pipeline.sink.flush())
    await asyncio.sleep(0.05)
    assert pipeline.writer.writes and pipeline.acked == []
    pipeline.dlq.delivered.set()
    await asyncio.wait_for(flushing, 1)
    assert pipeline.acked == [(TOPIC, 0, 0), (TOPIC, 0, 1)]


async def test_an_event_dated_beyond_the_allowed_skew_is_dead_lettered_with_the_reason() -> None:
    pipeline = Pipeline()
    soon = datetime.now(UTC) + timedelta(minutes=4)
    far = datetime.now(UTC) + timedelta(days=3650)
    batch = events(TOPIC, [sample("soon", ts=soon.isoformat()), sample("far", ts=far.isoformat())])
    await pipeline.stage.handle(batch)
    await pipeline.sink.flush()
    [(_, value)] = pipeline.dlq.sent
    letter = json.loads(value)
    assert letter["offset"] == 1
    assert "ahead of the worker's clock" in letter["reason"]
    assert letter["errors"][0]["field"] == "ts"
    assert len(pipeline.writer.lines()) == 1  # the one 4 minutes ahead is within the skew
    assert [offset for *_, offset in pipeline.acked] == [0, 1]


async def test_alerts_are_published_before_the_batch_is_written() -> None:
    pipeline = Pipeline(HOT)
    pipeline.writer.gate.clear()
    await pipeline.stage.handle(events(TOPIC, [sample("g0", gpu_temp_c=95.0)]))
    assert len(pipeline.alerts.sent) == 1  # on Kafka while InfluxDB has nothing yet
    assert pipeline.writer.writes == [] and pipeline.acked == []
    pipeline.writer.gate.set()
    await pipeline.sink.flush()
    assert any(line.startswith("alert") for line in pipeline.writer.lines())
    assert pipeline.acked == [(TOPIC, 0, 0)]


async def test_a_stopping_worker_flushes_a_partial_batch_without_waiting_for_its_age() -> None:
    pipeline = Pipeline()
    await pipeline.stage.handle(events(TOPIC, [sample("g0")]))
    await pipeline.sink.flush_if_due()
    await asyncio.sleep(0)
    assert pipeline.acked == []  # 60 s max age: not due
    pipeline.stopping = True
    await pipeline.sink.flush_if_due()
    await pipeline.sink.flush()
    assert pipeline.acked == [(TOPIC, 0, 0)]
