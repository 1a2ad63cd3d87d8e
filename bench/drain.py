"""One yardstick for every consumer in the peer benchmark: how fast a consumer group's committed
offsets go from the first commit to the end of the pre-filled topics, and the peak RSS of the
processes doing it. Committed offsets are what "done" means for an at-least-once pipeline (each
of sovwatch, Telegraf, the plain loop and Quix commits only after its InfluxDB write).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError


@dataclass(frozen=True)
class Drain:
    events_per_s: float
    seconds: float
    rss_mib: float
    lower_bound: bool = False  # half the events were done by the first commit: timed from spawn


def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        return dict(consumer.end_offsets(parts))
    finally:
        consumer.close()


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kb = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")), 0)
    return kb / 1024


def wait_drained(
    admin: KafkaAdminClient,
    group: str,
    ends: dict[TopicPartition, int],
    procs: list[subprocess.Popen[bytes]],
    timeout_s: float = 900,
    log: Path | None = None,
) -> Drain:
    """Polls the group's committed offsets until they reach `ends`; the rate is counted from the
    first commit seen (start-up excluded), RSS is the peak of the largest of `procs`."""
    total = sum(ends.values())
    spawned = time.perf_counter()
    first: tuple[float, int] | None = None
    peak = 0.0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None and proc.returncode not in (0, None):
                tail = log.read_text(errors="replace")[-3000:] if log else ""
                raise SystemExit(f"{proc.args} exited with {proc.returncode}: {tail}")
        peak = max(peak, *(rss_mib(p.pid) for p in procs))
        try:
            offsets = admin.list_group_offsets(group).get(group, {})
        except KafkaError:  # the group may not exist yet
            offsets = {}
        done = sum(
            min(meta.offset, ends[tp])
            for tp, meta in offsets.items()
            if tp in ends and meta.offset >= 0
        )
        now = time.perf_counter()
        if first is None and done > 0:
            first = (now, done)
        if done >= total and first is not None:
            if first[1] > total / 2:
                return Drain(total / (now - spawned), now - spawned, peak, lower_bound=True)
            return Drain((total - first[1]) / (now - first[0]), now - first[0], peak)
        time.sleep(0.1)
    raise SystemExit(f"group {group} did not drain in {timeout_s:.0f}s ({log})")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
