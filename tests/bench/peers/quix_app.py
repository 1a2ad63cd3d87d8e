"""Peer: a Quix Streams app doing the Kafka -> InfluxDB v2 job (JSON in, line protocol out, a
batching sink; Quix commits offsets at each checkpoint after the sink flushed). No validation,
no pseudonymisation, no rules. Runs until stopped.

Quix Streams pins pydantic < 2.14, which sovwatch cannot use, so it runs from its own venv:
`~/.cache/sovwatch/quix-venv/bin/python tests/bench/peers/quix_app.py` (bench_peers.py makes it).
Environment: as plain_loop.py, with QUIX_ instead of PLAIN_.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from quixstreams import Application
from quixstreams.sinks import BatchingSink, SinkBatch

sys.path.insert(0, str(Path(__file__).parent))
from lineproto import line


class InfluxV2Sink(BatchingSink):
    """Writes each checkpoint's batch as line protocol (gzip), in 5,000-line requests."""

    def __init__(self, url: str, token: str, org: str, bucket: str) -> None:
        super().__init__()
        client = InfluxDBClient(url=url, token=token, org=org, enable_gzip=True)
        self._write = client.write_api(write_options=SYNCHRONOUS)
        self._bucket = bucket

    def write(self, batch: SinkBatch) -> None:
        lines = [line(item.value) for item in batch]
        for i in range(0, len(lines), 5000):
            self._write.write(bucket=self._bucket, record="\n".join(lines[i : i + 5000]))


def main() -> None:
    env = os.environ
    app = Application(
        broker_address=env["QUIX_BOOTSTRAP"],
        consumer_group=env["QUIX_GROUP"],
        auto_offset_reset="earliest",
        commit_interval=1.0,
        use_changelog_topics=False,
    )
    sink = InfluxV2Sink(
        env["QUIX_INFLUX_URL"], env["QUIX_INFLUX_TOKEN"], env["QUIX_INFLUX_ORG"], env["QUIX_BUCKET"]
    )
    for name in env["QUIX_TOPICS"].split(","):
        topic = app.topic(name, value_deserializer="json")
        sdf: Any = app.dataframe(topic)
        sdf.sink(sink)
    app.run()


if __name__ == "__main__":
    main()
