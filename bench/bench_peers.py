"""sovwatch against the tools users would pick instead, on one pre-filled topic set, in one run.

    make bench-peers                                  # 100,000 simulated events, 3 runs each
    .venv/bin/python bench/bench_peers.py --events 500000 --runs 3 [--profile]

1. pre-fill isolated topics (4 partitions) with mixed events from the fleet simulator;
2. raw limits: a bare aiokafka consumer drain, InfluxDB ingest of the same events as pre-encoded
   line protocol (bench_pipeline's functions);
3. sovwatch: 1 worker with rules on and off, 2 workers (4 partitions) with rules on; event ->
   alert p50/p99 at 5,000 events/s (bench_rules' probe);
4. peers doing the same Kafka -> InfluxDB job, rules off: Telegraf (docker/native/telegraf.sh),
   a plain kafka-python + influxdb-client loop, a Quix Streams app (own venv: it pins pydantic).
Every drain is timed the same way (bench/drain.py): a fresh consumer group, from its first
commit until its committed offsets reach the end of the topics. Medians of `--runs` runs.
Writes bench/results/<date>.md, .json and .png. Needs the stack up (`sovwatch stack up`).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_pipeline import drain_raw, influx_raw
from drain import Drain, end_offsets, stop, wait_drained
from kafka import KafkaAdminClient
from peers import telegraf

from agents.points import to_line
from streams.connect import influx_client, kafka_admin
from streams.settings import Settings
from streams.simulator.fleet import load_fleet
from streams.simulator.generator import Clock, simulate
from streams.simulator.incidents import INJECTORS, plan_incidents
from streams.simulator.output import KafkaSink, record
from streams.topics import ensure_topics

HERE = Path(__file__).parent
FAMILIES = ("gpu", "power", "physical", "audit")
TOPIC_FIELDS = (
    *FAMILIES,
    "dlq",
    "alerts_ops",
    "alerts_security",
    "alerts_compliance",
    "audit_checkpoints",
)
QUIX_VENV = Path.home() / ".cache" / "sovwatch" / "quix-venv"
SOVWATCH = Path(sys.executable).with_name("sovwatch")
TELEGRAF = "peer: Telegraf 1.37.2 (kafka_consumer -> influxdb_v2)"
PLAIN = "peer: plain kafka-python + influxdb-client loop"
QUIX = "peer: Quix Streams 3.28 app"
OFF1 = "sovwatch: 1 worker, rules off"


def bench_env(run: str) -> dict[str, str]:
    """Own topics and own InfluxDB buckets: benchmark points never land in the shared buckets
    (a peer's float-typed field would poison a shard's field types for everyone)."""
    return {
        "SOVWATCH_PRIVACY__PSEUDONYM_KEY": f"bench-key-{run}-0123456789",
        "SOVWATCH_INFLUXDB__BUCKETS__TELEMETRY": "bench-telemetry",
        "SOVWATCH_INFLUXDB__BUCKETS__ALERTS": "bench-alerts",
        "SOVWATCH_INFLUXDB__BUCKETS__AUDIT": "bench-audit",
        **{f"SOVWATCH_TOPICS__{f.upper()}": f"bench.{run}.{f}" for f in TOPIC_FIELDS},
    }


def prefill(settings: Settings, events: int, run: str) -> list[str]:
    """Simulated events (default fleet, every incident) onto the topics; returns their lines."""
    fleet = load_fleet(sites=16, halls=1, site_prefix=f"b{run}-")  # 16 keys spread 4 partitions
    hours = max(1.0, events / (fleet.gpus * 240 * 1.05))
    start = (datetime.now(UTC) - timedelta(hours=hours + 1)).replace(microsecond=0, second=0)
    clock = Clock(start, timedelta(hours=max(hours, 10)))
    placed, _ = plan_incidents(
        list(INJECTORS),
        fleet,
        clock.start,
        clock.end,
        seed=1,
        step=clock.step,
        power_step=clock.power_step,
    )
    sink = KafkaSink(settings.kafka)
    lines = []
    started = time.perf_counter()
    for event in itertools.islice(simulate(fleet, clock, placed, seed=1), events):
        sink.send(*record(settings.topics, event))
        lines.append(to_line(event)[1])
    sink.close()
    print(f"pre-filled {len(lines):,} events in {time.perf_counter() - started:.1f}s", flush=True)
    return lines


def sovwatch(
    env: dict[str, str], ends: Any, admin: KafkaAdminClient, workers: int, rules: bool, tag: str
) -> Drain:
    app_id = f"bench-{tag}"
    extra = {"SOVWATCH_WORKER__APP_ID": app_id}
    if not rules:
        extra["SOVWATCH_ALERTS__RULES_DIR"] = str(HERE / "peers" / "rules-off")
    log = Path(tempfile.mkdtemp()) / "worker.log"
    procs = []
    with log.open("ab") as out:
        for n in range(workers):
            worker_env = {**os.environ, **env, **extra, "SOVWATCH_WORKER__WEB_PORT": str(6190 + n)}
            procs.append(
                subprocess.Popen(
                    [str(SOVWATCH), "worker", "--loglevel", "warning"],
                    env=worker_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        return wait_drained(admin, app_id, ends, procs, log=log)
    finally:
        stop(procs)


def peer(
    cmd: list[str], env: dict[str, str], group: str, ends: Any, admin: KafkaAdminClient
) -> Drain:
    log = Path(tempfile.mkdtemp()) / "peer.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        return wait_drained(admin, group, ends, [proc], log=log)
    finally:
        stop([proc])


def peer_bucket(settings: Settings, name: str) -> str:
    """A bucket of its own (1-day retention) for each writer: Telegraf writes every JSON number
    as a float, which would clash with the integer fields sovwatch writes."""
    from influxdb_client import BucketRetentionRules

    with influx_client(settings.influxdb) as client:
        api = client.buckets_api()
        if api.find_bucket_by_name(name) is None:
            rule = BucketRetentionRules(type="expire", every_seconds=86400)
            api.create_bucket(bucket_name=name, retention_rules=rule, org=settings.influxdb.org)
    return name


def peer_env(prefix: str, settings: Settings, topics: list[str], group: str) -> dict[str, str]:
    influx = settings.influxdb
    return {
        f"{prefix}_TOPICS": ",".join(topics),
        f"{prefix}_GROUP": group,
        f"{prefix}_BOOTSTRAP": settings.kafka.bootstrap_servers.split(",")[0],
        f"{prefix}_INFLUX_URL": influx.url,
        f"{prefix}_INFLUX_TOKEN": influx.token.get_secret_value(),
        f"{prefix}_INFLUX_ORG": influx.org,
        f"{prefix}_BUCKET": peer_bucket(settings, f"bench-{prefix.lower()}"),
    }


def run_telegraf(
    settings: Settings, topics: list[str], group: str, ends: Any, admin: KafkaAdminClient
) -> Drain:
    influx = settings.influxdb
    conf = Path(tempfile.mkdtemp()) / "telegraf.conf"
    conf.write_text(
        telegraf.config(
            dict(zip(FAMILIES, topics, strict=True)),
            group,
            settings.kafka.bootstrap_servers.split(",")[0],
            influx.url,
            influx.token.get_secret_value(),
            influx.org,
            peer_bucket(settings, "bench-telegraf"),
        )
    )
    conf.chmod(0o600)
    return peer([str(telegraf.BIN), "--config", str(conf)], {}, group, ends, admin)


def latency_once(seconds: int, rate: int) -> tuple[float, float]:
    from bench_rules import latency

    saved = dict(os.environ)
    try:
        samples = latency(seconds, rate)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    q = statistics.quantiles(samples, n=100)
    return q[49] * 1000, q[98] * 1000


def repeat(runs: int, label: str, measure: Callable[[int], Any]) -> list[Any]:
    out = []
    for i in range(runs):
        value = measure(i)
        shown = (
            f"{value.events_per_s:,.0f} ev/s, {value.rss_mib:,.0f} MiB"
            if isinstance(value, Drain)
            else value
        )
        print(f"  {label} #{i + 1}: {shown}", flush=True)
        out.append(value)
    return out


def profile_worker(
    env: dict[str, str], ends: Any, admin: KafkaAdminClient, tag: str, out: Path
) -> Path:
    """py-spy on a draining worker (rules on) for 10 s from its first commit; the raw collapsed
    stacks go to `out`."""
    app_id = f"bench-{tag}"
    log = out.with_suffix(".worker.log")
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [str(SOVWATCH), "worker", "--loglevel", "warning"],
            env={
                **os.environ,
                **env,
                "SOVWATCH_WORKER__APP_ID": app_id,
                "SOVWATCH_WORKER__WEB_PORT": "6189",
            },
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not admin.list_group_offsets(app_id).get(app_id):
            time.sleep(0.2)  # draining once it has committed
        spy = Path(sys.executable).with_name("py-spy")
        subprocess.run(
            [
                str(spy),
                "record",
                "-p",
                str(proc.pid),
                "-d",
                "10",
                "--format",
                "raw",
                "-o",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
    finally:
        stop([proc])
    return out


def summarise_profile(path: Path, top: int = 12) -> list[tuple[str, float]]:
    """Share of samples whose stack passes through each of a few named areas, then the hottest
    leaf functions."""
    areas = {
        "schemas decode+validate (pydantic)": ("(schemas/decode.py",),
        "pseudonymise (HMAC + model copy)": ("(schemas/personal.py", "(streams/privacy.py"),
        "rule engine": ("(agents/rules/",),
        "compliance agent (engine + alert sink)": ("(agents/compliance.py",),
        "Faust table writes (rule state)": ("(agents/rule_state.py",),
        "line protocol": ("(agents/points.py", "(agents/lineprotocol.py"),
        "InfluxDB writer": ("(agents/influx_writer.py", "(agents/sink.py"),
        "audit agent + chain": ("(agents/audit",),
        "aiokafka": ("(aiokafka/",),
        "idle (event loop select)": ("select (selectors.py",),
    }
    counts: dict[str, int] = dict.fromkeys(areas, 0)
    leaves: dict[str, int] = {}
    total = 0
    for raw in path.read_text().splitlines():
        stack, _, n = raw.rpartition(" ")
        if not n.isdigit():
            continue
        samples = int(n)
        total += samples
        for area, needles in areas.items():
            if any(needle in stack for needle in needles):
                counts[area] += samples
        leaf = stack.split(";")[-1]
        leaves[leaf] = leaves.get(leaf, 0) + samples
    rows = [(f"area: {a}", 100 * c / total) for a, c in counts.items()]
    rows += [
        (f"leaf: {name}", 100 * c / total)
        for name, c in sorted(leaves.items(), key=lambda x: -x[1])[:top]
    ]
    return rows


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib
    import matplotlib.patches

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["throughput"]
    names = list(rows)
    medians = [rows[n]["median"] for n in names]
    colours = [
        "#9e9e9e" if n.startswith("raw") else "#1f77b4" if n.startswith("sovwatch") else "#ff7f0e"
        for n in names
    ]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) + 1.8))
    y = list(range(len(names)))[::-1]
    left = 10 ** int(math.log10(min(medians)))  # bars start at a round power of ten
    ax.barh(y, [m - left for m in medians], left=left, color=colours)
    for yi, n, m in zip(y, names, medians, strict=True):
        low, high = min(rows[n]["runs"]), max(rows[n]["runs"])
        ax.plot([low, high], [yi, yi], color="black", linewidth=1.2)
        ax.text(high * 1.08, yi, f"{m:,.0f}", va="center", fontsize=9)
    ax.set_yticks(y, names, fontsize=9)
    ax.set_xscale("log")
    ax.set_xlim(left, max(max(r["runs"]) for r in rows.values()) * 3)
    ax.set_xlabel("events/s, log scale (bar = median of runs, black line = min..max)")
    ax.set_title(
        f"Kafka -> InfluxDB, {results['events']:,} simulated events, 4 partitions, "
        f"{results['machine']}",
        fontsize=10,
    )
    handles = [
        matplotlib.patches.Patch(color=c, label=label)
        for c, label in (
            ("#9e9e9e", "raw limit"),
            ("#1f77b4", "sovwatch"),
            ("#ff7f0e", "peer, rules off"),
        )
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_report(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / datetime.now(UTC).strftime("%Y-%m-%d")
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2))
    chart(results, stem.with_suffix(".png"))
    rows = results["throughput"]
    lines = [
        f"# Peer benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{results['events']:,} simulated events ({results['mix']}), 4 partitions, "
        f"{results['machine']}; medians of {results['runs']} runs. "
        f"Command: `{results['command']}`.",
        "",
        "| system | events/s (median) | runs | peak RSS (MiB) |",
        "| --- | ---: | --- | ---: |",
    ]
    for name, row in rows.items():
        runs = ", ".join(f"{r:,.0f}" for r in row["runs"])
        rss = f"{row['rss_mib']:,.0f}" if row.get("rss_mib") else "-"
        flag = (
            " (lower bound: drained before its first commit, timed from start)"
            if row["lower_bound"]
            else ""
        )
        lines.append(f"| {name}{flag} | {row['median']:,.0f} | {runs} | {rss} |")
    lines += ["", "| ratio | value |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in results["ratios"].items()]
    lines += ["", "| goal | measured | met |", "| --- | --- | --- |"]
    lines += [
        f"| {g['goal']} | {g['measured']} | {'yes' if g['met'] else 'no'} |"
        for g in results["goals"]
    ]
    if results.get("profile"):
        lines += [
            "",
            "py-spy, one worker draining with rules on, share of samples:",
            "",
            "| where | % |",
            "| --- | ---: |",
        ]
        lines += [f"| `{name}` | {share:.1f} |" for name, share in results["profile"]]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return stem.with_suffix(".md")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop children
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-seconds", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="py-spy a draining worker")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    env = bench_env(run)
    os.environ.update(env)
    settings = Settings()
    admin = kafka_admin(settings.kafka)
    ensure_topics(admin, settings.topics)
    for bucket in ("bench-telemetry", "bench-alerts", "bench-audit"):
        peer_bucket(settings, bucket)
    topics = [getattr(settings.topics, f) for f in FAMILIES]
    lines = prefill(settings, args.events, run)
    ends = end_offsets(settings.kafka.bootstrap_servers.split(",")[0], topics)
    total = sum(ends.values())
    mix = {
        f: sum(1 for line in lines if line.startswith(f + ","))
        for f in ("gpu", "power", "physical")
    }
    tp: dict[str, list[Any]] = {}
    print("raw limits", flush=True)
    tp["raw: bare aiokafka consumer drain"] = repeat(
        args.runs, "aiokafka", lambda i: asyncio.run(drain_raw(settings, total))
    )
    tp["raw: InfluxDB ingest, pre-encoded line protocol"] = repeat(
        args.runs, "influx", lambda i: asyncio.run(influx_raw(settings, lines))
    )
    print("sovwatch", flush=True)
    for label, workers, rules in (
        ("sovwatch: 1 worker, rules on", 1, True),
        (OFF1, 1, False),
        ("sovwatch: 2 workers, rules on", 2, True),
    ):
        tp[label] = repeat(
            args.runs,
            label,
            lambda i, w=workers, r=rules: sovwatch(
                env, ends, admin, w, r, f"{run}-{w}{int(r)}-{i}"
            ),
        )
    print("peers", flush=True)
    tp[TELEGRAF] = repeat(
        args.runs,
        "telegraf",
        lambda i: run_telegraf(settings, topics, f"bench-{run}-tg-{i}", ends, admin),
    )
    tp[PLAIN] = repeat(
        args.runs,
        "plain",
        lambda i: peer(
            [sys.executable, str(HERE / "peers" / "plain_loop.py")],
            peer_env("PLAIN", settings, topics, f"bench-{run}-plain-{i}"),
            f"bench-{run}-plain-{i}",
            ends,
            admin,
        ),
    )
    tp[QUIX] = repeat(
        args.runs,
        "quix",
        lambda i: peer(
            [str(QUIX_VENV / "bin" / "python"), str(HERE / "peers" / "quix_app.py")],
            peer_env("QUIX", settings, topics, f"bench-{run}-quix-{i}"),
            f"bench-{run}-quix-{i}",
            ends,
            admin,
        ),
    )
    print("latency", flush=True)
    lat = repeat(
        args.runs, "latency p50/p99 ms", lambda i: latency_once(args.latency_seconds, 5000)
    )
    profile_rows = None
    if args.profile:
        raw = profile_worker(
            env, ends, admin, f"{run}-spy", args.out / f"{datetime.now(UTC):%Y-%m-%d}.pyspy.txt"
        )
        profile_rows = summarise_profile(raw)
    results = summarise(args, total, mix, tp, lat, profile_rows)
    path = write_report(results, args.out)
    print(path.read_text())
    cleanup(admin, run)
    admin.close()


def summarise(
    args: argparse.Namespace,
    total: int,
    mix: dict[str, int],
    tp: dict[str, list[Any]],
    lat: list[tuple[float, float]],
    profile_rows: list[tuple[str, float]] | None,
) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for name, values in tp.items():
        rates = [v.events_per_s if isinstance(v, Drain) else float(v) for v in values]
        bounds = [isinstance(v, Drain) and v.lower_bound for v in values]
        rss = [v.rss_mib for v in values if isinstance(v, Drain)]
        rows[name] = {
            "median": statistics.median(rates),
            "runs": rates,
            "rss_mib": max(rss) if rss else None,
            "lower_bound": any(bounds),
        }
    med = {k: v["median"] for k, v in rows.items()}
    on = med["sovwatch: 1 worker, rules on"]
    two = med["sovwatch: 2 workers, rules on"]
    lower = min(
        med["raw: bare aiokafka consumer drain"],
        med["raw: InfluxDB ingest, pre-encoded line protocol"],
    )
    tg = med[TELEGRAF]
    p50 = statistics.median(x[0] for x in lat)
    p99 = statistics.median(x[1] for x in lat)
    rss = rows["sovwatch: 1 worker, rules on"]["rss_mib"]
    ratios = {
        "sovwatch (1 worker, rules on) / Telegraf": f"{on / tg:.2f}x",
        "sovwatch (1 worker, rules on) / plain loop": f"{on / med[PLAIN]:.2f}x",
        "sovwatch (1 worker, rules on) / Quix Streams": f"{on / med[QUIX]:.2f}x",
        "sovwatch (1 worker, rules on) / lower raw limit": f"{100 * on / lower:.1f} %",
        "sovwatch rules on / rules off (1 worker)": f"{on / med[OFF1]:.2f}x",
        "sovwatch 2 workers / 1 worker (rules on)": f"{two / on:.2f}x",
        "event -> alert latency at 5,000 ev/s, p50 / p99 (ms)": f"{p50:,.0f} / {p99:,.0f}",
    }
    goals = [
        {
            "goal": "sovwatch with rules >= 1.0x Telegraf",
            "measured": f"{on / tg:.2f}x",
            "met": on >= tg,
        },
        {
            "goal": ">= 70 % of the lower raw limit",
            "measured": f"{100 * on / lower:.1f} %",
            "met": on >= 0.7 * lower,
        },
        {"goal": ">= 50,000 events/s per worker", "measured": f"{on:,.0f}", "met": on >= 50_000},
        {"goal": "p99 <= 200 ms at 5,000 ev/s", "measured": f"{p99:,.0f} ms", "met": p99 <= 200},
        {"goal": "worker RSS <= 300 MB", "measured": f"{rss:,.0f} MiB", "met": rss <= 300},
    ]
    return {
        "events": total,
        "mix": ", ".join(f"{v:,} {k}" for k, v in mix.items())
        + f", {total - sum(mix.values()):,} audit",
        "runs": args.runs,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "command": " ".join(["bench/bench_peers.py", *sys.argv[1:]]),
        "throughput": rows,
        "latency_ms": {"p50": p50, "p99": p99, "runs": lat},
        "ratios": ratios,
        "goals": goals,
        "profile": profile_rows,
    }


def cleanup(admin: KafkaAdminClient, run: str) -> None:
    """Delete this run's topics (inputs, alerts, Faust changelogs); consumer groups expire."""
    names = [
        t for t in admin.list_topics() if f"bench.{run}." in t or t.startswith(f"bench-{run}-")
    ]
    if names:
        admin.delete_topics(names)


if __name__ == "__main__":
    main()
