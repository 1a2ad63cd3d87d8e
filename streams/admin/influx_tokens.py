"""Least-privilege InfluxDB tokens: who gets which, and where a process finds its own.

The operator token (`SOVWATCH_INFLUXDB__TOKEN`) only sets up (org, buckets, these tokens). The
native stack creates one scoped token per role (`streams.stack.influx_auth`) and keeps it in
`<run_dir>/influxdb/tokens/<role>` (mode 0600):

- `worker`: write the telemetry, alerts and audit buckets; no read (the worker never queries).
- `audit-reader`: read the audit bucket only (`sovwatch audit query|verify|export`).
- `grafana`: read telemetry, alerts and audit (the dashboards' datasource).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from schemas.settings import LOCAL_HOSTS, InfluxBuckets, InfluxSettings, Settings, StackSettings

Action = Literal["read", "write"]


@dataclass(frozen=True)
class Role:
    """One scoped token: its name (file and description) and its bucket grants."""

    name: str
    grants: tuple[tuple[Action, str], ...]  # (action, InfluxBuckets field)

    def bucket_grants(self, buckets: InfluxBuckets) -> list[tuple[Action, str]]:
        """(action, bucket name) pairs under these settings' bucket names."""
        return [(action, str(getattr(buckets, field))) for action, field in self.grants]


WORKER: Final = Role("worker", (("write", "telemetry"), ("write", "alerts"), ("write", "audit")))
AUDIT_READER: Final = Role("audit-reader", (("read", "audit"),))
GRAFANA: Final = Role("grafana", (("read", "telemetry"), ("read", "alerts"), ("read", "audit")))
ROLES: Final = (WORKER, AUDIT_READER, GRAFANA)


def tokens_dir(stack: StackSettings) -> Path:
    """Where the native stack keeps the scoped tokens of its InfluxDB."""
    return stack.run_dir / "influxdb" / "tokens"


def stack_token(settings: Settings, role: Role) -> SecretStr | None:
    """The native stack's token for `role`, if this InfluxDB is the stack's and it has one."""
    if urlsplit(settings.influxdb.url).hostname not in LOCAL_HOSTS:
        return None  # the native stack serves only 127.0.0.1: its files say nothing of others
    try:
        value = (tokens_dir(settings.stack) / role.name).read_text().strip()
    except OSError:
        return None
    return SecretStr(value) if value else None


def audit_reader(settings: Settings) -> InfluxSettings:
    """The InfluxDB settings `sovwatch audit` reads with: SOVWATCH_INFLUXDB__AUDIT_READ_TOKEN,
    else the native stack's audit-reader token, else the main token."""
    token = settings.influxdb.audit_read_token or stack_token(settings, AUDIT_READER)
    if token is None:
        return settings.influxdb
    return settings.influxdb.model_copy(update={"token": token})


def grafana_datasource_token(settings: Settings) -> tuple[SecretStr, str]:
    """The token Grafana's datasource queries with, and where it came from (never the value)."""
    if settings.grafana.influxdb_token is not None:
        return settings.grafana.influxdb_token, "SOVWATCH_GRAFANA__INFLUXDB_TOKEN"
    token = stack_token(settings, GRAFANA)
    if token is not None:
        return token, f"the native stack's token {tokens_dir(settings.stack) / GRAFANA.name}"
    return settings.influxdb.token, "SOVWATCH_INFLUXDB__TOKEN (no read-only token found)"


def worker_token_env(settings: Settings) -> dict[str, str]:
    """Environment that gives a worker started here the stack's worker token (empty if none)."""
    token = stack_token(settings, WORKER)
    return {"SOVWATCH_INFLUXDB__TOKEN": token.get_secret_value()} if token else {}
