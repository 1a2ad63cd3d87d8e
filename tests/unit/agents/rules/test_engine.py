"""The engine's incidents: one alert id per incident, also when a crash replays events into
state that has already moved on."""

from __future__ import annotations

from schemas.decode import Event
from tests.unit.agents.rules.helpers import engine, event, feed

AFTER_HOURS = """
- id: t.night
  title: night entry
  desc: test
  applies_to: physical
  condition: kind == "access_granted"
  output: "entry at {zone_id}"
  severity: medium
  team: security
  group_by: [site_id, zone_id]
  suppress: 15m
"""


def entry(seconds: float, name: str) -> Event:
    return event("physical", seconds, kind="access_granted", badge_id="p_b", event_id=name)


def test_entries_within_the_suppression_are_one_alert() -> None:
    rules = engine(AFTER_HOURS)
    alerts = feed(rules, entry(0, "e1"), entry(600, "e2"), entry(1000, "e3"))
    assert len({a.id for a in alerts}) == 2  # 0 and 600 share one; 1000 opens the next
    assert alerts[1].evidence_event_ids == ["e1", "e2"]


def test_a_replay_into_moved_on_state_re_emits_the_same_alert_ids() -> None:
    rules = engine(AFTER_HOURS)
    events = [entry(0, "e1"), entry(600, "e2"), entry(1000, "e3"), entry(2000, "e4")]
    first_run = {a.id for a in feed(rules, *events)}
    replayed = {a.id for a in feed(rules, *events[1:])}  # the worker crashed before committing
    assert replayed <= first_run


COUNT = """
- id: t.denied
  title: denied burst
  desc: test
  kind: count
  applies_to: physical
  condition: kind == "access_denied"
  output: "{count} denials"
  severity: medium
  team: security
  group_by: [site_id]
  window: 60s
  threshold: 3
"""


def denied(seconds: float, name: str) -> Event:
    return event("physical", seconds, kind="access_denied", badge_id="p_b", event_id=name)


def test_a_replayed_event_re_emits_the_alert_it_counted_in() -> None:
    rules = engine(COUNT)
    burst = [denied(0, "d1"), denied(10, "d2"), denied(20, "d3")]
    [alert] = feed(rules, *burst)
    # The state survived (changelog) but the alert was never stored: the replay re-emits it.
    [again] = feed(rules, burst[2])
    assert again.id == alert.id
    assert again.evidence_event_ids == alert.evidence_event_ids
    assert feed(rules, denied(500, "d9")) == []  # a new event outside the incident: nothing
