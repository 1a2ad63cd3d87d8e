"""The simulated fleet: sites (country, time zone, PUE, workload) and their halls, racks, nodes and
GPUs, read from a YAML fleet file (`fleet.yaml` beside this module by default).

A fleet file names a site registry (`registry: sites.yaml`, beside it by default): each fleet
site's country, time zone, working hours, weekend and holidays are its registry entry's, and the
simulated people keep to that calendar (GPU halls on working days and hours only, shifts and
daytime load by the local clock), so the rules judged against the registry see exactly the
incidents the simulator injects. A site without a registry entry (a fleet file without a
registry, `small_fleet`) keeps the calendar a worker without a registry judges by
(`agents.sites.implied`): weekdays 06:00-22:00 in its `tz` (UTC unless given), no holidays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.sites.calendar import SiteCalendar
from agents.sites.implied import implied_entry
from agents.sites.lint import RegistryError, load_registry
from schemas.country import CountryCode
from schemas.sites import Site as RegisteredSite

DEFAULT_FLEET = Path(__file__).with_name("fleet.yaml")
DEFAULT_REGISTRY = Path(__file__).with_name("sites.yaml")
"""The registry `fleet.yaml` names: the default fleet's sites in six time zones."""
Workload = Literal["training", "inference", "mixed"]


PUE_MARGIN = 0.25
"""How far above its nominal PUE a simulated site's registered PUE target lies."""


class Site(BaseModel):
    """One data-centre site and its layout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    country: CountryCode
    tz: str = Field("UTC", description="IANA time zone (its registry entry's, if it has one)")
    pue: float = Field(1.3, ge=1.0, le=3.0, description="Nominal PUE (facility / IT energy)")
    workload: Workload = "mixed"
    halls: int = Field(2, ge=1, le=64)
    racks_per_hall: int = Field(4, ge=1, le=256)
    nodes_per_hall: int = Field(8, ge=1, le=4096)
    gpus_per_node: int = Field(8, ge=1, le=16)
    gpu_model: str = "NVIDIA H100 80GB HBM3"
    gpu_tdp_w: float = Field(700.0, gt=0)
    node_overhead_w: float = Field(2000.0, ge=0, description="CPUs, NICs, fans of one node")
    registered: RegisteredSite | None = Field(
        None, description="Its site registry entry (calendar; zones and racks are drawn here)"
    )

    @model_validator(mode="after")
    def _agrees_with_its_registry_entry(self) -> Site:
        entry = self.registered
        if entry is not None and (entry.id, entry.country, entry.tz) != (
            self.id,
            self.country,
            self.tz,
        ):
            raise ValueError(
                f"site {self.id} ({self.country}, {self.tz}) disagrees with its registry entry "
                f"{entry.id} ({entry.country}, {entry.tz})"
            )
        return self

    @property
    def pue_target(self) -> float:
        """The PUE target its registry entry states: the nominal PUE plus `PUE_MARGIN` (the
        simulated PUE drifts around the nominal one)."""
        return round(self.pue + PUE_MARGIN, 2)

    @cached_property
    def registry_entry(self) -> RegisteredSite:
        """The site as a registry lists it (before zones, racks and budgets): its own entry, or
        the calendar a worker without a registry judges by (`agents.sites.implied`: weekdays
        06:00-22:00, no public holidays), in `tz`."""
        if self.registered is not None:
            return self.registered
        return implied_entry(self.id, self.country, tz=self.tz)

    @cached_property
    def calendar(self) -> SiteCalendar:
        """The site's clock and calendar, as the rules judge them (`after_hours`, ...)."""
        return SiteCalendar(self.registry_entry)

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


def registered_sites(path: Path) -> dict[str, RegisteredSite]:
    """The entries of a site registry file by id; `ValueError` listing its issues if it does not
    lint."""
    try:
        return {site.id: site for site in load_registry(path).data.sites}
    except RegistryError as exc:
        raise ValueError(str(exc)) from None


def fleet_registry_file(path: Path | None = None) -> Path | None:
    """The site registry a fleet file names (relative to the file), None if it names none."""
    fleet_file = path or DEFAULT_FLEET
    raw = yaml.safe_load(fleet_file.read_text()) or {}
    named = raw.get("registry")
    return None if named is None else fleet_file.parent / str(named)


def load_fleet(
    path: Path | None = None,
    *,
    sites: int | None = None,
    site_prefix: str = "",
    registry: Path | None = None,
    **layout: int | None,
) -> Fleet:
    """The fleet of a file, cut or cycled to `sites` sites, with layout overrides
    (halls, racks_per_hall, nodes_per_hall, gpus_per_node) applied to every site. Each site
    takes its country and calendar from its entry in `registry` (default: the registry the
    fleet file names); a copy made by cycling or prefixing takes its original's entry."""
    fleet_file = path or DEFAULT_FLEET
    raw: dict[str, Any] = yaml.safe_load(fleet_file.read_text()) or {}
    registry = registry or fleet_registry_file(fleet_file)
    entries = registered_sites(registry) if registry is not None else {}
    defaults = dict(raw.get("defaults") or {})
    defaults.update({k: v for k, v in layout.items() if v is not None})
    listed = list(raw.get("sites") or [])
    if not listed:
        raise ValueError(f"{fleet_file}: no sites")
    count = sites or len(listed)
    chosen = []
    for i in range(count):
        spec = dict(listed[i % len(listed)])
        original = str(spec["id"])
        if i >= len(listed):
            spec["id"] = f"{spec['id']}-{i // len(listed) + 1}"
        spec["id"] = f"{site_prefix}{spec['id']}"
        if registry is not None:
            entry = entries.get(original)
            if entry is None:
                raise ValueError(
                    f"{fleet_file}: site {original} is not in the site registry {registry} "
                    f"(it lists {', '.join(entries)})"
                )
            spec.setdefault("country", entry.country)
            spec.setdefault("tz", entry.tz)
            spec["registered"] = entry.model_copy(update={"id": spec["id"]})
        chosen.append(Site.model_validate({**defaults, **spec}))
    if defaults.get("racks_per_hall", 1) > min(s.nodes_per_hall for s in chosen):
        chosen = [s.model_copy(update={"racks_per_hall": s.nodes_per_hall}) for s in chosen]
    return Fleet(sites=tuple(chosen))
