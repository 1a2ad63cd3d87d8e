"""Clients for Kafka and InfluxDB built from settings, failing with a clear, one-line error."""

from __future__ import annotations

import time
from collections.abc import Mapping

import urllib3
from influxdb_client import InfluxDBClient
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, KafkaTimeoutError
from urllib3.util.retry import Retry

from schemas.errors import ServiceUnreachableError, SovwatchError, one_line
from schemas.settings import InfluxSettings, KafkaSettings


def kafka_unreachable(kafka: KafkaSettings) -> ServiceUnreachableError:
    """The error for a cluster whose brokers did not answer within the connect timeout."""
    return ServiceUnreachableError("Kafka", kafka.bootstrap_servers, _no_answer(kafka))


def _no_answer(kafka: KafkaSettings) -> str:
    # A refused TLS handshake or SCRAM login looks like silence to kafka-python's bootstrap.
    detail = f"no broker answered within {kafka.connect_timeout_s:g}s"
    if kafka.security_protocol != "PLAINTEXT":
        detail += (
            f" over {kafka.security_protocol} (or it refused the handshake: check "
            "SOVWATCH_KAFKA__SSL_CAFILE and SOVWATCH_KAFKA__SASL_USERNAME/_PASSWORD)"
        )
    return detail


def kafka_admin(kafka: KafkaSettings, client_id: str = "sovwatch-admin") -> KafkaAdminClient:
    """An admin client that has reached the cluster, or `ServiceUnreachableError`."""
    try:
        return KafkaAdminClient(client_id=client_id, **kafka.client_config())
    except KafkaTimeoutError as exc:
        raise kafka_unreachable(kafka) from exc
    except KafkaError as exc:
        raise ServiceUnreachableError("Kafka", kafka.bootstrap_servers, type(exc).__name__) from exc


def kafka_consumer(kafka: KafkaSettings) -> KafkaConsumer:
    """A consumer without a group (offsets never committed) that has reached the cluster, or
    `ServiceUnreachableError`."""
    try:
        return KafkaConsumer(enable_auto_commit=False, **kafka.client_config())
    except KafkaTimeoutError as exc:
        raise kafka_unreachable(kafka) from exc


def values_to_end(kafka: KafkaSettings, topics: list[str], timeout_s: float = 30) -> list[bytes]:
    """Every value on `topics` up to their end offsets at call time (what was read by then if
    `timeout_s` passes first). Producers may go on writing: this never waits for them."""
    return [record.value for record in records_to_end(kafka, topics, timeout_s)]


def records_to_end(
    kafka: KafkaSettings, topics: list[str], timeout_s: float = 30
) -> list[ConsumerRecord]:
    """`values_to_end`, as whole records (offset, key, headers, ...)."""
    return records_from(kafka, {topic: None for topic in topics}, timeout_s)


def records_from(
    kafka: KafkaSettings,
    starts: Mapping[str | TopicPartition, int | None],
    timeout_s: float = 30,
) -> list[ConsumerRecord]:
    """The records of each topic (every partition, from the beginning) or partition (from its
    offset) of `starts` up to the end offsets at call time; `ServiceUnreachableError` if no
    broker answers."""
    consumer = kafka_consumer(kafka)
    try:
        offsets: dict[TopicPartition, int | None] = {}
        for where, offset in starts.items():
            if isinstance(where, TopicPartition):
                offsets[where] = offset
            else:
                for p in consumer.partitions_for_topic(where) or ():
                    offsets[TopicPartition(where, p)] = None
        parts = list(offsets)
        if not parts:  # no such topic (yet): nothing on it
            return []
        consumer.assign(parts)
        consumer.seek_to_beginning()
        for part, offset in offsets.items():
            if offset is not None:
                consumer.seek(part, offset)
        ends = consumer.end_offsets(parts)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(p) < ends[p] for p in parts) and time.monotonic() < deadline:
            for part, polled in consumer.poll(timeout_ms=500).items():
                records += [record for record in polled if record.offset < ends[part]]
        return records
    except KafkaTimeoutError as exc:
        raise kafka_unreachable(kafka) from exc
    finally:
        consumer.close()


# A request that timed out or lost its connection is sent again, twice, after 0.5 s and 1 s:
# a busy server (compaction, a burst of writes) must not fail a report or an audit query.
# Every call of these clients is safe to repeat: queries read, and a point written twice is
# the same point (same series and time).
_RETRIES = Retry(
    total=2, connect=2, read=2, status=0, other=0, allowed_methods=None, backoff_factor=0.5
)


def influx_client(influx: InfluxSettings) -> InfluxDBClient:
    """An InfluxDB client whose server answered `/ping`, or `ServiceUnreachableError`."""
    client = InfluxDBClient(
        url=influx.url,
        token=influx.token.get_secret_value(),
        org=influx.org,
        timeout=int(influx.timeout_s * 1000),
        retries=_RETRIES,
    )
    if not client.ping():
        client.close()
        raise ServiceUnreachableError("InfluxDB", influx.url, "no answer to /ping")
    return client


def influx_unanswered(exc: urllib3.exceptions.HTTPError) -> SovwatchError:
    """The error for an InfluxDB that accepted the connection but did not answer in time (or
    dropped it), after the client's retries."""
    pool = getattr(exc, "pool", None)
    where = f" at {pool.host}:{pool.port}" if pool is not None else ""
    reason = getattr(exc, "reason", None) or exc
    return SovwatchError(
        f"InfluxDB{where} did not answer: {one_line(str(reason))}",
        "it may be overloaded or stuck: check it with 'sovwatch stack check', narrow "
        "--from/--since, or raise SOVWATCH_INFLUXDB__TIMEOUT_S (seconds)",
    )
