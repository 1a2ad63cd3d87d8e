"""Syslog channel: each incident record as one ArcSight CEF line in an RFC 5424 message, over UDP
(one datagram) or TCP (RFC 6587 octet counting, one connection kept open), facility local0.

CEF escaping: in the header `\\` and `|` are escaped with a backslash (a line break becomes a
space: the header is one line); in extension values `\\`, `=` are escaped and line breaks are
written as `\\n` / `\\r`, so one record is always one line.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from agents.channels.delivery import DeliveryError
from schemas.alert import Alert
from schemas.settings import Settings

CEF_SEVERITY = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
"""CEF severity 0-10 of each alert severity."""
SYSLOG_SEVERITY = {"info": 6, "low": 5, "medium": 4, "high": 3, "critical": 2}
"""RFC 5424 severity: informational, notice, warning, error, critical."""
FACILITY_LOCAL0 = 16


def header(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", " ").replace("\n", " ")
    ).replace("\r", " ")


def extension(text: str) -> str:
    return text.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def cef(alert: Alert) -> str:
    """ArcSight Common Event Format, as SIEMs ingest it over syslog."""
    pairs = [
        ("externalId", alert.id),
        ("act", alert.status),
        ("cs1Label", "site"),
        ("cs1", alert.site_id),
        ("cs2Label", "country"),
        ("cs2", alert.country),
        ("cs3Label", "team"),
        ("cs3", alert.team),
        ("cnt", str(len(alert.evidence_event_ids))),
        ("start", _ms(alert.window_start)),
        ("end", _ms(alert.ends_at or alert.window_end)),
        ("msg", alert.message),
    ]
    return (
        f"CEF:0|sovwatch|sovwatch|1|{header(alert.rule_id)}|{header(alert.message[:128])}|"
        f"{CEF_SEVERITY[alert.severity]}|{' '.join(f'{k}={extension(v)}' for k, v in pairs)}"
    )


def message(alert: Alert) -> bytes:
    """The RFC 5424 syslog message carrying the record's CEF line."""
    priority = FACILITY_LOCAL0 * 8 + SYSLOG_SEVERITY[alert.severity]
    stamp = alert.created_ts.isoformat().replace("+00:00", "Z")
    return f"<{priority}>1 {stamp} sovwatch sovwatch - {alert.status} - {cef(alert)}".encode()


class Syslog:
    name = "syslog"

    def __init__(self, host: str, port: int, protocol: str, timeout_s: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.protocol = protocol
        self.timeout_s = timeout_s
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, alert: Alert) -> None:
        payload = message(alert)
        if self.protocol == "udp":
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=(self.host, self.port)
            )
            try:
                transport.sendto(payload)
            finally:
                transport.close()
            return
        try:
            writer = await self._connected()
            writer.write(f"{len(payload)} ".encode() + payload)
            await asyncio.wait_for(writer.drain(), self.timeout_s)
        except (OSError, TimeoutError) as exc:
            await self.close()
            raise DeliveryError(f"syslog over TCP to {self.host}:{self.port}: {exc}") from exc

    async def _connected(self) -> asyncio.StreamWriter:
        if self._writer is not None and not self._writer.is_closing():
            return self._writer
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout_s
        )
        self._writer = writer
        return writer

    def due(self, now: float) -> list[Alert]:
        return []

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def from_settings(settings: Settings) -> Syslog | None:
    alerts = settings.alerts
    if not alerts.syslog_address:
        return None
    host, _, port = alerts.syslog_address.rpartition(":")
    return Syslog(host, int(port), alerts.syslog_protocol)
