"""Creating sovwatch's Kafka topics with the partition counts and retention from settings."""

from __future__ import annotations

import contextlib
import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.settings import TopicSettings

HOUR_MS = 3600 * 1000
log = logging.getLogger(__name__)


def topic_specs(topics: TopicSettings) -> list[NewTopic]:
    """One NewTopic per sovwatch topic."""
    retention = {"retention.ms": str(topics.retention_hours * HOUR_MS)}
    # Compacted: readers need the latest checkpoint per site, the latest state of each
    # incident (alerts are keyed by incident id) and of each replayed dead letter, forever.
    compacted = {"cleanup.policy": "compact"}
    keep_latest = compacted_topics(topics)
    return [
        NewTopic(
            name=name,
            num_partitions=topics.partitions,
            replication_factor=topics.replication_factor,
            topic_configs=compacted if name in keep_latest else retention,
        )
        for name in topics.all_names()
    ]


def compacted_topics(topics: TopicSettings) -> set[str]:
    """Topics keyed by what they describe, of which only the latest record per key matters."""
    return {
        topics.audit_checkpoints,
        topics.alerts_ops,
        topics.alerts_security,
        topics.alerts_compliance,
        topics.dlq_replays,
    }


def ensure_topics(
    admin: KafkaAdminClient, topics: TopicSettings, visible_within_s: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet and wait until the broker serves them; returns
    the names created.

    A consumer group that joins before its topics show up in the broker's metadata is assigned
    nothing and only notices them at its next metadata refresh (minutes later): so this returns
    only once every partition of every created topic has a leader.
    """
    existing = set(admin.list_topics())
    compact_existing(admin, sorted(compacted_topics(topics) & existing))
    missing = [spec for spec in topic_specs(topics) if spec.name not in existing]
    if missing:
        # Another worker may win the race: the topic is there, which is all we need.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(missing, validate_only=False)
        created = {spec.name: spec.num_partitions for spec in missing}
        wait_until_led(admin, created, visible_within_s)
    return [spec.name for spec in missing]


def compact_existing(admin: KafkaAdminClient, names: list[str]) -> None:
    """Make topics created before they were compacted (alerts topics of older versions) compacted:
    each incident keeps its latest record. A broker that refuses (no AlterConfigs permission) is
    logged, not fatal: the topics still work, they only keep every record until retention."""
    if not names:
        return
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    ).get("topic", {})
    stale = [
        name
        for name in names
        if described.get(name, {}).get("cleanup.policy", {}).get("value") != "compact"
    ]
    if not stale:
        return
    try:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, name, configs={"cleanup.policy": "compact"}
                )
                for name in stale
            ]
        )
        log.info("topics now compacted: %s", ", ".join(stale))
    except KafkaError as exc:
        log.warning("could not make %s compacted (%s): set cleanup.policy=compact", stale, exc)


def wait_until_led(admin: KafkaAdminClient, partitions: dict[str, int], timeout_s: float) -> None:
    """Poll the broker until each topic has its partitions, each with a leader."""
    deadline = time.monotonic() + timeout_s
    while True:
        led = {
            meta["name"]
            for meta in admin.describe_topics(list(partitions))
            if not meta.get("error_code")
            and len(meta["partitions"]) == partitions[meta["name"]]
            and all(not p["error_code"] and p["leader_id"] >= 0 for p in meta["partitions"])
        }
        waiting = sorted(set(partitions) - led)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not served by the broker after {timeout_s:g}s: {waiting}")
        time.sleep(0.2)


def partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition count per existing topic."""
    return {
        meta["name"]: len(meta["partitions"])
        for meta in admin.describe_topics(names)
        if not meta.get("error_code")
    }
