"""The site registry of a simulated fleet: its sites with the zones, racks and nodes the
simulator names (`{site}-gpu-hall-1`, `{site}-h1-r01`, ...), rack allocations and site budgets as
the simulated power readings use them. `sovwatch simulate --write-registry FILE` writes it for
the worker (SOVWATCH_SITES__REGISTRY); replays of a run judge their rules against it.

Each site's country and calendar are its entry in the fleet's registry (`Site.registry_entry`),
the calendar its simulated badge traffic keeps to, so the rules judge the same clock.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from schemas.sites import SiteRegistry
from streams.simulator.fleet import Fleet, Site


def fleet_registry(fleet: Fleet) -> SiteRegistry:
    return SiteRegistry(sites=tuple(_site(site) for site in fleet.sites))


def write_registry(fleet: Fleet, path: Path) -> Path:
    data = fleet_registry(fleet).model_dump(mode="json", exclude_defaults=True)
    path.write_text(
        "# Written by `sovwatch simulate --write-registry`: the simulated fleet's sites.\n"
        + yaml.safe_dump({"version": 1, **data}, sort_keys=False)
    )
    return path


def _site(site: Site) -> dict[str, object]:
    halls = [f"{site.id}-gpu-hall-{hall}" for hall in range(1, site.halls + 1)]
    zones: list[dict[str, object]] = [{"id": hall, "kind": "gpu_hall"} for hall in halls]
    zones += [
        {"id": f"{site.id}-noc", "kind": "noc", "staffed_24x7": True},
        {"id": f"{site.id}-lobby", "kind": "lobby"},
        {"id": f"{site.id}-cage-07", "kind": "cage", "two_person": True},
        {"id": f"{site.id}-loading-dock", "kind": "loading_dock"},
        {"id": f"{site.id}-yard", "kind": "perimeter"},
    ]
    racks = []
    for rack in site.racks:
        nodes = [node for node in site.nodes if node.rack == rack]
        racks.append(
            {
                "id": rack,
                "zone": halls[nodes[0].hall - 1],
                # As the simulated PDU readings allocate: 5 % above the nodes' maximum draw.
                "allocated_w": round(len(nodes) * site.node_max_w * 1.05, -2),
                "nodes": [node.name for node in nodes],
            }
        )
    entry = site.registry_entry.model_dump(
        mode="json", exclude_defaults=True, exclude={"zones", "racks"}
    )
    return {
        **entry,
        "id": site.id,
        "country": site.country,
        "tz": site.tz,
        "power_budget_w": site.capacity_w,
        "pue_target": site.pue_target,
        "zones": zones,
        "racks": racks,
    }
