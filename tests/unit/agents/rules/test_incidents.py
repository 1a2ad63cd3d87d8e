"""The incident lifecycle: firing -> updated* -> resolved, one record per state change, same id;
and messages that leave out what they do not know instead of printing '?'."""

from __future__ import annotations

from agents.rules.engine import RuleEngine
from tests.unit.agents.rules.helpers import at, engine, event, feed, pack, tick
from tests.unit.agents.rules.test_engine_bounds import COMMON, RULES, physical, rules_of


def statuses(alerts: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(a.id, a.status) for a in alerts]


def test_a_stateless_incident_fires_updates_then_resolves_after_its_suppress_period() -> None:
    rules = rules_of("stateless")
    first = feed(rules, physical(0, "duress"), physical(60, "duress"), physical(120, "duress"))
    incident = first[0].id
    assert statuses(first) == [(incident, "firing"), (incident, "updated"), (incident, "updated")]
    assert first[0].ends_at is None and len(first[-1].evidence_event_ids) == 3
    assert tick(rules, at(899)) == []  # the suppress period (15 min) is not over
    resolved = tick(rules, at(900))
    assert statuses(resolved) == [(incident, "resolved")]
    assert resolved[0].ends_at == at(900) and len(resolved[0].evidence_event_ids) == 3
    assert tick(rules, at(2000)) == []  # once


def test_a_new_incident_after_the_resolution_gets_a_new_id() -> None:
    rules = rules_of("stateless")
    first = feed(rules, physical(0, "duress"))
    tick(rules, at(900))
    again = feed(rules, physical(1000, "duress"))
    assert statuses(again) == [(again[0].id, "firing")] and again[0].id != first[0].id


def test_a_sustained_incident_resolves_when_a_sample_is_back_under_threshold() -> None:
    rules = rules_of("sustained")
    fired = feed(rules, *(physical(s, "door_held_open") for s in (0, 200, 300, 400)))
    incident = fired[0].id
    assert statuses(fired) == [(incident, "firing")]
    cleared = feed(rules, physical(500, "access_granted"))
    assert statuses(cleared) == [(incident, "resolved")] and cleared[0].ends_at == at(500)
    assert feed(rules, physical(600, "access_granted")) == []  # resolved once


def test_a_data_gap_ends_a_fired_sustained_run_at_its_last_sample() -> None:
    rules = rules_of("sustained")
    fired = feed(rules, *(physical(s, "door_held_open") for s in (0, 300)))
    after_gap = feed(rules, physical(5000, "door_held_open"))
    assert statuses(after_gap) == [(fired[0].id, "resolved")]
    assert after_gap[0].ends_at == at(300)


def test_a_sustained_incident_reopens_when_the_condition_is_back_within_suppress() -> None:
    rules = rules_of("sustained")
    feed(rules, *(physical(s, "door_held_open") for s in (0, 300)))
    feed(rules, physical(310, "access_granted"))
    back = feed(rules, *(physical(s, "door_held_open") for s in (400, 700)))
    assert [a.status for a in back] == ["firing"] and back[0].ends_at is None


def test_an_absence_resolves_when_data_comes_again() -> None:
    rules = rules_of("absence")
    feed(rules, physical(0, "door_held_open"))
    fired = tick(rules, at(400))
    assert [a.status for a in fired] == ["firing"]
    assert tick(rules, at(4000)) == []  # silent still: nothing new, not resolved by time
    back = feed(rules, physical(5000, "door_held_open"))
    assert statuses(back) == [(fired[0].id, "resolved")] and back[0].ends_at == at(5000)


def test_a_silence_no_tick_saw_fires_and_resolves_when_the_data_comes_back() -> None:
    """Chaos seed 809089: a site's power collector was down 21 minutes of event time, but the
    backlog after an InfluxDB outage was read faster than the ticks ran; its data came back
    before any tick judged the silence, and the absence was never alerted."""
    timed = rules_of("absence")
    feed(timed, physical(0, "door_held_open"))
    fired = tick(timed, at(400))
    resolved = feed(timed, physical(1260, "door_held_open"))
    rules = rules_of("absence")
    feed(rules, physical(0, "door_held_open"))
    late = feed(rules, physical(1260, "door_held_open"))  # no tick in between
    assert statuses(late) == [(fired[0].id, "firing"), (fired[0].id, "resolved")]
    assert late[1].ends_at == resolved[0].ends_at == at(1260)
    assert feed(rules, physical(1300, "door_held_open")) == []  # within the window: nothing


def test_a_count_incident_resolves_after_suppress_plus_window() -> None:
    rules = rules_of("count")
    fired = feed(rules, *(physical(s, "access_denied") for s in (0, 10, 20)))
    assert [a.status for a in fired] == ["firing"]
    assert tick(rules, at(900 + 59)) == []
    assert [a.status for a in tick(rules, at(900 + 60))] == ["resolved"]


def test_a_resolution_not_committed_is_emitted_again_with_the_same_id() -> None:
    rules = rules_of("stateless")
    feed(rules, physical(0, "duress"))
    lost = rules.tick(at(900))  # delivery failed: no commit
    again = rules.tick(at(905))
    assert statuses(lost.alerts) == statuses(again.alerts) and again.alerts[0].status == "resolved"


def test_evidence_after_the_timer_judged_keeps_the_incident_open() -> None:
    rules = rules_of("stateless")
    feed(rules, physical(0, "duress"))
    pending = rules.tick(at(900))
    feed(rules, physical(899, "duress"))  # late evidence arrives while the resolve is delivered
    pending.commit()
    stored = next(v for k, v in rules.state.items() if k.endswith("|alert"))
    assert stored.get("status") == "firing"  # the event won; the next tick judges again


def test_a_missing_field_leaves_its_clause_out_never_a_question_mark() -> None:
    rules: RuleEngine = engine(
        """
- id: t.motion
  title: motion
  desc: test
  applies_to: physical
  condition: kind == "motion_after_hours"
  output: "motion[ seen by {device_id}] at {zone_id}[, badge {badge_id}]"
  severity: high
  team: security
  group_by: [site_id, zone_id]
"""
    )
    alerts = feed(rules, event("physical", 0, kind="motion_after_hours", zone_id="hall-1"))
    assert alerts[0].message == "motion at hall-1"
    full = feed(
        rules,
        event("physical", 0, kind="motion_after_hours", zone_id="hall-2", device_id="cam-9"),
    )
    assert full[0].message == "motion seen by cam-9 at hall-2"


def test_a_bare_placeholder_without_value_is_left_out() -> None:
    output = COMMON.replace("at {zone_id}", "motion {device_id} at {zone_id}")
    rules = RuleEngine(
        [pack(RULES["stateless"].replace('"duress"', '"motion_after_hours"').rstrip() + output)]
    )
    alerts = feed(rules, event("physical", 0, kind="motion_after_hours", zone_id="door-1"))
    assert alerts[0].message == "motion at door-1"
