"""Without a registry, an event implies its site's facts as sovwatch judged them before the
registry existed (UTC 06:00-22:00 on weekdays, GPU halls and cages by name, budgets from the
readings); with one, only registered facts count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.rules.fixtures import build_event
from agents.rules.language import Compiler
from agents.sites.lint import load_registry
from agents.sites.registry import Sites
from schemas.decode import Event
from tests.unit.agents.sites.helpers import registry_file

NO_REGISTRY = Sites()


def physical(zone_id: str, zone_type: str = "hall", **fields: Any) -> Event:
    spec = {"family": "physical", "kind": "access_granted", "badge_id": "p_b1", **fields}
    return build_event({**spec, "zone_id": zone_id, "zone_type": zone_type}, "e")


def power(scope: str, **fields: Any) -> Event:
    return build_event({"family": "power", "scope": scope, "scope_id": "x-1", **fields}, "p")


@pytest.mark.parametrize(
    ("ts", "after"),
    [
        ("2026-01-05T05:59:00Z", True),  # Monday, before 06:00 UTC
        ("2026-01-05T06:00:00Z", False),
        ("2026-01-05T21:59:00Z", False),
        ("2026-01-05T22:00:00Z", True),
        ("2026-01-10T12:00:00Z", True),  # Saturday
        ("2026-01-11T12:00:00Z", True),  # Sunday
        ("2026-12-25T12:00:00Z", False),  # a Friday: no public holidays without a registry
    ],
)
def test_after_hours_is_utc_weekdays_0600_to_2200(ts: str, after: bool) -> None:
    read, _ = Compiler(sites=NO_REGISTRY).compile("after_hours(ts)")
    assert read(physical("hall-1", ts=ts)) is after


def test_the_calendar_is_utc_with_no_holidays() -> None:
    read, _ = Compiler(sites=NO_REGISTRY).compile(
        "[local_hour(ts), local_weekday(ts), holiday(ts)]"
    )
    assert read(physical("hall-1", ts="2026-01-01T23:30:00Z")) == [23, 3, False]  # New Year


@pytest.mark.parametrize(
    ("zone_id", "zone_type", "kind"),
    [
        ("gpu-hall-2", "hall", "gpu_hall"),
        ("hall-1-door-a", "door", "gpu_hall"),  # as `contains(zone_id, "hall")` judged it
        ("cage-14", "cage", "cage"),
        ("fra-1-noc", "room", "noc"),
        ("h2", "hall", None),  # a hall by type but not by name was no GPU hall
        ("lobby", "building", None),
    ],
)
def test_zone_kind_by_name(zone_id: str, zone_type: str, kind: str | None) -> None:
    zone = NO_REGISTRY.zone(physical(zone_id, zone_type))
    assert (zone.kind if zone else None) == kind


def test_two_person_zones_are_cages() -> None:
    assert NO_REGISTRY.zone(physical("cage-14", "cage")).two_person  # type: ignore[union-attr]
    assert NO_REGISTRY.zone(physical("hall-cage", "cage")).two_person  # type: ignore[union-attr]
    assert not NO_REGISTRY.zone(physical("gpu-hall-1", "hall")).two_person  # type: ignore[union-attr]


def test_staffed_around_the_clock_zones_name_the_noc() -> None:
    assert NO_REGISTRY.zone(physical("gpu-hall-2-noc")).staffed_24x7  # type: ignore[union-attr]
    assert not NO_REGISTRY.zone(physical("gpu-hall-2")).staffed_24x7  # type: ignore[union-attr]


def test_no_zone_for_power_or_gpu_events() -> None:
    assert NO_REGISTRY.zone(power("hall")) is None
    assert NO_REGISTRY.zone(build_event({"family": "gpu"}, "g")) is None


def test_a_racks_allocation_is_the_readings_when_positive() -> None:
    rack = NO_REGISTRY.rack(power("rack", power_w=1.0, allocated_w=40000.0))
    assert rack is not None and (rack.id, rack.allocated_w) == ("x-1", 40000.0)
    assert NO_REGISTRY.rack(power("pdu", power_w=1.0, allocated_w=9000.0)).allocated_w == 9000.0  # type: ignore[union-attr]
    assert NO_REGISTRY.rack(power("rack", power_w=1.0, allocated_w=0.0)) is None
    assert NO_REGISTRY.rack(power("rack", power_w=1.0)) is None
    assert NO_REGISTRY.rack(power("site", power_w=1.0, allocated_w=40000.0)) is None
    assert NO_REGISTRY.rack(build_event({"family": "gpu"}, "g")) is None


def test_a_sites_budget_is_a_site_readings_capacity_when_positive() -> None:
    def budget(event: Event) -> float | None:
        site = NO_REGISTRY.site(event)
        assert site is not None
        return site.power_budget_w

    assert budget(power("site", power_w=1.0, capacity_w=1e6)) == 1e6
    assert budget(power("site", power_w=1.0, capacity_w=0.0)) is None
    assert budget(power("rack", power_w=1.0, capacity_w=2e4)) is None  # a rack's, not the site's
    assert budget(physical("hall-1")) is None


def test_the_site_is_the_events_with_the_pue_target_of_old() -> None:
    site = NO_REGISTRY.site(physical("hall-1", site_id="osa-1", country="JP"))
    assert site is not None
    assert (site.id, site.country, site.tz, site.pue_target) == ("osa-1", "JP", "UTC", 1.5)


def test_no_local_time_in_outputs_without_a_registry() -> None:
    assert Compiler(sites=NO_REGISTRY).local_time(physical("hall-1")) is None


def test_with_a_registry_only_registered_facts_count(tmp_path: Path) -> None:
    sites = Sites(load_registry(registry_file(tmp_path)))
    unknown_zone = physical("hall-9", "cage", site_id="osa-1", country="JP")
    unknown_site = power("site", site_id="xyz-9", power_w=1.0, capacity_w=1e6)
    rack = power("rack", site_id="osa-1", country="JP", power_w=1.0, allocated_w=9.0)
    assert sites.zone(unknown_zone) is None
    assert sites.site(unknown_site) is None and sites.calendar(unknown_site) is None
    assert sites.rack(rack) is None  # x-1 is not a registered rack
    read, _ = Compiler(sites=sites).compile("after_hours(ts)")
    assert read(physical("gpu-hall-1", site_id="xyz-9", ts="2026-01-10T12:00:00Z")) is None
