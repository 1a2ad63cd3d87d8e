"""Webhook channel: each incident record POSTed as the Alert JSON.

Receivers verify the sender with the bearer token (`Authorization: Bearer <token>`) and/or the
HMAC-SHA256 signature: `X-Sovwatch-Signature: sha256=<hex>` over `<timestamp>.<body>`, where the
timestamp (Unix seconds) is sent as `X-Sovwatch-Timestamp` so a receiver can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import aiohttp

from agents.channels.delivery import DeliveryError
from schemas.alert import Alert
from schemas.settings import Settings

SIGNATURE = "X-Sovwatch-Signature"
TIMESTAMP = "X-Sovwatch-Timestamp"


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    """The value of the signature header for this body."""
    mac = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Webhook:
    name = "webhook"

    def __init__(self, url: str, token: str | None, hmac_key: bytes | None) -> None:
        self.url = url
        self._token = token
        self._key = hmac_key
        self._http: aiohttp.ClientSession | None = None

    def headers(self, body: bytes, now: float) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._key is not None:
            timestamp = str(int(now))
            headers[TIMESTAMP] = timestamp
            headers[SIGNATURE] = signature(self._key, timestamp, body)
        return headers

    async def send(self, alert: Alert) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = alert.model_dump_json().encode()
        async with self._http.post(
            self.url, data=body, headers=self.headers(body, time.time())
        ) as response:
            if response.status >= 300:
                raise DeliveryError(f"webhook answered HTTP {response.status}")

    def due(self, now: float) -> list[Alert]:
        return []

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def from_settings(settings: Settings) -> Webhook | None:
    alerts = settings.alerts
    if not alerts.webhook_url:
        return None
    token = alerts.webhook_token.get_secret_value() if alerts.webhook_token else None
    key = alerts.webhook_hmac_key.get_secret_value().encode() if alerts.webhook_hmac_key else None
    return Webhook(alerts.webhook_url, token, key)
