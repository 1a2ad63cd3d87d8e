"""Real Kafka: produce/consume round trips and topic creation with sovwatch's partition counts."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from schemas.settings import Settings, TopicSettings
from streams.admin.connect import kafka_admin
from streams.admin.produce import kafka_producer
from streams.admin.selfcheck import kafka_round_trip
from streams.admin.topics import ensure_topics, partition_counts, wait_until_led
from streams.stack import Stack


def test_produce_then_consume_returns_the_same_records_in_order(
    stack: Stack, settings: Settings, unique: str
) -> None:
    topic = f"test.roundtrip.{unique}"
    values = [f"event-{i}".encode() for i in range(50)]
    producer = kafka_producer(settings.kafka)
    try:
        for value in values:
            producer.send(topic, key=b"site-1", value=value)
        producer.flush(timeout=30)
    finally:
        producer.close()

    consumer = KafkaConsumer(consumer_timeout_ms=10000, **settings.kafka.client_config())
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        got = []
        for record in consumer:
            got.append(record.value)
            if len(got) == len(values):
                break
    finally:
        consumer.close()
    # One key means one partition, so order is preserved.
    assert got == values


def test_selfcheck_round_trip_reads_back_what_it_produced(
    stack: Stack, settings: Settings, unique: str
) -> None:
    trip = kafka_round_trip(settings, topic=f"test.selfcheck.{unique}")
    assert trip.service == "kafka"
    assert f"test.selfcheck.{unique}[0]@0" in trip.description


def test_ensure_topics_creates_sovwatch_topics_with_configured_partitions(
    stack: Stack, settings: Settings, unique: str
) -> None:
    base = TopicSettings(partitions=3)
    topics = base.model_copy(
        update={k: f"test.{unique}.{v}" for k, v in base.model_dump().items() if isinstance(v, str)}
    )
    admin = kafka_admin(settings.kafka)
    try:
        created = ensure_topics(admin, topics)
        again = ensure_topics(admin, topics)
        counts = partition_counts(admin, topics.all_names())
        resource = ConfigResource(ConfigResourceType.TOPIC, topics.audit_checkpoints)
        configs = admin.describe_configs([resource])["topic"][topics.audit_checkpoints]
    finally:
        admin.close()
    assert sorted(created) == sorted(topics.all_names())
    assert again == []
    assert counts == {name: 3 for name in topics.all_names()}
    assert configs["cleanup.policy"]["value"] == "compact"


def test_alerts_topics_made_before_compaction_become_compacted(
    stack: Stack, settings: Settings, unique: str
) -> None:
    base = TopicSettings(partitions=1)
    topics = base.model_copy(
        update={k: f"test.{unique}.{v}" for k, v in base.model_dump().items() if isinstance(v, str)}
    )
    admin = kafka_admin(settings.kafka)
    try:
        old = NewTopic(topics.alerts_security, 1, 1, topic_configs={"retention.ms": "3600000"})
        admin.create_topics([old])
        wait_until_led(admin, {topics.alerts_security: 1}, 30)
        ensure_topics(admin, topics)
        resource = ConfigResource(ConfigResourceType.TOPIC, topics.alerts_security)
        configs = admin.describe_configs([resource])["topic"][topics.alerts_security]
    finally:
        admin.close()
    assert configs["cleanup.policy"]["value"] == "compact"
