"""The key test: every injected incident of a dry run, fed through the in-process rule engine as
the worker does (pseudonymised, timers on event time), raises exactly its expected rule's alert,
and nothing else fires (precision = recall = 1.0)."""

from __future__ import annotations

import json
from datetime import timedelta

from agents.rules.loader import load_packs
from agents.rules.model import RulePack
from agents.sites.lint import load_registry
from schemas.decode import Event, decode
from streams.simulator.incidents import INJECTORS
from streams.simulator.replay import replay
from streams.simulator.score import Report, score
from streams.simulator.truth import Truth
from tests.unit.streams.simulator.conftest import Run


def events(run: Run) -> list[Event]:
    return [decode(json.dumps(r["value"]).encode(), r["topic"]) for r in run.records]


def scored(run: Run, packs: list[RulePack]) -> Report:
    truth = Truth.read(run.truth)
    registry = load_registry(run.registry)
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
