"""Hot-path micro-benchmarks, one core, no servers: the evidence for each per-event choice.

    make bench-hotpath                                  # tests/bench/results/hotpath-<date>.md
    .venv/bin/python tests/bench/bench_hotpath.py --seconds 0.2 --repeat 3
    make bench-batch-size                               # needs InfluxDB (the native stack)

On simulator records of each family (GPU, power, physical, audit), only with libraries the
project already installs:
1. JSON decode + validate: `schemas.decode` and the worker's `Ingest.decode` (size limit and
   future-skew check included) vs pydantic `model_validate_json` and `json.loads` +
   `model_validate`, and parse-only floors (no validation);
2. pseudonymisation: `agents.privacy.Pseudonymiser` per identifier and per event (the worker's
   `Ingest.pseudonymised`), vs HMAC from a prepared key state, keyed BLAKE2b and a memoised HMAC;
3. line protocol: `agents.influx.points.to_line` (event -> line) and
   `agents.influx.lineprotocol.encode_line` (prepared tags/fields -> line) vs influxdb-client's
   `Point` built field by field and `Point.from_dict`, each + `to_line_protocol`;
4. gzip level 1 / 6 / 9 on a 5,000-line batch: time and ratio (influxdb-client's `enable_gzip`,
   which the worker's writer uses, calls `gzip.compress` at its default level, 9).
Prints one table per section (µs per record, records/s) and writes
tests/bench/results/hotpath-<date>.md.
`--batch-size` instead writes 1k / 5k / 10k-line batches to the InfluxDB of the settings
(tests/bench/hotpath_batch.py) and writes tests/bench/results/batch-size-<date>.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import hmac
import itertools
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import influxdb_client
import pydantic
from hotpath_batch import batch_table, measure_batch_sizes
from influxdb_client import Point, WritePrecision
from pydantic_core import from_json
from simdata import simulated

from agents.influx.lineprotocol import FieldValue, encode_line
from agents.influx.points import NOT_FIELDS, SPECS, _flatten, timestamp_ns, to_line
from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from schemas.decode import FAMILIES, FAMILY_MODELS, Event, Family, decode
from schemas.personal import pseudonymise
from schemas.settings import Settings, TopicSettings
from streams.simulator.output import record

HERE = Path(__file__).parent
KEY = b"bench-hotpath-key-0123456789abcdef"
GZIP_LINES = 5000
Row = tuple[str, str, float | None, str]  # section, case, µs per record (None: failed), note
Case = tuple[str, Callable[[Any], object], Sequence[Any], str]  # name, func, inputs, note
Prepared = tuple[str, dict[str, str], dict[str, FieldValue], int]  # measurement, tags, fields, ns


def records(per_family: int) -> dict[Family, list[bytes]]:
    """The first `per_family` JSON records of each family, as the simulator puts them on Kafka."""
    out: dict[Family, list[bytes]] = {f: [] for f in FAMILIES}
    topics = TopicSettings()
    for event in simulated(120_000, "hot"):
        if len(out[event.family]) < per_family:
            out[event.family].append(record(topics, event)[2])
        if all(len(v) >= per_family for v in out.values()):
            break
    return out


def telemetry_lines(count: int) -> list[str]:
    """The first `count` telemetry events in their natural mix, as line protocol."""
    events = (e for e in simulated(count * 2, "hot") if e.family != "audit")
    return [to_line(event)[1] for event in itertools.islice(events, count)]


def per_record_us(
    func: Callable[[Any], object], items: Sequence[Any], seconds: float, repeat: int
) -> float:
    """Best µs per call over `repeat` runs of about `seconds` each, cycling through `items`."""
    best = float("inf")
    for _ in range(repeat):
        calls, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            for item in items:
                func(item)
            calls += len(items)
        best = min(best, 1e6 * elapsed / calls)
    return best


def measure(section: str, case: Case, args: argparse.Namespace) -> Row:
    """One row; a case that fails on the records says so instead of a figure."""
    name, func, items, note = case
    try:
        for item in items:
            func(item)
    except Exception as exc:
        return section, name, None, f"fails: {type(exc).__name__}: {str(exc)[:120]}"
    return section, name, per_record_us(func, items, args.seconds, args.repeat), note


def loads_then_validate(model: type[Event], raw: bytes) -> Event:
    return model.model_validate(json.loads(raw), strict=False)


def decode_cases(raw: dict[Family, list[bytes]], ingest: Ingest) -> list[Case]:
    topics = TopicSettings()
    cases: list[Case] = []
    for family in FAMILIES:
        model, items, topic = FAMILY_MODELS[family], raw[family], getattr(topics, family)
        cases += [
            (
                f"{family}: schemas.decode (repo)",
                partial(decode, family_or_topic=family),
                items,
                "",
            ),
            (
                f"{family}: Ingest.decode (worker: size limit + decode + future-skew check)",
                partial(ingest.decode, topic=topic),
                items,
                "",
            ),
            (f"{family}: Model.model_validate_json", model.model_validate_json, items, ""),
            (
                f"{family}: json.loads + Model.model_validate(strict=False)",
                partial(loads_then_validate, model),
                items,
                "the models are strict; from Python objects an ISO timestamp needs lax mode",
            ),
            (f"{family}: floor, pydantic_core.from_json (no validation)", from_json, items, ""),
            (f"{family}: floor, json.loads (no validation)", json.loads, items, ""),
        ]
    return cases


def pseudonymise_cases(events: dict[Family, list[Event]], ingest: Ingest) -> list[Case]:
    current = Pseudonymiser(KEY)
    ids = [f"B-{i:05d}" for i in range(2000)]

    def blake2b(identifier: str) -> str:
        return "p_" + hashlib.blake2b(identifier.encode(), key=KEY, digest_size=12).hexdigest()

    inner = hmac.new(KEY, digestmod=hashlib.sha256)

    def hmac_copy(identifier: str) -> str:
        h = inner.copy()
        h.update(identifier.encode())
        return "p_" + h.hexdigest()[:24]

    memo = lru_cache(maxsize=65536)(current.__call__)
    cases: list[Case] = [
        ("identifier: Pseudonymiser (HMAC-SHA256, repo)", current, ids, ""),
        ("identifier: HMAC-SHA256 from a prepared key state (.copy())", hmac_copy, ids, ""),
        ("identifier: keyed BLAKE2b-96", blake2b, ids, "a different pseudonym: rotation needed"),
        (
            "identifier: memoised Pseudonymiser (2,000 distinct ids)",
            memo,
            ids,
            "hits after the 1st pass",
        ),
    ]
    for family in ("physical", "audit"):
        cases += [
            (
                f"{family} event: schemas.personal.pseudonymise (repo)",
                lambda e: pseudonymise(e, current),
                events[family],
                "",
            ),
            (
                f"{family} event: Ingest.pseudonymised (worker)",
                ingest.pseudonymised,
                events[family],
                "",
            ),
        ]
    return cases


def prepared(event: Event) -> Prepared:
    """Measurement, tags, fields and timestamp laid out as `to_line` lays them out."""
    spec = SPECS[event.family]
    values = _flatten(event)
    tags = {tag: str(values.pop(path)) for tag, path in spec.tags.items() if path in values}
    fields = {key: value for key, value in values.items() if key not in NOT_FIELDS}
    return event.family, tags, fields, timestamp_ns(event, spec.discrete)


def point_built(p: Prepared) -> str:
    point = Point(p[0])
    for key, value in p[1].items():
        point.tag(key, value)
    for name, field in p[2].items():
        point.field(name, field)
    line: str = point.time(p[3], WritePrecision.NS).to_line_protocol()
    return line


def point_from_dict(p: Prepared) -> str:
    record = {"measurement": p[0], "tags": p[1], "fields": p[2], "time": p[3]}
    line: str = Point.from_dict(record, WritePrecision.NS).to_line_protocol()
    return line


def lineprotocol_cases(events: dict[Family, list[Event]]) -> list[Case]:
    cases: list[Case] = []
    for family in ("gpu", "power", "physical"):
        sample = events[family]
        ready = [prepared(e) for e in sample]
        cases += [
            (f"{family}: event -> line, agents.influx.points.to_line (repo)", to_line, sample, ""),
            (
                f"{family}: tags+fields -> line, agents.influx.lineprotocol.encode_line (repo)",
                lambda p: encode_line(*p),
                ready,
                "",
            ),
            (
                f"{family}: tags+fields -> line, influxdb-client Point().tag().field()",
                point_built,
                ready,
                "",
            ),
            (
                f"{family}: tags+fields -> line, influxdb-client Point.from_dict",
                point_from_dict,
                ready,
                "what write_api does with a dict record",
            ),
        ]
    return cases


def gzip_rows(lines: list[str], seconds: float, repeat: int) -> list[Row]:
    batch = "\n".join(lines).encode()
    rows: list[Row] = []
    for level in (1, 6, 9):
        us = per_record_us(partial(gzip.compress, compresslevel=level), [batch], seconds, repeat)
        ratio = len(batch) / len(gzip.compress(batch, compresslevel=level))
        rows.append(
            (
                f"gzip, {len(lines):,}-line batch ({len(batch) / 1e6:.2f} MB)",
                f"level {level}" + (" (gzip.compress default: influxdb-client)" * (level == 9)),
                us / len(lines),
                f"ratio {ratio:.1f}x, {us / 1000:.1f} ms per batch, {len(batch) / us:.0f} MB/s",
            )
        )
    return rows


def micro(args: argparse.Namespace) -> list[Row]:
    raw = records(args.records)
    events: dict[Family, list[Event]] = {f: [decode(b, f) for b in raw[f]] for f in FAMILIES}
    ingest = Ingest(Settings.model_validate({}), Pseudonymiser(KEY))
    rows = [measure("JSON decode + validate", c, args) for c in decode_cases(raw, ingest)]
    rows += [measure("pseudonymisation", c, args) for c in pseudonymise_cases(events, ingest)]
    rows += [measure("line protocol", c, args) for c in lineprotocol_cases(events)]
    rows += gzip_rows(telemetry_lines(GZIP_LINES), args.seconds, args.repeat)
    return rows


def table(rows: list[Row]) -> list[str]:
    out: list[str] = []
    section = None
    for sec, name, us, note in rows:
        if sec != section:
            out += [
                "",
                f"### {sec}",
                "",
                "| case | µs per record | records/s | note |",
                "| --- | ---: | ---: | --- |",
            ]
            section = sec
        if us is None:
            out.append(f"| {name} | failed | - | {note} |")
        else:
            out.append(f"| {name} | {us:,.2f} | {1e6 / us:,.0f} | {note} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per run of a case")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (best counts)")
    parser.add_argument("--records", type=int, default=200, help="records per family")
    parser.add_argument(
        "--batch-size", action="store_true", help="batch sizes against InfluxDB instead"
    )
    parser.add_argument("--batch-lines", type=int, default=50_000, help="lines per batch round")
    parser.add_argument("--batch-rounds", type=int, default=3, help="rounds per batch size")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    command = " ".join(["tests/bench/bench_hotpath.py", *sys.argv[1:]])
    versions = (
        f"Python {platform.python_version()}, pydantic {pydantic.VERSION}, "
        f"influxdb-client {influxdb_client.__version__}"
    )
    if args.batch_size:
        settings = Settings()
        rounds = measure_batch_sizes(settings, telemetry_lines(args.batch_lines), args.batch_rounds)
        title, stem = "Batch size against InfluxDB", "batch-size"
        body = batch_table(rounds, args.batch_rounds, settings.influxdb.url)
        intro = f"{versions}. Command: `{command}`."
    else:
        title, stem = "Hot-path micro-benchmarks", "hotpath"
        body = table(micro(args))
        intro = (
            f"{versions}; one core, best of {args.repeat} runs of {args.seconds}s per case, "
            f"cycling over {args.records} simulator records per family. Command: `{command}`."
        )
    text = "\n".join([f"# {title} {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "", intro, *body])
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{stem}-{datetime.now(UTC):%Y-%m-%d}.md"
    path.write_text(text + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
