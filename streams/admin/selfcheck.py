"""End-to-end round trips that prove the configured Kafka and InfluxDB really work."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass

from influxdb_client import Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.admin.connect import influx_client, kafka_admin
from streams.admin.produce import kafka_producer

SELFCHECK_TOPIC = "sovwatch.selfcheck"
SELFCHECK_MEASUREMENT = "sovwatch_selfcheck"


@dataclass(frozen=True)
class RoundTrip:
    """What one round trip did, for the user."""

    service: str
    description: str
    millis: float


def kafka_round_trip(settings: Settings, topic: str = SELFCHECK_TOPIC) -> RoundTrip:
    """Produce one record keyed like sovwatch's and read exactly that record back."""
    started = time.perf_counter()
    admin = kafka_admin(settings.kafka)
    try:
        if topic not in admin.list_topics():
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(topic, 1, settings.topics.replication_factor)])
    finally:
        admin.close()
    payload = f"selfcheck {uuid.uuid4()}".encode()
    producer = kafka_producer(settings.kafka)
    try:
        metadata = producer.send(topic, key=b"selfcheck", value=payload).get(timeout=30)
    except KafkaError as exc:
        raise SovwatchError(f"producing to Kafka topic {topic} failed: {exc}") from exc
    finally:
        producer.close()
    consumer = KafkaConsumer(consumer_timeout_ms=15000, **settings.kafka.client_config())
    try:
        partition = TopicPartition(topic, metadata.partition)
        consumer.assign([partition])
        consumer.seek(partition, metadata.offset)
        record = next(iter(consumer), None)
    finally:
        consumer.close()
    if record is None or record.value != payload:
        raise SovwatchError(
            f"Kafka round trip failed: record at {topic}[{metadata.partition}]@{metadata.offset} "
            "was not read back"
        )
    return RoundTrip(
        "kafka",
        f"produced and read back 1 record on {topic}[{metadata.partition}]@{metadata.offset}",
        (time.perf_counter() - started) * 1000,
    )


def influx_round_trip(settings: Settings) -> RoundTrip:
    """Write one point with a unique tag and query exactly it back with Flux."""
    started = time.perf_counter()
    bucket = settings.influxdb.buckets.telemetry
    check_id = uuid.uuid4().hex
    value = float(time.time_ns() % 1_000_000)
    with influx_client(settings.influxdb) as client:
        point = (
            Point(SELFCHECK_MEASUREMENT)
            .tag("check_id", check_id)
            .field("value", value)
            .time(time.time_ns(), WritePrecision.NS)
        )
        client.write_api(write_options=SYNCHRONOUS).write(bucket=bucket, record=point)
        flux = (
            f'from(bucket: "{bucket}") |> range(start: -5m) '
            f'|> filter(fn: (r) => r._measurement == "{SELFCHECK_MEASUREMENT}" '
            f'and r.check_id == "{check_id}")'
        )
        rows = [rec.get_value() for table in client.query_api().query(flux) for rec in table]
    if rows != [value]:
        raise SovwatchError(f"InfluxDB round trip failed: wrote {value}, Flux returned {rows}")
    return RoundTrip(
        "influxdb",
        f"wrote 1 point to bucket '{bucket}' and read it back with Flux",
        (time.perf_counter() - started) * 1000,
    )
