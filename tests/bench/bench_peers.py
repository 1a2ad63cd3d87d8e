"""sovwatch against the tools users would pick instead, on one pre-filled topic set, in one run.

    make bench-peers                                        # 100,000 simulated events, 3 runs
    .venv/bin/python tests/bench/bench_peers.py --events 20000 --runs 1 --latency-seconds 10
    .venv/bin/python tests/bench/bench_peers.py --systems sw1-on,telegraf --runs 5

1. pre-fill topics of this run (4 partitions) with mixed events from the fleet simulator;
2. every system drains them, round-robin so machine noise spreads evenly, `--runs` times:
   raw limits (a bare consumer; InfluxDB ingest of the events as pre-encoded line protocol),
   sovwatch (`sovwatch worker` of this checkout: 1 worker rules on and off, 2 workers rules
   on), and peers doing the same Kafka -> InfluxDB job with no rules: Telegraf
   (docker/native/telegraf.sh), a plain kafka-python + influxdb-client loop, a Quix Streams app
   (its own venv: it pins pydantic);
3. event -> alert latency at a paced 5,000 events/s (tests/bench/latency.py), `--runs` times.
A drain is timed from its group's first commit until its committed offsets reach the end of
the topics (tests/bench/drain.py); its InfluxDB bucket must then hold a point per event. CPU is
user+sys of the system's processes from /proc over the same window. A run that fails is
reported as FAILED with its reason and the bench goes on. Writes tests/bench/results/<date>.md,
.json and .png. Needs Kafka and InfluxDB up (`tests/bench/stack_up.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchenv import FAMILIES, cleanup, make_buckets, run_env, settings_for
from drain import Drain, RunFailedError, end_offsets
from latency import latency_log, measure_latency
from peers.lineproto import line
from peers_report import write_report
from procstat import listener_pid
from simdata import simulated
from systems import Prefill, Runner

from schemas.settings import Settings
from streams.admin.connect import kafka_admin
from streams.admin.topics import ensure_topics
from streams.simulator.output import KafkaOutput, record

HERE = Path(__file__).parent
# key -> label; the report and the goals refer to systems by key.
SYSTEMS = {
    "raw-consumer": "raw: bare aiokafka consumer drain",
    "raw-influx": "raw: InfluxDB ingest, pre-encoded line protocol",
    "sw1-on": "sovwatch: 1 worker, rules on",
    "sw1-off": "sovwatch: 1 worker, rules off",
    "sw2-on": "sovwatch: 2 workers, rules on",
    "telegraf": "peer: Telegraf 1.37.2 (kafka_consumer -> influxdb_v2)",
    "plain": "peer: plain kafka-python + influxdb-client loop",
    "quix": "peer: Quix Streams 3.28 app",
}


def prefill(settings: Settings, events: int, run: str) -> Prefill:
    """Simulated events (every incident kind) onto the run's topics."""
    sink = KafkaOutput(settings.kafka)
    lines: list[str] = []
    ids: dict[str, set[str]] = {f: set() for f in FAMILIES}
    started = time.perf_counter()
    for event in simulated(events, run):
        topic, key, value = record(settings.topics, event)
        sink.send(topic, key, value)
        lines.append(line(json.loads(value)))
        ids[event.family].add(event.event_id)
    sink.close()
    print(f"pre-filled {len(lines):,} events in {time.perf_counter() - started:.1f}s", flush=True)
    topics = {f: getattr(settings.topics, f) for f in FAMILIES}
    ends = end_offsets(settings.kafka.bootstrap_servers.split(",")[0], list(topics.values()))
    return Prefill(topics, ends, lines, {f: len(v) for f, v in ids.items()})


def context_pids(settings: Settings) -> dict[str, int]:
    """The broker's and InfluxDB's pids (found by their listening ports), for CPU shares."""
    ports = {
        "kafka broker": int(settings.kafka.bootstrap_servers.split(",")[0].rsplit(":", 1)[1]),
        "influxdb": urlsplit(settings.influxdb.url).port or 8086,
    }
    found = {name: listener_pid(port) for name, port in ports.items()}
    return {name: pid for name, pid in found.items() if pid is not None}


def measure(key: str, runner: Runner, i: int) -> Callable[[], Drain]:
    tag = f"{key}-{i}"
    return {
        "raw-consumer": lambda: runner.raw_consumer(tag),
        "raw-influx": lambda: runner.raw_influx(tag),
        "sw1-on": lambda: runner.sovwatch(1, True, tag),
        "sw1-off": lambda: runner.sovwatch(1, False, tag),
        "sw2-on": lambda: runner.sovwatch(2, True, tag),
        "telegraf": lambda: runner.telegraf(tag),
        "plain": lambda: runner.plain(tag),
        "quix": lambda: runner.quix(tag),
    }[key]


def attempt(label: str, action: Callable[[], Any]) -> dict[str, Any]:
    """{"ok": result} or {"failed": reason}; never raises (but for Ctrl-C / SIGTERM)."""
    try:
        return {"ok": action()}
    except RunFailedError as exc:
        reason = str(exc)
    except (Exception, asyncio.CancelledError) as exc:
        reason = f"{type(exc).__name__}: {exc} ({traceback.format_exc(limit=3).strip()[-600:]})"
    print(f"  {label}: FAILED: {reason[:2000]}", flush=True)
    return {"failed": reason}


def shown(result: Any) -> str:
    if isinstance(result, Drain):
        rss = f", {result.rss_mib:,.0f} MiB" if result.rss_mib else ""
        return f"{result.events_per_s:,.0f} ev/s, {result.cpu_per_1k:.3f} CPU s/1k{rss}"
    return (
        f"p50 {result.quantile_ms(50):,.0f} ms, p99 {result.quantile_ms(99):,.0f} ms, "
        f"{result.missing} of {result.expected} alerts missing"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated keys")
    parser.add_argument("--latency-seconds", type=int, default=20)
    parser.add_argument("--latency-rate", type=int, default=5000)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--drain-timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("--stall-timeout", type=float, default=300, help="no commit progress")
    parser.add_argument("--profile", action="store_true", help="py-spy a draining worker")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    return args


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop children
    args = parse_args()
    run = uuid.uuid4().hex[:8]
    env = run_env(run)
    settings = settings_for(env)
    admin = kafka_admin(settings.kafka)
    logs = Path(tempfile.mkdtemp(prefix=f"bench-peers-{run}-"))
    print(f"run {run}: logs in {logs}", flush=True)
    try:
        ensure_topics(admin, settings.topics)
        make_buckets(settings)
        data = prefill(settings, args.events, run)
        runner = Runner(
            settings,
            admin,
            data,
            env,
            run,
            context_pids(settings),
            logs,
            args.drain_timeout,
            args.stall_timeout,
        )
        results: dict[str, list[dict[str, Any]]] = {key: [] for key in args.systems}
        for i in range(args.runs):
            print(f"round {i + 1} of {args.runs}", flush=True)
            for key in args.systems:
                outcome = attempt(f"{key} #{i + 1}", measure(key, runner, i))
                if "ok" in outcome:
                    print(f"  {key} #{i + 1}: {shown(outcome['ok'])}", flush=True)
                results[key].append(outcome)
        latency: list[dict[str, Any]] = []
        if not args.skip_latency:
            print(f"latency at {args.latency_rate:,} events/s", flush=True)
            for i in range(args.runs):
                outcome = attempt(
                    f"latency #{i + 1}",
                    lambda: measure_latency(args.latency_seconds, args.latency_rate, latency_log()),
                )
                if "ok" in outcome:
                    print(f"  latency #{i + 1}: {shown(outcome['ok'])}", flush=True)
                latency.append(outcome)
        profile = None
        if args.profile:
            from profile_worker import profile_worker, summarise_profile

            out = args.out / f"{datetime.now(UTC):%Y-%m-%d}.pyspy.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            done = attempt("profile", lambda: profile_worker(env, admin, f"bench-{run}-spy", out))
            profile = summarise_profile(done["ok"]) if "ok" in done else None
        path = write_report(args, data, SYSTEMS, results, latency, profile)
        print(path.read_text())
    finally:
        cleanup(admin, settings, run)
        admin.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
