"""Soak: N simulated events through one `sovwatch worker` (rules on), its RSS sampled all along.

    make bench-soak                                          # 10,000,000 events
    .venv/bin/python tests/bench/bench_soak.py --events 20000 --sample-s 1

A producer thread feeds the run's topics from the fleet simulator, staying at most `--max-lag`
events ahead of the worker's committed offsets (so the topics never hold the whole run unread);
every `--sample-s` the worker's RSS, CPU and committed events are recorded. Reports start (first
sample after consumption began), peak and end RSS and the slope of RSS over events (least
squares over the samples after the first 10 % of events, MiB per million events), events/s
after the first commit and worker CPU s per 1k events. The run's buckets keep their points
forever (10M events span ~39 simulated hours, beyond the benchmarks' usual 1-day retention) and
are deleted at the end. Writes tests/bench/results/soak-<date>.json and .png. A worker that exits or
stalls is reported as FAILED with what was sampled so far. Needs Kafka and InfluxDB up
(`tests/bench/stack_up.py`).
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchenv import cleanup, count_points, make_buckets, run_env, settings_for, start_worker
from drain import RunFailedError, committed, done_events, end_offsets, offsets_report, stop
from kafka import KafkaAdminClient
from procstat import usage
from simdata import simulated

from schemas.settings import Settings
from streams.admin.connect import kafka_admin
from streams.admin.topics import ensure_topics
from streams.simulator.output import KafkaOutput, record

HERE = Path(__file__).parent
FAMILIES = ("gpu", "power", "physical", "audit")


@dataclass
class Feed:
    """The producer thread's progress, read by the sampler."""

    produced: int = 0
    finished: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    consumed: int = 0  # committed events, written by the sampler


def produce(settings: Settings, events: int, run: str, max_lag: int, feed: Feed) -> None:
    sink = KafkaOutput(settings.kafka)
    try:
        for event in simulated(events, run):
            while feed.produced - feed.consumed >= max_lag:
                time.sleep(0.2)
            sink.send(*record(settings.topics, event))
            feed.produced += 1
    except BaseException as exc:
        feed.error = exc
    finally:
        try:
            sink.close()
        except Exception as exc:
            feed.error = feed.error or exc
        feed.finished.set()


def slope_per_million(samples: list[dict[str, float]], events: int) -> float | None:
    """Least-squares RSS slope (MiB per 1M events) after the first 10 % of events."""
    tail = [s for s in samples if s["events"] >= 0.1 * events]
    if len(tail) < 3 or len({s["events"] for s in tail}) < 2:
        return None
    slope = statistics.linear_regression([s["events"] for s in tail], [s["rss_mib"] for s in tail])
    return slope.slope * 1_000_000


def soak(
    settings: Settings,
    admin: KafkaAdminClient,
    env: dict[str, str],
    run: str,
    args: argparse.Namespace,
    samples: list[dict[str, float]],
) -> None:
    """Fills `samples`; raises RunFailedError if the worker exits or stalls."""
    topics = [getattr(settings.topics, f) for f in FAMILIES]
    bootstrap = settings.kafka.bootstrap_servers.split(",")[0]
    feed = Feed()
    producer = threading.Thread(
        target=produce, args=(settings, args.events, run, args.max_lag, feed), daemon=True
    )
    log = Path(tempfile.mkdtemp(prefix=f"bench-soak-{run}-")) / "worker.log"
    print(f"worker log {log}", flush=True)
    group = f"bench-{run}-soak"
    worker = start_worker(env, group, log)
    producer.start()
    started = time.perf_counter()
    ends = None
    progress = (started, -1)
    try:
        while True:
            if worker.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RunFailedError(f"worker exited with code {worker.returncode}: {tail}")
            if feed.error is not None:
                raise RunFailedError(f"producer failed: {feed.error}")
            offsets = committed(admin, group)
            if ends is None and feed.finished.is_set():
                ends = end_offsets(bootstrap, topics)
            done = sum(o for tp, o in offsets.items() if tp.topic in topics)
            if ends is not None:
                done = done_events(offsets, ends)
            feed.consumed = done
            now = time.perf_counter()
            use = usage(worker.pid)
            samples.append(
                {"t_s": now - started, "events": done, "rss_mib": use.rss_mib, "cpu_s": use.cpu_s}
            )
            print(
                f"  {now - started:7.0f}s  {done:>11,} events  {use.rss_mib:6.0f} MiB "
                f"(produced {feed.produced:,})",
                flush=True,
            )
            if ends is not None and done >= sum(ends.values()):
                return
            if done != progress[1]:
                progress = (now, done)
            elif now - progress[0] > args.stall_timeout:
                report = offsets_report(offsets, ends) if ends else f"{done:,} committed"
                raise RunFailedError(f"no commit progress for {args.stall_timeout:.0f}s: {report}")
            time.sleep(args.sample_s)
    finally:
        stop([worker])
        feed.consumed = sys.maxsize  # let a waiting producer finish
        producer.join(timeout=30)


def chart(samples: list[dict[str, float]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot([s["events"] / 1e6 for s in samples], [s["rss_mib"] for s in samples], color="#1f77b4")
    ax.axhline(300, color="#d62728", linestyle="--", linewidth=1, label="goal: 300 MiB")
    ax.set_xlabel("events committed (millions)")
    ax.set_ylabel("worker RSS (MiB)")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rate_after_first_commit(live: list[dict[str, float]]) -> float:
    """Events/s between the first sample with a commit and the last (start-up left out)."""
    seconds = live[-1]["t_s"] - live[0]["t_s"]
    return (live[-1]["events"] - live[0]["events"]) / seconds if seconds > 0 else 0.0


def summary(samples: list[dict[str, float]], events: int) -> dict[str, Any]:
    live = [s for s in samples if s["events"] > 0] or samples
    if not live:
        return {}
    return {
        "start_rss_mib": live[0]["rss_mib"],
        "peak_rss_mib": max(s["rss_mib"] for s in samples),
        "end_rss_mib": samples[-1]["rss_mib"],
        "slope_mib_per_million_events": slope_per_million(samples, events),
        "events_committed": samples[-1]["events"],
        "seconds": samples[-1]["t_s"],
        "events_per_s": rate_after_first_commit(live),
        "cpu_s": samples[-1]["cpu_s"],
        "cpu_s_per_1k_events": 1000 * samples[-1]["cpu_s"] / max(1.0, samples[-1]["events"]),
    }


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--max-lag", type=int, default=500_000)
    parser.add_argument("--stall-timeout", type=float, default=300)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    env = run_env(run)
    settings = settings_for(env)
    admin = kafka_admin(settings.kafka)
    samples: list[dict[str, float]] = []
    failure = None
    points = None
    try:
        ensure_topics(admin, settings.topics)
        make_buckets(settings, retention_s=0)  # 10M events span ~39 simulated hours
        try:
            soak(settings, admin, env, run, args, samples)
            points = count_points(settings, settings.influxdb.buckets.telemetry) + count_points(
                settings, settings.influxdb.buckets.audit
            )
        except RunFailedError as exc:
            failure = str(exc)
            print(f"FAILED: {failure}", flush=True)
    finally:
        cleanup(admin, settings, run)
        admin.close()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["tests/bench/bench_soak.py", *sys.argv[1:]]),
        "events": args.events,
        "status": "FAILED" if failure else "ok",
        "failure": failure,
        "points_stored": points,
        **summary(samples, args.events),
        "samples": samples,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"soak-{datetime.now(UTC):%Y-%m-%d}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
    if samples:
        title = f"sovwatch worker RSS over {args.events:,} simulated events (rules on)"
        chart(samples, title + (" - FAILED" if failure else ""), stem.with_suffix(".png"))
    r = {"events_committed": 0, "seconds": 0, "events_per_s": 0, "cpu_s_per_1k_events": 0}
    r |= {k: v for k, v in result.items() if v is not None}
    slope = result.get("slope_mib_per_million_events")
    rss = "/".join(f"{r.get(k, 0):,.0f}" for k in ("start_rss_mib", "peak_rss_mib", "end_rss_mib"))
    print(
        f"\nsoak {r['status']}: {r['events_committed']:,} events in {r['seconds']:,.0f}s "
        f"({r['events_per_s']:,.0f} ev/s, {r['cpu_s_per_1k_events']:.3f} worker CPU s/1k); "
        f"RSS start/peak/end {rss} MiB; "
        f"slope {'n/a' if slope is None else f'{slope:+.1f} MiB per 1M events'}; "
        f"points stored {'n/a' if points is None else f'{points:,}'} of {args.events:,} events; "
        f"{stem}.json/.png"
    )


if __name__ == "__main__":
    main()
