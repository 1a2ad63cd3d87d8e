"""The registry at run time: sites, zones and racks looked up by what events name, and a holder
(`Sites`) whose registry a reload swaps in one assignment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agents.sites.calendar import SiteCalendar, describe_local
from agents.sites.implied import implied_calendar, implied_rack, implied_site, implied_zone
from schemas.sites import Rack, Site, SiteRegistry, Zone


@dataclass(frozen=True)
class SiteIndex:
    """One site with its calendar and its zones, racks and nodes by id."""

    site: Site
    calendar: SiteCalendar
    zones: Mapping[str, Zone]
    racks: Mapping[str, Rack]
    rack_of_node: Mapping[str, Rack]

    @classmethod
    def of(cls, site: Site) -> SiteIndex:
        return cls(
            site,
            SiteCalendar(site),
            {zone.id: zone for zone in site.zones},
            {rack.id: rack for rack in site.racks},
            {node: rack for rack in site.racks for node in rack.nodes},
        )

    def rack(self, event: Any) -> Rack | None:
        """The rack a power reading (rack or PDU scope) or a GPU sample (by node) is about."""
        family = getattr(event, "family", None)
        if family == "power" and event.scope in ("rack", "pdu"):
            return self.racks.get(event.scope_id)
        if family == "gpu":
            return self.rack_of_node.get(event.node)
        return None

    def zone(self, event: Any) -> Zone | None:
        """The zone of a physical event, of a hall's power reading, or of a rack's contents."""
        family = getattr(event, "family", None)
        if family == "physical":
            return self.zones.get(event.zone_id)
        if family == "power" and event.scope == "hall":
            return self.zones.get(event.scope_id)
        rack = self.rack(event)
        return None if rack is None else self.zones.get(rack.zone)


class Registry:
    """A linted registry file, indexed."""

    def __init__(self, data: SiteRegistry, path: Path | None = None) -> None:
        self.data = data
        self.path = path
        self.sites: dict[str, SiteIndex] = {site.id: SiteIndex.of(site) for site in data.sites}

    def get(self, site_id: str) -> SiteIndex | None:
        return self.sites.get(site_id)

    def local_time(self, site_id: str, ts: datetime) -> str | None:
        """`ts` as the site's clock says it ('2026-01-07 02:30 JST (Wed)'); None if unknown."""
        found = self.sites.get(site_id)
        return None if found is None else describe_local(ts, found.calendar.zone)

    def __len__(self) -> int:
        return len(self.sites)


class Sites:
    """The registry in force (None: no registry configured). Rules and the country binding read
    `current` per event, so a reload takes effect with the next event.

    `site`, `zone`, `rack` and `calendar` are the facts rules read: the registered ones, or,
    without a registry, those the event implies as before the registry existed
    (`agents.sites.implied`). `index` is the registered entry only."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.current = registry

    def index(self, event: Any) -> SiteIndex | None:
        registry = self.current
        return None if registry is None else registry.sites.get(event.site_id)

    def site(self, event: Any) -> Site | None:
        if self.current is None:
            return implied_site(event)
        found = self.index(event)
        return None if found is None else found.site

    def zone(self, event: Any) -> Zone | None:
        if self.current is None:
            return implied_zone(event)
        found = self.index(event)
        return None if found is None else found.zone(event)

    def rack(self, event: Any) -> Rack | None:
        if self.current is None:
            return implied_rack(event)
        found = self.index(event)
        return None if found is None else found.rack(event)

    def calendar(self, event: Any) -> SiteCalendar | None:
        if self.current is None:
            return implied_calendar(event)
        found = self.index(event)
        return None if found is None else found.calendar
