"""The ingest stage, in process: batches, dead letters inside batches, alerts at once, audit
events chained and stored by the same stage; the sink's flush (the checkpoint's first step)
returns only once every effect of the batch is acknowledged."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.audit.chain import AuditChain
from agents.audit.stage import AuditStage
from agents.compliance.alerts import AlertFanout, kafka_publisher
from agents.compliance.rule_state import TableState
from agents.compliance.stage import Compliance, EventClock
from agents.dead_letters import DeadLetterMaker, dead_letter_sender
from agents.dlq_crypto import DlqCipher
from agents.influx.batches import PointSink
from agents.influx.residency import Residency
from agents.ingest.agent import IngestStage
from agents.ingest.steps import Ingest
from agents.pending_changes import MemoryTable
from agents.privacy import Pseudonymiser
from agents.rules.fixtures import build_event
from schemas.settings import Settings
from tests.unit.agents.audit.fixtures import audit_event
from tests.unit.agents.fakes import FaustEvent, Message, RecordingTopic, RecordingWriter, events
from tests.unit.agents.otlp.requests import TARGET, gauge, page, proto, request_of, with_metric
from tests.unit.agents.rules.helpers import engine

TOPIC = "telemetry.gpu"
OTLP = "telemetry.otlp"
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
    """One ingest stage over fakes; `written` lists (topic, partition, offset) once stored."""

    def __init__(self, rules: str = "[]", batch_max_points: int = 5000) -> None:
        self.settings = Settings.model_validate(
            {"worker": {"batch_max_points": batch_max_points, "batch_max_age_s": 60}}
        )
        self.writer = RecordingWriter()
        self.dlq = RecordingTopic()
        self.alerts = RecordingTopic()
        self.written: list[tuple[str, int, int]] = []
        self.stopping = False
        pseudonymiser = Pseudonymiser(b"unit-test-key-0123456789")
        make = DeadLetterMaker(self.settings.topics, DlqCipher([bytes(32)]), pseudonymiser)
        send = dead_letter_sender(self.dlq, make)

        async def written(event: FaustEvent) -> None:
            message = event.message
            self.written.append((message.topic, message.partition, message.offset))

        async def reject(event: Any, reason: str) -> None:
            raise AssertionError(f"InfluxDB refused {event}: {reason}")

        self.sink: PointSink[Any] = PointSink(
            self.writer, self.settings.worker, written, reject, lambda: self.stopping
        )
        rule_engine = engine(rules)
        state = TableState(MemoryTable())
        rule_engine.state = state
        residency = Residency.from_settings(self.settings)
        alert_sink = AlertFanout(
            residency, kafka_publisher({"ops": self.alerts, "security": self.alerts})
        )
        compliance = Compliance(
            rule_engine,
            state,
            alert_sink,
            new_clock=lambda: EventClock(300),
            tick_interval_s=5,
            timer_sink=self.sink,
        )
        self.chain = AuditChain(MemoryTable())
        unused: Any = None  # signing is not exercised here
        audit = AuditStage(self.settings, residency, self.chain, None, RecordingTopic(), unused)
        ingest = Ingest(self.settings, pseudonymiser)
        self.stage = IngestStage(ingest, compliance, audit, self.sink, send)

    def reasons(self) -> list[str]:
        return [json.loads(value)["reason"] for _, value in self.dlq.sent]


async def until(condition: Any, what: str) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never happened: {what}")


async def test_the_flush_waits_for_the_unwritten_records_around_a_dead_letter() -> None:
    pipeline = Pipeline()
    pipeline.writer.gate.clear()  # InfluxDB does not answer
    batch = events(TOPIC, [sample("g0"), b"{not json", sample("g2")])
    await pipeline.stage.handle(batch)
    flushing = asyncio.ensure_future(pipeline.sink.flush())
    await until(lambda: len(pipeline.dlq.sent) == 1, "the dead letter sent at once")
    assert not flushing.done() and pipeline.written == []
    pipeline.writer.gate.set()
    await asyncio.wait_for(flushing, 5)
    assert pipeline.written == [(TOPIC, 0, 0), (TOPIC, 0, 2)]


async def test_records_are_written_in_offset_order() -> None:
    pipeline = Pipeline()
    await pipeline.stage.handle(events(TOPIC, [sample("g0"), b"{not json", sample("g2")]))
    await pipeline.stage.handle(events(TOPIC, [sample("g3"), sample("g4")], start=3))
    await pipeline.sink.flush()
    assert len(pipeline.writer.lines()) == 4
    assert pipeline.written == [(TOPIC, 0, offset) for offset in (0, 2, 3, 4)]


async def test_the_flush_returns_only_once_the_broker_has_the_dead_letter() -> None:
    pipeline = Pipeline()
    pipeline.dlq.delivered.clear()  # the broker has not acknowledged the dead letter yet
    await pipeline.stage.handle(events(TOPIC, [sample("g0"), b"{not json"]))
    flushing = asyncio.ensure_future(pipeline.sink.flush())
    await until(lambda: bool(pipeline.writer.writes), "the point written")
    assert not flushing.done()
    pipeline.dlq.delivered.set()
    await asyncio.wait_for(flushing, 5)


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


async def test_alerts_are_published_before_the_batch_is_written() -> None:
    pipeline = Pipeline(HOT)
    pipeline.writer.gate.clear()
    await pipeline.stage.handle(events(TOPIC, [sample("g0", gpu_temp_c=95.0)]))
    assert len(pipeline.alerts.sent) == 1  # on Kafka while InfluxDB has nothing yet
    assert pipeline.writer.writes == []
    pipeline.writer.gate.set()
    await pipeline.sink.flush()
    assert any(line.startswith("alert") for line in pipeline.writer.lines())


async def test_a_stopping_worker_flushes_a_partial_batch_without_waiting_for_its_age() -> None:
    pipeline = Pipeline()
    await pipeline.stage.handle(events(TOPIC, [sample("g0")]))
    await pipeline.sink.flush_if_due()
    assert pipeline.sink.pending_points == 1  # 60 s max age: not due
    pipeline.stopping = True
    await pipeline.sink.flush_if_due()
    assert pipeline.sink.pending_points == 0


def audit_records(values: list[bytes], keys: list[bytes | None]) -> list[FaustEvent]:
    return [
        FaustEvent(Message("audit.sovereignty", 0, offset, value, key))
        for offset, (value, key) in enumerate(zip(values, keys, strict=True))
    ]


async def test_audit_events_are_chained_and_stored_by_the_same_stage() -> None:
    pipeline = Pipeline()
    values = [audit_event(i).model_dump_json().encode() for i in range(3)]
    await pipeline.stage.handle(audit_records(values, [b"fra-1"] * 3))
    await pipeline.sink.flush()
    assert [line.split(",")[0] for line in pipeline.writer.lines()] == ["audit"] * 3
    assert pipeline.chain.head("fra-1").seq == 3


async def test_an_audit_record_keyed_by_another_site_is_dead_lettered() -> None:
    pipeline = Pipeline()
    values = [audit_event(i).model_dump_json().encode() for i in range(2)]
    await pipeline.stage.handle(audit_records(values, [b"fra-1", b"par-1"]))
    await pipeline.sink.flush()
    assert pipeline.reasons() == [
        "an audit record must be keyed by its site_id 'fra-1', its key is 'par-1'"
    ]
    assert pipeline.chain.head("fra-1").seq == 1


async def test_an_audit_event_at_the_skew_bound_is_either_stored_or_dead_lettered() -> None:
    """Defect 8 (a88ba1b): the ingest and audit agents checked the future-skew bound against
    two clocks, so an event near the bound could be validated by one and skipped by the other:
    neither stored nor dead-lettered. One stage decodes it once now."""
    pipeline = Pipeline()
    edge = datetime.now(UTC) + timedelta(seconds=300)
    values = [audit_event(i, ts=edge).model_dump_json().encode() for i in range(20)]
    await pipeline.stage.handle(audit_records(values, [b"fra-1"] * 20))
    await pipeline.sink.flush()
    assert len(pipeline.writer.lines()) + len(pipeline.dlq.sent) == 20


async def test_an_otlp_record_is_stored_as_its_many_samples_and_garbage_is_dead_lettered() -> None:
    pipeline = Pipeline(HOT)
    request = request_of(page("dcgm_h100_node.prom"))
    node = {"Hostname": "n"} | TARGET
    with_metric(request, gauge("DCGM_FI_DEV_GPU_TEMP", 95.0, {"gpu": "8", "UUID": "GPU-8"} | node))
    with_metric(request, gauge("DCGM_FI_DEV_GPU_UTIL", 250.0, {"gpu": "9", "UUID": "GPU-9"} | node))
    records = [proto(request), b"\xff\xff not protobuf", b""]
    await pipeline.stage.handle(events(OTLP, records))
    await pipeline.sink.flush()
    gpus = [line for line in pipeline.writer.lines() if line.startswith("gpu,")]
    assert len(gpus) == 5  # the page's four GPUs and the hot one, from one record
    assert pipeline.written == [(OTLP, 0, 0)]  # acknowledged once, as the record it is
    assert len(pipeline.alerts.sent) == 1  # the rules saw every sample, the hot one too
    rejected, garbage, empty = pipeline.reasons()
    assert rejected.startswith("1 of the record's samples rejected, 5 stored; first:")
    assert "gpu_util_pct" in rejected
    assert garbage.startswith("not an OTLP ExportMetricsServiceRequest in otlp_proto")
    assert "no resource metrics" in empty
