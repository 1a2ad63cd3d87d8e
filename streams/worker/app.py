"""The Faust app and its topics, built from a `Settings` value. Nothing here runs at import.

Values are raw bytes: decoding is the ingest step's job, so a malformed message reaches our code
(and the dead-letter topic) instead of failing inside Faust's deserialiser. The topics the worker
reads are declared with `acks=False`: Faust tracks none of their offsets, the worker's checkpoint
commits them (`agents.checkpoint`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust

from schemas.settings import Settings
from streams.worker.kafka_auth import faust_credentials

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> faust.App:
    """A Faust app configured from settings (one app = one Kafka consumer group)."""
    worker = settings.worker
    return faust.App(
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


@dataclass(frozen=True)
class Topics:
    """Every topic the worker reads or writes, declared on one app."""

    telemetry: Any  # gpu, power, physical and Telegraf's topic: the ingest agent's
    audit: Any  # the audit agent's
    dlq: Any
    alerts: dict[str, Any]  # per team, keyed by alert id
    alerts_read: Any  # the three alert topics, as the alert channels' agent reads them
    audit_checkpoints: Any


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    names = settings.topics

    def raw(*topic_names: str, read: bool = False) -> Any:
        # Read topics: offsets are the checkpoint's, not Faust's (no acks tracked).
        extra = {"acks": False} if read else {}
        return app.topic(*topic_names, key_type=bytes, value_type=bytes, **extra)

    team_topics = (names.alerts_ops, names.alerts_security, names.alerts_compliance)
    return Topics(
        telemetry=raw(
            names.gpu, names.power, names.physical, names.telegraf, names.otlp, read=True
        ),
        audit=raw(names.audit, read=True),
        dlq=raw(names.dlq),
        alerts=dict(zip(("ops", "security", "compliance"), map(raw, team_topics), strict=True)),
        alerts_read=raw(*team_topics, read=True),
        audit_checkpoints=raw(names.audit_checkpoints),
    )
