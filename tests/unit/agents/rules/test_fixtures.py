"""Every shipped rule passes its positive and negative fixture, and the fixtures can fail."""

from __future__ import annotations

import pytest

from agents.rules.engine import RuleEngine
from agents.rules.fixtures import fixture_registry, load_fixtures, run_case, run_fixtures
from agents.rules.language import REGISTRY_NAMES
from agents.rules.loader import load_packs
from agents.rules.model import RulePack
from agents.sites.registry import Registry


def test_every_rule_has_both_fixtures_and_passes_them() -> None:
    packs = load_packs()
    results = list(run_fixtures(packs, load_fixtures()))
    cases = {(r.rule_id, r.case) for r in results}
    for rule in (rule for pack in packs for rule in pack.rules):
        assert {(rule.id, "positive"), (rule.id, "negative")} <= cases
    failed = [
        f"{r.rule_id} {r.case}: {r.error or len(r.alert_ids)}" for r in results if not r.passed
    ]
    assert failed == []


@pytest.mark.parametrize("rule_id", ["ops.gpu_overtemp_sustained", "sec.denied_badge_burst"])
def test_a_weakened_rule_fails_its_positive_fixture(rule_id: str) -> None:
    packs = load_packs()
    broken = [
        RulePack(
            lists=pack.lists,
            macros=pack.macros,
            rules=[
                rule.model_copy(update={"condition": "false"}) if rule.id == rule_id else rule
                for rule in pack.rules
            ],
        )
        for pack in packs
    ]
    result = run_case(broken, rule_id, "positive", load_fixtures()[rule_id]["positive"])
    assert not result.passed


def test_a_missing_fixture_is_a_failure() -> None:
    packs = load_packs()
    fixtures = load_fixtures()
    del fixtures["sec.duress"]
    failed = {(r.rule_id, r.error) for r in run_fixtures(packs, fixtures) if not r.passed}
    assert failed == {("sec.duress", "no fixture")}


def test_the_after_hours_rule_is_judged_in_the_sites_time_zone() -> None:
    """With Osaka moved to UTC in the registry, its 02:30 badge (17:30 UTC) is no longer night:
    the fixture that expects it flagged fails, so the fixtures test the site's clock."""
    packs = load_packs()
    registry = fixture_registry()
    osaka = registry.sites["osa-1"].site
    utc = Registry(
        registry.data.model_copy(
            update={
                "sites": tuple(
                    s.model_copy(update={"tz": "UTC"}) if s is osaka else s
                    for s in registry.data.sites
                )
            }
        )
    )
    case = load_fixtures()["sec.after_hours_gpu_hall"]["positive"]
    assert run_case(packs, "sec.after_hours_gpu_hall", "positive", case, registry).passed
    assert not run_case(packs, "sec.after_hours_gpu_hall", "positive", case, utc).passed


def test_rules_reading_site_facts_fire_without_a_registry_as_before_it() -> None:
    """A worker without SOVWATCH_SITES__REGISTRY keeps the behaviour of before the registry:
    each rule that reads site, zone or rack facts has the former positive and negative fixtures
    as cases `without_registry`, and they pass (the former after-hours positive among them)."""
    packs = load_packs()
    engine = RuleEngine(packs)
    readers = {
        rule.id
        for rule in engine.rules
        if any(name.partition(".")[0] in REGISTRY_NAMES for name in rule.fields)
    }
    assert readers == {
        "ops.rack_over_allocated_power",
        "ops.site_power_over_budget",
        "ops.pue_above_target",
        "sec.after_hours_gpu_hall",
        "sec.camera_fault_gpu_hall",
        "sec.cage_without_second_person",
    }
    fixtures = load_fixtures()
    results = []
    for rule_id in sorted(readers):
        for case in ("positive-without-registry", "negative-without-registry"):
            spec = fixtures[rule_id][case]
            assert spec["without_registry"] is True
            results.append(run_case(packs, rule_id, case, spec))
    assert [(r.rule_id, r.case) for r in results if not r.passed] == []
