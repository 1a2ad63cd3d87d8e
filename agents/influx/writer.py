"""Acknowledged writes of line-protocol batches to InfluxDB, with retry and backoff.

`write()` returns only once InfluxDB acknowledged the batch (HTTP 204): that is the moment the
caller may let Kafka commit the offsets behind it. Transient failures (server down, 5xx, 429,
auth or bucket not there yet) are retried forever with capped exponential backoff, so an outage
pauses the pipeline instead of dropping data. A batch InfluxDB rejects as such (400, 413, 422)
raises `WriteRejectedError`: retrying it would never succeed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.rest import ApiException

from agents import metrics
from schemas.settings import InfluxTarget, WorkerSettings

log = logging.getLogger(__name__)

REJECTED_STATUSES = {400, 413, 422}


class WriteRejectedError(Exception):
    """InfluxDB refused the content of the batch (e.g. a field type conflict)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"InfluxDB rejected the write (HTTP {status}): {message}")
        self.status = status
        self.message = message


class WriteAbandonedError(Exception):
    """The worker is stopping and InfluxDB did not take the batch in time: it is replayed."""


class InfluxWriter:
    """One async client per target; `write` is the only way points leave sovwatch."""

    def __init__(
        self,
        worker: WorkerSettings,
        timeout_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._worker = worker
        self._stopping = stopping
        self._stop_seen: float | None = None
        self._timeout_ms = int(timeout_s * 1000)
        self._sleep = sleep
        self._clients: dict[tuple[str, str, str], InfluxDBClientAsync] = {}

    def _client(self, target: InfluxTarget) -> InfluxDBClientAsync:
        # The token is part of the key: two targets on one server may hold different tokens.
        key = (target.url, target.org, target.token.get_secret_value())
        if key not in self._clients:
            self._clients[key] = InfluxDBClientAsync(
                url=target.url,
                token=target.token.get_secret_value(),
                org=target.org,
                timeout=self._timeout_ms,
                enable_gzip=True,
            )
        return self._clients[key]

    async def write(self, target: InfluxTarget, bucket: str, lines: Sequence[str]) -> None:
        """Write until acknowledged; raises `WriteRejectedError`, or `WriteAbandonedError` once
        the worker has been stopping for `shutdown_timeout_s`."""
        body = "\n".join(lines).encode()
        delay = self._worker.retry_initial_s
        while True:
            started = time.perf_counter()
            try:
                await (
                    self._client(target)
                    .write_api()
                    .write(bucket=bucket, org=target.org, record=body)
                )
            except ApiException as exc:
                status = int(exc.status or 0)
                if status in REJECTED_STATUSES:
                    raise WriteRejectedError(status, _message(exc)) from exc
                kind = f"http_{status}"
                log.warning(
                    "InfluxDB %s bucket %s: HTTP %s %s; retrying in %.1fs",
                    target.url,
                    bucket,
                    status,
                    _message(exc),
                    delay,
                )
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                kind = type(exc).__name__
                log.warning(
                    "InfluxDB %s unreachable (%s); retrying in %.1fs", target.url, kind, delay
                )
            else:
                metrics.WRITE_SECONDS.observe(time.perf_counter() - started)
                metrics.BATCH_POINTS.observe(len(lines))
                return
            metrics.WRITE_FAILURES.labels(target=target.url, kind=kind).inc()
            if self._stopping():
                self._stop_seen = self._stop_seen or time.monotonic()
                if time.monotonic() - self._stop_seen >= self._worker.shutdown_timeout_s:
                    raise WriteAbandonedError(f"InfluxDB {target.url} unreachable at shutdown")
                delay = min(delay, 1.0)
            await self._sleep(delay)
            delay = min(delay * 2, self._worker.retry_max_s)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def _message(exc: ApiException) -> str:
    """InfluxDB's own error text, without headers (which could carry the token)."""
    body = exc.body if isinstance(exc.body, str) else ""
    return (body or str(exc.reason or "")).strip()[:300]
