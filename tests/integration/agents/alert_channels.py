"""Incidents from the real rule engine, delivered through the real channel code (`agents.channels`
built from Settings) to real receivers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.channels import deliveries
from agents.channels.delivery import Delivery, close_all
from agents.rules.engine import RuleEngine
from agents.rules.fixtures import build_event
from agents.rules.loader import load_packs
from schemas.alert import Alert
from schemas.settings import Settings
from tests.integration.pipeline import settings_from


def channel_settings(**alerts: str) -> Settings:
    """Settings as a worker with these SOVWATCH_ALERTS__* values reads them (fast retries)."""
    env = {
        "SOVWATCH_ALERTS__RETRY_INITIAL_S": "0.1",
        "SOVWATCH_ALERTS__RETRY_MAX_S": "0.5",
        **{f"SOVWATCH_ALERTS__{key.upper()}": value for key, value in alerts.items()},
    }
    return settings_from(env)


class Incidents:
    """The built-in rule packs fed with events near the wall clock."""

    def __init__(self, ago_s: float = 120) -> None:
        self.engine = RuleEngine(load_packs())
        self.t0 = datetime.now(UTC) - timedelta(seconds=ago_s)
        self._n = 0

    def event(self, seconds: float, **spec: Any) -> list[Alert]:
        self._n += 1
        ts = (self.t0 + timedelta(seconds=seconds)).isoformat()
        return self.engine.process(build_event({**spec, "ts": ts}, f"ev-{self._n}"), now=self.t0)

    def duress(self, seconds: float, zone: str, site: str = "site-1") -> list[Alert]:
        return self.event(
            seconds,
            family="physical",
            kind="duress",
            badge_id="p_guard1",
            zone_id=zone,
            site_id=site,
        )

    def resolve_all(self, seconds: float) -> list[Alert]:
        """The timer at event time t0 + seconds (its resolutions committed)."""
        result = self.engine.tick(self.t0 + timedelta(seconds=seconds))
        result.commit()
        return result.alerts


def deliver(
    settings: Settings, batches: Sequence[Sequence[Alert]], received: Callable[[], int]
) -> list[Delivery]:
    """Offer each batch to every configured channel (as the alert sink does), waiting (30 s at
    most) after each until the receivers counted all records so far (`received()`), then drain.
    One batch at a time: records of one incident queued together coalesce (a later record
    replaces a queued update)."""

    async def run() -> list[Delivery]:
        built = deliveries(settings)
        offered = 0
        for batch in batches:
            for alert in batch:
                for delivery in built:
                    delivery.offer(alert)
            offered += len(batch) * len(built)
            for _ in range(300):
                if received() >= offered:
                    break
                await asyncio.sleep(0.1)
        await close_all(built, timeout_s=1.0)
        return built

    return asyncio.run(run())
