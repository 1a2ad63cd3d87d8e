"""The Faust app and its topics. Agents import `app` and the topics from here, never each other.

Values are raw bytes: decoding is the ingest step's job, so a malformed message reaches our code
(and the dead-letter topic) instead of failing inside Faust's deserialiser.
"""

from __future__ import annotations

import faust

from streams.kafka_auth import faust_credentials
from streams.settings import Settings, get_settings


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
