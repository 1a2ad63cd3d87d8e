"""The Faust app and its topics, built from a `Settings` value. Nothing here runs at import.

Values are raw bytes: decoding is the ingest step's job, so a malformed message reaches our code
(and the dead-letter topic) instead of failing inside Faust's deserialiser.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import faust

from schemas.settings import Settings
from streams.worker.gapless_consumer import GaplessConsumer
from streams.worker.kafka_auth import faust_credentials

log = logging.getLogger(__name__)


class SovwatchApp(faust.App):  # type: ignore[misc]  # faust is untyped
    """A Faust app whose shutdown waits for in-flight events only so long.

    Events are acked once every effect of their batch is acknowledged. While InfluxDB is down
    they stay in flight, and Faust's stop would wait for them forever. On shutdown (never on a
    rebalance, where the new owner must find finished work) the wait is cut after
    `shutdown_timeout_s`: those offsets are not committed, the next owner replays them, and every
    effect is idempotent.
    """

    shutdown_timeout_s: float = 20.0

    def _new_transport(self) -> Any:
        transport = super()._new_transport()
        transport.Consumer = GaplessConsumer  # every consumer of this app skips no offset
        return transport

    async def _consumer_wait_empty(self, consumer: Any, logger: Any) -> None:
        if not self.should_stop:  # a rebalance: processing must finish first
            await super()._consumer_wait_empty(consumer, logger)
            return
        waiting = asyncio.ensure_future(super()._consumer_wait_empty(consumer, logger))
        done, _ = await asyncio.wait({waiting}, timeout=self.shutdown_timeout_s)
        if not done:
            log.warning(
                "stopping with %d events in flight after %.0fs (InfluxDB unreachable?): their "
                "offsets are not committed, the next worker replays them",
                len(consumer._unacked_messages),
                self.shutdown_timeout_s,
            )
            # Faust's wait_empty loops while messages are unacked; with none left to wait for
            # it commits what was acked (only ever finished work) and returns.
            consumer._unacked_messages.clear()
        await waiting


def create_app(settings: Settings) -> SovwatchApp:
    """A Faust app configured from settings (one app = one Kafka consumer group)."""
    worker = settings.worker
    app = SovwatchApp(
        worker.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings.kafka),
        store=worker.store,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        consumer_auto_offset_reset="earliest",
        # A topic created after the worker joined is picked up within this (default: 5 min).
        consumer_metadata_max_age_ms=30_000,
        broker_commit_interval=worker.commit_interval_s,
        # Faust's default is 60 s: a crashed worker's partitions would sit idle that long.
        broker_session_timeout=worker.session_timeout_s,
        broker_heartbeat_interval=worker.session_timeout_s / 5,
        producer_acks=-1,
        # Changelog writes (rule state, one per changed window) and alerts would otherwise go
        # out as one produce request each: 5 ms of linger batches them.
        producer_linger=0.005,
        producer_max_batch_size=256 * 1024,
        web_host=worker.web_host,
        web_bind=worker.web_host,
        web_port=worker.web_port,
        autodiscover=False,
        # Faust's default, `<app_id>-data`, is relative to wherever the worker was started.
        **({"datadir": str(worker.data_dir)} if worker.data_dir is not None else {}),
    )
    app.shutdown_timeout_s = worker.shutdown_timeout_s
    return app


@dataclass(frozen=True)
class Topics:
    """Every topic the worker reads or writes, declared on one app."""

    telemetry: Any  # the four families and Telegraf's topic, consumed by the ingest agent
    audit: Any
    dlq: Any
    alerts: dict[str, Any]  # per team, keyed by alert id
    audit_checkpoints: Any


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    names = settings.topics

    def raw(*topic_names: str) -> Any:
        return app.topic(*topic_names, key_type=bytes, value_type=bytes)

    return Topics(
        telemetry=raw(names.gpu, names.power, names.physical, names.audit, names.telegraf),
        audit=raw(names.audit),
        dlq=raw(names.dlq),
        alerts={
            "ops": raw(names.alerts_ops),
            "security": raw(names.alerts_security),
            "compliance": raw(names.alerts_compliance),
        },
        audit_checkpoints=raw(names.audit_checkpoints),
    )
