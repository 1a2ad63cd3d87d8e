"""The line encoder and writer against the real InfluxDB: what InfluxDB itself accepts."""

from __future__ import annotations

import time

from agents.influx.lineprotocol import encode_line
from agents.influx.writer import InfluxWriter
from schemas.settings import Settings
from streams.admin.connect import influx_client
from streams.stack import Stack


async def test_influxdb_accepts_a_tag_value_ending_in_a_backslash(
    stack: Stack, settings: Settings, unique: str
) -> None:
    measurement = f"test_backslash_{unique}"
    now = time.time_ns()
    lines = [
        encode_line(measurement, {"rack": "r1\\", "site": "s1"}, {"v": 1.5}, now),
        encode_line(measurement, {"rack": "plain", "site": "s1"}, {"v": 2.5}, now),
    ]
    writer = InfluxWriter(settings.worker)
    try:  # a refused batch raises WriteRejectedError; transient failures would be retried
        await writer.write(settings.influxdb, settings.influxdb.buckets.telemetry, lines)
    finally:
        await writer.close()
    with influx_client(settings.influxdb) as client:
        tables = client.query_api().query(
            f'from(bucket: "{settings.influxdb.buckets.telemetry}") |> range(start: 0) '
            f'|> filter(fn: (r) => r._measurement == "{measurement}")'
        )
    racks = sorted(record.values["rack"] for table in tables for record in table)
    assert racks == ["plain", "r1\\ "]  # stored with a trailing space (see agents/lineprotocol)
