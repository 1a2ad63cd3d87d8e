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
