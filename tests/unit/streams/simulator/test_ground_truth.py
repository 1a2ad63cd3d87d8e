"""The key test: every injected incident of a dry run, fed through the in-process rule engine as
the worker does (pseudonymised, timers on event time), raises exactly its expected rule's alert,
and nothing else fires (precision = recall = 1.0)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from agents.rules.loader import load_packs
from agents.rules.model import RulePack
from agents.sites.lint import load_registry
from schemas.decode import Event, decode
from streams.simulator.incidents import INJECTORS
from streams.simulator.replay import replay
from streams.simulator.score import Report, score
from streams.simulator.truth import Truth
from tests.unit.streams.simulator.conftest import Run, simulate

FLEET_WITHOUT_REGISTRY = """\
sites:
  - {id: fra-1, country: DE, pue: 1.25, workload: training}
  - {id: par-1, country: FR, pue: 1.30, workload: inference}
"""


def events(run: Run) -> list[Event]:
    return [decode(json.dumps(r["value"]).encode(), r["topic"]) for r in run.records]


def scored(run: Run, packs: list[RulePack], registered: bool = True) -> Report:
    truth = Truth.read(run.truth)
    registry = load_registry(run.registry) if registered else None
    return score(truth, replay(events(run), packs, until=truth.end, registry=registry))


def test_every_rule_of_the_packs_is_injected_once() -> None:
    rules = {rule.id for pack in load_packs() for rule in pack.rules}
    assert {i.rule for i in INJECTORS} == rules
    assert len(INJECTORS) == len(rules) == 31


def test_truth_holds_every_incident(run: Run) -> None:
    truth = Truth.read(run.truth)
    assert truth.missed == []
    assert len(truth.incidents) == 31
    assert truth.end - truth.start == timedelta(hours=10)
    assert all(truth.start <= i.start <= i.end <= truth.end for i in truth.incidents)


def test_incidents_fire_their_rules_and_nothing_else_fires(run: Run) -> None:
    report = scored(run, load_packs())
    summary = {
        r.rule: (r.precision, r.recall, r.missed, r.false_alerts) for r in report.rules.values()
    }
    assert all(p == 1.0 and rc == 1.0 for p, rc, _, _ in summary.values()), summary
    assert len(report.rules) == 31
    assert report.out_of_scope == 0


def test_without_a_registry_incidents_fire_their_rules_as_before_it(tmp_path: Path) -> None:
    """A fleet file without a registry keeps the calendar a worker without one judges by (UTC):
    replayed with no registry (facts the events imply), every incident fires its rule, the
    cage and after-hours ones included, and nothing else fires."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET_WITHOUT_REGISTRY)
    report = scored(simulate(tmp_path, "--seed", "7", "--fleet", str(fleet)), load_packs(), False)
    summary = {r.rule: (r.precision, r.recall) for r in report.rules.values()}
    assert len(summary) == 31
    assert all(scores == (1.0, 1.0) for scores in summary.values()), summary
    assert report.out_of_scope == 0
