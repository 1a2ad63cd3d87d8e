"""AlertFanout: Kafka and InfluxDB before anything else; a refused point never stalls; CEF."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime

from agents.compliance.alerts import AlertFanout
from agents.influx.residency import Residency
from agents.influx.writer import WriteRejectedError
from schemas.alert import Alert, alert_id
from schemas.settings import InfluxSettings, InfluxTarget, ResidencySettings

T = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def alert(country: str = "DE") -> Alert:
    return Alert(
        id=alert_id("sec.duress", "site-1/door|a", T),
        rule_id="sec.duress",
        severity="critical",
        team="security",
        site_id="site-1",
        country=country,
        window_start=T,
        window_end=T,
        evidence_event_ids=["e1"],
        message="DURESS at door|a = main",
        created_ts=T,
    )


class Writer:
    def __init__(self, reject: bool = False) -> None:
        self.reject = reject
        self.writes: list[tuple[str, str, list[str]]] = []

    async def write(self, target: InfluxTarget, bucket: str, lines: Sequence[str]) -> None:
        if self.reject:
            raise WriteRejectedError(422, "points beyond retention policy dropped=1")
        self.writes.append((target.url, bucket, list(lines)))


async def delivered() -> None:
    return None


def sink(writer: Writer, published: list[Alert]) -> AlertFanout:
    async def publish(item: Alert) -> Awaitable[None]:
        published.append(item)
        return delivered()

    influx = InfluxSettings.model_validate(
        {"residency": {"DE": {"url": "http://influx-de.invalid:8086", "org": "de"}}}
    )
    return AlertFanout(Residency(influx, ResidencySettings(default="influxdb")), publish)


def test_each_alert_point_goes_to_its_countrys_influxdb() -> None:
    published: list[Alert] = []
    deliveries, points = asyncio.run(sink(Writer(), published).stage([alert("DE"), alert("FR")]))
    for delivery in deliveries:
        asyncio.run(delivery)  # type: ignore[arg-type]
    assert len(published) == 2
    assert [(d.target.url, d.bucket) for d, _ in points] == [
        ("http://influx-de.invalid:8086", "alerts"),
        ("http://127.0.0.1:8086", "alerts"),
    ]
    assert points[0][1].startswith("alert,country=DE,rule_id=sec.duress")


def test_stage_publishes_at_once_and_hands_back_deliveries_and_points() -> None:
    writer, published = Writer(), list[Alert]()
    deliveries, points = asyncio.run(sink(writer, published).stage([alert("DE")]))
    assert len(published) == 1 and len(deliveries) == 1
    [(destination, line)] = points
    assert line.startswith("alert,")
    assert (destination.target.url, destination.bucket) == (
        "http://influx-de.invalid:8086",
        "alerts",
    )
    assert writer.writes == []  # the ingest agent writes them, batched with the event's point
    for delivery in deliveries:
        asyncio.run(delivery)  # type: ignore[arg-type]
