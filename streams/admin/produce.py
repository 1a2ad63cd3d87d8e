"""Producing records to Kafka with kafka-python, failing clearly: the one producer policy of
sovwatch's tools (the CLI, the simulator, the collectors, the tests' and benches' feeds).

Every producer waits for acks from all in-sync replicas (a record the broker acknowledged survives
a broker loss). `bulk=True` adds the throughput tuning of feeds that send many records at once:
20 ms linger, 256 KiB batches, gzip (aiokafka, the worker's client, reads gzip without extra
packages). The worker's own producer is Faust's (`streams.worker.app`), with the same acks.
"""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from schemas.errors import SovwatchError
from schemas.settings import KafkaSettings
from streams.admin.connect import kafka_unreachable

BULK: dict[str, object] = {"linger_ms": 20, "batch_size": 256 * 1024, "compression_type": "gzip"}


def kafka_producer(kafka: KafkaSettings, bulk: bool = False, **tuning: object) -> KafkaProducer:
    """A producer (acks from all in-sync replicas; `bulk`: batched and compressed) that has
    reached the cluster, or `ServiceUnreachableError`. `tuning`: other kafka-python options."""
    options = {**(BULK if bulk else {}), **tuning}
    try:
        return KafkaProducer(acks="all", **options, **kafka.client_config())
    except KafkaTimeoutError as exc:
        raise kafka_unreachable(kafka) from exc


def produce(kafka: KafkaSettings, records: Iterable[tuple[str, bytes, bytes]]) -> int:
    """Send (topic, key, value) records, wait until the broker acknowledged all; returns count."""
    producer = kafka_producer(kafka, bulk=True)
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
