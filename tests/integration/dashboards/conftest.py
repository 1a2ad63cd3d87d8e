"""Fixtures for the Grafana tests: the stack's real Grafana and InfluxDB, a fresh org per run.

The Grafana (and InfluxDB) of the native stack is started if it is not running and reused if
it is; what this session started, it stops. Kafka is not needed and never touched. Each session
provisions into its own, new Grafana org (own teams, folders, datasource and dashboards) with a
service-account token of that org, so runs never see each other's state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pytest

from dashboards.api import Grafana
from dashboards.provision import Provisioner, Step
from streams.influx_tokens import GRAFANA, stack_token
from streams.settings import Settings
from streams.stack import Stack
from streams.stack.grafana import GrafanaNode
from streams.stack.process import ManagedProcess
from tests.integration.dashboards.seed import Fleet, new_fleet, remove, write


class Node(Protocol):
    """What InfluxNode and GrafanaNode share."""

    process: ManagedProcess

    def start(self) -> None: ...
    def wait_ready(self, timeout_s: float) -> None: ...
    def initialise(self) -> None: ...


def _running(node: Node, timeout_s: float) -> bool:
    """Start the node unless it runs; True when this call started it."""
    started = node.process.pid() is None
    node.start()
    node.wait_ready(timeout_s)
    node.initialise()
    return started


@pytest.fixture(scope="session")
def grafana_node(settings: Settings) -> Iterator[GrafanaNode]:
    """The native stack's Grafana (and the InfluxDB it reads), running."""
    stack = Stack(settings)
    influx_started = _running(stack.influx, settings.stack.start_timeout_s)
    grafana_started = _running(stack.grafana, settings.stack.start_timeout_s)
    yield stack.grafana
    if grafana_started:
        stack.grafana.stop()
    if influx_started:
        stack.influx.stop()


@dataclass
class Org:
    """A fresh Grafana org with an Admin service-account token, and the first provisioning."""

    id: int
    name: str
    token: str
    api: Grafana
    first_plan: list[Step]


@pytest.fixture(scope="session")
def org(grafana_node: GrafanaNode, settings: Settings) -> Iterator[Org]:
    """A new org, provisioned once by `Provisioner` (the code under test); deleted after."""
    name = f"sovwatch-test-{uuid.uuid4().hex[:10]}"
    admin = grafana_node.admin()
    org_id = int(admin.post("/orgs", {"name": name})["orgId"])
    in_org = grafana_node.admin(org_id)
    account = in_org.post("/serviceaccounts", {"name": name, "role": "Admin"})
    token = in_org.post(f"/serviceaccounts/{account['id']}/tokens", {"name": "tests"})["key"]
    api = Grafana(grafana_node.url, token, settings.grafana.timeout_s)
    readonly = stack_token(settings, GRAFANA)  # what `sovwatch grafana provision` uses
    assert readonly is not None, "the stack's InfluxDB has a read-only Grafana token"
    provisioner = Provisioner(api, settings.influxdb, settings.influxdb.url, readonly)
    plan = provisioner.plan()
    provisioner.apply(plan)
    yield Org(org_id, name, token, api, plan)
    admin.delete(f"/orgs/{org_id}")


@pytest.fixture(scope="session")
def fleet(settings: Settings, grafana_node: GrafanaNode) -> Iterator[Fleet]:
    """Two sites of realistic points (own site ids) written to the telemetry/audit/alerts
    buckets, deleted again afterwards (the audit bucket never expires)."""
    fleet = new_fleet(f"gt{uuid.uuid4().hex[:8]}")
    assert write(settings.influxdb, fleet) > 1000
    yield fleet
    remove(settings.influxdb, fleet)
