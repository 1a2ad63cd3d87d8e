"""Rule engine throughput in-process, and event -> alert latency through real Kafka.

    make bench-rules                                   # both
    .venv/bin/python bench/bench_rules.py --events 200000 --skip-latency

1. throughput: every shipped pack over N mixed, validated events (GPU, power, physical, audit),
   one core, no I/O; events/s of `RuleEngine.process` (decoding excluded: see bench-schemas);
2. latency: a worker on the native stack fed 5,000 events/s for `--seconds` (bench/latency.py;
   a missing alert counts as infinitely late).
"""

from __future__ import annotations

import argparse
import time

from drain import RunFailedError
from latency import latency_log, measure_latency

from agents.rules.engine import RuleEngine
from agents.rules.loader import load_packs
from schemas.decode import decode
from streams.demo import MALFORMED, demo_records
from streams.settings import TopicSettings

FAMILIES = ("gpu", "power", "physical", "audit")


def throughput(events: int) -> tuple[int, float, int]:
    topics = TopicSettings()
    families = {getattr(topics, f): f for f in FAMILIES}
    minutes = max(1, round(events / (40 * 9.4 * 6)))
    sites = tuple((f"site-{i:03d}", ("DE", "FR", "SA", "IN")[i % 4]) for i in range(40))
    decoded = [
        decode(value, families[topic])
        for topic, _, value in demo_records(topics, minutes=minutes, sites=sites)
        if value not in MALFORMED
    ][:events]
    engine = RuleEngine(load_packs())
    alerts = 0
    started = time.process_time()
    for event in decoded:
        alerts += len(engine.process(event, now=event.ts))
    elapsed = time.process_time() - started
    return len(decoded), len(decoded) / elapsed, alerts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
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
