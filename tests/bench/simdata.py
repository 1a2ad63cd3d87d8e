"""Benchmark input: the fleet simulator's events (every incident kind), over enough past hours
for the number asked for, timestamps never in the future."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from schemas.decode import Event
from streams.simulator.fleet import load_fleet
from streams.simulator.generator import Clock, simulate
from streams.simulator.incidents import INJECTORS, plan_incidents


def simulated(events: int, run: str) -> Iterator[Event]:
    """`events` events of 16 sites (keys spread over 4 partitions), ending an hour ago."""
    fleet = load_fleet(sites=16, halls=1, site_prefix=f"b{run}-")
    hours = max(1.0, events / (fleet.gpus * 240 * 1.05))
    start = (datetime.now(UTC) - timedelta(hours=hours + 1)).replace(microsecond=0, second=0)
    clock = Clock(start, timedelta(hours=max(hours, 10)))
    placed, _ = plan_incidents(
        list(INJECTORS),
        fleet,
        clock.start,
        clock.end,
        seed=1,
        step=clock.step,
        power_step=clock.power_step,
    )
    return itertools.islice(simulate(fleet, clock, placed, seed=1), events)
