"""The worker's topology, built from a `Settings` value by one function: app, topics, tables,
agents, timers and pages. Importing this module (or any agent module) creates no Faust object
and reads no environment; tests build a topology per test with Faust's memory store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from faust.web import View
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from agents import metrics
from agents.audit.chain import AuditChain
from agents.audit.checkpoints import Signer
from agents.audit.heads_table import TableHeads
from agents.audit.stage import AuditStage
from agents.batching import Batcher, consume
from agents.channels import deliveries
from agents.compliance.alerts import AlertFanout, kafka_publisher
from agents.compliance.rule_state import TableState
from agents.compliance.stage import Compliance, EventClock
from agents.dead_letters import DeadLetterMaker, SendDeadLetter, dead_letter_sender
from agents.dlq_crypto import worker_cipher
from agents.influx.batches import PointSink
from agents.influx.residency import Residency
from agents.influx.writer import InfluxWriter
from agents.ingest.agent import IngestStage, make_sink
from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.rules.engine import RuleEngine
from agents.rules.loader import load_packs, pack_files
from schemas.settings import Settings
from streams.worker.app import SovwatchApp, Topics, create_app, declare_topics
from streams.worker.offset_watch import OffsetWatch

log = logging.getLogger(__name__)


@dataclass
class Topology:
    settings: Settings
    app: SovwatchApp
    topics: Topics
    compliance: Compliance
    audit: AuditStage
    send_dead_letter: SendDeadLetter
    stopping: Callable[[], bool]
    agents: dict[str, Any] = field(default_factory=dict)
    # Per running agent, its batcher and sink (what /health reports).
    running: dict[str, tuple[Batcher[Any], PointSink[Any]]] = field(default_factory=dict)
    # Per agent, the offsets it acked (a skipped offset is logged; ingest's feed the lag gauge).
    offsets: OffsetWatch = field(default_factory=lambda: OffsetWatch("ingest"))
    audit_offsets: OffsetWatch = field(default_factory=lambda: OffsetWatch("audit"))

    def assigned(self, topic: str) -> set[int]:
        return assigned_partitions(self.app, topic)

    def writer(self) -> InfluxWriter:
        return influx_writer(self.settings, self.stopping)

    def batcher(self) -> Batcher[Any]:
        worker = self.settings.worker
        return Batcher(worker.take_max_events, worker.take_within_s, stopping=self.stopping)

    async def run_batched(
        self,
        name: str,
        stream: Any,
        sink: PointSink[Any],
        handle: Callable[[list[Any]], Awaitable[None]],
        writer: InfluxWriter,
    ) -> None:
        """An agent's body: its events in batches through `handle` into `sink` (listed on
        /health while it runs); the writer is closed when the agent stops."""
        batcher = self.batcher()
        self.running[name] = (batcher, sink)
        try:
            await consume(stream.events(), batcher, handle, sink)
        finally:
            del self.running[name]
            await writer.close()


def assigned_partitions(app: Any, topic: str) -> set[int]:
    """Partitions of `topic` actively assigned to this worker (standbys are not)."""
    try:
        assignment = app.consumer.assignment()
    except Exception:  # not started, or stopping: nothing is ours
        return set()
    return {tp.partition for tp in assignment if tp.topic == topic}


def influx_writer(settings: Settings, stopping: Callable[[], bool]) -> InfluxWriter:
    """A writer that gives up retrying once the worker has been stopping for a while."""
    return InfluxWriter(settings.worker, timeout_s=settings.influxdb.timeout_s, stopping=stopping)


def build(settings: Settings, rules: RuleEngine | None = None) -> Topology:
    """Everything one worker runs. `rules`: an engine of your own (tests), else the packs of
    `SOVWATCH_ALERTS__RULES_DIR` or the built-in ones."""
    pseudonymiser = Pseudonymiser.from_settings(settings.privacy)  # fails here, clearly
    residency = Residency.from_settings(settings)
    residency.log_policy()
    dlq_cipher = worker_cipher(settings.privacy)  # so does a missing DLQ key
    app = create_app(settings)
    topics = declare_topics(app, settings)

    def stopping() -> bool:
        return bool(app.should_stop)

    rule_state = app.Table(
        "sovwatch-rule-state",
        key_type=str,
        partitions=settings.topics.partitions,
        help="Open windows and incidents of the compliance rules, per rule and group",
    )
    audit_heads = app.Table(
        "sovwatch-audit-heads",
        key_type=bytes,
        value_type=bytes,
        partitions=settings.topics.partitions,
        help="Audit chain: site -> durable head (seq, hash, offset, Merkle frontier)",
    )
    if rules is None:
        rules_dir = settings.alerts.rules_dir
        rules = RuleEngine(load_packs(pack_files(rules_dir) if rules_dir else None))
    state = TableState(rule_state)
    rules.state = state
    compliance = Compliance(
        rules,
        state,
        EventClock(settings.worker.max_future_skew_s),
        AlertFanout(
            residency,
            influx_writer(settings, stopping),
            kafka_publisher(topics.alerts),
            deliveries(settings),
        ),
    )
    send_dead_letter = dead_letter_sender(
        topics.dlq, DeadLetterMaker(settings.topics, dlq_cipher, pseudonymiser)
    )
    signer = Signer.from_secret(settings.audit.signing_key) if settings.audit.signing_key else None
    audit = AuditStage(
        settings,
        residency,
        AuditChain(TableHeads(audit_heads), settings.audit.recent_event_ids),
        signer,
        pseudonymiser,
        topics.audit_checkpoints,
        influx_writer(settings, stopping),
        lambda: assigned_partitions(app, settings.topics.audit),
        send_dead_letter,
    )
    topology = Topology(settings, app, topics, compliance, audit, send_dead_letter, stopping)
    _ingest_agent(topology, Ingest(settings, pseudonymiser))
    _audit_agent(topology)
    _timers(topology)

    @app.on_partitions_assigned.connect
    async def expect_no_offsets(sender: Any, assigned: set[Any], **kwargs: Any) -> None:
        topology.offsets.reassigned()
        topology.audit_offsets.reassigned()

    _pages(topology)

    @app.on_before_shutdown.connect
    async def close_writers(sender: Any, **kwargs: Any) -> None:
        await compliance.close()
        await audit.close()

    log.info("compliance rules loaded: %d", len(rules.rules))
    return topology


def _ingest_agent(t: Topology, ingest: Ingest) -> None:
    async def ingest_agent(stream: Any) -> None:
        manual = stream.noack()
        writer = t.writer()
        ack = t.offsets.watching(manual.ack)
        sink = make_sink(writer, t.settings, ack, t.send_dead_letter, t.stopping)
        stage = IngestStage(ingest, t.compliance, sink, t.send_dead_letter)
        await t.run_batched("ingest", manual, sink, stage.handle, writer)

    t.agents["ingest"] = t.app.agent(t.topics.telemetry, name="sovwatch.ingest")(ingest_agent)


def _audit_agent(t: Topology) -> None:
    audit = t.audit
    if audit.signer is None:
        log.warning(
            "audit records are chained but NOT signed: set SOVWATCH_AUDIT__SIGNING_KEY "
            "('sovwatch audit keygen') to publish checkpoints"
        )
    else:
        log.info("audit checkpoints signed with key %s", audit.signer.key_id)  # never the key

    async def audit_agent(stream: Any) -> None:
        manual = stream.noack()
        writer = t.writer()
        sink = audit.make_sink(writer, t.audit_offsets.watching(manual.ack), t.stopping)
        await t.run_batched("audit", manual, sink, audit.handle, writer)

    t.agents["audit"] = t.app.agent(t.topics.audit, name="sovwatch.audit")(audit_agent)

    @t.app.on_partitions_revoked.connect
    async def forget_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        audit.chain.forget({tp.partition for tp in revoked if tp.topic == t.settings.topics.audit})


def _timers(t: Topology) -> None:
    settings = t.settings
    telemetry = settings.topics.gpu  # the four families share partitions (key = site)

    async def time_driven_rules() -> None:
        await t.compliance.tick(t.assigned(telemetry))

    async def report_consumer_lag() -> None:
        for tp in t.app.consumer.assignment():
            next_offset = t.offsets.next_offsets.get((tp.topic, tp.partition))
            highwater = t.app.consumer.highwater(tp)
            if next_offset is not None and highwater is not None:
                metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(
                    max(0, highwater - next_offset)
                )

    async def periodic_checkpoints() -> None:
        await t.audit.checkpoint_now()

    timer: Callable[..., Any] = t.app.timer
    timer(interval=settings.alerts.tick_interval_s)(time_driven_rules)
    timer(interval=5.0)(report_consumer_lag)
    timer(interval=settings.audit.checkpoint_interval_s)(periodic_checkpoints)


def _pages(t: Topology) -> None:
    app = t.app

    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(
            generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def health_page(web: Any, request: Any) -> Any:
        return web.json(
            {
                "status": "ok",
                "agents": len(t.running),
                "pending_points": sum(sink.pending_points for _, sink in t.running.values()),
                "stored": _total(metrics.EVENTS_STORED),
                "dead_letters": _total(metrics.DEAD_LETTERS),
                "by_agent": {
                    name: {"queued_events": batcher.queued, **sink.progress()}
                    for name, (batcher, sink) in t.running.items()
                },
            }
        )

    app.page("/metrics")(metrics_page)
    app.page("/health")(health_page)

    audit = t.audit

    class CheckpointView(View):  # type: ignore[misc]
        """POST: checkpoint now (what `sovwatch audit checkpoint` calls)."""

        async def post(self, request: Any) -> Any:
            if audit.signer is None:
                return self.json(
                    {"error": "no signing key: set SOVWATCH_AUDIT__SIGNING_KEY"}, status=409
                )
            done = await audit.checkpoint_now()
            return self.json({"checkpoints": [c.as_dict() for c in done]})

    app.page("/audit/checkpoint")(CheckpointView)


def _total(counter: Counter) -> float:
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )
