"""Batch size against a real InfluxDB (`bench_hotpath.py --batch-size`, `make bench-batch-size`).

The same telemetry lines (simulator events through `agents.influx.points.to_line`) are written in
batches of each size through the worker's own `InfluxWriter` (gzip on, one request in flight,
as the point sink does), each size and round into a fresh bucket so no write overwrites earlier
points. Sizes are interleaved round by round so machine noise spreads evenly; the median round
counts. Reported per size: lines/s, ms per batch (p50 / p99), CPU seconds per 1k lines of the
writer (this process) and of influxd (from /proc), and the points the bucket then holds.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from benchenv import count_points, delete_buckets, make_bucket
from procstat import listener_pid, usage

from agents.influx.writer import InfluxWriter
from schemas.settings import Settings

SIZES = (1000, 5000, 10000)


@dataclass(frozen=True)
class Round:
    size: int
    lines: int
    seconds: float
    batch_ms: list[float]
    writer_cpu_s: float
    influxd_cpu_s: float | None
    stored: int


async def _write_all(settings: Settings, bucket: str, lines: list[str], size: int) -> list[float]:
    writer = InfluxWriter(settings.worker, timeout_s=60)
    took: list[float] = []
    try:
        for first in range(0, len(lines), size):
            started = time.perf_counter()
            await writer.write(settings.influxdb, bucket, lines[first : first + size])
            took.append(1000 * (time.perf_counter() - started))
    finally:
        await writer.close()
    return took


def one_round(settings: Settings, bucket: str, lines: list[str], size: int) -> Round:
    influxd = listener_pid(urlsplit(settings.influxdb.url).port or 8086)
    server0 = usage(influxd).cpu_s if influxd else 0.0
    cpu0, started = time.process_time(), time.perf_counter()
    took = asyncio.run(_write_all(settings, bucket, lines, size))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
    server = usage(influxd).cpu_s - server0 if influxd else None
    stored = count_points(settings, bucket)
    return Round(size, len(lines), seconds, took, cpu, server, stored)


def measure_batch_sizes(settings: Settings, lines: list[str], repeat: int) -> list[Round]:
    """The median round (by lines/s) of each size; buckets deleted afterwards."""
    run = uuid.uuid4().hex[:8]
    rounds: dict[int, list[Round]] = {size: [] for size in SIZES}
    try:
        for r in range(repeat):
            for size in SIZES:
                bucket = make_bucket(settings, f"bench-{run}-batch{size}-{r}")
                done = one_round(settings, bucket, lines, size)
                print(
                    f"  batch {size:>6,} round {r + 1}: {done.lines / done.seconds:,.0f} lines/s",
                    flush=True,
                )
                rounds[size].append(done)
    finally:
        delete_buckets(settings, run)
    return [
        sorted(rs, key=lambda x: x.lines / x.seconds)[len(rs) // 2] for rs in rounds.values() if rs
    ]


def batch_table(rounds: list[Round], repeat: int, url: str) -> list[str]:
    influx = urlsplit(url)
    out = [
        "",
        "### batch size, real InfluxDB",
        "",
        f"{rounds[0].lines:,} telemetry lines per round to {influx.hostname}:{influx.port} "
        f"through `agents.influx.writer.InfluxWriter` (gzip, one request in flight); median "
        f"of {repeat} interleaved rounds.",
        "",
        "| lines per batch | lines/s | ms per batch p50 | p99 | writer CPU s/1k lines "
        "| influxd CPU s/1k lines | points stored |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rounds:
        q = statistics.quantiles(r.batch_ms, n=100) if len(r.batch_ms) > 1 else r.batch_ms * 99
        server = "n/a" if r.influxd_cpu_s is None else f"{1000 * r.influxd_cpu_s / r.lines:.3f}"
        out.append(
            f"| {r.size:,} | {r.lines / r.seconds:,.0f} | {q[49]:,.1f} | {q[98]:,.1f} "
            f"| {1000 * r.writer_cpu_s / r.lines:.3f} | {server} | {r.stored:,} |"
        )
    return out
