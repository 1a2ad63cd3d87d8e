"""Peer: the loop a user would write by hand. kafka-python consumer -> json -> line protocol ->
influxdb-client synchronous write (5,000 lines, gzip) -> commit. No validation, no DLQ, no
pseudonymisation, no rules. Runs until stopped.

    PLAIN_TOPICS=a,b PLAIN_GROUP=g PLAIN_BOOTSTRAP=127.0.0.1:9092 PLAIN_INFLUX_URL=... \
    PLAIN_INFLUX_TOKEN=... PLAIN_INFLUX_ORG=... PLAIN_BUCKET=... \
    python tests/bench/peers/plain_loop.py
"""

from __future__ import annotations

import json
import os

from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from kafka import KafkaConsumer
from lineproto import line


def main() -> None:
    env = os.environ
    consumer = KafkaConsumer(
        *env["PLAIN_TOPICS"].split(","),
        bootstrap_servers=env["PLAIN_BOOTSTRAP"],
        group_id=env["PLAIN_GROUP"],
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=5000,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    client = InfluxDBClient(
        url=env["PLAIN_INFLUX_URL"], token=env["PLAIN_INFLUX_TOKEN"], org=env["PLAIN_INFLUX_ORG"],
        enable_gzip=True,
    )  # fmt: skip
    write = client.write_api(write_options=SYNCHRONOUS)
    bucket = env["PLAIN_BUCKET"]
    while True:
        batch = consumer.poll(timeout_ms=500, max_records=5000)
        lines = [line(json.loads(r.value)) for records in batch.values() for r in records]
        if lines:
            write.write(bucket=bucket, record="\n".join(lines))
            consumer.commit()


if __name__ == "__main__":
    main()
