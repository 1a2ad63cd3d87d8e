"""Ingest throughput of valid events alone vs. mixed 1:1 with garbage, one core.

Run: .venv/bin/python tests/bench/bench_bad_input.py [--runs 5] [--events 20000]
Each valid event goes through what the worker does before InfluxDB (`Ingest.decode`,
pseudonymise, points); each bad one through `Ingest.decode` and its dead letter (built and
serialised). Garbage is the fuzz tests' mix (`tests.strategies.bad_records`, small kinds plus
a few oversize and deeply nested records). Prints best-of-N rates: does garbage slow valid events?
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agents.dead_letters import DeadLetterMaker
from agents.dlq_crypto import DlqCipher
from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from schemas.errors import DecodeError
from schemas.settings import Settings
from streams.simulator.recent import recent_records, small_fleet
from tests.strategies.bad_records import BadRecords, Seed

# Generated events are dated up to year 9999: schema validity is the property here, not the
# worker's clock bound (tested in tests/unit/agents/ingest/test_agent.py), so it is lifted.
SETTINGS = Settings.model_validate({"worker": {"max_future_skew_s": 1e12}})
PSEUDONYMISER = Pseudonymiser(b"bench-key-0123456789abcdef")
INGEST = Ingest(SETTINGS, PSEUDONYMISER)
DEAD_LETTER = DeadLetterMaker(SETTINGS.topics, DlqCipher([bytes(32)]), PSEUDONYMISER)
BIG_KINDS = ("oversize", "huge_string", "deep_nesting")
Item = tuple[str, bytes]


def valid_events(count: int) -> list[Item]:
    records = [
        (topic, value)
        for topic, _, value in recent_records(
            SETTINGS.topics, small_fleet(), minutes=count // 120 + 1, seed=5
        )
    ]
    return records[:count]


def garbage(valid: list[Item], count: int, big_share: float) -> list[Item]:
    """`count` bad records; `big_share` of them oversize, huge-string or deeply nested."""
    seeds = [Seed(INGEST.topic_families[topic], raw) for topic, raw in valid[:2000]]
    limit = SETTINGS.topics.max_record_bytes
    generator = BadRecords(seeds, random.Random(9), max_record_bytes=limit)
    small = [kind for kind in generator.kinds if kind not in BIG_KINDS]
    topic_of = {family: topic for topic, family in INGEST.topic_families.items()}
    out: list[Item] = []
    while len(out) < count:
        big = generator.rng.random() < big_share
        case = generator.case(generator.rng.choice(BIG_KINDS if big else small))
        if case.expect == "invalid":
            out.append((topic_of[case.family], case.raw))
    return out


def handle(topic: str, raw: bytes) -> None:
    """What the ingest agent does with one record, up to InfluxDB or the DLQ producer."""
    try:
        event = INGEST.decode(raw, topic)
    except DecodeError as error:
        letter = DEAD_LETTER(topic=topic, partition=0, offset=0, key=None, value=raw, error=error)
        letter.model_dump_json()
        return
    INGEST.points(INGEST.pseudonymised(event))


def best_seconds(func: Callable[[], None], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def run(items: list[Item]) -> Callable[[], None]:
    def go() -> None:
        for topic, raw in items:
            handle(topic, raw)

    return go


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    n = args.events
    valid = valid_events(n)
    small_garbage = garbage(valid, n, big_share=0.0)
    with_big = garbage(valid, n, big_share=0.01)
    rng = random.Random(1)
    mixes = {
        "valid only": valid,
        "valid + 50% garbage (small)": [
            x for pair in zip(valid, small_garbage, strict=True) for x in pair
        ],
        "valid + 50% garbage (1% big)": [
            x for pair in zip(valid, with_big, strict=True) for x in pair
        ],
    }
    for items in mixes.values():
        rng.shuffle(items)
    print(f"python {platform.python_version()} on {platform.processor() or platform.machine()}")
    print(f"{n:,} valid events (4 families), best of {args.runs} runs, one core\n")
    header = (
        f"{'workload':30} {'records':>8} {'records/s':>11} {'valid events/s':>15} "
        f"{'µs per valid':>13}"
    )
    print(header)
    print("-" * len(header))
    for name, items in mixes.items():
        seconds = best_seconds(run(items), args.runs)
        print(
            f"{name:30} {len(items):>8,} {len(items) / seconds:>11,.0f} {n / seconds:>15,.0f} "
            f"{seconds / n * 1e6:>13.1f}"
        )
    for name, items in (
        ("garbage alone (small)", small_garbage),
        ("garbage alone (1% big)", with_big),
    ):
        seconds = best_seconds(run(items), args.runs)
        print(f"{name:30} {len(items):>8,} {len(items) / seconds:>11,.0f} {'-':>15} {'-':>13}")


if __name__ == "__main__":
    main()
