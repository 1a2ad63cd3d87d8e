"""Real InfluxDB: the stack's buckets, and write -> Flux query round trips."""

from __future__ import annotations

import time

from influxdb_client import Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from schemas.settings import Settings
from streams.admin.buckets import DAY_S
from streams.admin.connect import influx_client
from streams.admin.selfcheck import influx_round_trip
from streams.stack import Stack


def test_stack_creates_the_three_buckets_with_their_retention(
    stack: Stack, settings: Settings
) -> None:
    buckets = settings.influxdb.buckets
    with influx_client(settings.influxdb) as client:
        api = client.buckets_api()
        retention = {
            name: [rule.every_seconds for rule in api.find_bucket_by_name(name).retention_rules]
            for name in (buckets.telemetry, buckets.alerts, buckets.audit)
        }
    assert retention[buckets.telemetry] == [buckets.telemetry_retention_days * DAY_S]
    assert retention[buckets.alerts] == [buckets.alerts_retention_days * DAY_S]
    # Evidence never expires: no rule, or a rule of 0 seconds, both mean "forever".
    assert retention[buckets.audit] in ([], [0])


def test_written_points_come_back_from_a_flux_query(
    stack: Stack, settings: Settings, unique: str
) -> None:
    measurement = f"test_roundtrip_{unique}"
    now = time.time_ns()
    points = [
        Point(measurement)
        .tag("site", "site-1")
        .tag("gpu", str(gpu))
        .field("util_pct", float(10 * gpu))
        .time(now - gpu * 1_000_000_000, WritePrecision.NS)
        for gpu in range(8)
    ]
    bucket = settings.influxdb.buckets.telemetry
    with influx_client(settings.influxdb) as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket=bucket, record=points)
        tables = client.query_api().query(
            f'from(bucket: "{bucket}") |> range(start: -1h) '
            f'|> filter(fn: (r) => r._measurement == "{measurement}")'
        )
        got = {rec.values["gpu"]: rec.get_value() for table in tables for rec in table}
    assert got == {str(gpu): float(10 * gpu) for gpu in range(8)}


def test_rewriting_the_same_series_and_timestamp_overwrites_instead_of_duplicating(
    stack: Stack, settings: Settings, unique: str
) -> None:
    """The at-least-once pipeline relies on this: a replayed point replaces the first one."""
    measurement = f"test_idempotent_{unique}"
    at = time.time_ns()
    bucket = settings.influxdb.buckets.telemetry
    with influx_client(settings.influxdb) as client:
        write = client.write_api(write_options=SYNCHRONOUS)
        for _ in range(3):
            write.write(
                bucket=bucket, record=Point(measurement).tag("site", "s").field("v", 1.0).time(at)
            )
        tables = client.query_api().query(
            f'from(bucket: "{bucket}") |> range(start: -1h) '
            f'|> filter(fn: (r) => r._measurement == "{measurement}") |> count()'
        )
        counts = [rec.get_value() for table in tables for rec in table]
    assert counts == [1]


def test_selfcheck_round_trip_succeeds(stack: Stack, settings: Settings) -> None:
    trip = influx_round_trip(settings)
    assert trip.service == "influxdb"
    assert settings.influxdb.buckets.telemetry in trip.description
