"""Rules read the site registry by name (site.*, zone.*, rack.*) and judge time in the site's
calendar; `rules lint` type-checks those names like event fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.rules.fixtures import build_event, fixture_registry
from agents.rules.language import Compiler
from agents.rules.loader import lint_file
from agents.sites.registry import Sites

REGISTRY = fixture_registry()
PACK = """\
rules:
  - id: t.site
    title: Site facts
    desc: Reads the registry.
    applies_to: {family}
    condition: {condition}
    output: "{output}"
    severity: low
    team: ops
"""


def check(
    tmp_path: Path, condition: str, family: str = "physical", output: str = "out"
) -> list[str]:
    path = tmp_path / "pack.yaml"
    path.write_text(PACK.format(family=family, condition=condition, output=output))
    return [issue.message for issue in lint_file(path)[1]]


def test_registry_names_and_site_functions_pass_lint(tmp_path: Path) -> None:
    ok = 'zone.kind == "gpu_hall" and after_hours(ts) and local_hour(ts) < 6 and not holiday(ts)'
    assert check(tmp_path, ok, output="{zone.customer} {site.tz} {local_time}") == []
    assert check(tmp_path, "power_w > rack.allocated_w and site.pue_target > 1", "power") == []


@pytest.mark.parametrize(
    ("condition", "family", "message"),
    [
        ('zone.kind == "gpu_halls"', "physical", "is never 'gpu_halls'"),
        ("zone.colour == 1", "physical", "unknown registry field 'zone.colour'; zone fields:"),
        ("rack.allocated_w > 0", "physical", "physical events have no rack"),
        ('zone.kind == "cage"', "audit", "audit events have no zone"),
        ("site.tz > 3", "gpu", "compares 'site.tz' (string) with number 3"),
        ("after_hours(node)", "gpu", "after_hours() needs a datetime here"),
        ("local_hour(ts, ts) > 3", "gpu", "local_hour() takes 1 argument"),
    ],
)
def test_wrong_registry_names_are_lint_errors(
    tmp_path: Path, condition: str, family: str, message: str
) -> None:
    found = check(tmp_path, condition, family)
    assert any(message in issue for issue in found), found


def test_names_resolve_per_event_and_follow_a_reload() -> None:
    sites = Sites(REGISTRY)
    read, fields = Compiler(sites=sites).compile('zone.kind == "gpu_hall" and after_hours(ts)')
    assert fields == {"zone.kind", "ts"}
    night = {"site_id": "osa-1", "ts": "2026-01-06T17:30:00Z", "kind": "access_granted"}
    event = build_event(
        {
            "family": "physical",
            **night,
            "zone_type": "hall",
            "zone_id": "gpu-hall-1",
            "badge_id": "p",
        },
        "e",
        REGISTRY,
    )
    assert read(event) is True
    sites.current = None  # no registry: judged as before it, in UTC, where 17:30 is daytime
    assert read(event) is False
    assert read(event.model_copy(update={"ts": event.ts.replace(hour=23)})) is True


def test_racks_and_zones_of_power_and_gpu_events() -> None:
    sites = Sites(REGISTRY)
    rack = build_event({"family": "power", "scope": "rack", "scope_id": "r-101"}, "p", REGISTRY)
    gpu = build_event({"family": "gpu", "node": "node-02"}, "g", REGISTRY)
    hall = build_event(
        {"family": "power", "scope": "hall", "scope_id": "gpu-hall-2"}, "h", REGISTRY
    )
    assert sites.rack(rack) is not None and sites.rack(rack).allocated_w == 30000  # type: ignore[union-attr]
    assert sites.rack(gpu) is sites.rack(rack)
    assert [z.id if z else None for z in map(sites.zone, (rack, gpu, hall))] == [
        "gpu-hall-1",
        "gpu-hall-1",
        "gpu-hall-2",
    ]
