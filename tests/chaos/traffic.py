"""The traffic of a chaos run and its ground truth.

The simulator's incident hour (every incident that fits at any hour, the time-driven ones among
them: absence, not-followed-by, two-person) merged in event-time order with bulk telemetry of
more sites over the same hour, so every worker's event clock moves on with all its partitions;
malformed records sprinkled in at seeded places, on every family's topic.

Truth: the fault suite's (`TruthBuilder`: valid events, malformed, event-driven alert ids, audit
events) plus the injected incidents and, for the time-driven ones, the alert id and state
changes the rule engine gives in-process with its timer ticking along the events.
"""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.rules.engine import RuleEngine
from agents.rules.loader import load_packs
from schemas.alert import Alert
from schemas.decode import Event
from streams.simulator.generator import Clock, simulate
from streams.simulator.incidents import Incident, Placed
from streams.simulator.malformed import MALFORMED
from streams.simulator.output import record
from streams.simulator.recent import DEMO_STEP, small_fleet
from tests.chaos.checks import EmittedAlert, StateChange, TimedIncident
from tests.faults.harness import (
    ANY_HOUR_INJECTORS,
    IncidentHour,
    Record,
    Truth,
    TruthBuilder,
    incident_hour,
)
from tests.integration.agents.test_compliance import event_driven_rule_ids
from tests.integration.pipeline import Isolated

INCIDENT_SEED = 11  # the plan the fault suite checks fits at every hour of the week
TICK_EVERY = timedelta(seconds=30)  # event time between the in-process timer's ticks
COUNTRIES = ("DE", "FR", "SA", "IN")


@dataclass(frozen=True)
class Shape:
    """How much traffic: bulk sites and GPUs per site, one malformed record in `malformed_every`."""

    bulk_sites: int = 24
    gpus_per_site: int = 4
    malformed_every: int = 150


@dataclass
class ChaosTraffic:
    records: list[Record]
    truth: Truth
    hours: list[IncidentHour]  # the incident hour, and one more for the timed rules it lacks
    timed: list[TimedIncident]
    malformed_at: set[int]  # indexes into records

    @property
    def incidents(self) -> list[Incident]:
        return [p.incident for hour in self.hours for p in hour.placed]


def incident_hours(unique: str) -> list[IncidentHour]:
    """The fault suite's incident hour on sites `f<unique>-s..`, and on sites `f<unique>-t..`
    the same hour with the time-driven injectors that did not fit in it."""
    now = datetime.now(UTC)
    first = incident_hour(f"f{unique}-s", INCIDENT_SEED, now)
    placed = {p.incident.name for p in first.placed}
    timed_rules = {r.id for p in load_packs() for r in p.rules if r.judged_on_timer}
    rest = [i for i in ANY_HOUR_INJECTORS if i.rule in timed_rules and i.name not in placed]
    return [first, incident_hour(f"f{unique}-t", INCIDENT_SEED, now, rest)]


def build(pipeline: Isolated, seed: int, shape: Shape = Shape()) -> ChaosTraffic:
    hours = incident_hours(pipeline.unique)
    incident_events = list(
        heapq.merge(
            *(simulate(h.fleet, h.clock, h.placed, seed=INCIDENT_SEED) for h in hours),
            key=lambda e: e.ts,
        )
    )
    clock = hours[0].clock
    bulk_sites = tuple(
        (f"f{pipeline.unique}-d{i}", COUNTRIES[i % len(COUNTRIES)]) for i in range(shape.bulk_sites)
    )
    bulk_clock = Clock(clock.start, clock.end - clock.start, DEMO_STEP)
    bulk = simulate(small_fleet(bulk_sites, shape.gpus_per_site), bulk_clock, [], seed=seed)
    merged = heapq.merge(incident_events, bulk, key=lambda e: e.ts)
    topics = pipeline.settings.topics
    families = (topics.gpu, topics.power, topics.physical, topics.audit)
    rng = random.Random(seed)
    builder = TruthBuilder(pipeline)
    records: list[Record] = []
    malformed_at: set[int] = set()
    for event in merged:
        records.append(builder.add(record(topics, event)))
        if rng.randrange(shape.malformed_every) == 0:
            malformed_at.add(len(records))
            bad = (rng.choice(families), event.site_id.encode(), rng.choice(MALFORMED))
            records.append(builder.add(bad))
    assert builder.truth.malformed == len(malformed_at), "a malformed record decoded"
    placed = [p for hour in hours for p in hour.placed]
    timed = timed_truth(pipeline, placed, incident_events)
    return ChaosTraffic(records, builder.truth, hours, timed, malformed_at)


def timed_truth(
    pipeline: Isolated, placed: list[Placed], events: list[Event]
) -> list[TimedIncident]:
    """The alert id and state changes of each injected time-driven incident, from the rule
    engine in-process with its timer ticking every `TICK_EVERY` of event time."""
    settings = pipeline.settings
    ingest = Ingest(settings, Pseudonymiser.from_settings(settings.privacy))
    engine = RuleEngine(load_packs())
    alerts: list[Alert] = []
    last_tick = None
    for event in events:
        if last_tick is None or event.ts - last_tick >= TICK_EVERY:
            due = engine.tick(event.ts)
            alerts.extend(due.alerts)
            due.commit()
            last_tick = event.ts
        alerts.extend(engine.process(ingest.pseudonymised(event), now=event.ts))
    timed_rules = {r.id for p in load_packs() for r in p.rules} - event_driven_rule_ids()
    timed = []
    for one in placed:
        incident = one.incident
        if incident.rule not in timed_rules:
            continue
        by_id: dict[str, list[StateChange]] = defaultdict(list)
        for alert in map(EmittedAlert.of, alerts):
            if alert.overlaps(incident) and alert.change not in by_id[alert.id]:
                by_id[alert.id].append(alert.change)
        assert len(by_id) == 1, f"in-process, {incident.id} gives alerts {sorted(by_id)}"
        ((alert_id, changes),) = by_id.items()
        timed.append(TimedIncident(incident, alert_id, tuple(changes)))
    assert len(timed) >= 3, f"only {len(timed)} time-driven incidents: the run proves little"
    return timed
