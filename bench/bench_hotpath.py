"""Hot-path micro-benchmarks, one core, no servers: the evidence for each per-event choice.

    make bench-hotpath
    .venv/bin/python bench/bench_hotpath.py --seconds 0.2 --repeat 3

On simulator records of each family (GPU, power, physical, audit):
1. JSON decode + validate: the repo's `schemas.decode` vs what a user could pick instead
   (pydantic `model_validate_json`, `json.loads` + `model_validate`, orjson + `model_validate`
   when orjson is installed), and parse-only floors (no validation);
2. pseudonymisation: `streams.privacy.Pseudonymiser` per identifier and per event
   (`schemas.personal.pseudonymise`), vs keyed BLAKE2b and a memoised HMAC;
3. line protocol: `agents.points.to_line` (event -> line) and `agents.lineprotocol.encode_line`
   (prepared tags/fields -> line) vs influxdb-client's `Point` + `to_line_protocol`;
4. gzip level 1 / 6 / 9 on 5,000-line batches: time and ratio (influxdb-client's
   `enable_gzip` compresses with `gzip.compress`, whose default level is 9).
Prints one table per section (µs per record, records/s) and writes bench/results/hotpath-<date>.md.
A case whose module is missing (e.g. after a refactor) is shown as unavailable, not skipped
silently. Batch size against a real InfluxDB: bench/bench_batch_size.py.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import hmac
import importlib
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import from_json
from simdata import simulated

from schemas.decode import FAMILY_MODELS, decode
from streams.settings import TopicSettings
from streams.simulator.output import record

HERE = Path(__file__).parent
FAMILIES = ("gpu", "power", "physical", "audit")
KEY = b"bench-hotpath-key-0123456789abcdef"
Row = tuple[str, str, float | None, str]  # section, case, µs per record (None: unavailable), note


def records(per_family: int) -> tuple[dict[str, list[bytes]], list[bytes]]:
    """Up to `per_family` JSON records of each family, as the simulator puts them on Kafka, and
    the first 5,000 telemetry records in their natural mix (for the gzip batch)."""
    out: dict[str, list[bytes]] = {f: [] for f in FAMILIES}
    mixed: list[bytes] = []
    topics = TopicSettings()
    for event in simulated(120_000, "hot"):
        value = record(topics, event)[2]
        if event.family != "audit" and len(mixed) < 5000:
            mixed.append(value)
        if len(out[event.family]) < per_family:
            out[event.family].append(value)
        if len(mixed) >= 5000 and all(len(v) >= per_family for v in out.values()):
            break
    return out, mixed


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


def measure(
    section: str,
    name: str,
    func: Callable[[Any], object] | None,
    items: Sequence[Any],
    note: str,
    args: argparse.Namespace,
) -> Row:
    """One row; a case that is unavailable or fails on the records says so instead."""
    if func is None:
        return section, name, None, note
    try:
        for item in items:
            func(item)
    except Exception as exc:
        return section, name, None, f"fails: {type(exc).__name__}: {str(exc)[:120]}"
    return section, name, per_record_us(func, items, args.seconds, args.repeat), note


def optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def decode_cases(
    raw: dict[str, list[bytes]],
) -> Iterable[tuple[str, Callable[[bytes], object] | None, str]]:
    orjson = optional("orjson")
    for family in FAMILIES:
        model = FAMILY_MODELS[family]  # type: ignore[index]
        yield f"{family}: schemas.decode (repo)", lambda b, f=family: decode(b, f), ""
        yield f"{family}: Model.model_validate_json", model.model_validate_json, ""
        yield (
            f"{family}: json.loads + Model.model_validate(strict=False)",
            lambda b, m=model: m.model_validate(json.loads(b), strict=False),
            "the models are strict; from Python objects an ISO timestamp needs lax mode",
        )
        yield (
            f"{family}: orjson.loads + Model.model_validate(strict=False)",
            None
            if orjson is None
            else (lambda b, m=model: m.model_validate(orjson.loads(b), strict=False)),
            "" if orjson else "orjson not installed",
        )
        yield f"{family}: floor, pydantic_core.from_json (no validation)", from_json, ""
        yield f"{family}: floor, json.loads (no validation)", json.loads, ""
        yield (
            f"{family}: floor, orjson.loads (no validation)",
            None if orjson is None else orjson.loads,
            "" if orjson else "orjson not installed",
        )


def pseudonymise_cases(
    events: dict[str, list[BaseModel]],
) -> list[tuple[str, Callable[[Any], object] | None, Sequence[Any], str]]:
    from schemas.personal import pseudonymise
    from streams.privacy import Pseudonymiser

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
    cases: list[tuple[str, Callable[[Any], object] | None, Sequence[Any], str]] = [
        ("identifier: Pseudonymiser (HMAC-SHA256, repo)", current, ids, ""),
        ("identifier: HMAC-SHA256 from a prepared key state (.copy())", hmac_copy, ids, ""),
        ("identifier: keyed BLAKE2b-96", blake2b, ids, "a different pseudonym: rotation needed"),
        (
            "identifier: memoised Pseudonymiser (2,000 distinct ids)",
            memo,
            ids,
            "hits after 1st pass",
        ),
    ]
    for family in ("physical", "audit"):
        cases.append(
            (
                f"{family} event: schemas.personal.pseudonymise (repo)",
                lambda e: pseudonymise(e, current),
                events[family],
                "",
            )
        )
    return cases


def _fields_of(
    event: BaseModel, tag_paths: dict[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Tags and fields as the repo's point spec lays them out (nested models joined with _)."""
    flat: dict[str, Any] = {}

    def walk(data: dict[str, Any], prefix: str) -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}_")
            elif isinstance(value, list):
                flat[f"{prefix}{key}"] = ",".join(map(str, value))
            else:
                flat[f"{prefix}{key}"] = value

    walk(event.model_dump(mode="json", exclude_none=True), "")
    tags = {tag: str(flat.pop(path)) for tag, path in tag_paths.items() if path in flat}
    fields = {k: v for k, v in flat.items() if k not in ("family", "schema_version", "ts")}
    return tags, fields


def lineprotocol_cases(
    events: dict[str, list[BaseModel]],
) -> list[tuple[str, Callable[[Any], object] | None, Sequence[Any], str]]:
    points = optional("agents.points")
    lineprotocol = optional("agents.lineprotocol")
    from influxdb_client import Point, WritePrecision

    cases: list[tuple[str, Callable[[Any], object] | None, Sequence[Any], str]] = []
    for family in ("gpu", "power", "physical"):
        sample = events[family]
        spec = getattr(points, "SPECS", {}).get(family)
        tag_paths = dict(spec.tags) if spec else {"site": "site_id", "country": "country"}
        prepared = [
            (*_fields_of(e, tag_paths), int(e.ts.timestamp() * 1e9))  # type: ignore[attr-defined]
            for e in sample
        ]

        def with_point(p: tuple[dict[str, str], dict[str, Any], int], f: str = family) -> str:
            point = Point(f)
            for key, value in p[0].items():
                point.tag(key, value)
            for key, value in p[1].items():
                point.field(key, value)
            line: str = point.time(p[2], WritePrecision.NS).to_line_protocol()
            return line

        missing = "agents.points / agents.lineprotocol not importable"
        cases += [
            (
                f"{family}: event -> line, agents.points.to_line (repo)",
                getattr(points, "to_line", None),
                sample,
                "" if points else missing,
            ),
            (
                f"{family}: tags+fields -> line, agents.lineprotocol.encode_line (repo)",
                None
                if lineprotocol is None
                else (lambda p, f=family: lineprotocol.encode_line(f, p[0], p[1], p[2])),
                prepared,
                "" if lineprotocol else missing,
            ),
            (
                f"{family}: tags+fields -> line, influxdb-client Point.to_line_protocol",
                with_point,
                prepared,
                "",
            ),
        ]
    return cases


def gzip_rows(lines: list[str], seconds: float, repeat: int) -> list[Row]:
    batch = ("\n".join(lines[:5000])).encode()
    n = min(5000, len(lines))
    rows: list[Row] = []
    for level in (1, 6, 9):
        us = per_record_us(
            lambda b, lv=level: gzip.compress(b, compresslevel=lv), [batch], seconds, repeat
        )
        ratio = len(batch) / len(gzip.compress(batch, compresslevel=level))
        rows.append(
            (
                "gzip, 5,000-line batch",
                f"level {level}",
                us / n,
                f"ratio {ratio:.1f}x, {us / 1000:.1f} ms per batch, {len(batch) / us:.0f} MB/s",
            )
        )
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    raw, mixed = records(args.records)
    events = {f: [decode(b, f) for b in raw[f]] for f in FAMILIES}
    rows: list[Row] = []
    for name, func, note in decode_cases(raw):
        items = raw[name.split(":")[0]]
        rows.append(measure("JSON decode + validate", name, func, items, note, args))
    for name, func, items, note in pseudonymise_cases(events):  # type: ignore[arg-type]
        rows.append(measure("pseudonymisation", name, func, items, note, args))
    for name, func, items, note in lineprotocol_cases(events):  # type: ignore[arg-type]
        rows.append(measure("line protocol", name, func, items, note, args))
    points = optional("agents.points")
    if points is not None:
        lines = [points.to_line(decode(b))[1] for b in mixed]
    else:
        from peers.lineproto import line

        lines = [line(json.loads(b)) for b in mixed]
    rows += gzip_rows(lines, args.seconds, args.repeat)
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
            out.append(f"| {name} | unavailable | - | {note} |")
        else:
            out.append(f"| {name} | {us:,.2f} | {1e6 / us:,.0f} | {note} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per run of a case")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (best counts)")
    parser.add_argument("--records", type=int, default=200, help="records per family")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    rows = run(args)
    versions = ", ".join(
        f"{m} {getattr(optional(m), '__version__', '?')}"
        for m in ("pydantic", "orjson", "influxdb_client")
        if optional(m) is not None
    )
    lines = [
        f"# Hot-path micro-benchmarks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Python {platform.python_version()} ({versions}); one core, best of {args.repeat} runs "
        f"of {args.seconds}s per case, cycling over up to {args.records} simulator records per "
        f"family. Command: `{' '.join(['bench/bench_hotpath.py', *sys.argv[1:]])}`.",
        *table(rows),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"hotpath-{datetime.now(UTC):%Y-%m-%d}.md"
    path.write_text(text)
    print(f"written {path}")


if __name__ == "__main__":
    main()
