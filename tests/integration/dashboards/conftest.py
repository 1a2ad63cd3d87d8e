"""The dashboards' data: ten simulated hours (from a midnight UTC, so night-time incidents
fit) of a small two-site fleet with every incident kind injected, sent through Kafka to a real
worker (rules, alerts, audit chain with signed checkpoints) into the real InfluxDB of the native
stack, on this run's own topics and site ids. Nothing is mocked: the dashboards see what a
deployment's Grafana would see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboards.boards import Board, all_dashboards
from dashboards.queries.runner import DashboardRun, TimeRange
from schemas.settings import Settings
from streams.cli.simulate import run
from streams.report.datasource import grafana_runner
from streams.simulator.fleet import load_fleet
from streams.simulator.generator import Clock
from streams.simulator.incidents import INJECTORS
from streams.simulator.output import KafkaOutput
from streams.simulator.truth import Truth
from streams.stack import Stack
from tests.integration.agents.audit_harness import checkpoint_now, keypair
from tests.integration.pipeline import Isolated, wait_for

HOURS = 10  # the longest incident (a session left open) needs 8 h 20 min


@dataclass(frozen=True)
class Simulated:
    settings: Settings
    sites: tuple[str, ...]
    range: TimeRange
    truth: Truth
    sent: int
    public_key: Path
    settings_env: dict[str, str]

    @property
    def selections(self) -> dict[str, list[str]]:
        """The dashboards' site variable set to this run's sites; everything else "All"."""
        return {"site": list(self.sites)}


@pytest.fixture(scope="session")
def simulated(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulated]:
    work = tmp_path_factory.mktemp("dashboards")
    unique = f"d{int(time.time() * 1000) % 10**9}"
    private, public = keypair(work)
    pipeline = Isolated(
        unique,
        work,
        SOVWATCH_ALERTS__TICK_INTERVAL_S="1",
        SOVWATCH_AUDIT__SIGNING_KEY=private,
        SOVWATCH_AUDIT__PUBLIC_KEY_FILE=str(public),
    )
    fleet = load_fleet(
        sites=2, halls=1, nodes_per_hall=2, gpus_per_node=4, site_prefix=f"{unique}-"
    )
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = (
        midnight
        if midnight + timedelta(hours=HOURS) <= datetime.now(UTC)
        else (midnight - timedelta(days=1))
    )
    clock = Clock(start, timedelta(hours=HOURS), timedelta(seconds=30))
    with pipeline.worker() as worker:

        def handled() -> float:
            health = json.loads(worker.page("/health"))
            return float(health["stored"]) + float(health["dead_letters"])

        sink = KafkaOutput(pipeline.settings.kafka)
        sent, truth = run(pipeline.settings.topics, sink, fleet, clock, list(INJECTORS), seed=3)
        assert wait_for(lambda: handled() >= sent, 240, 1), f"{handled()} of {sent} handled"
        time.sleep(3)  # a few rule ticks: alerts of the last events are written
        assert checkpoint_now(worker.port), "the worker signed a checkpoint per site"
    yield Simulated(
        pipeline.settings,
        tuple(site.id for site in fleet.sites),
        TimeRange(clock.start, datetime.now(UTC) + timedelta(minutes=1)),  # + the checkpoints
        truth,
        sent,
        public,
        pipeline.env,
    )


@pytest.fixture(scope="session")
def boards() -> list[Board]:
    return all_dashboards()


@pytest.fixture(scope="session")
def runs(simulated: Simulated, boards: list[Board]) -> dict[str, DashboardRun]:
    """Every dashboard run once over the simulated period, by uid."""
    with grafana_runner(simulated.settings) as runner:
        return {
            board.uid: runner.run(board.json, simulated.range, simulated.selections)
            for board in boards
        }
