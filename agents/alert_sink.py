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
from agents.sink import LineWriter
from schemas.alert import Alert
from streams import metrics
from streams.settings import AlertSettings, InfluxSettings

log = logging.getLogger(__name__)

CEF_SEVERITY = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
Publish = Callable[[Alert], Awaitable[None]]


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

    async def emit(self, batch: Sequence[Alert]) -> None:
        """Returns once Kafka and InfluxDB acknowledged every alert of the batch."""
        for alert in batch:
            await self._publish(alert)
            target = self._influx.target_for(alert.country)
            try:
                await self._writer.write(target, self._influx.buckets.alerts, [alert_line(alert)])
            except WriteRejectedError as exc:
                # e.g. an alert about events older than the bucket's retention: the alert is on
                # Kafka already; a refused point must not stop the pipeline.
                log.warning("alert %s not stored in InfluxDB: %s", alert.id, exc)
                metrics.SINK_FAILURES.labels(sink="influxdb").inc()
            metrics.ALERTS.labels(rule_id=alert.rule_id, severity=alert.severity).inc()
            if self._settings.webhook_url:
                await self._retry("webhook", self._webhook, alert)
            if self._settings.syslog_address:
                await self._retry("syslog", self._syslog, alert)

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

    async def publish(alert: Alert) -> None:
        delivery = await topics[alert.team].send(
            key=alert.id.encode(), value=alert.model_dump_json().encode()
        )
        await delivery

    return publish
