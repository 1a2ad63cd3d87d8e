"""Topic specs follow the settings: partitions, replication, retention, compaction."""

from __future__ import annotations

from schemas.settings import TopicSettings
from streams.admin.topics import HOUR_MS, topic_specs


def test_every_topic_gets_the_configured_partitions_and_replication() -> None:
    topics = TopicSettings(partitions=6, replication_factor=3)
    specs = topic_specs(topics)
    assert [spec.name for spec in specs] == topics.all_names()
    assert {(spec.num_partitions, spec.replication_factor) for spec in specs} == {(6, 3)}


def test_checkpoints_alerts_and_replay_markers_are_compacted_and_the_rest_expire() -> None:
    topics = TopicSettings(retention_hours=48)
    configs = {spec.name: spec.topic_configs for spec in topic_specs(topics)}
    for name in (
        topics.audit_checkpoints,
        topics.alerts_ops,
        topics.alerts_security,
        topics.alerts_compliance,
        topics.dlq_replays,
    ):
        assert configs.pop(name) == {"cleanup.policy": "compact"}
    assert set(map(str, [48 * HOUR_MS])) == {c["retention.ms"] for c in configs.values()}
