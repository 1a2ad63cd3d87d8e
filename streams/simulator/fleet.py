"""The simulated fleet: sites (country, time zone, PUE, workload) and their halls, racks, nodes and
GPUs, read from a YAML fleet file (`fleet.yaml` beside this module by default)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from schemas.country import CountryCode

DEFAULT_FLEET = Path(__file__).with_name("fleet.yaml")
Workload = Literal["training", "inference", "mixed"]


class Site(BaseModel):
    """One data-centre site and its layout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    country: CountryCode
    utc_offset_h: float = Field(0.0, ge=-12, le=14, description="Local time, for shifts and load")
    pue: float = Field(1.3, ge=1.0, le=3.0, description="Nominal PUE (facility / IT energy)")
    workload: Workload = "mixed"
    halls: int = Field(2, ge=1, le=64)
    racks_per_hall: int = Field(4, ge=1, le=256)
    nodes_per_hall: int = Field(8, ge=1, le=4096)
    gpus_per_node: int = Field(8, ge=1, le=16)
    gpu_model: str = "NVIDIA H100 80GB HBM3"
    gpu_tdp_w: float = Field(700.0, gt=0)
    node_overhead_w: float = Field(2000.0, ge=0, description="CPUs, NICs, fans of one node")

    @cached_property
    def nodes(self) -> tuple[Node, ...]:
        """Every node, nodes spread evenly over the racks of their hall."""
        out = []
        for hall in range(1, self.halls + 1):
            for n in range(self.nodes_per_hall):
                rack = 1 + n * self.racks_per_hall // self.nodes_per_hall
                out.append(
                    Node(f"{self.id}-h{hall}-n{n + 1:03d}", hall, f"{self.id}-h{hall}-r{rack:02d}")
                )
        return tuple(out)

    @cached_property
    def racks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(node.rack for node in self.nodes))

    @property
    def node_max_w(self) -> float:
        return self.gpus_per_node * self.gpu_tdp_w + self.node_overhead_w

    @property
    def it_max_w(self) -> float:
        return len(self.nodes) * self.node_max_w

    @property
    def capacity_w(self) -> float:
        """Contracted site capacity: room for the IT load at a PUE of 1.8."""
        return math.ceil(self.it_max_w * 1.8 / 1000) * 1000.0


@dataclass(frozen=True)
class Node:
    name: str
    hall: int
    rack: str


class Fleet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sites: tuple[Site, ...] = Field(min_length=1)

    def site(self, site_id: str) -> Site:
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(f"no site {site_id!r} in the fleet ({', '.join(s.id for s in self.sites)})")

    @property
    def gpus(self) -> int:
        return sum(len(s.nodes) * s.gpus_per_node for s in self.sites)


def load_fleet(
    path: Path | None = None,
    *,
    sites: int | None = None,
    site_prefix: str = "",
    **layout: int | None,
) -> Fleet:
    """The fleet of a file, cut or cycled to `sites` sites, with layout overrides
    (halls, racks_per_hall, nodes_per_hall, gpus_per_node) applied to every site."""
    raw: dict[str, Any] = yaml.safe_load((path or DEFAULT_FLEET).read_text()) or {}
    defaults = dict(raw.get("defaults") or {})
    defaults.update({k: v for k, v in layout.items() if v is not None})
    listed = list(raw.get("sites") or [])
    if not listed:
        raise ValueError(f"{path or DEFAULT_FLEET}: no sites")
    count = sites or len(listed)
    chosen = []
    for i in range(count):
        spec = dict(listed[i % len(listed)])
        if i >= len(listed):
            spec["id"] = f"{spec['id']}-{i // len(listed) + 1}"
        spec["id"] = f"{site_prefix}{spec['id']}"
        chosen.append(Site.model_validate({**defaults, **spec}))
    if defaults.get("racks_per_hall", 1) > min(s.nodes_per_hall for s in chosen):
        chosen = [s.model_copy(update={"racks_per_hall": s.nodes_per_hall}) for s in chosen]
    return Fleet(sites=tuple(chosen))
