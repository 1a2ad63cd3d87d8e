"""Rule engine throughput in-process, and event -> alert latency through real Kafka.

    make bench-rules                                   # all three
    .venv/bin/python tests/bench/bench_rules.py --events 200000 --skip-latency

1. throughput: every shipped pack over N mixed, validated events (GPU, power, physical, audit),
   one core, no I/O; events/s of `RuleEngine.process` (decoding excluded: see bench-schemas);
2. timer cost: CPU time of one `RuleEngine.tick` when nothing is due, with one hot GPU on each of
   `--groups` nodes in the state (an absence and a sustained group each);
3. latency: a worker on the native stack fed 5,000 events/s for `--seconds` (tests/bench/latency.py;
   a missing alert counts as infinitely late).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from drain import RunFailedError
from latency import latency_log, measure_latency

from agents.rules.engine import RuleEngine
from agents.rules.loader import load_packs
from schemas.decode import decode
from schemas.gpu import GpuSample
from schemas.settings import TopicSettings
from streams.simulator.recent import recent_records, small_fleet

FAMILIES = ("gpu", "power", "physical", "audit")


def throughput(events: int, batch: int = 0) -> tuple[int, float, int]:
    """Events, events/s and alerts of `process` per event, or of `process_batch` in batches."""
    topics = TopicSettings()
    families = {getattr(topics, f): f for f in FAMILIES}
    minutes = max(1, events // (40 * 60) + 1)  # a simulated site-minute is ~70 records
    sites = tuple((f"site-{i:03d}", ("DE", "FR", "SA", "IN")[i % 4]) for i in range(40))
    decoded = [
        decode(value, families[topic])
        for topic, _, value in recent_records(topics, small_fleet(sites), minutes=minutes)
    ][:events]
    engine = RuleEngine(load_packs())
    alerts = 0
    started = time.process_time()
    if batch:
        for first in range(0, len(decoded), batch):
            chunk = decoded[first : first + batch]
            alerts += len(engine.process_batch([(e, 0) for e in chunk], now=chunk[-1].ts))
    else:
        for event in decoded:
            alerts += len(engine.process(event, now=event.ts))
    elapsed = time.process_time() - started
    return len(decoded), len(decoded) / elapsed, alerts


def tick_cost(groups: int, ticks: int = 50) -> tuple[int, float, float]:
    """Keys of rule state, CPU ms of the first tick (it indexes the state) and of a later one,
    with nothing due (the absence window is 5 min: 51 ticks of 5 s stay inside it)."""
    engine = RuleEngine(load_packs())
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)
    for i in range(groups):
        sample = GpuSample(
            event_id=f"tick-{i}",
            site_id=f"site-{i % 40:03d}",
            country="DE",
            ts=start,
            source="bench",
            node=f"node-{i}",
            gpu_index=0,
            gpu_uuid=f"GPU-{i}",
            gpu_temp_c=90.0,
        )
        engine.process(sample, now=start)
    started = time.process_time()
    engine.tick(start + timedelta(seconds=5)).commit()
    first = time.process_time() - started
    started = time.process_time()
    for n in range(ticks):
        engine.tick(start + timedelta(seconds=5 * (n + 2))).commit()
    return len(engine.state), first * 1000, (time.process_time() - started) / ticks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    count, rate, alerts = throughput(args.events)
    rules = sum(len(p.rules) for p in load_packs())
    print("| measurement | value |\n| --- | ---: |")
    print(
        f"| rule engine, {rules} rules, {count:,} mixed events, 1 core (events/s) | {rate:,.0f} |"
    )
    print(f"| alerts (incl. updates) raised on that input | {alerts:,} |")
    _, batched, _ = throughput(args.events, batch=1000)
    print(f"| the same through process_batch, 1,000 events a batch (events/s) | {batched:,.0f} |")
    keys, first_ms, tick_ms = tick_cost(args.groups)
    print(
        f"| first timer tick (indexes the state), {keys:,} state keys (CPU ms) | {first_ms:,.1f} |"
    )
    print(
        f"| later timer tick + commit, nothing due, {keys:,} state keys (CPU ms) | {tick_ms:,.3f} |"
    )
    if not args.skip_latency:
        try:
            lat = measure_latency(args.seconds, args.rate, latency_log())
        except RunFailedError as exc:
            raise SystemExit(f"latency: FAILED: {exc}") from None
        for q in (50, 99):
            ms = lat.quantile_ms(q)
            print(f"| event -> alert latency at {args.rate:,} events/s, p{q} (ms) | {ms:,.0f} |")
        print(f"| alerts measured / missing | {len(lat.samples_s):,} / {lat.missing:,} |")


if __name__ == "__main__":
    main()
