"""Decode+validate throughput of sovwatch events from JSON bytes, one core.

Run: .venv/bin/python tests/bench/bench_schemas.py [--runs 5] [--seconds 0.5]
Prints events/s per family (best of N runs) and, as a floor, how fast pydantic-core alone turns
the same bytes into a plain dict (no validation): validation cannot beat that.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic_core import from_json

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from schemas import (
    Actor,
    AuditEvent,
    Classification,
    GpuSample,
    PhysicalEvent,
    PowerReading,
    decode,
)
from schemas.dcgm import parse_exposition
from schemas.gpu import counter_fields

TS = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
ENVELOPE = {"event_id": "evt-0001", "site_id": "fra-1", "country": "DE", "ts": TS, "source": "c1"}
LABELS = {
    "node": "dgx-h100-017",
    "gpu_index": 3,
    "gpu_uuid": "GPU-7c1f3a2e-4b1d-9e3a-2f61-0c5d8e9a1b3f",
    "device": "nvidia3",
    "model_name": "NVIDIA H100 80GB HBM3",
    "pci_bus_id": "00000000:1B:00.0",
    "driver_version": "550.90.07",
}
# What dcgm-exporter's default counter set yields for one GPU.
DEFAULT_COUNTERS = {
    "gpu_util_pct": 97.0,
    "mem_copy_util_pct": 41.0,
    "enc_util_pct": 0.0,
    "dec_util_pct": 0.0,
    "fb_used_mib": 60000,
    "fb_free_mib": 21559,
    "gpu_temp_c": 64.0,
    "memory_temp_c": 71.0,
    "power_usage_w": 612.5,
    "total_energy_consumption_mj": 4123456789012,
    "sm_clock_mhz": 1980,
    "mem_clock_mhz": 2619,
    "xid_errors": 0,
    "pcie_replay_counter": 0,
    "correctable_remapped_rows": 0,
    "uncorrectable_remapped_rows": 0,
    "row_remap_failure": 0,
}
ALL_COUNTERS = DEFAULT_COUNTERS | {
    name: 0 for name in counter_fields() if name not in DEFAULT_COUNTERS
}


def _wire(event: object) -> bytes:
    assert hasattr(event, "model_dump_json")
    raw: bytes = event.model_dump_json(exclude_none=True).encode()
    return raw


CASES: dict[str, tuple[str, bytes]] = {
    "gpu (dcgm default counters)": (
        "gpu",
        _wire(GpuSample(**ENVELOPE, **LABELS, **DEFAULT_COUNTERS)),
    ),
    "gpu (every counter)": ("gpu", _wire(GpuSample(**ENVELOPE, **LABELS, **ALL_COUNTERS))),
    "power (rack PDU)": (
        "power",
        _wire(
            PowerReading(
                **ENVELOPE,
                scope="pdu",
                scope_id="hall-2/r-12/pdu-a",
                power_w=9120.5,
                energy_kwh=183_422.7,
                voltage_v=230.1,
                current_a=39.6,
                capacity_w=17_300.0,
                inlet_temp_c=24.5,
                outlet_temp_c=38.0,
                humidity_pct=41.0,
            )
        ),
    ),
    "physical (access granted)": (
        "physical",
        _wire(
            PhysicalEvent(
                **ENVELOPE,
                kind="access_granted",
                zone_type="door",
                zone_id="hall-2/door-a",
                device_id="reader-17",
                badge_id="B-1234",
                holder="Jane Doe",
                direction="in",
            )
        ),
    ),
    "audit (data transfer)": (
        "audit",
        _wire(
            AuditEvent(
                **ENVELOPE,
                action="data_transfer",
                actor=Actor(
                    id="u-42", role="ml-eng", clearance=Classification.SECRET, nationality="DE"
                ),
                dataset_id="ds-7",
                classification=Classification.RESTRICTED,
                source_country="DE",
                destination_country="FR",
                encrypted=True,
                key_custodian="site-hsm",
                approval_ref="CHG-1234",
                justification="replicate eval set for the joint project",
            )
        ),
    ),
}


def rate(func: Callable[[], object], seconds: float, runs: int) -> float:
    """Best calls/s over `runs` runs of about `seconds` each."""
    batch = 1000
    best = 0.0
    for _ in range(runs):
        calls, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            for _ in range(batch):
                func()
            calls += batch
        best = max(best, calls / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.processor() or platform.machine()}")
    print(f"best of {args.runs} runs x {args.seconds}s, one core\n")
    header = (
        f"{'case':32} {'bytes':>6} {'decode(family)/s':>17} {'decode(any)/s':>14} "
        f"{'parse floor/s':>14}"
    )
    print(header)
    print("-" * len(header))
    for name, (family, raw) in CASES.items():
        by_family = rate(lambda: decode(raw, family), args.seconds, args.runs)  # noqa: B023
        by_union = rate(lambda: decode(raw), args.seconds, args.runs)  # noqa: B023
        floor = rate(lambda: from_json(raw), args.seconds, args.runs)  # noqa: B023
        print(f"{name:32} {len(raw):>6} {by_family:>17,.0f} {by_union:>14,.0f} {floor:>14,.0f}")
    page = Path(__file__).resolve().parents[2] / "tests/unit/schemas/fixtures/dcgm_h100_node.prom"
    text = page.read_text()
    pages = rate(
        lambda: parse_exposition(text, site_id="fra-1", country="DE", source="c1", ts=TS),
        args.seconds,
        1,
    )
    print(f"\ndcgm page (4 GPUs, {len(text.splitlines())} lines): {1000 / pages:.2f} ms/page")


if __name__ == "__main__":
    main()
