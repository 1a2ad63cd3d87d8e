"""Telegraf adapter vs native JSON families through the worker's decode, one core, no servers.

    make bench-collectors                    # tests/bench/results/collectors-<date>.md
    .venv/bin/python tests/bench/bench_collectors.py --seconds 0.2 --runs 3

Each case is what `Ingest.decode` (size limit, decode + validate, future-skew check) does with
one Kafka record: a native GpuSample / PowerReading as JSON, and the same sample as Telegraf's
outputs.kafka writes it, in its json and influx data formats (`agents.telegraf`). The Telegraf
metrics are the real Telegraf 1.37.2 output the unit tests use. Prints records/s (best of N
runs) and CPU seconds per 1,000 records, and writes tests/bench/results/collectors-<date>.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pydantic

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.telegraf.metric import parse_influx
from schemas.settings import Settings

HERE = Path(__file__).parent
RECORDED = HERE.parents[1] / "tests/unit/agents/telegraf/a100-node.influx"
KEY = b"bench-collectors-key-0123456789ab"


def recorded(name: str, **tags: str) -> bytes:
    for line in RECORDED.read_bytes().splitlines():
        metric = parse_influx(line)
        if metric.name == name and tags.items() <= metric.tags.items():
            return line + b"\n"
    raise SystemExit(f"no {name} {tags} in {RECORDED}")


def as_json(line: bytes) -> bytes:
    """The metric as Telegraf's json serializer writes it (json_timestamp_units = 1ms)."""
    metric = parse_influx(line)
    return json.dumps(
        {
            "fields": metric.fields,
            "name": metric.name,
            "tags": metric.tags,
            "timestamp": int(metric.ts.timestamp() * 1000),
        },
        separators=(",", ":"),
    ).encode()


def ingest(data_format: str) -> Ingest:
    settings = Settings.model_validate({"telegraf": {"data_format": data_format}})
    return Ingest(settings, Pseudonymiser(KEY))


def cases() -> list[tuple[str, str, Callable[[], object], int]]:
    """(family, case, one decode, record bytes)."""
    json_ingest, influx_ingest = ingest("json"), ingest("influx")
    topics = Settings().topics
    telegraf = topics.telegraf
    rack = recorded("redfish_power_powercontrol", chassis_chassistype="Rack")
    rows: list[tuple[str, str, Callable[[], object], int]] = []
    for family, topic, line in (
        ("gpu", topics.gpu, recorded("nvidia_smi")),
        ("power", topics.power, rack),
    ):
        native = influx_ingest.decode(line, telegraf).model_dump_json(exclude_none=True).encode()
        tj = as_json(line)
        rows += [
            (family, "native JSON", partial(json_ingest.decode, native, topic), len(native)),
            (family, "Telegraf json", partial(json_ingest.decode, tj, telegraf), len(tj)),
            (family, "Telegraf influx", partial(influx_ingest.decode, line, telegraf), len(line)),
        ]
    return rows


def measure(func: Callable[[], object], seconds: float, runs: int) -> tuple[float, float]:
    """Best records/s over `runs` runs, and the CPU seconds per 1,000 records of that run."""
    best, cpu_per_k = 0.0, 0.0
    for _ in range(runs):
        calls, started, cpu_started = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - started) < seconds:
            for _ in range(500):
                func()
            calls += 500
        if calls / elapsed > best:
            best = calls / elapsed
            cpu_per_k = (time.process_time() - cpu_started) / calls * 1000
    return best, cpu_per_k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=None, help="default tests/bench/results/...")
    args = parser.parse_args()
    now = datetime.now(UTC)
    lines = [
        f"# Collector adapters {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Python {platform.python_version()}, pydantic {pydantic.VERSION}; one core, best of "
        f"{args.runs} runs of {args.seconds}s per case. `Ingest.decode` of one record (what the "
        "worker does before rules and storage). Command: `make bench-collectors`.",
        "",
        "| family | record | bytes | records/s | CPU s / 1k records | vs native |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    native_rate = 0.0
    for family, case, func, size in cases():
        rate, cpu = measure(func, args.seconds, args.runs)
        native_rate = rate if case == "native JSON" else native_rate
        lines.append(
            f"| {family} | {case} | {size} | {rate:,.0f} | {cpu:.4f} | {rate / native_rate:.2f}x |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = args.out or HERE / "results" / f"collectors-{now:%Y-%m-%d}.md"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
