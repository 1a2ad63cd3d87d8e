"""Registry lint: every mistake named with file:line:column; a good file loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.sites.lint import RegistryError, lint_registry, load_registry
from tests.unit.agents.sites.helpers import REGISTRY, registry_file


def issues(tmp_path: Path, text: str) -> list[str]:
    registry, found = lint_registry(registry_file(tmp_path, text))
    assert registry is None
    return [str(issue).replace(f"{tmp_path}/", "") for issue in found]


def test_a_good_registry_loads(tmp_path: Path) -> None:
    registry = load_registry(registry_file(tmp_path))
    assert sorted(registry.sites) == ["osa-1", "ruh-1"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("tz: Asia/Tokyo", "tz: Asia/Osaka"), "sites.yaml:5:9: sites.0.tz: 'Asia/Osaka' is not"),
        (("kind: gpu_hall", "kind: gpu_halll"), "sites.yaml:8:32: sites.0.zones.0.kind: Input"),
        (
            ("    country: JP", "    colour: red\n    country: JP"),
            "sites.yaml:4:13: sites.0.colour: Extra inputs",
        ),
        (
            ("zone: gpu-hall-1", "zone: hall-9"),
            "sites.yaml:11:25: sites.0.racks.0.zone: rack r-1 is in zone 'hall-9'",
        ),
        (("country: SA", "country: SAU"), "sites.yaml:13:14: sites.1.country"),
        (('end: "20:00"', 'end: "07:00"'), "sites.yaml:6:20: sites.0.working_hours: Value error"),
    ],
)
def test_each_mistake_is_named_at_its_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    found = issues(tmp_path, REGISTRY.replace(*change, 1))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_subdivision_the_holiday_calendars_do_not_know(tmp_path: Path) -> None:
    text = REGISTRY.replace("    weekend: [fri, sat]", "    holidays: {subdivision: ZZ}")
    found = issues(tmp_path, text)
    assert len(found) == 1 and "sites.1.holidays: site ruh-1:" in found[0], found


def test_a_site_listed_twice_and_yaml_errors(tmp_path: Path) -> None:
    twice = REGISTRY.replace("id: ruh-1", "id: osa-1")
    assert any("site osa-1 is listed twice" in issue for issue in issues(tmp_path, twice))
    assert issues(tmp_path, "sites: [")[0].startswith("sites.yaml:1:9: YAML")


def test_load_raises_with_every_issue(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="rack r-1 is in zone 'nowhere'"):
        load_registry(
            registry_file(tmp_path, REGISTRY.replace("zone: gpu-hall-1", "zone: nowhere"))
        )
