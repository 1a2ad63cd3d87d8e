"""One yardstick for every consumer in the peer benchmark: how fast a consumer group's committed
offsets go from its first assignment to the end of the pre-filled topics, what CPU the consumer's
processes spent doing it, their peak RSS, and the machine's CPU shares over that window.

Committed offsets are what "done" means for an at-least-once pipeline (each of sovwatch,
Telegraf, the plain loop and Quix commits only after its InfluxDB write). Nothing here knows
how a consumer works inside: it watches the group from Kafka and the processes from /proc.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from procstat import Snapshot, shares, snapshot, usage

Ends = dict[TopicPartition, int]


class RunFailedError(Exception):
    """A run that failed or did not drain; the message is the reason the report shows."""


@dataclass(frozen=True)
class Drain:
    events: int  # events committed within the timed window
    seconds: float
    cpu_s: float  # user+sys of the measured processes (children included) over the window
    rss_mib: float | None  # peak RSS of the largest measured process tree (None: in-process)
    lower_bound: bool = False  # a commit came before the assignment was seen: timed from spawn
    cpu_by_process: dict[str, float] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)  # % of all cores over the window

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_per_1k(self) -> float:
        return 1000 * self.cpu_s / self.events

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "seconds": self.seconds,
            "events_per_s": self.events_per_s,
            "cpu_s": self.cpu_s,
            "cpu_s_per_1k": self.cpu_per_1k,
            "rss_mib": self.rss_mib,
            "lower_bound": self.lower_bound,
            "cpu_by_process": self.cpu_by_process,
            "cpu_shares_pct": self.shares,
        }


def end_offsets(bootstrap: str, topics: list[str]) -> Ends:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        return dict(consumer.end_offsets(parts))
    finally:
        consumer.close()


def committed(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets ({} while it has none or cannot be read)."""
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
    except KafkaError:
        return {}
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


def consuming(admin: KafkaAdminClient, group: str, ends: Ends) -> bool:
    """True once `group` is stable with a partition of `ends` assigned to a member (also when
    it is stable but its assignment cannot be decoded): from then on it can consume."""
    try:
        info = admin.describe_groups([group]).get(group, {})
    except KafkaError:
        return False
    if info.get("group_state") != "Stable" or not info.get("members"):
        return False
    held: set[TopicPartition] = set()
    for member in info["members"]:
        assignment = member.get("member_assignment")
        if not isinstance(assignment, dict):
            return True
        for item in assignment.get("assigned_partitions") or ():
            held.update(TopicPartition(item["topic"], p) for p in item["partitions"])
    return any(tp in held for tp, end in ends.items() if end > 0)


def done_events(offsets: Mapping[TopicPartition, int], ends: Ends) -> int:
    return sum(min(offsets.get(tp, 0), end) for tp, end in ends.items())


def offsets_report(offsets: Mapping[TopicPartition, int], ends: Ends) -> str:
    """Committed vs end offsets per topic, naming partitions without any commit."""
    parts = []
    for topic in sorted({tp.topic for tp in ends}):
        tps = sorted((tp for tp in ends if tp.topic == topic), key=lambda tp: tp.partition)
        end = sum(ends[tp] for tp in tps)
        done = done_events(offsets, {tp: ends[tp] for tp in tps})
        missing = [tp.partition for tp in tps if tp not in offsets and ends[tp] > 0]
        note = f", no commit on partitions {missing}" if missing else ""
        parts.append(f"{topic} {done:,}/{end:,}{note}")
    return "committed/end offsets per topic: " + "; ".join(parts)


def _exited(procs: Mapping[str, subprocess.Popen[bytes]], log: Path | None) -> str | None:
    for name, proc in procs.items():
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            return f"{name} exited with code {proc.returncode} before draining (log {log}): {tail}"
    return None


def wait_drained(
    admin: KafkaAdminClient,
    group: str,
    ends: Ends,
    procs: Mapping[str, subprocess.Popen[bytes]],
    context: Mapping[str, int] | None = None,
    timeout_s: float = 900,
    stall_s: float = 300,
    log: Path | None = None,
) -> Drain:
    """Polls `group`'s committed offsets until they reach `ends`.

    The rate and CPU are counted from the moment the group is first stable with a partition
    assigned (start-up excluded: nothing is consumed before; members that join later, a second
    worker or Telegraf's other inputs, are counted with their rebalance) until the last offset is
    committed (so each system's commit interval is in the figure once); RSS is the peak of the
    largest of `procs`. `context` names other processes (broker, InfluxDB) whose CPU
    share over the same window is reported. Raises `RunFailedError` when a process exits, when no
    offset moves for `stall_s`, or when `timeout_s` passes.
    """
    total = sum(ends.values())
    watched = {name: proc.pid for name, proc in procs.items()}
    tracked = {**watched, **(context or {})}
    spawned = time.perf_counter()
    harness = {"bench harness": os.getpid()}
    at_spawn = snapshot(tracked, harness)
    started: tuple[float, Snapshot] | None = None
    lower_bound = False
    peak, last_rss = 0.0, 0.0
    progress = (spawned, -1)
    offsets: dict[TopicPartition, int] = {}
    while (now := time.perf_counter()) - spawned < timeout_s:
        if (why := _exited(procs, log)) is not None:
            raise RunFailedError(f"{why.strip()}; {offsets_report(offsets, ends)}")
        if now - last_rss >= 1.0:
            peak = max(peak, *(usage(pid).rss_mib for pid in watched.values()))
            last_rss = now
        if started is None and consuming(admin, group, ends):
            started = (time.perf_counter(), snapshot(tracked, harness))
        offsets = committed(admin, group)
        done = done_events(offsets, ends)
        now = time.perf_counter()
        if started is None and done > 0:  # committed before its assignment was seen
            started, lower_bound = (spawned, at_spawn), True
        if done != progress[1]:
            progress = (now, done)
        elif now - progress[0] > stall_s:
            raise RunFailedError(
                f"group {group} made no progress for {stall_s:.0f}s "
                f"({done:,} of {total:,} events committed); {offsets_report(offsets, ends)}"
            )
        if done >= total and started is not None:
            end = snapshot(tracked, harness)
            peak = max(peak, *(usage(pid).rss_mib for pid in watched.values()))
            by_process = {name: end.cpu_s[name] - started[1].cpu_s[name] for name in watched}
            return Drain(
                events=total,
                seconds=now - started[0],
                cpu_s=sum(by_process.values()),
                rss_mib=peak,
                lower_bound=lower_bound,
                cpu_by_process=by_process,
                shares=shares(started[1], end),
            )
        time.sleep(0.2)
    raise RunFailedError(
        f"group {group} did not drain in {timeout_s:.0f}s: {offsets_report(offsets, ends)}"
    )


def stop(procs: Mapping[str, subprocess.Popen[bytes]] | list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, then SIGKILL after 60 s."""
    members = list(procs.values()) if isinstance(procs, Mapping) else procs
    for proc in members:
        if proc.poll() is None:
            proc.terminate()
    for proc in members:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
