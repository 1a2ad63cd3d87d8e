"""Alertmanager payloads and re-posts of open incidents."""

from __future__ import annotations

from datetime import timedelta

from agents.channels.alertmanager import Alertmanager, postable
from tests.unit.agents.alerts import T, record


def test_a_firing_record_has_the_labels_annotations_and_no_end() -> None:
    entry = postable(record(), "http://grafana:3000/", now=T)
    assert entry["labels"] == {
        "alertname": "sec.duress",
        "incident": record().id,
        "severity": "critical",
        "team": "security",
        "site": "site-1",
        "country": "DE",
    }
    annotations = entry["annotations"]
    assert isinstance(annotations, dict)
    assert annotations["summary"] == "DURESS at door-1"
    assert annotations["evidence_event_ids"] == "e1,e2"
    assert entry["startsAt"] == "2026-01-05T12:00:00Z" and "endsAt" not in entry
    assert entry["generatorURL"] == "http://grafana:3000/d/sovwatch-physical?var-site=site-1"


def test_a_resolved_record_ends_when_resolved_never_in_the_future() -> None:
    resolved = record("resolved")
    assert (
        postable(resolved, "http://g", now=T + timedelta(hours=1))["endsAt"]
        == "2026-01-05T12:15:00Z"
    )
    assert postable(resolved, "http://g", now=T)["endsAt"] == "2026-01-05T12:00:00Z"


def test_open_incidents_are_reposted_as_updates_until_resolved() -> None:
    channel = Alertmanager("http://127.0.0.1:1", "http://g", repost_s=60)
    channel.sent(record("firing", 1), now=0)
    channel.sent(record("firing", 2), now=30)
    assert channel.due(59) == []
    assert [(a.id, a.status) for a in channel.due(60)] == [(record("firing", 1).id, "updated")]
    assert channel.due(61) == []  # not again before another repost_s
    channel.sent(record("resolved", 2), now=70)  # resolved: never re-posted
    assert [a.id for a in channel.due(200)] == [record("firing", 1).id]
