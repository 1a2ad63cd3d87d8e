"""Creating sovwatch's Kafka topics with the partition counts and retention from settings."""

from __future__ import annotations

import contextlib

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.settings import TopicSettings

HOUR_MS = 3600 * 1000


def topic_specs(topics: TopicSettings) -> list[NewTopic]:
    """One NewTopic per sovwatch topic."""
    retention = {"retention.ms": str(topics.retention_hours * HOUR_MS)}
    # Compacted: readers need the latest checkpoint per site, forever.
    compacted = {"cleanup.policy": "compact"}
    return [
        NewTopic(
            name=name,
            num_partitions=topics.partitions,
            replication_factor=topics.replication_factor,
            topic_configs=compacted if name == topics.audit_checkpoints else retention,
        )
        for name in topics.all_names()
    ]


def ensure_topics(admin: KafkaAdminClient, topics: TopicSettings) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    existing = set(admin.list_topics())
    missing = [spec for spec in topic_specs(topics) if spec.name not in existing]
    if missing:
        # Another worker may win the race: the topic is there, which is all we need.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(missing, validate_only=False)
    return [spec.name for spec in missing]


def partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition count per existing topic."""
    return {
        meta["name"]: len(meta["partitions"])
        for meta in admin.describe_topics(names)
        if not meta.get("error_code")
    }
