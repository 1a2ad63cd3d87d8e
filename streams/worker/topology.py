"""The worker's topology, built from a `Settings` value by one function: app, topics, tables,
agents, the checkpoint and its timer, and pages. Importing this module (or any agent module)
creates no Faust object and reads no environment; tests build a topology per test with Faust's
memory store.

One agent per read topic family: ingest (gpu, power, physical, Telegraf, OTLP), audit, and, when an
external alert channel is configured, the channels' agent over the alert topics. No record is
delivered to two agents. An agent that fails crashes the worker (`CrashingSupervisor`) instead of
being restarted on the same stream: the next start replays from the last checkpoint, onto state
recovered from the changelogs, which is the one state that matches the committed offsets.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP
from faust.web import View
from mode import CrashingSupervisor
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from agents import metrics
from agents.audit.chain import AuditChain
from agents.audit.checkpoints import Signer
from agents.audit.stage import AuditStage
from agents.batching import Batcher, consume
from agents.channels import deliveries
from agents.channels.agent import AlertChannels
from agents.checkpoint import Checkpointer, Partition
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
from agents.sites.reload import install_reload, open_sites
from schemas.settings import Settings
from streams.worker.app import Topics, create_app, declare_topics
from streams.worker.offsets import StartOffsets, commit_offsets, seek_held

log = logging.getLogger(__name__)


@dataclass
class Topology:
    settings: Settings
    app: Any
    topics: Topics
    compliance: Compliance
    audit: AuditStage
    checkpointer: Checkpointer
    send_dead_letter: SendDeadLetter
    stopping: Callable[[], bool]
    channels: AlertChannels | None = None
    agents: dict[str, Any] = field(default_factory=dict)
    # Per running agent, its batcher and sink (what /health reports and checkpoints flush).
    running: dict[str, tuple[Batcher[Any], PointSink[Any] | None]] = field(default_factory=dict)

    def writer(self) -> InfluxWriter:
        return influx_writer(self.settings, self.stopping)

    def batcher(self) -> Batcher[Any]:
        worker = self.settings.worker
        return Batcher(worker.take_max_events, worker.take_within_s, stopping=self.stopping)

    async def seal(self) -> Awaitable[None]:
        """What every sink holds, handed over; done once written and its deliveries acked."""
        sinks = [sink for _, sink in self.running.values() if sink is not None]
        sealed = [await sink.seal() for sink in [*sinks, self.compliance.timer_sink]]
        return _all(sealed)

    async def run_batched(
        self,
        name: str,
        stream: Any,
        handle: Callable[[list[Any]], Awaitable[None]],
        sink: PointSink[Any] | None = None,
        writer: InfluxWriter | None = None,
    ) -> None:
        """An agent's body: its events in batches, each admitted by the checkpointer and
        handed to `handle` (listed on /health while it runs); the writer is closed when the
        agent stops."""
        batcher = self.batcher()
        self.running[name] = (batcher, sink)
        checkpointer = self.checkpointer

        async def admitted(batch: list[Any]) -> None:
            await checkpointer.process(batch, _where, handle)

        try:
            await consume(stream.events(), batcher, admitted, sink or _NoSink())
        finally:
            del self.running[name]
            if writer is not None:
                await writer.close()


async def _all(awaitables: list[Awaitable[None]]) -> None:
    for awaitable in awaitables:
        await awaitable


def _where(event: Any) -> tuple[str, int, int]:
    message = event.message
    return message.topic, message.partition, message.offset


class _NoSink:
    async def flush_if_due(self) -> None:
        return None


def influx_writer(settings: Settings, stopping: Callable[[], bool]) -> InfluxWriter:
    """A writer that gives up retrying once the worker has been stopping for a while."""
    return InfluxWriter(settings.worker, timeout_s=settings.influxdb.timeout_s, stopping=stopping)


def input_topics(settings: Settings) -> frozenset[str]:
    """The topics whose offsets the checkpoint commits (without the alert topics)."""
    names = settings.topics
    return frozenset(
        (names.gpu, names.power, names.physical, names.telegraf, names.otlp, names.audit)
    )


def build(settings: Settings, rules: RuleEngine | None = None) -> Topology:
    """Everything one worker runs. `rules`: an engine of your own (tests), else the packs of
    `SOVWATCH_ALERTS__RULES_DIR` or the built-in ones."""
    pseudonymiser = Pseudonymiser.from_settings(settings.privacy)  # fails here, clearly
    if rules is None:
        rules_dir = settings.alerts.rules_dir
        rules = RuleEngine(load_packs(pack_files(rules_dir) if rules_dir else None))
    sites = open_sites(settings.sites, rules.sites)  # so does a registry that does not lint
    residency = Residency.from_settings(settings, sites)
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
        help="Audit chain: site -> head (seq, hash, offset, Merkle frontier)",
    )
    state = TableState(rule_state)
    rules.state = state
    send_dead_letter = dead_letter_sender(
        topics.dlq, DeadLetterMaker(settings.topics, dlq_cipher, pseudonymiser)
    )
    starts = StartOffsets(app, settings)

    async def commit(offsets: Mapping[Partition, int]) -> bool:
        return await commit_offsets(app, offsets)

    async def seek(partition: Partition, offset: int) -> None:
        await seek_held(app, partition, offset)

    def highwater(partition: Partition) -> int | None:
        return app.consumer.highwater(TP(*partition))  # type: ignore[no-any-return]

    checkpointer = Checkpointer(
        commit, starts, seek, highwater=highwater, rebalancing=lambda: bool(app.rebalancing)
    )
    timer_writer = influx_writer(settings, stopping)

    def behind(partition: int) -> list[str]:
        """The partition's input topics with records not read yet (as of the last fetch)."""
        return [topic for topic in checkpointer.unread(partition) if topic in rule_families]

    rule_families = input_topics(settings)
    compliance = Compliance(
        rules,
        state,
        AlertFanout(residency, kafka_publisher(topics.alerts)),
        new_clock=lambda: EventClock(settings.worker.max_future_skew_s),
        tick_interval_s=settings.alerts.tick_interval_s,
        timer_sink=make_sink(timer_writer, settings, send_dead_letter, stopping),
        behind=behind,
    )
    signer = Signer.from_secret(settings.audit.signing_key) if settings.audit.signing_key else None
    audit = AuditStage(
        settings,
        residency,
        AuditChain(audit_heads, settings.audit.recent_event_ids),
        signer,
        topics.audit_checkpoints,
        influx_writer(settings, stopping),
    )

    topology = Topology(
        settings, app, topics, compliance, audit, checkpointer, send_dead_letter, stopping
    )

    async def time_driven_rules(owned: Mapping[str, frozenset[int]]) -> None:
        await compliance.tick(frozenset().union(*(owned.get(t, ()) for t in rule_families)))

    checkpointer.register(
        effects=[topology],
        states=[state, audit],
        timed=[time_driven_rules, audit.sign_due],
        after_commit=[audit.publish_signed],
        rewound=[compliance.rewound],
    )
    _ingest_agents(topology, Ingest(settings, pseudonymiser, sites))
    install_reload(app, sites, settings.sites)
    _channels_agent(topology)
    _rebalances(topology, rule_state)
    _timers(topology)
    _pages(topology)

    @app.on_before_shutdown.connect
    async def last_checkpoint(sender: Any, **kwargs: Any) -> None:
        if topology.channels is not None:
            await topology.channels.close()
        await checkpointer.on_stop(settings.worker.shutdown_timeout_s)
        await audit.close()
        await timer_writer.close()
        await starts.close()

    log.info("compliance rules loaded: %d", len(rules.rules))
    return topology


def _ingest_agents(t: Topology, ingest: Ingest) -> None:
    """The ingest agent (telemetry topics) and the audit agent (the audit topic): the same
    stage, one agent per topic family."""
    if t.audit.signer is None:
        log.warning(
            "audit records are chained but NOT signed: set SOVWATCH_AUDIT__SIGNING_KEY "
            "('sovwatch audit keygen') to publish checkpoints"
        )
    else:
        log.info("audit checkpoints signed with key %s", t.audit.signer.key_id)  # never the key

    def agent_of(name: str) -> Callable[[Any], Awaitable[None]]:
        async def agent(stream: Any) -> None:
            writer = t.writer()
            sink = make_sink(writer, t.settings, t.send_dead_letter, t.stopping)
            stage = IngestStage(ingest, t.compliance, t.audit, sink, t.send_dead_letter)
            await t.run_batched(name, stream, stage.handle, sink, writer)

        return agent

    for name, topic in (("ingest", t.topics.telemetry), ("audit", t.topics.audit)):
        t.agents[name] = t.app.agent(
            topic, name=f"sovwatch.{name}", supervisor_strategy=CrashingSupervisor
        )(agent_of(name))


def _channels_agent(t: Topology) -> None:
    """The alert channels' agent, if any external channel is configured."""
    channels = deliveries(t.settings)
    if not channels:
        return
    t.channels = AlertChannels(channels)
    settlement = t.channels.settlement
    t.checkpointer.register(states=[settlement], limits=[settlement.limit])

    async def channels_agent(stream: Any) -> None:
        assert t.channels is not None
        await t.run_batched("channels", stream, t.channels.handle)

    t.agents["channels"] = t.app.agent(
        t.topics.alerts_read, name="sovwatch.channels", supervisor_strategy=CrashingSupervisor
    )(channels_agent)


def _rebalances(t: Topology, rule_state: Any) -> None:
    """A revoke checkpoints then ends the generation; an assignment starts the next one; the
    rules are indexed again once the table holds the assigned partitions' state."""
    settings = t.settings
    names = settings.topics
    alerts = {names.alerts_ops, names.alerts_security, names.alerts_compliance}
    read = input_topics(settings) | (alerts if t.channels is not None else set())
    rule_families = input_topics(settings)

    @t.app.on_partitions_revoked.connect
    async def checkpoint_then_forget(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        await t.checkpointer.on_revoked(settings.worker.revoke_checkpoint_s)

    @t.app.on_partitions_assigned.connect
    async def next_generation(sender: Any, assigned: set[Any], **kwargs: Any) -> None:
        mine = {(tp.topic, tp.partition) for tp in assigned if tp.topic in read}
        t.checkpointer.on_assigned(mine)
        t.compliance.assigned({p for topic, p in mine if topic in rule_families})

    async def reindex_rules() -> None:
        t.compliance.recovered()

    rule_state.on_recover(reindex_rules)


def _timers(t: Topology) -> None:
    settings = t.settings

    async def periodic_checkpoint() -> None:
        await t.checkpointer.checkpoint()

    async def report_consumer_lag() -> None:
        for (topic, partition), next_offset in t.checkpointer.positions().items():
            highwater = t.app.consumer.highwater(TP(topic, partition))
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(topic=topic, partition=str(partition)).set(
                    max(0, highwater - next_offset)
                )

    timer: Callable[..., Any] = t.app.timer
    timer(interval=settings.worker.checkpoint_s)(periodic_checkpoint)
    timer(interval=5.0)(report_consumer_lag)


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
                "pending_points": sum(s.pending_points for _, s in t.running.values() if s),
                "stored": _total(metrics.EVENTS_STORED),
                "dead_letters": _total(metrics.DEAD_LETTERS),
                "by_agent": {
                    name: {"queued_events": batcher.queued, **(sink.progress() if sink else {})}
                    for name, (batcher, sink) in t.running.items()
                },
            }
        )

    app.page("/metrics")(metrics_page)
    app.page("/health")(health_page)

    audit = t.audit

    class CheckpointView(View):  # type: ignore[misc]
        """POST: sign every site's period now (what `sovwatch audit checkpoint` calls)."""

        async def post(self, request: Any) -> Any:
            if audit.signer is None:
                return self.json(
                    {"error": "no signing key: set SOVWATCH_AUDIT__SIGNING_KEY"}, status=409
                )
            audit.published = []
            audit.sign_soon()
            await t.checkpointer.checkpoint("audit request")
            return self.json({"checkpoints": [c.as_dict() for c in audit.published]})

    app.page("/audit/checkpoint")(CheckpointView)


def _total(counter: Counter) -> float:
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )
