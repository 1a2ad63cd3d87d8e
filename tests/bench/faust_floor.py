"""Faust's own per-event ceiling: an agent that only acks (manual acks, like sovwatch's).

Run by bench_pipeline.py: `python tests/bench/faust_floor.py worker` with FLOOR_TOPICS,
FLOOR_EVENTS and FLOOR_BOOTSTRAP in the environment; prints `RATE <events/s>` and exits.
"""

from __future__ import annotations

import os
import time
from typing import Any

import faust

app = faust.App(
    f"bench-faust-floor-{os.getpid()}",
    broker=f"kafka://{os.environ.get('FLOOR_BOOTSTRAP', '127.0.0.1:9092')}",
    store="memory://",
    key_serializer="raw",
    value_serializer="raw",
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    autodiscover=False,
)
topic = app.topic(*os.environ["FLOOR_TOPICS"].split(","), key_type=bytes, value_type=bytes)
TOTAL = int(os.environ["FLOOR_EVENTS"])


@app.agent(topic)
async def ack_only(stream: Any) -> None:
    manual = stream.noack()
    seen, started = 0, 0.0
    async for event in manual.events():
        if seen == 0:
            started = time.perf_counter()
        seen += 1
        await manual.ack(event)
        if seen == TOTAL:
            print(f"RATE {TOTAL / (time.perf_counter() - started):.0f}", flush=True)
            os._exit(0)


if __name__ == "__main__":
    faust.Worker(app, loglevel="warning").execute_from_commandline()
