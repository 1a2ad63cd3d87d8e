"""Pipeline throughput on the native stack, with the raw limits measured in the same run.

    make bench-pipeline            # 1,000,000 mixed events
    .venv/bin/python tests/bench/bench_pipeline.py --events 200000

1. pre-fill isolated topics with N mixed events (GPU, power, physical, audit; 4 partitions);
2. raw limit A: a bare aiokafka consumer drains them (no decoding);
3. raw limit B: InfluxDB ingests the same events as pre-encoded line protocol (5,000-line gzip
   batches, one writer, like the worker);
4. Faust's floor: a Faust agent that only acks each event (tests/bench/faust_floor.py);
5. sovwatch: one `sovwatch worker` drains them into InfluxDB; events/s and its RSS at the end.
Prints one table. Needs the stack up (`sovwatch stack up`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from raw_limits import drain_raw, influx_raw

from agents.influx.points import to_line
from schemas.decode import Family, decode
from schemas.settings import Settings
from streams.admin.connect import kafka_admin
from streams.admin.produce import produce
from streams.admin.topics import ensure_topics
from streams.simulator.recent import recent_records, small_fleet
from streams.stack.process import free_port

FAMILY_FIELDS: tuple[Family, ...] = ("gpu", "power", "physical", "audit")


def isolated_settings(run: str) -> tuple[Settings, dict[str, str]]:
    env = {
        "SOVWATCH_WORKER__APP_ID": f"bench-{run}",
        "SOVWATCH_WORKER__WEB_PORT": str(free_port()),
        "SOVWATCH_PRIVACY__PSEUDONYM_KEY": f"bench-key-{run}-0123456789",
        "SOVWATCH_PRIVACY__DLQ_KEY": hashlib.sha256(f"bench-dlq-{run}".encode()).hexdigest(),
        **{f"SOVWATCH_TOPICS__{f.upper()}": f"bench.{run}.{f}" for f in FAMILY_FIELDS},
        "SOVWATCH_TOPICS__DLQ": f"bench.{run}.dlq",
    }
    os.environ.update(env)
    return Settings(), env


def records(settings: Settings, events: int) -> list[tuple[str, bytes, bytes]]:
    # The simulator's recent minutes of 50 sites of 8 GPUs (a site-minute is ~70 records).
    minutes = max(1, events // (50 * 60) + 1)
    sites = tuple((f"bench-site-{i:03d}", ("DE", "FR", "SA", "IN", "JP")[i % 5]) for i in range(50))
    return list(recent_records(settings.topics, small_fleet(sites), minutes=minutes))[:events]


def faust_floor(settings: Settings, total: int) -> float:
    topics = ",".join(getattr(settings.topics, f) for f in FAMILY_FIELDS)
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("faust_floor.py")), "worker"],
        env={
            **os.environ,
            "FLOOR_TOPICS": topics,
            "FLOOR_EVENTS": str(total),
            "FLOOR_BOOTSTRAP": settings.kafka.bootstrap_servers.split(",")[0],
        },
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    # Faust's worker may route print() through its logger: look at both streams.
    output = result.stdout + result.stderr
    rates = [line.split()[-1] for line in output.splitlines() if "RATE" in line]
    if not rates:
        raise SystemExit(f"faust floor failed: {result.stdout[-1000:]}{result.stderr[-1000:]}")
    return float(rates[0])


def worker_drain(env: dict[str, str], total: int, log: Path) -> tuple[float, float]:
    sovwatch = Path(sys.executable).with_name("sovwatch")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(sovwatch), "worker", "--loglevel", "warning"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    print(f"worker pid {proc.pid} draining...", flush=True)
    try:
        started = None
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"worker exited: {log.read_text()[-2000:]}")
            try:
                health_url = f"http://127.0.0.1:{env['SOVWATCH_WORKER__WEB_PORT']}/health"
                with urllib.request.urlopen(health_url, timeout=5) as r:
                    health = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
                continue
            done = health["stored"] + health["dead_letters"]
            if started is None and done > 0:
                started, first = time.perf_counter(), done
            if done >= total and started is not None:
                rate = (done - first) / (time.perf_counter() - started)
                status = Path(f"/proc/{proc.pid}/status").read_text()
                rss = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS"))
                return rate, rss / 1024
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    settings, env = isolated_settings(run)
    admin = kafka_admin(settings.kafka)
    ensure_topics(admin, settings.topics)
    admin.close()

    print(f"generating {args.events:,} events...", flush=True)
    batch = records(settings, args.events)
    total = len(batch)
    started = time.perf_counter()
    produce(settings.kafka, batch)
    produce_rate = total / (time.perf_counter() - started)
    print(f"pre-filled {total:,} events ({produce_rate:,.0f}/s with kafka-python)", flush=True)

    count = range(settings.topics.partitions)
    partitions = {getattr(settings.topics, f): list(count) for f in FAMILY_FIELDS}
    raw_kafka = asyncio.run(drain_raw(settings, partitions, total, {})).events_per_s
    lines = [
        to_line(
            decode(value, topic, topics={getattr(settings.topics, f): f for f in FAMILY_FIELDS})
        )[1]
        for topic, _, value in batch
    ]
    bucket = settings.influxdb.buckets.telemetry
    raw_influx = asyncio.run(influx_raw(settings, bucket, lines, {})).events_per_s
    floor = faust_floor(settings, total)
    with tempfile.TemporaryDirectory() as tmp:
        rate, rss = worker_drain(env, total, Path(tmp) / "worker.log")

    lower = min(raw_kafka, raw_influx)
    rows = [
        ("raw: bare aiokafka consumer drain", f"{raw_kafka:,.0f}"),
        (
            "raw: InfluxDB ingest of pre-encoded line protocol (5,000-line gzip)",
            f"{raw_influx:,.0f}",
        ),
        ("raw: Faust agent that only acks (Faust's own per-event cost)", f"{floor:,.0f}"),
        ("sovwatch: 1 worker, decode+validate+pseudonymise+write+ack", f"{rate:,.0f}"),
        ("sovwatch / lower of the Kafka and InfluxDB limits", f"{100 * rate / lower:.0f} %"),
        ("sovwatch / Faust's floor", f"{100 * rate / floor:.0f} %"),
        ("worker RSS at the end", f"{rss:,.0f} MiB"),
    ]
    print()
    print(f"| {total:,} mixed events, 4 partitions, this machine | events/s |")
    print("| --- | ---: |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
