"""Run simulated events through the rule engine in-process, as the worker would (pseudonymised,
time-driven rules ticked on event time), and collect the alerts for scoring."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.rules.engine import RuleEngine
from agents.rules.model import RulePack
from agents.sites.registry import Registry, Sites
from schemas.alert import Alert
from schemas.decode import Event
from schemas.settings import Settings
from streams.simulator.score import AlertSeen


def replay(
    events: Iterable[Event],
    packs: list[RulePack],
    *,
    until: datetime,
    key: bytes = b"simulator-replay-key",
    tick: timedelta = timedelta(seconds=60),
    registry: Registry | None = None,
) -> list[AlertSeen]:
    """Alerts (every emission) raised by the events, ticking timers every `tick` of event time
    and once more at `until`. `created` is the event time the alert was raised at. `registry`:
    the fleet's sites (`streams.simulator.registry`), which the rules read."""
    ingest = Ingest(Settings(), Pseudonymiser(key))
    engine = RuleEngine(packs, sites=Sites(registry))
    seen: list[AlertSeen] = []
    next_tick: datetime | None = None
    for event in events:
        if next_tick is None:
            next_tick = event.ts + tick
        while event.ts >= next_tick:
            seen.extend(_seen(_tick(engine, next_tick)))
            next_tick += tick
        seen.extend(_seen(engine.process(ingest.pseudonymised(event), now=event.ts)))
    seen.extend(_seen(_tick(engine, until)))
    return seen


def _tick(engine: RuleEngine, now: datetime) -> list[Alert]:
    result = engine.tick(now)
    result.commit()  # replayed alerts count as delivered
    return result.alerts


def _seen(alerts: Iterable[object]) -> list[AlertSeen]:
    return [
        AlertSeen(a.id, a.rule_id, a.site_id, a.window_start, a.window_end, a.created_ts)  # type: ignore[attr-defined]
        for a in alerts
    ]
