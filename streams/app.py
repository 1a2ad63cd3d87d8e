"""The Faust app and its topics. Agents import `app` and the topics from here, never each other.

Values are raw bytes: decoding is the ingest step's job, so a malformed message reaches our code
(and the dead-letter topic) instead of failing inside Faust's deserialiser.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust

from streams.kafka_auth import faust_credentials
from streams.settings import Settings, get_settings

log = logging.getLogger(__name__)


class SovwatchApp(faust.App):  # type: ignore[misc]  # faust is untyped
    """A Faust app whose shutdown waits for in-flight events only so long.

    Events are acked once InfluxDB acknowledged them. While InfluxDB is down they stay in flight,
    and Faust's stop would wait for them forever: on shutdown (never on a rebalance, where the
    new owner must find finished work) the wait is cut after `shutdown_timeout_s`. Their offsets
    are not committed, so the next worker replays them; every write is idempotent.
    """

    shutdown_timeout_s: float = 20.0

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
            # Faust 0.15's wait_empty swallows cancellation; with nothing left to wait for, it
            # commits what was acked and returns.
            consumer._unacked_messages.clear()
        await waiting


def create_app(settings: Settings) -> faust.App:
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
        web_host=worker.web_host,
        web_bind=worker.web_host,
        web_port=worker.web_port,
        autodiscover=False,
    )
    app.shutdown_timeout_s = worker.shutdown_timeout_s
    return app


settings = get_settings()
app = create_app(settings)

#: The four telemetry families, consumed together by the ingest agent.
telemetry_topics = app.topic(
    settings.topics.gpu,
    settings.topics.power,
    settings.topics.physical,
    settings.topics.audit,
    key_type=bytes,
    value_type=bytes,
)
dlq_topic = app.topic(settings.topics.dlq, key_type=bytes, value_type=bytes)
#: Alerts per team, keyed by alert id.
alert_topics = {
    "ops": app.topic(settings.topics.alerts_ops, key_type=bytes, value_type=bytes),
    "security": app.topic(settings.topics.alerts_security, key_type=bytes, value_type=bytes),
    "compliance": app.topic(settings.topics.alerts_compliance, key_type=bytes, value_type=bytes),
}
