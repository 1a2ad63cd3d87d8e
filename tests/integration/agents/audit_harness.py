"""Helpers for audit integration tests: keys, audit records on Kafka, read-back and checkpoints."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from agents.audit.checkpoints import Checkpoint, generate_keypair
from agents.audit.records import Record
from schemas.audit import AuditEvent
from streams.admin.connect import influx_client
from streams.evidence.store import Filters, read_checkpoints, read_records
from streams.stack import Stack
from tests.integration.pipeline import Isolated
from tests.unit.agents.audit.fixtures import audit_event


@pytest.fixture
def servers(stack: Stack) -> None:
    """The shared Kafka and InfluxDB, up (started by the session's `stack` fixture if need be)."""


def keypair(directory: Path) -> tuple[str, Path]:
    """(private PEM text for the worker's env, public key file)."""
    private, public = generate_keypair()
    path = directory / "public.pem"
    path.write_bytes(public)
    return private.decode(), path


def audit_records(
    isolated: Isolated, sites: dict[str, str], count: int, start: int = 0
) -> list[tuple[str, bytes, bytes]]:
    """`count` audit events per site (site -> country), interleaved, keyed by site."""
    topic = isolated.settings.topics.audit
    out = []
    for i in range(start, start + count):
        for site, country in sites.items():
            event: AuditEvent = audit_event(i, site=site, country=country)
            out.append((topic, site.encode(), event.model_dump_json(exclude_none=True).encode()))
    return out


def stored(isolated: Isolated, site: str) -> list[Record]:
    influx = isolated.settings.influxdb
    with influx_client(influx) as client:
        return list(read_records(client, influx.org, influx.buckets.audit, Filters(site=site)))


def checkpoints(isolated: Isolated, site: str) -> list[Checkpoint]:
    influx = isolated.settings.influxdb
    with influx_client(influx) as client:
        return read_checkpoints(client, influx.org, influx.buckets.audit, site)


def checkpoint_now(port: int) -> list[dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/audit/checkpoint", method="POST", data=b""
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return list(json.loads(response.read())["checkpoints"])
