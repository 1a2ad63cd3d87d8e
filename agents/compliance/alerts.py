"""Where alerts go: Kafka `alerts.<team>` and the InfluxDB `alerts` bucket, both acknowledged
before the checkpoint that follows the triggering event commits its offset. The external channels
(Alertmanager, webhook, syslog CEF) read the alert topics with an agent of their own
(`agents.channels.agent`), so a crash re-sends instead of losing.

A point InfluxDB refuses for good (HTTP 400/422, e.g. older than the bucket's retention) is logged
and counted, not retried: the alert is on Kafka already."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agents import metrics
from agents.influx.batches import Destination
from agents.influx.points import alert_line
from agents.influx.residency import Residency
from schemas.alert import Alert

log = logging.getLogger(__name__)

Point = tuple[Destination, str]
Publish = Callable[[Alert], Awaitable[Awaitable[Any]]]
"""Hands an alert to Kafka; returns the delivery to await (send now, wait later)."""


class AlertFanout:
    def __init__(
        self,
        residency: Residency,
        publish: Publish,
    ) -> None:
        self._residency = residency
        self._publish = publish

    def point(self, alert: Alert) -> tuple[Destination, str]:
        """The alert's line, bound for the alerts bucket of its country's InfluxDB."""
        destination = Destination(
            self._residency.target_for(alert.country), self._residency.influx.buckets.alerts
        )
        return destination, alert_line(alert)

    async def stage(self, batch: Sequence[Alert]) -> tuple[list[Awaitable[Any]], list[Point]]:
        """Publish without waiting: the Kafka deliveries to await and the InfluxDB lines to write
        before the triggering event may be acked (the ingest agent batches both)."""
        deliveries = [await self._publish(alert) for alert in batch]
        for alert in batch:
            metrics.ALERTS.labels(rule_id=alert.rule_id, severity=alert.severity).inc()
        return deliveries, [self.point(alert) for alert in batch]


def kafka_publisher(topics: dict[str, Any]) -> Publish:
    """Publish to alerts.<team>, keyed by alert id (replays overwrite on a compacted topic)."""

    async def publish(alert: Alert) -> Awaitable[Any]:
        delivery: Awaitable[Any] = await topics[alert.team].send(
            key=alert.id.encode(), value=alert.model_dump_json().encode()
        )
        return delivery

    return publish
