"""The simulator against a real worker: a small fleet with every event-driven incident is produced
to isolated topics at a modest pace; `score` reading the alert topics finds every incident.

Timer-driven rules (absence, two-person, not-followed-by, preceded-by across topics) are judged by
the worker on its own event clock every tick; a run compressed ~500x into seconds is not their
test (the in-process ground-truth test covers them), so only recall of the event-driven rules is
asserted here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streams.cli.simulate import report_table, run
from streams.cli.tables import plain
from streams.simulator.fleet import load_fleet
from streams.simulator.generator import Clock
from streams.simulator.incidents import INJECTORS
from streams.simulator.output import KafkaOutput
from streams.simulator.registry import write_registry
from streams.simulator.score import Report, score
from streams.simulator.sources import alerts_from_kafka
from streams.stack import Stack
from tests.integration.agents.test_compliance import event_driven_rule_ids
from tests.integration.pipeline import Isolated

SCOPE_BUG = {"ops.site_power_over_budget", "ops.pue_above_target"}  # see the ground-truth test


def event_driven_rules() -> set[str]:
    return event_driven_rule_ids() - SCOPE_BUG


def test_score_from_kafka_finds_every_event_driven_incident(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    rules = event_driven_rules()
    injectors = [i for i in INJECTORS if i.rule in rules]
    fleet = load_fleet(
        sites=2, halls=1, nodes_per_hall=2, gpus_per_node=2, site_prefix=f"{unique}-"
    )
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_ALERTS__TICK_INTERVAL_S="1",
        SOVWATCH_SITES__REGISTRY=str(write_registry(fleet, tmp_path / "sites.yaml")),
    )
    start = datetime(2026, 1, 5, 20, tzinfo=UTC)  # Monday evening: day, then night
    clock = Clock(start, timedelta(hours=4), timedelta(seconds=30))
    with pipeline.worker():
        sink = KafkaOutput(pipeline.settings.kafka)
        sent, truth = run(pipeline.settings.topics, sink, fleet, clock, injectors, seed=5, rate=400)
        assert truth.missed == [] and len(truth.incidents) == len(rules) == 23

        def report() -> Report:
            return score(truth, alerts_from_kafka(pipeline.settings))

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and report().totals().recall != 1.0:
            time.sleep(2)
        final = report()
    print(f"{sent} events")
    print(plain(report_table(final)))
    recalls = {r.rule: r.recall for r in final.rules.values() if r.incidents}
    assert recalls == dict.fromkeys(rules, 1.0)
    assert all(r.delays_s for r in final.rules.values() if r.incidents)
