"""Rule fixtures (Falco-style): for every rule a positive case that must raise exactly one alert
of that rule and a negative case that must raise none, run through the real engine with every pack
loaded, as in production.

A fixture file maps rule id -> {positive, negative}, plus any further named cases
(`positive-friday-in-riyadh`, `negative-after-dst`: a positive-* case must raise one alert, a
negative-* none). Each case lists events in shorthand (family, `at` offset or an absolute `ts`,
the fields that matter) and optionally `tick`, an offset at which the clock is advanced (for
absence, not-followed-by and two-person rules). Missing envelope and required fields get
defaults (site fra-1, its registered country); every event is validated by the real schema
models.

Fixtures run against the fixture site registry (`fixtures/registry/sites.yaml`): sites in
Frankfurt (daylight-saving time), Riyadh (Friday-Saturday weekend) and Osaka (UTC+9). A case
with `without_registry: true` runs with no registry, as a worker without SOVWATCH_SITES__REGISTRY
(facts implied by the events, `agents.sites.implied`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from agents.rules.engine import RuleEngine
from agents.rules.model import RulePack, parse_duration
from agents.sites.lint import load_registry
from agents.sites.registry import Registry, Sites
from schemas.decode import FAMILY_MODELS, Event

FIXTURES_DIR = Path(__file__).with_name("fixtures")
FIXTURE_REGISTRY = FIXTURES_DIR / "registry" / "sites.yaml"
DEFAULT_SITE = "fra-1"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday, noon UTC: inside working hours

DEFAULTS: dict[str, dict[str, Any]] = {
    "gpu": {"node": "node-01", "gpu_index": 0},
    "power": {"scope": "site", "scope_id": "fra-1"},
    "physical": {"zone_type": "door", "zone_id": "hall-1-door-a"},
    "audit": {"actor": {"id": "p_operator1", "clearance": "secret", "nationality": "DE"}},
}


@dataclass(frozen=True)
class CaseResult:
    rule_id: str
    case: str
    expected: int
    alert_ids: frozenset[str]
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and len(self.alert_ids) == self.expected


def build_event(spec: dict[str, Any], name: str, registry: Registry | None = None) -> Event:
    fields = dict(spec)
    family = fields.pop("family")
    at = fields.pop("at", 0)
    offset = 0.0 if at in (0, "0", "0s") else parse_duration(at)
    fields = {**DEFAULTS[family], **fields}
    fields.setdefault("site_id", DEFAULT_SITE)
    registered = None if registry is None else registry.get(fields["site_id"])
    fields.setdefault("country", "DE" if registered is None else registered.site.country)
    fields.setdefault("source", "fixture")
    fields.setdefault("event_id", name)
    fields.setdefault("ts", (T0 + timedelta(seconds=offset)).isoformat())
    if family == "gpu":
        fields.setdefault("gpu_uuid", f"GPU-{fields['node']}-{fields['gpu_index']}")
    return FAMILY_MODELS[family].model_validate_json(_json(fields))


def _json(fields: dict[str, Any]) -> str:
    return json.dumps(fields)


def run_case(
    packs: list[RulePack],
    rule_id: str,
    case: str,
    spec: dict[str, Any],
    registry: Registry | None = None,
) -> CaseResult:
    """One case through a fresh engine reading `registry` (default: the fixture registry; none
    for a case `without_registry`)."""
    expected = 1 if case.startswith("positive") else 0
    if spec.get("without_registry"):
        registry = None
    elif registry is None:
        registry = fixture_registry()
    engine = RuleEngine(packs, sites=Sites(registry))
    ids: set[str] = set()
    try:
        events = [
            build_event(event, f"{rule_id}-{case}-{i}", registry)
            for i, event in enumerate(spec["events"])
        ]
        for event in events:
            ids.update(a.id for a in engine.process(event, now=event.ts) if a.rule_id == rule_id)
        if "tick" in spec:
            now = T0 + timedelta(seconds=parse_duration(spec["tick"]))
            result = engine.tick(now)
            result.commit()
            ids.update(a.id for a in result.alerts if a.rule_id == rule_id)
    except Exception as exc:  # a broken fixture is a failed case, reported, not a crash
        return CaseResult(rule_id, case, expected, frozenset(ids), f"{type(exc).__name__}: {exc}")
    return CaseResult(rule_id, case, expected, frozenset(ids))


def fixture_registry(path: Path = FIXTURE_REGISTRY) -> Registry:
    return load_registry(path)


def load_fixtures(directory: Path = FIXTURES_DIR) -> dict[str, dict[str, Any]]:
    fixtures: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        fixtures.update(yaml.safe_load(path.read_text()) or {})
    return fixtures


def run_fixtures(
    packs: list[RulePack],
    fixtures: dict[str, dict[str, Any]],
    registry: Registry | None = None,
) -> Iterable[CaseResult]:
    """Every case of every rule; a rule without both a positive and a negative case yields a
    failing result."""
    registry = registry if registry is not None else fixture_registry()
    for pack in packs:
        for rule in pack.rules:
            cases = fixtures.get(rule.id, {})
            for case in ("positive", "negative"):
                if case not in cases:
                    yield CaseResult(
                        rule.id, case, 1 if case == "positive" else 0, frozenset(), "no fixture"
                    )
            for case, spec in cases.items():
                if case.partition("-")[0] not in ("positive", "negative"):
                    error = "a case is named positive[-...] or negative[-...]"
                    yield CaseResult(rule.id, case, 0, frozenset(), error)
                else:
                    yield run_case(packs, rule.id, case, spec, registry)
