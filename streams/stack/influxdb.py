"""A local InfluxDB 2.x (influxd built from its Go module) with sovwatch's org and buckets."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any

from influxdb_client import InfluxDBClient

from schemas.errors import SovwatchError, StackError
from schemas.settings import InfluxSettings, StackSettings
from streams.admin.buckets import DAY_S, ensure_buckets
from streams.admin.influx_tokens import tokens_dir
from streams.stack.influx_auth import ScopedTokens
from streams.stack.native_server import HOST, NativeServer


class InfluxNode(NativeServer):
    """Install, start, initialise and stop the dev InfluxDB."""

    label = "InfluxDB"
    address_setting = "SOVWATCH_INFLUXDB__URL"

    def __init__(self, stack: StackSettings, influx: InfluxSettings, port: int) -> None:
        version = stack.influxdb_version
        super().__init__(
            stack, port, package="influxdb", tool="influxd", version=version, name="influxdb"
        )
        self.influx = influx

    def start(self) -> None:
        if not self.prepare():
            return
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.process.start(
            [
                str(self.binary),
                f"--bolt-path={data / 'influxd.bolt'}",
                f"--engine-path={data / 'engine'}",
                f"--sqlite-path={data / 'influxd.sqlite'}",
                f"--http-bind-address={HOST}:{self.port}",
                "--reporting-disabled",
                "--log-level=warn",
            ]
        )

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - fixed http://127.0.0.1 URL
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def wait_ready(self, timeout_s: float) -> None:
        """Ready means /health reports pass."""

        def healthy() -> bool:
            try:
                return bool(self._request("GET", "/health").get("status") == "pass")
            except (urllib.error.URLError, OSError, ValueError):
                return False

        self.process.wait_ready(healthy, timeout_s, "InfluxDB", self.url)

    def initialise(self) -> None:
        """First start: create org, operator token and buckets. Every start: ensure buckets and
        the scoped tokens."""
        if self._request("GET", "/api/v2/setup").get("allowed"):
            password_file = self.workdir / "admin-password"
            password = secrets.token_urlsafe(18)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
            self._request(
                "POST",
                "/api/v2/setup",
                {
                    "username": "sovwatch-admin",
                    "password": password,
                    "org": self.influx.org,
                    "bucket": self.influx.buckets.telemetry,
                    "token": self.influx.token.get_secret_value(),
                    "retentionPeriodSeconds": self.influx.buckets.telemetry_retention_days * DAY_S,
                },
            )
        with InfluxDBClient(
            url=self.url, token=self.influx.token.get_secret_value(), org=self.influx.org
        ) as client:
            try:
                ensure_buckets(client, self.influx)
            except SovwatchError as exc:
                raise StackError(
                    exc.message,
                    f"this InfluxDB was set up with other credentials: set them, or remove "
                    f"{self.workdir} to start afresh",
                ) from exc
        self.scoped_tokens().ensure()

    def scoped_tokens(self) -> ScopedTokens:
        """The least-privilege tokens of this InfluxDB (worker, audit reader, Grafana)."""
        influx = self.influx
        return ScopedTokens(
            self.url, influx.token, influx.org, influx.buckets, tokens_dir(self.stack)
        )
