"""Where alerts go: Kafka `alerts.<team>` and the InfluxDB `alerts` bucket (both acknowledged
before the triggering event is acked), plus the optional webhook and syslog (CEF) sinks.

A point InfluxDB refuses for good (HTTP 400/422, e.g. older than the bucket's retention) is logged
and counted, not retried: the alert is on Kafka already. The optional sinks are notifications:
they are retried a few times and a failure is logged and counted, never allowed to stall the
pipeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from agents.influx_writer import WriteRejectedError
from agents.points import alert_line
from agents.sink import Destination, LineWriter
from schemas.alert import Alert
from streams import metrics
from streams.settings import AlertSettings, InfluxSettings

log = logging.getLogger(__name__)

CEF_SEVERITY = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
Point = tuple[Destination, str]
Publish = Callable[[Alert], Awaitable[Awaitable[Any]]]
"""Hands an alert to Kafka; returns the delivery to await (send now, wait later)."""


def cef(alert: Alert) -> str:
    """ArcSight Common Event Format, as SIEMs ingest it over syslog."""

    def header(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    def ext(text: str) -> str:
        return text.replace("\\", "\\\\").replace("=", "\\=").replace("\n", " ")

    extension = " ".join(
        f"{key}={ext(value)}"
        for key, value in (
            ("externalId", alert.id),
            ("cs1Label", "site"),
            ("cs1", alert.site_id),
            ("cs2Label", "country"),
            ("cs2", alert.country),
            ("cs3Label", "team"),
            ("cs3", alert.team),
            ("cnt", str(len(alert.evidence_event_ids))),
            ("start", str(int(alert.window_start.timestamp() * 1000))),
            ("end", str(int(alert.window_end.timestamp() * 1000))),
            ("msg", alert.message),
        )
    )
    return (
        f"CEF:0|sovwatch|sovwatch|1|{header(alert.rule_id)}|{header(alert.message[:128])}|"
        f"{CEF_SEVERITY[alert.severity]}|{extension}"
    )


class AlertSink:
    def __init__(
        self,
        influx: InfluxSettings,
        alerts: AlertSettings,
        writer: LineWriter,
        publish: Publish,
    ) -> None:
        self._influx = influx
        self._settings = alerts
        self._writer = writer
        self._publish = publish
        self._http: aiohttp.ClientSession | None = None
        self._notifications: set[asyncio.Future[None]] = set()

    def point(self, alert: Alert) -> tuple[Destination, str]:
        """The alert's line, bound for the alerts bucket of its country's InfluxDB."""
        destination = Destination(
            self._influx.target_for(alert.country), self._influx.buckets.alerts
        )
        return destination, alert_line(alert)

    async def stage(self, batch: Sequence[Alert]) -> tuple[list[Awaitable[Any]], list[Point]]:
        """Publish without waiting: the Kafka deliveries to await and the InfluxDB lines to write
        before the triggering event may be acked (the ingest agent batches both)."""
        deliveries = [await self._publish(alert) for alert in batch]
        for alert in batch:
            self._count_and_notify(alert)
        return deliveries, [self.point(alert) for alert in batch]

    async def emit(self, batch: Sequence[Alert]) -> None:
        """Returns once Kafka and InfluxDB acknowledged every alert of the batch (timer path)."""
        deliveries, points = await self.stage(batch)
        for delivery in deliveries:
            await delivery
        for destination, line in points:
            try:
                await self._writer.write(destination.target, destination.bucket, [line])
            except WriteRejectedError as exc:
                # e.g. an alert about events older than the bucket's retention: the alert is on
                # Kafka already; a refused point must not stop the pipeline.
                log.warning("alert point not stored in InfluxDB: %s", exc)
                metrics.SINK_FAILURES.labels(sink="influxdb").inc()

    def _count_and_notify(self, alert: Alert) -> None:
        metrics.ALERTS.labels(rule_id=alert.rule_id, severity=alert.severity).inc()
        sends = []
        if self._settings.webhook_url:
            sends.append(self._retry("webhook", self._webhook, alert))
        if self._settings.syslog_address:
            sends.append(self._retry("syslog", self._syslog, alert))
        for send in sends:  # notifications run beside the pipeline, never in its way
            task = asyncio.ensure_future(send)
            self._notifications.add(task)
            task.add_done_callback(self._notifications.discard)

    async def _retry(
        self, sink: str, send: Callable[[Alert], Awaitable[None]], alert: Alert
    ) -> None:
        for attempt in range(3):
            try:
                await send(alert)
                return
            except (OSError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning(
                    "%s sink failed for %s (%s), attempt %d", sink, alert.id, exc, attempt + 1
                )
                await asyncio.sleep(0.5 * 2**attempt)
        metrics.SINK_FAILURES.labels(sink=sink).inc()

    async def _webhook(self, alert: Alert) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        headers = {"Content-Type": "application/json"}
        if self._settings.webhook_token is not None:
            headers["Authorization"] = f"Bearer {self._settings.webhook_token.get_secret_value()}"
        assert self._settings.webhook_url is not None
        async with self._http.post(
            self._settings.webhook_url, data=alert.model_dump_json(), headers=headers
        ) as response:
            if response.status >= 300:
                raise aiohttp.ClientResponseError(
                    response.request_info, (), status=response.status, message="webhook refused"
                )

    async def _syslog(self, alert: Alert) -> None:
        assert self._settings.syslog_address is not None
        host, _, port = self._settings.syslog_address.rpartition(":")
        # RFC 5424 header, facility local0 (16) * 8 + severity from the alert.
        priority = 16 * 8 + max(0, 7 - CEF_SEVERITY[alert.severity] // 2)
        line = f"<{priority}>1 {alert.created_ts.isoformat()} sovwatch sovwatch - - - {cef(alert)}"
        payload = line.encode()
        if self._settings.syslog_protocol == "udp":
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=(host, int(port))
            )
            try:
                transport.sendto(payload)
            finally:
                transport.close()
        else:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 5)
            writer.write(f"{len(payload)} ".encode() + payload)  # RFC 6587 octet counting
            await writer.drain()
            writer.close()
            await writer.wait_closed()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def kafka_publisher(topics: dict[str, Any]) -> Publish:
    """Publish to alerts.<team>, keyed by alert id (replays overwrite on a compacted topic)."""

    async def publish(alert: Alert) -> Awaitable[Any]:
        delivery: Awaitable[Any] = await topics[alert.team].send(
            key=alert.id.encode(), value=alert.model_dump_json().encode()
        )
        return delivery

    return publish
