"""Syslog CEF against a real rsyslog (UDP and TCP) and the webhook against a real HTTP server:
what arrives parses, maps severities, escapes |, =, \\ and newlines, and carries a bearer token
and an HMAC signature the receiver verifies."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from agents.channels.syslog import CEF_SEVERITY, SYSLOG_SEVERITY
from agents.channels.webhook import SIGNATURE, TIMESTAMP
from agents.metrics import REGISTRY
from schemas.alert import Alert
from tests.integration.agents.alert_channels import Incidents, channel_settings, deliver
from tests.integration.receivers import HttpReceiver, Rsyslog, parse_cef, wait_until

TRICKY = "door|a = main\\hall\nsecond line"


def tricky(alert: Alert) -> Alert:
    return alert.model_copy(update={"message": TRICKY, "severity": "medium"})


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_cef_over_syslog_reaches_rsyslog_parsed_and_escaped(tmp_path: Path, protocol: str) -> None:
    incidents = Incidents()
    fired = incidents.duress(0, "hall-1-door-a")
    updated = incidents.duress(30, "hall-1-door-a")
    resolved = incidents.resolve_all(3600)
    batches = [fired, updated, resolved, [tricky(fired[0])]]
    records = [record for batch in batches for record in batch]
    assert [r.status for r in records] == ["firing", "updated", "resolved", "firing"]
    with Rsyslog(tmp_path / "rsyslog") as rsyslog:
        port = rsyslog.udp_port if protocol == "udp" else rsyslog.tcp_port
        settings = channel_settings(syslog_address=f"127.0.0.1:{port}", syslog_protocol=protocol)
        deliver(settings, batches, lambda: len(rsyslog.received()))
        assert wait_until(lambda: len(rsyslog.received()) >= len(records))
        lines = rsyslog.received()
    assert len(lines) == len(records)
    for line, record in zip(lines, records, strict=True):
        header, ext = parse_cef(line["msg"].lstrip())
        assert header[:4] == ["0", "sovwatch", "sovwatch", "1"]
        assert header[4] == record.rule_id and header[5] == record.message[:128].replace("\n", " ")
        assert header[6] == str(CEF_SEVERITY[record.severity])
        assert ext["externalId"] == record.id and ext["act"] == record.status
        assert ext["msg"] == record.message and ext["cs1"] == record.site_id
        assert (
            int(line["facility"]) == 16
            and int(line["severity"]) == SYSLOG_SEVERITY[record.severity]
        )
        assert line["app"] == "sovwatch" and line["msgid"] == record.status
    assert {line["severity"] for line in lines} == {"2", "4"}  # critical -> 2, medium -> 4


def test_webhook_delivers_each_state_change_with_bearer_and_hmac() -> None:
    incidents = Incidents()
    batches = [
        incidents.duress(0, "hall-1-door-a"),
        incidents.duress(30, "hall-1-door-a"),
        incidents.resolve_all(3600),
    ]
    records = [record for batch in batches for record in batch]
    key = "webhook-hmac-key-for-tests"
    with HttpReceiver(statuses=[503]) as receiver:  # refuses the first request: it is retried
        settings = channel_settings(
            webhook_url=f"{receiver.url}/hook", webhook_token="hook-token", webhook_hmac_key=key
        )
        sent_before = (
            REGISTRY.get_sample_value(
                "sovwatch_alert_deliveries_sent_total", {"channel": "webhook"}
            )
            or 0.0
        )
        deliver(settings, batches, lambda: len(receiver.on("/hook")))
        got = receiver.on("/hook")
    assert [Alert.model_validate_json(r.body).status for r in got] == [
        "firing",
        "updated",
        "resolved",
    ]
    assert {Alert.model_validate_json(r.body).id for r in got} == {records[0].id}
    for request in got:
        assert request.headers["Authorization"] == "Bearer hook-token"
        signed = request.headers[TIMESTAMP].encode() + b"." + request.body
        expected = "sha256=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers[SIGNATURE], expected)
    sent = REGISTRY.get_sample_value("sovwatch_alert_deliveries_sent_total", {"channel": "webhook"})
    assert sent == sent_before + 3
