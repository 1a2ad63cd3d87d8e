"""The site registry: what a reviewed file says about each data-centre site.

Per site: its country (the jurisdiction its data belongs to), IANA time zone, working hours and
weekend days, public holidays (the country's, optionally a subdivision's, plus the site's own
closures), zones with their kind and attributes, racks with their allocated power, the site's
power budget and PUE target. Unknown keys are errors, as in rule packs: a typo must never
silently drop a fact. Cross-references (a rack's zone) are checked by `registry_problems`.

Rules read these models by name (`site.tz`, `zone.kind`, `rack.allocated_w`), so their field
types are what `rules lint` checks such names against.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.country import CountryCode
from schemas.envelope import Identifier, Name

ZoneKind = Literal[
    "gpu_hall",
    "data_hall",
    "cage",
    "noc",
    "perimeter",
    "office",
    "lobby",
    "loading_dock",
    "plant_room",
    "storage",
]
ZONE_KINDS: Final[tuple[str, ...]] = get_args(ZoneKind)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final[tuple[str, ...]] = get_args(Weekday)
"""Index = Python's `weekday()` (0 = Monday)."""

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")


def _check_tz(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "time_zone",
            "'{name}' is not an IANA time zone (e.g. Europe/Berlin, Asia/Tokyo)",
            {"name": name},
        ) from None
    return name


def _check_clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise PydanticCustomError(
            "clock_time", "'{value}' is not a time of day HH:MM (00:00-24:00)", {"value": value}
        )
    return value


TimeZoneName = Annotated[
    str, Field(description="IANA time zone, e.g. Asia/Tokyo"), AfterValidator(_check_tz)
]
ClockTime = Annotated[
    str, Field(description="Local time of day, HH:MM"), AfterValidator(_check_clock)
]


def minutes(clock: str) -> int:
    """Minutes after local midnight of an 'HH:MM' time."""
    hours, _, mins = clock.partition(":")
    return int(hours) * 60 + int(mins)


class WorkingHours(BaseModel):
    """The site's staffed hours on a working day, local time; `end` is exclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: ClockTime = "08:00"
    end: ClockTime = "18:00"

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if minutes(self.start) >= minutes(self.end):
            raise ValueError(f"working hours start ({self.start}) must be before end ({self.end})")
        return self


class Closure(BaseModel):
    """A site-specific day off (shutdown, local festival), local calendar days inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    until: dt.date | None = Field(None, description="Last day of a closure of several days")
    reason: Name

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.until is not None and self.until < self.date:
            raise ValueError(f"closure until {self.until} is before its date {self.date}")
        return self

    def days(self) -> Iterator[dt.date]:
        day = self.date
        while day <= (self.until or self.date):
            yield day
            day += dt.timedelta(days=1)


class HolidayCalendar(BaseModel):
    """Public holidays of the site's country (or `country`), of `subdivision` if given
    (ISO 3166-2 part, e.g. HE for Hesse), plus the site's own closures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: CountryCode | None = Field(None, description="Default: the site's country")
    subdivision: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,3}$")] | None = None
    public: bool = Field(True, description="False: only the closures count")
    closures: tuple[Closure, ...] = ()


class Zone(BaseModel):
    """An area of a site with its own access control."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier = Field(description="As events name it (zone_id, power scope_id of a hall)")
    kind: ZoneKind
    name: Name | None = None
    two_person: bool = Field(False, description="Opening needs two distinct badges")
    customer: Name | None = Field(None, description="Customer whose equipment it holds")
    staffed_24x7: bool = Field(False, description="Staffed around the clock (no after-hours)")


class Rack(BaseModel):
    """A rack in a zone, with the power allocated to it and the nodes it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier = Field(description="As power readings name it (scope_id)")
    zone: Identifier = Field(description="Id of the zone the rack stands in")
    allocated_w: float = Field(gt=0, le=1e7, description="Power allocated to the rack, W")
    nodes: tuple[Name, ...] = Field((), description="Hosts in the rack (GPU samples' node)")


class Site(BaseModel):
    """One data-centre site."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier = Field(description="As events name it (site_id, the Kafka key)")
    name: Name | None = None
    country: CountryCode = Field(description="Jurisdiction of the site's data (ISO 3166-1)")
    tz: TimeZoneName
    working_hours: WorkingHours = WorkingHours()
    weekend: tuple[Weekday, ...] = Field(("sat", "sun"), description="Days off every week")
    holidays: HolidayCalendar = HolidayCalendar()
    power_budget_w: float | None = Field(None, gt=0, le=1e10, description="Contracted power, W")
    pue_target: float | None = Field(None, ge=1.0, le=5.0, description="Target PUE")
    zones: tuple[Zone, ...] = ()
    racks: tuple[Rack, ...] = ()

    @property
    def holiday_country(self) -> str:
        return self.holidays.country or self.country


class SiteRegistry(BaseModel):
    """The reviewed list of sites (one YAML file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(1, description="Format version of the registry file")
    sites: tuple[Site, ...] = Field(min_length=1)


Problem = tuple[tuple[Any, ...], str]
"""A location in the registry data (('sites', 0, 'racks', 2, 'zone')) and what is wrong."""


def registry_problems(registry: SiteRegistry) -> list[Problem]:
    """What the models alone cannot see: duplicate ids, a rack in no zone, a node in two racks."""
    problems: list[Problem] = []
    seen_sites: set[str] = set()
    for s, site in enumerate(registry.sites):
        if site.id in seen_sites:
            problems.append((("sites", s, "id"), f"site {site.id} is listed twice"))
        seen_sites.add(site.id)
        zones: set[str] = set()
        for z, zone in enumerate(site.zones):
            if zone.id in zones:
                problems.append((("sites", s, "zones", z, "id"), f"zone {zone.id} listed twice"))
            zones.add(zone.id)
        racks: set[str] = set()
        nodes: dict[str, str] = {}
        for r, rack in enumerate(site.racks):
            if rack.id in racks:
                problems.append((("sites", s, "racks", r, "id"), f"rack {rack.id} listed twice"))
            racks.add(rack.id)
            if rack.zone not in zones:
                known = ", ".join(sorted(zones)) or "none"
                problems.append(
                    (
                        ("sites", s, "racks", r, "zone"),
                        f"rack {rack.id} is in zone '{rack.zone}', which site {site.id} does not "
                        f"have (zones: {known})",
                    )
                )
            for n, node in enumerate(rack.nodes):
                if node in nodes:
                    problems.append(
                        (
                            ("sites", s, "racks", r, "nodes", n),
                            f"node {node} is in racks {nodes[node]} and {rack.id}",
                        )
                    )
                nodes[node] = rack.id
        if len(set(site.weekend)) != len(site.weekend):
            problems.append((("sites", s, "weekend"), "a weekend day is listed twice"))
    return problems
