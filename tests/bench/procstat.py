"""What the benchmarks read from /proc: CPU seconds and RSS of a process tree, the machine's CPU
time, and which process listens on a TCP port (to find the Kafka broker and influxd).

CPU of a tree at one moment = utime+stime+cutime+cstime of the root and of every live (or zombie)
descendant: a child that exited and was reaped is in its parent's cutime/cstime, one that was not
yet reaped is still listed, so every descendant is counted exactly once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK")
PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3, `state`, is index 0)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree(pid: int) -> list[int]:
    """`pid` and its live descendants."""
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, ()))
    return out


@dataclass(frozen=True)
class Usage:
    """CPU seconds (user+sys, reaped children included) and resident MiB of a process tree."""

    cpu_s: float
    rss_mib: float


def usage(pid: int, children: bool = True) -> Usage:
    """Usage of `pid` (and its descendants); zeros once it is gone."""
    cpu, rss = 0, 0
    for member in tree(pid) if children else [pid]:
        fields = _stat(member)
        if fields is None:
            continue
        # utime, stime, cutime, cstime are stat fields 14-17; rss (pages) is field 24.
        cpu += sum(int(x) for x in fields[11 : 15 if children else 13])
        rss += int(fields[21])
    return Usage(cpu / TICK, rss * PAGE_MIB)


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot, summed over its cores."""
    first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    values = [int(x) for x in first[:8]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, idle / TICK


def listener_pid(port: int) -> int | None:
    """The pid of the process with a TCP socket listening on `port` (any local address)."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(cols[9])
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return int(entry.name)
            except OSError:
                continue
    return None


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds of named process trees and of the whole machine at one moment."""

    busy_s: float
    idle_s: float
    cpu_s: dict[str, float]


def snapshot(trees: Mapping[str, int], alone: Mapping[str, int] | None = None) -> Snapshot:
    """`trees` are counted with their descendants, `alone` without (e.g. the bench itself,
    whose children are the systems it measures)."""
    busy, idle = machine_cpu()
    cpu = {name: usage(pid).cpu_s for name, pid in trees.items()}
    cpu.update({name: usage(pid, children=False).cpu_s for name, pid in (alone or {}).items()})
    return Snapshot(busy, idle, cpu)


def shares(start: Snapshot, end: Snapshot) -> dict[str, float]:
    """Percent of all cores' time between two snapshots: each named tree, the rest of the
    machine, and idle (so the values add up to 100)."""
    total = (end.busy_s + end.idle_s) - (start.busy_s + start.idle_s)
    if total <= 0:
        return {}
    out = {name: 100 * (end.cpu_s[name] - start.cpu_s.get(name, 0.0)) / total for name in end.cpu_s}
    busy = 100 * (end.busy_s - start.busy_s) / total
    out["rest of the machine"] = max(0.0, busy - sum(out.values()))
    out["idle"] = 100 * (end.idle_s - start.idle_s) / total
    return out
