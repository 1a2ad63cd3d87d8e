"""The two raw limits every pipeline on this box sits under, measured in-process: a bare
consumer reading the topics (no decoding, no commits) and InfluxDB ingesting pre-encoded line
protocol (5,000-line gzip batches, one writer, like the worker). The lower of the two is the
ceiling a Kafka -> InfluxDB pipeline could reach here."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from drain import Drain
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from procstat import Snapshot, shares, snapshot

from schemas.settings import Settings

BATCH_LINES = 5000


def _start(context: Mapping[str, int]) -> tuple[Snapshot, float, float]:
    return (
        snapshot(context, {"bench harness": os.getpid()}),
        time.perf_counter(),
        time.process_time(),
    )


def _measured(
    events: int, started: float, cpu0: float, start: Snapshot, context: Mapping[str, int]
) -> Drain:
    seconds = time.perf_counter() - started
    end = snapshot(context, {"bench harness": os.getpid()})
    cpu = time.process_time() - cpu0
    return Drain(
        events=events,
        seconds=seconds,
        cpu_s=cpu,
        rss_mib=None,
        cpu_by_process={"bench harness": cpu},
        shares=shares(start, end),
    )


async def drain_raw(
    settings: Settings, partitions: dict[str, list[int]], total: int, context: Mapping[str, int]
) -> Drain:
    """Reads `total` records from the start of `partitions` (topic -> partition numbers),
    timed from the first record."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t, numbers in partitions.items() for p in numbers]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        first = await consumer.getmany(timeout_ms=30_000, max_records=10_000)
        seen = base = sum(len(messages) for messages in first.values())
        start, started, cpu0 = _start(context)
        while seen < total:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(messages) for messages in batch.values())
        return _measured(seen - base, started, cpu0, start, context)
    finally:
        await consumer.stop()


async def influx_raw(
    settings: Settings, bucket: str, lines: list[str], context: Mapping[str, int]
) -> Drain:
    """Writes `lines` in 5,000-line gzip batches, one request after the other."""
    influx = settings.influxdb
    async with InfluxDBClientAsync(
        url=influx.url, token=influx.token.get_secret_value(), org=influx.org, enable_gzip=True
    ) as client:
        write = client.write_api()
        start, started, cpu0 = _start(context)
        for i in range(0, len(lines), BATCH_LINES):
            body = "\n".join(lines[i : i + BATCH_LINES]).encode()
            await write.write(bucket=bucket, record=body)
        return _measured(len(lines), started, cpu0, start, context)
