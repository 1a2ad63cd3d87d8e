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
    local = site.calendar.local(ts)
    local_h = local.hour + local.minute / 60 + local.second / 3600
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
    return 0.75 + 0.3 * _hash(f"{seed}|{node}|{_job_block(ts)}")


def _job_block(ts: datetime) -> int:
    return int(ts.timestamp()) // 7200


def _hash(text: str) -> float:
    """0..1, stable for the same text (no draw from the run's random stream)."""
    return zlib.crc32(text.encode()) / 0xFFFFFFFF


def pod(seed: int, site: Site, node: Node, index: int, ts: datetime) -> dict[str, object]:
    """The Kubernetes pod using a GPU (dcgm-exporter's pod labels): a training job takes whole
    nodes, inference runs one pod per GPU; jobs change with the job block."""
    block = _job_block(ts)
    node_no = int(node.name.rsplit("-n", 1)[1])
    training = site.workload == "training" or (site.workload == "mixed" and node_no % 2 == 0)
    if training:
        job = zlib.crc32(f"{seed}|{site.id}|{node.hall}|{block}".encode()) % 0xFFFFF
        return {
            "k8s_namespace": "training",
            "k8s_pod": f"train-{job:05x}-worker-{node_no - 1}",
            "k8s_container": "trainer",
        }
    replica = zlib.crc32(f"{seed}|{node.name}|{index}|{block}".encode()) % 0xFFFFF
    model = ("llm-7b", "vision-med-8b", "asr-1b")[(node_no + index) % 3]
    return {
        "k8s_namespace": "inference",
        "k8s_pod": f"{model}-{replica:05x}",
        "k8s_container": "server",
    }


MIG_PROFILE = "2g.20gb"
MIG_INSTANCES = 3


def mig_partitioned(site: Site, node: Node, index: int) -> bool:
    """Inference and mixed sites split the last GPU of each hall's last node into MIG
    instances (one small model per instance)."""
    last = node.name.endswith(f"-n{site.nodes_per_hall:03d}")
    return site.workload != "training" and last and index == site.gpus_per_node - 1


def flaky_nvlink(site: Site, node: Node, index: int) -> bool:
    """One GPU per hall has a marginal NVLink lane whose CRC counter creeps up."""
    return node.name.endswith("-n001") and index == site.gpus_per_node - 1


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
    nvlink_flits: dict[tuple[str, int], int] = field(default_factory=dict)

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
        flits = self.nvlink_flits.get(key, 0)
        if flaky_nvlink(site, node, index):
            flits += int(3 * _hash(f"{seed}|{node.name}|{index}|{int(ts.timestamp()) // 60}"))
            self.nvlink_flits[key] = flits
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
            "correctable_remapped_rows": 0,
            "uncorrectable_remapped_rows": 0,
            "row_remap_failure": 0,
            "nvlink_crc_flit_errors_total": flits,
            "nvlink_crc_data_errors_total": 0,
            "nvlink_replay_errors_total": 0,
            "nvlink_recovery_errors_total": 0,
            "clock_throttle_reasons": 0 if busy else 1,
            **({} if mig_partitioned(site, node, index) else pod(seed, site, node, index, ts)),
        }

    def mig_instances(
        self, seed: int, node: Node, index: int, ts: datetime, gpu_util: float
    ) -> list[dict[str, object]]:
        """The MIG instances of a partitioned GPU: their own utilisation (DCGM's GR engine
        activity per instance), memory and pod; the GPU-wide fields stay on the GPU's sample."""
        if not mig_partitioned(self.site, node, index):
            return []
        out = []
        for instance in range(1, MIG_INSTANCES + 1):
            share = 0.6 + 0.8 * _hash(f"{seed}|{node.name}|{index}|{instance}|{_job_block(ts)}")
            out.append(
                {
                    "mig_instance_id": instance,
                    "mig_profile": MIG_PROFILE,
                    "gpu_util_pct": round(min(100.0, gpu_util * share), 1),
                    "fb_used_mib": int(2048 + 14_000 * min(1.0, gpu_util * share / 100)),
                    **pod(seed, self.site, node, index * 10 + instance, ts),
                }
            )
        return out

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
