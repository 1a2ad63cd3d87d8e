"""Producing records to Kafka with kafka-python, tuned for throughput, failing clearly."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from streams.connect import kafka_unreachable
from streams.errors import SovwatchError
from streams.settings import KafkaSettings


def kafka_producer(kafka: KafkaSettings, **tuning: object) -> KafkaProducer:
    """A producer (acks from all in-sync replicas) that has reached the cluster, or
    `ServiceUnreachableError`."""
    try:
        return KafkaProducer(acks="all", **tuning, **kafka.client_config())
    except KafkaTimeoutError as exc:
        raise kafka_unreachable(kafka) from exc


def produce(kafka: KafkaSettings, records: Iterable[tuple[str, bytes, bytes]]) -> int:
    """Send (topic, key, value) records, wait until the broker acknowledged all; returns count."""
    producer = kafka_producer(kafka, linger_ms=20, batch_size=256 * 1024, compression_type="gzip")
    sent = 0
    try:
        futures = []
        for topic, key, value in records:
            futures.append(producer.send(topic, key=key, value=value))
            sent += 1
        producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=60)
    except KafkaError as exc:
        raise SovwatchError(f"producing to Kafka failed after {sent} records: {exc}") from exc
    finally:
        producer.close()
    return sent
