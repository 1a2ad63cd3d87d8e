"""A real Alertmanager (the native build) routing by team to a real local webhook receiver:
incidents arrive grouped, a resolve arrives resolved, a silence made with Alertmanager's own API
suppresses an incident."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.metrics import REGISTRY
from schemas.alert import Alert
from schemas.settings import StackSettings
from streams.stack.alertmanager import AlertmanagerNode
from streams.stack.process import free_port
from tests.integration.agents.alert_channels import Incidents, channel_settings, deliver
from tests.integration.receivers import HttpReceiver, wait_until

CONFIG = """\
route:
  receiver: fallback
  group_by: [alertname, team, site]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['team="security"']
      receiver: security
    - matchers: ['team="ops"']
      receiver: ops
receivers:
  - name: security
    webhook_configs: [{{url: "{hook}/security", send_resolved: true}}]
  - name: ops
    webhook_configs: [{{url: "{hook}/ops", send_resolved: true}}]
  - name: fallback
    webhook_configs: [{{url: "{hook}/fallback"}}]
"""


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as server:
        yield server


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: HttpReceiver) -> Iterator[AlertmanagerNode]:
    stack = StackSettings(run_dir=tmp_path)
    node = AlertmanagerNode(stack, free_port(), CONFIG.format(hook=receiver.url))
    node.start()
    try:
        node.wait_ready(60)
        yield node
    finally:
        node.stop()


def api(node: AlertmanagerNode, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        node.url + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def sent() -> float:
    value = REGISTRY.get_sample_value(
        "sovwatch_alert_deliveries_sent_total", {"channel": "alertmanager"}
    )
    return value or 0.0


def post(node: AlertmanagerNode, *batches: list[Alert]) -> None:
    """Through the real channel and its delivery queue, waiting until Alertmanager took each."""
    settings = channel_settings(alertmanager_url=node.url)
    before = sent()
    deliver(settings, batches, lambda: int(sent() - before))


def notifications(receiver: HttpReceiver, path: str) -> list[dict[str, Any]]:
    return [request.json() for request in receiver.on(path)]


def xid(incidents: Incidents, seconds: float) -> list[Alert]:
    return incidents.event(seconds, family="gpu", xid_errors=79, site_id="site-1")


def test_incidents_are_grouped_per_team_route_then_resolved(
    alertmanager: AlertmanagerNode, receiver: HttpReceiver
) -> None:
    # Events of just now: Alertmanager notifies an alert that started longer than group_wait ago
    # at once instead of waiting for the rest of its group.
    incidents = Incidents(ago_s=0)
    door_a = incidents.duress(0, "hall-1-door-a")
    door_b = incidents.duress(1, "hall-1-door-b")
    gpu = xid(incidents, 2)
    post(alertmanager, door_a + door_b + gpu)

    assert wait_until(lambda: bool(notifications(receiver, "/security")))
    assert wait_until(lambda: bool(notifications(receiver, "/ops")))
    [grouped] = notifications(receiver, "/security")[:1]  # the first: both doors in one
    assert grouped["status"] == "firing"
    assert grouped["groupLabels"] == {
        "alertname": "sec.duress",
        "team": "security",
        "site": "site-1",
    }
    assert sorted(a["labels"]["incident"] for a in grouped["alerts"]) == sorted(
        [door_a[0].id, door_b[0].id]
    )
    first = grouped["alerts"][0]
    assert first["labels"]["severity"] == "critical" and first["labels"]["country"] == "DE"
    assert first["annotations"]["summary"].startswith("DURESS at hall-1-door-")
    assert first["generatorURL"].endswith("/d/sovwatch-physical?var-site=site-1")
    [ops] = notifications(receiver, "/ops")[:1]
    assert [a["labels"]["alertname"] for a in ops["alerts"]] == ["ops.gpu_xid_critical"]
    assert notifications(receiver, "/fallback") == []

    # (the timer also finds the GPU node silent since: that absence fires, not posted here)
    resolved = [a for a in incidents.resolve_all(3600) if a.status == "resolved"]
    assert sorted(a.id for a in resolved) == sorted(a.id for a in door_a + door_b + gpu)
    post(alertmanager, resolved)

    def resolved_on(path: str) -> list[dict[str, Any]]:
        return [n for n in notifications(receiver, path) if n["status"] == "resolved"]

    assert wait_until(lambda: bool(resolved_on("/security")) and bool(resolved_on("/ops")))
    [done] = resolved_on("/security")[:1]
    assert {a["status"] for a in done["alerts"]} == {"resolved"} and len(done["alerts"]) == 2
    assert all(a["endsAt"] <= datetime.now(UTC).isoformat() for a in done["alerts"])


def test_a_silence_made_with_the_api_suppresses_an_incident(
    alertmanager: AlertmanagerNode, receiver: HttpReceiver
) -> None:
    now = datetime.now(UTC)
    silence = api(
        alertmanager,
        "/api/v2/silences",
        {
            "matchers": [
                {"name": "alertname", "value": "sec.duress", "isRegex": False, "isEqual": True},
                {"name": "site", "value": "site-2", "isRegex": False, "isEqual": True},
            ],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
            "createdBy": "sovwatch tests",
            "comment": "maintenance at site-2",
        },
    )
    incidents = Incidents()
    silenced = incidents.duress(0, "hall-1-door-a", site="site-2")
    control = incidents.duress(0, "hall-1-door-a", site="site-3")
    post(alertmanager, silenced, control)

    # The control incident of the same rule, posted after it, is notified; the silenced is not.
    assert wait_until(lambda: bool(notifications(receiver, "/security")))
    notified = {
        a["labels"]["site"] for n in notifications(receiver, "/security") for a in n["alerts"]
    }
    assert notified == {"site-3"}
    [state] = api(alertmanager, '/api/v2/alerts?filter=site="site-2"')
    assert state["labels"]["incident"] == silenced[0].id
    assert state["status"]["state"] == "suppressed"
    assert state["status"]["silencedBy"] == [silence["silenceID"]]


def test_the_sample_per_team_config_is_what_stack_up_serves(tmp_path: Path) -> None:
    node = AlertmanagerNode(StackSettings(run_dir=tmp_path), free_port())  # the sample config
    node.start()
    try:
        node.wait_ready(60)
        status = api(node, "/api/v2/status")
        assert 'team="security"' in status["config"]["original"]
        assert {r["name"] for r in api(node, "/api/v2/receivers")} == {
            "ops",
            "security",
            "compliance",
        }
    finally:
        node.stop()
