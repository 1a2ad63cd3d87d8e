"""The worker delivers incidents to every channel at once, on the real stack: a real Alertmanager
(routing to a real webhook receiver), a real webhook receiver and a real rsyslog; the alerts topic
holds one record per state change, keyed by the incident id, and is compacted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka.admin import ConfigResource, ConfigResourceType

from agents.rules.fixtures import build_event
from schemas.alert import Alert
from schemas.settings import StackSettings
from streams.admin.connect import kafka_admin
from streams.admin.produce import produce
from streams.stack import Stack
from streams.stack.alertmanager import AlertmanagerNode
from streams.stack.process import free_port
from tests.integration.agents.test_alertmanager import CONFIG
from tests.integration.pipeline import Isolated, wait_for
from tests.integration.receivers import HttpReceiver, Rsyslog, parse_cef


def test_the_worker_delivers_firing_updated_resolved_to_every_channel(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    with HttpReceiver() as hooks, Rsyslog(tmp_path / "rsyslog") as rsyslog:
        alertmanager = AlertmanagerNode(
            StackSettings(run_dir=tmp_path), free_port(), CONFIG.format(hook=hooks.url)
        )
        alertmanager.start()
        try:
            alertmanager.wait_ready(60)
            pipeline = Isolated(
                unique,
                tmp_path,
                SOVWATCH_ALERTS__TICK_INTERVAL_S="1",
                SOVWATCH_ALERTS__WEBHOOK_URL=f"{hooks.url}/sovwatch",
                SOVWATCH_ALERTS__WEBHOOK_TOKEN="hook-token",
                SOVWATCH_ALERTS__SYSLOG_ADDRESS=f"127.0.0.1:{rsyslog.tcp_port}",
                SOVWATCH_ALERTS__SYSLOG_PROTOCOL="tcp",
                SOVWATCH_ALERTS__ALERTMANAGER_URL=alertmanager.url,
            )
            run(pipeline, hooks, rsyslog, unique)
        finally:
            alertmanager.stop()


def run(pipeline: Isolated, hooks: HttpReceiver, rsyslog: Rsyslog, unique: str) -> None:
    settings = pipeline.settings
    site = f"s{unique}"
    now = datetime.now(UTC)
    duress = [
        build_event(
            {
                "family": "physical",
                "kind": "duress",
                "badge_id": "guard-1",
                "zone_id": "hall-1-door-a",
                "site_id": site,
                "ts": (now - timedelta(seconds=1000 - i * 10)).isoformat(),
            },
            f"{site}-duress-{i}",
        )
        for i in range(2)
    ]
    # A later event moves the worker's event clock past the incident's suppress period (15 min).
    clock = build_event({"family": "gpu", "site_id": site, "ts": now.isoformat()}, f"{site}-gpu")
    with pipeline.worker():
        produce(
            settings.kafka,
            [
                (settings.topics.physical, site.encode(), e.model_dump_json().encode())
                for e in duress
            ],
        )
        assert wait_for(lambda: len(statuses(hooks)) >= 1, timeout_s=60)
        produce(
            settings.kafka, [(settings.topics.gpu, site.encode(), clock.model_dump_json().encode())]
        )
        assert wait_for(lambda: "resolved" in statuses(hooks), timeout_s=60)
        assert wait_for(lambda: _am_statuses(hooks) >= {"firing", "resolved"}, timeout_s=60)
        assert wait_for(lambda: len(rsyslog.received()) >= len(statuses(hooks)), timeout_s=30)
    records = [
        Alert.model_validate_json(v)
        for v in pipeline.records([settings.topics.alerts_security], 3, timeout_s=30)
    ]
    # Kafka has every state change; each channel got the first and the last (an update still
    # queued when a later record came may be replaced by it: the receiver needs the latest).
    assert [r.status for r in records] == ["firing", "updated", "resolved"]
    assert len({r.id for r in records}) == 1
    hooked = statuses(hooks)
    assert hooked[0] == "firing" and hooked[-1] == "resolved"
    assert all(r.headers["Authorization"] == "Bearer hook-token" for r in hooks.on("/sovwatch"))
    cef = [parse_cef(line["msg"].lstrip())[1] for line in rsyslog.received()]
    assert {c["externalId"] for c in cef} == {records[0].id}
    assert cef[0]["act"] == "firing" and cef[-1]["act"] == "resolved"
    assert "resolved" in _am_statuses(hooks)
    _assert_compacted(pipeline)


def statuses(hooks: HttpReceiver) -> list[str]:
    return [json.loads(r.body)["status"] for r in hooks.on("/sovwatch")]


def _am_statuses(hooks: HttpReceiver) -> set[str]:
    return {r.json()["status"] for r in hooks.on("/security")}


def _assert_compacted(pipeline: Isolated) -> None:
    topics = pipeline.settings.topics
    admin = kafka_admin(pipeline.settings.kafka)
    try:
        names = [topics.alerts_ops, topics.alerts_security, topics.alerts_compliance]
        response = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    finally:
        admin.close()
    # {resource type: {name: {key: {config data}}}}; "modified" keys only: set at creation.
    described = next(iter(response.values()))
    policies = {name: str(configs["cleanup.policy"]) for name, configs in described.items()}
    assert all("compact" in policies[name] for name in names), policies
