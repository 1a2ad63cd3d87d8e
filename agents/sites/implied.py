"""What an event implies about its site when no registry is configured: the facts sovwatch judged
by before the registry existed, in this one place, so that a worker without
SOVWATCH_SITES__REGISTRY fires the registry-backed rules exactly as the former packs did.

- calendar: UTC, working hours 06:00-22:00, weekend Saturday and Sunday, no holidays (the former
  `hour(ts) < 6 or hour(ts) >= 22 or weekday(ts) >= 5`);
- zone of a physical event: kind `gpu_hall` when its `zone_id` contains "hall", else `cage` when
  its `zone_type` is cage, else `noc` when its id contains "noc" (no zone otherwise);
  `two_person` when its type is cage; `staffed_24x7` when its id contains "noc";
- rack of a rack or PDU power reading: allocated the reading's `allocated_w`, when above 0;
- site: the event's `site_id` and `country`, power budget a site-scope reading's `capacity_w`
  when above 0, PUE target 1.5.

With a registry, none of this applies: only registered facts count (`registry.Sites`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from agents.sites.calendar import SiteCalendar
from schemas.sites import HolidayCalendar, Rack, Site, WorkingHours, Zone, ZoneKind

TZ: Final = "UTC"
WORKING_HOURS: Final = WorkingHours(start="06:00", end="22:00")
WEEKEND: Final = ("sat", "sun")
HOLIDAYS: Final = HolidayCalendar(public=False)
PUE_TARGET: Final = 1.5
_CACHED = 4096  # distinct sites, zones and racks remembered; more are built again when asked


def implied_entry(
    site_id: str, country: str, tz: str = TZ, power_budget_w: float | None = None
) -> Site:
    """A site as a registry without its entry would have to list it: the calendar above, in `tz`
    (the simulator's sites without an entry keep it too, in their own time zone)."""
    return Site(
        id=site_id,
        country=country,
        tz=tz,
        working_hours=WORKING_HOURS,
        weekend=WEEKEND,
        holidays=HOLIDAYS,
        power_budget_w=power_budget_w,
        pue_target=PUE_TARGET,
    )


def implied_site(event: Any) -> Site:
    budget = None
    if event.family == "power" and event.scope == "site" and (event.capacity_w or 0) > 0:
        budget = event.capacity_w
    return _site(event.site_id, event.country, budget)


def implied_zone(event: Any) -> Zone | None:
    if event.family != "physical":
        return None
    return _zone(event.zone_id, event.zone_type)


def implied_rack(event: Any) -> Rack | None:
    if event.family != "power" or event.scope not in ("rack", "pdu"):
        return None
    allocated = event.allocated_w
    return None if allocated is None or allocated <= 0 else _rack(event.scope_id, allocated)


def implied_calendar(event: Any) -> SiteCalendar:
    return _calendar(event.site_id, event.country)


@lru_cache(maxsize=_CACHED)
def _site(site_id: str, country: str, power_budget_w: float | None) -> Site:
    return implied_entry(site_id, country, power_budget_w=power_budget_w)


@lru_cache(maxsize=_CACHED)
def _calendar(site_id: str, country: str) -> SiteCalendar:
    return SiteCalendar(implied_entry(site_id, country))


@lru_cache(maxsize=_CACHED)
def _zone(zone_id: str, zone_type: str) -> Zone | None:
    kind: ZoneKind
    if "hall" in zone_id:
        kind = "gpu_hall"
    elif zone_type == "cage":
        kind = "cage"
    elif "noc" in zone_id:
        kind = "noc"
    else:
        return None  # nothing was judged of other zones
    return Zone.model_construct(
        id=zone_id, kind=kind, two_person=zone_type == "cage", staffed_24x7="noc" in zone_id
    )


@lru_cache(maxsize=_CACHED)
def _rack(rack_id: str, allocated_w: float) -> Rack:
    # Which zone the rack stands in is not known without a registry: null, as rules read it.
    return Rack.model_construct(id=rack_id, zone=None, allocated_w=allocated_w)  # type: ignore[arg-type]
