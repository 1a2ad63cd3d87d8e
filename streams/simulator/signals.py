"""Realistic telemetry values: diurnal load per site, GPU power and temperature following
utilisation, rack/hall power as the sum of their nodes plus distribution losses, facility power
from a PUE that breathes with the outdoor temperature, and the energy counters behind PUE.

Values are plain dicts of schema field names; `generator` wraps them in the pydantic models.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from datetime import datetime

from streams.simulator.fleet import Node, Site

GPU_MEMORY_MIB = 81_559
IDLE_W = 70.0
PDU_LOSS = 1.02  # rack power at the PDU = node draw + ~2 % distribution loss
HISTORY_DAYS = 30  # energy counters start with a month of operation behind them


def diurnal(site: Site, ts: datetime) -> float:
    """0 at 04:00 local time, 1 at 16:00: the shape of daytime demand and outdoor heat."""
    local_h = (ts.hour + ts.minute / 60 + ts.second / 3600 + site.utc_offset_h) % 24
    return 0.5 - 0.5 * math.cos(2 * math.pi * (local_h - 4) / 24)


def site_load(site: Site, ts: datetime) -> float:
    """Mean GPU utilisation of the site, 0..1: training is flat and high, inference diurnal."""
    d = diurnal(site, ts)
    if site.workload == "training":
        return 0.86 + 0.05 * d
    if site.workload == "inference":
        return 0.22 + 0.58 * d
    return 0.5 + 0.3 * d


def job_factor(seed: int, node: str, ts: datetime) -> float:
    """Per-node scaling for the job it runs; jobs change every two hours."""
    block = int(ts.timestamp()) // 7200
    h = zlib.crc32(f"{seed}|{node}|{block}".encode()) / 0xFFFFFFFF
    return 0.75 + 0.3 * h


@dataclass
class Meters:
    """Energy counters of one site (kWh), advanced by `advance`."""

    it_kwh: float
    facility_kwh: float

    def advance(self, it_w: float, facility_w: float, seconds: float) -> None:
        self.it_kwh += it_w * seconds / 3.6e6
        self.facility_kwh += facility_w * seconds / 3.6e6


@dataclass
class SiteSignals:
    """The signal state of one site: GPU energy counters and the site meters."""

    site: Site
    pue: float
    meters: Meters
    gpu_energy_mj: dict[tuple[str, int], float] = field(default_factory=dict)

    @classmethod
    def start(cls, site: Site, pue: float | None = None) -> SiteSignals:
        pue = pue if pue is not None else site.pue
        it = site.it_max_w * 0.6 * HISTORY_DAYS * 24 / 1000
        return cls(site, pue, Meters(round(it, 3), round(it * pue, 3)))

    def pue_at(self, ts: datetime) -> float:
        """PUE of the moment: chillers work harder in the afternoon."""
        return self.pue + 0.04 * diurnal(self.site, ts)

    def gpu(
        self, rng: random.Random, seed: int, node: Node, index: int, ts: datetime, step_s: float
    ) -> dict[str, object]:
        """One GPU's DCGM fields at `ts`."""
        site = self.site
        util = site_load(site, ts) * job_factor(seed, node.name, ts) * 100 + rng.gauss(0, 3)
        util = min(100.0, max(0.0, util))
        power = IDLE_W + (site.gpu_tdp_w - IDLE_W) * (util / 100) ** 1.1
        power *= 1 + rng.gauss(0, 0.015)
        temp = 31 + 0.066 * power + rng.gauss(0, 0.8)
        key = (node.name, index)
        energy = self.gpu_energy_mj.get(key, 3.6e9 * (1 + index / 10)) + power * step_s * 1000
        self.gpu_energy_mj[key] = energy
        busy = util > 5
        return {
            "gpu_util_pct": round(util, 1),
            "mem_copy_util_pct": round(util * 0.45, 1),
            "fb_used_mib": int(2048 + util / 100 * (GPU_MEMORY_MIB - 6000)),
            "fb_free_mib": int(GPU_MEMORY_MIB - 2048 - util / 100 * (GPU_MEMORY_MIB - 6000)),
            "gpu_temp_c": round(temp, 1),
            "memory_temp_c": round(temp + 4 + rng.gauss(0, 0.5), 1),
            "power_usage_w": round(power, 1),
            "total_energy_consumption_mj": int(energy),
            "sm_clock_mhz": 1980 if busy else 345,
            "mem_clock_mhz": 2619,
            "xid_errors": 0,
            "ecc_sbe_volatile_total": 0,
            "ecc_dbe_volatile_total": 0,
            "pcie_replay_counter": 0,
            "clock_throttle_reasons": 0 if busy else 1,
        }

    def rack(
        self, rng: random.Random, rack: str, node_w: float, nodes: int, ts: datetime
    ) -> dict[str, object]:
        """A rack PDU reading: the draw of its nodes plus distribution loss."""
        allocated = nodes * self.site.node_max_w * 1.05
        power = node_w * PDU_LOSS
        inlet = 23 + 2 * diurnal(self.site, ts) + rng.gauss(0, 0.3)
        return {
            "scope": "rack",
            "scope_id": rack,
            "power_w": round(power, 1),
            "allocated_w": round(allocated, -2),
            "capacity_w": round(allocated * 1.25, -2),
            "voltage_v": round(415 + rng.gauss(0, 1.5), 1),
            "current_a": round(power / (math.sqrt(3) * 415 * 0.95), 2),
            "inlet_temp_c": round(inlet, 1),
            "outlet_temp_c": round(inlet + 8 + 10 * power / max(allocated, 1), 1),
        }

    def hall(self, rng: random.Random, hall: str, it_w: float, ts: datetime) -> dict[str, object]:
        return {
            "scope": "hall",
            "scope_id": hall,
            "power_w": round(it_w, 1),
            "inlet_temp_c": round(22.5 + 2 * diurnal(self.site, ts) + rng.gauss(0, 0.2), 1),
            "humidity_pct": round(45 + 5 * diurnal(self.site, ts) + rng.gauss(0, 1), 1),
        }

    def facility(self, it_w: float, ts: datetime, seconds: float) -> dict[str, object]:
        """The site meter: facility power from PUE, and both energy counters advanced."""
        facility_w = it_w * self.pue_at(ts)
        self.meters.advance(it_w, facility_w, seconds)
        return {
            "scope": "site",
            "scope_id": self.site.id,
            "power_w": round(facility_w, 1),
            "capacity_w": self.site.capacity_w,
            "facility_energy_kwh": round(self.meters.facility_kwh, 3),
            "it_energy_kwh": round(self.meters.it_kwh, 3),
        }
