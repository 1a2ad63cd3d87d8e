"""py-spy on one draining `sovwatch worker` (rules on) for 10 s from its first commit, and the
share of samples per area of the code (`bench_peers.py --profile`)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from benchenv import start_worker
from drain import committed, stop
from kafka import KafkaAdminClient

AREAS = {
    "schemas decode+validate (pydantic)": ("(schemas/decode.py",),
    "pseudonymise (HMAC + model copy)": ("(schemas/personal.py", "(agents/privacy.py"),
    "batch core (ingest agent, batching, dead letters)": (
        "(agents/ingest/agent.py",
        "(agents/batching.py",
        "(agents/ingest/steps.py",
        "(agents/dead_letters.py",
    ),
    "rule engine": ("(agents/rules/",),
    "compliance agent (engine + alert sink)": ("(agents/compliance/stage.py",),
    "Faust table writes (rule state)": ("(agents/compliance/rule_state.py",),
    "line protocol": ("(agents/influx/points.py", "(agents/influx/lineprotocol.py"),
    "InfluxDB writer": ("(agents/influx/writer.py", "(agents/influx/batches.py"),
    "audit agent + chain": ("(agents/audit",),
    "faust": ("(faust/",),
    "aiokafka": ("(aiokafka/",),
    "idle (event loop select)": ("select (selectors.py",),
}


def profile_worker(
    env: Mapping[str, str], admin: KafkaAdminClient, app_id: str, out: Path, seconds: int = 10
) -> Path:
    """Raw collapsed stacks of the worker go to `out`."""
    proc = start_worker(env, app_id, out.with_suffix(".worker.log"))
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not committed(admin, app_id):
            time.sleep(0.2)  # draining once it has committed
        spy = Path(sys.executable).with_name("py-spy")
        cmd = [str(spy), "record", "-p", str(proc.pid), "-d", str(seconds), "--format", "raw"]
        subprocess.run(
            [*cmd, "-o", str(out)],
            check=True,
            capture_output=True,
        )
    finally:
        stop([proc])
    return out


def summarise_profile(path: Path, top: int = 12) -> list[tuple[str, float]]:
    """Share of samples whose stack passes through each area (areas overlap: an agent's stack
    runs through faust too), then the hottest leaf functions."""
    counts: dict[str, int] = dict.fromkeys(AREAS, 0)
    leaves: dict[str, int] = {}
    total = 0
    for raw in path.read_text().splitlines():
        stack, _, n = raw.rpartition(" ")
        if not n.isdigit():
            continue
        samples = int(n)
        total += samples
        for area, needles in AREAS.items():
            if any(needle in stack for needle in needles):
                counts[area] += samples
        leaf = stack.split(";")[-1]
        leaves[leaf] = leaves.get(leaf, 0) + samples
    if not total:
        return []
    rows = [(f"area: {a}", 100 * c / total) for a, c in counts.items()]
    rows += [
        (f"leaf: {name}", 100 * c / total)
        for name, c in sorted(leaves.items(), key=lambda x: -x[1])[:top]
    ]
    return rows
