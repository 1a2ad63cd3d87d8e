"""The last minutes of a small simulated fleet as Kafka records: the data `sovwatch demo` sends,
and what tests and benches use when they need realistic events of every family (the simulator is
the project's one generator of synthetic telemetry)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from schemas.settings import TopicSettings
from schemas.sites import Site as RegisteredSite
from streams.simulator.activity import KEY_USE_S, PATROL_S
from streams.simulator.fleet import Fleet, Site
from streams.simulator.generator import Clock, simulate
from streams.simulator.incidents import Injector, plan_incidents
from streams.simulator.output import record

Record = tuple[str, bytes, bytes]
DEMO_SITES: tuple[tuple[str, str], ...] = (("fra-1", "DE"), ("par-1", "FR"))
# Long enough for every family at every site: a NOC patrol (physical) and key use (audit).
EVERY_FAMILY_MINUTES = math.ceil(max(PATROL_S, KEY_USE_S) / 60)
DEMO_STEP = timedelta(seconds=10)


def small_fleet(
    sites: Sequence[tuple[str, str]] = DEMO_SITES,
    gpus: int = 8,
    registered: Mapping[str, RegisteredSite] | None = None,
) -> Fleet:
    """`sites` as (id, country), each one hall and one rack of `gpus` GPUs (8 per node). A site
    `registered` lists (`fleet.registered_sites`) keeps to that entry's time zone and calendar
    (its country must be the one given); the others to the simulator's (UTC weekdays)."""
    per_node = min(gpus, 8)
    nodes = math.ceil(gpus / per_node)
    entries = registered or {}
    return Fleet(
        sites=tuple(
            Site(
                id=site,
                country=country,
                tz=entries[site].tz if site in entries else "UTC",
                registered=entries.get(site),
                halls=1,
                racks_per_hall=1,
                nodes_per_hall=nodes,
                gpus_per_node=per_node,
            )
            for site, country in sites
        )
    )


def recent_records(
    topics: TopicSettings,
    fleet: Fleet,
    *,
    minutes: int,
    seed: int = 7,
    end: datetime | None = None,
    incidents: Sequence[Injector] = (),
) -> Iterator[Record]:
    """The fleet's events of the `minutes` before `end` (default now), one GPU sample per GPU
    every 10 s, in time order, with the `incidents` that fit placed in them."""
    finish = (end or datetime.now(UTC)).replace(microsecond=0)
    clock = Clock(finish - timedelta(minutes=minutes), timedelta(minutes=minutes), DEMO_STEP)
    placed, _ = plan_incidents(
        list(incidents), fleet, clock.start, clock.end, seed=seed, step=clock.step,
        power_step=clock.power_step,
    )  # fmt: skip
    for event in simulate(fleet, clock, placed, seed=seed):
        yield record(topics, event)
