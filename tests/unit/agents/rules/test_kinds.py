"""Each rule kind at its edges: thresholds, window bounds (T ± 1 ms), late events, replays."""

from __future__ import annotations

from agents.rules.engine import RuleEngine
from agents.rules.kinds import LATE_GRACE_S
from schemas.decode import Event
from tests.unit.agents.rules.helpers import at, engine, event, feed, tick

COUNT = """
- id: t.denied
  title: denied burst
  desc: test
  kind: count
  applies_to: physical
  condition: kind == "access_denied"
  output: "{count} denials at {zone_id}"
  severity: medium
  team: security
  group_by: [site_id, zone_id]
  window: 60s
  threshold: 3
"""


def denied(seconds: float, **fields: object) -> Event:
    return event("physical", seconds, kind="access_denied", badge_id="p_b", **fields)


def test_count_fires_at_exactly_n_events_within_t() -> None:
    rules = engine(COUNT)
    assert feed(rules, denied(0), denied(30)) == []
    alerts = feed(rules, denied(59.999))
    assert len(alerts) == 1
    assert alerts[0].message == "3 denials at hall-1-door-a"
    assert len(alerts[0].evidence_event_ids) == 3


def test_count_does_not_fire_when_the_first_event_is_exactly_t_old() -> None:
    rules = engine(COUNT)
    assert feed(rules, denied(0), denied(30), denied(60)) == []  # (t-T, t]: the first is out
    assert len(feed(rules, denied(59.999))) == 1  # now 0, 30 and 59.999 lie within 60 s


def test_count_groups_are_independent() -> None:
    rules = engine(COUNT)
    assert feed(rules, denied(0), denied(1, zone_id="door-b"), denied(2)) == []


def test_count_takes_a_late_event_by_its_own_time() -> None:
    rules = engine(COUNT)
    assert feed(rules, denied(50), denied(55)) == []
    alerts = feed(rules, denied(10))  # arrives late, but lies within 60 s of the others
    assert len(alerts) == 1


def test_count_never_counts_a_replayed_event_twice() -> None:
    rules = engine(COUNT)
    first, second = denied(0, event_id="d1"), denied(10, event_id="d2")
    assert feed(rules, first, second, first, second) == []


def test_an_ongoing_burst_updates_one_alert_instead_of_raising_new_ones() -> None:
    rules = engine(COUNT)
    alerts = feed(rules, denied(0), denied(1), denied(2), denied(3), denied(4))
    assert len({a.id for a in alerts}) == 1
    assert [len(a.evidence_event_ids) for a in alerts] == [3, 4, 5]


SUSTAINED = """
- id: t.hot
  title: hot gpu
  desc: test
  kind: sustained
  applies_to: gpu
  condition: gpu_temp_c > 85
  output: "hot {node} {duration_s}s"
  severity: high
  team: ops
  group_by: [site_id, node, gpu_index]
  window: 5m
"""


def gpu(seconds: float, temp: float, **fields: object) -> Event:
    return event("gpu", seconds, gpu_temp_c=temp, **fields)


def test_sustained_fires_once_when_true_for_the_whole_window() -> None:
    rules = engine(SUSTAINED)
    assert feed(rules, gpu(0, 90), gpu(120, 90), gpu(299.999, 91)) == []
    alerts = feed(rules, gpu(300, 92))
    assert len(alerts) == 1 and alerts[0].message == "hot node-01 300s"
    assert feed(rules, gpu(360, 93)) == []  # the same run does not fire again


def test_sustained_resets_on_one_false_sample() -> None:
    rules = engine(SUSTAINED)
    assert feed(rules, gpu(0, 90), gpu(200, 80), gpu(250, 90), gpu(500, 90)) == []
    assert len(feed(rules, gpu(550, 90))) == 1  # 250 + 300


def test_sustained_ignores_an_out_of_order_sample() -> None:
    rules = engine(SUSTAINED)
    assert feed(rules, gpu(0, 90), gpu(200, 90), gpu(100, 20)) == []
    assert len(feed(rules, gpu(300, 90))) == 1


def test_sustained_restarts_after_a_data_gap_longer_than_the_window() -> None:
    rules = engine(SUSTAINED)
    assert feed(rules, gpu(0, 90), gpu(301, 90)) == []  # nothing seen in between
    assert len(feed(rules, gpu(601, 90))) == 1


ABSENCE = """
- id: t.silent
  title: silent node
  desc: test
  kind: absence
  applies_to: gpu
  output: "silent {node} {silent_s}"
  severity: high
  team: ops
  group_by: [site_id, node]
  window: 5m
"""


def test_absence_fires_from_the_timer_once_per_silence() -> None:
    rules = engine(ABSENCE)
    feed(rules, gpu(0, 50))
    assert tick(rules, at(299.999)) == []
    alerts = tick(rules, at(300))
    assert len(alerts) == 1 and alerts[0].message == "silent node-01 300"
    assert alerts[0].site_id == "fra-1" and alerts[0].country == "DE"
    assert tick(rules, at(900)) == []
    feed(rules, gpu(1000, 50))  # back, then silent again: a new alert
    assert len(tick(rules, at(1300))) == 1


SEQUENCE = """
- id: t.export
  title: export without approval
  desc: test
  kind: sequence
  output: "export of {model_id}"
  severity: high
  team: compliance
  group_by: [site_id, model_id]
  window: 30m
  first: {applies_to: audit, condition: action == "approval_granted"}
  then: {applies_to: audit, condition: action == "model_weights_export"}
  mode: MODE
"""


def audit(seconds: float, action: str, **fields: object) -> Event:
    extra = {"classification": "restricted", "source_country": "DE", "destination_country": "DE"}
    if action == "approval_granted":
        extra = {"approval_ref": "CHG-1"}
    elif action != "model_weights_export":
        extra = {}
    return event("audit", seconds, action=action, model_id="m1", **extra, **fields)


def test_preceded_by_fires_when_b_has_no_a_within_t_before_it() -> None:
    rules = engine(SEQUENCE.replace("MODE", "preceded_by"))
    assert (
        len(feed(rules, audit(0, "approval_granted"), audit(1800.001, "model_weights_export"))) == 1
    )
    rules = engine(SEQUENCE.replace("MODE", "preceded_by"))
    assert feed(rules, audit(0, "approval_granted"), audit(1800, "model_weights_export")) == []


def test_followed_by_fires_on_b_after_a() -> None:
    rules = engine(SEQUENCE.replace("MODE", "followed_by"))
    alerts = feed(rules, audit(0, "approval_granted"), audit(60, "model_weights_export"))
    assert len(alerts) == 1 and len(alerts[0].evidence_event_ids) == 2


def test_not_followed_by_fires_from_the_timer_unless_b_came() -> None:
    rules = engine(SEQUENCE.replace("MODE", "not_followed_by"))
    feed(rules, audit(0, "approval_granted"))
    assert tick(rules, at(1799)) == []
    assert len(tick(rules, at(1800))) == 1
    rules = engine(SEQUENCE.replace("MODE", "not_followed_by"))
    feed(rules, audit(0, "approval_granted"), audit(100, "model_weights_export"))
    assert tick(rules, at(3600)) == []


ACROSS_TOPICS = """
- id: t.badge_first
  title: admin session without badge-in
  desc: test
  kind: sequence
  output: "session at {site_id}"
  severity: medium
  team: compliance
  group_by: [site_id]
  window: 2h
  first: {applies_to: physical, condition: kind == "access_granted"}
  then: {applies_to: audit, condition: action == "admin_session_start"}
  mode: preceded_by
"""


def session(seconds: float) -> Event:
    return event("audit", seconds, action="admin_session_start", session_id="s1")


def badge_in(seconds: float) -> Event:
    return event("physical", seconds, kind="access_granted", badge_id="p_b")


def test_preceded_by_across_topics_waits_a_grace_for_a_late_a() -> None:
    rules = engine(ACROSS_TOPICS)
    assert feed(rules, session(7200)) == []  # not judged yet: its badge-in may still come
    assert tick(rules, at(7200 + LATE_GRACE_S - 0.001)) == []
    assert len(tick(rules, at(7200 + LATE_GRACE_S))) == 1


def test_preceded_by_across_topics_is_cleared_by_an_a_processed_after_b() -> None:
    rules = engine(ACROSS_TOPICS)
    assert feed(rules, session(7200), badge_in(3600)) == []  # the badge topic was fetched later
    assert tick(rules, at(7200 + 10 * LATE_GRACE_S)) == []


TWO_PERSON = """
- id: t.cage
  title: cage two-person
  desc: test
  kind: two_person
  applies_to: physical
  condition: zone_type == "cage"
  output: "cage {zone_id} by {badge_id}"
  severity: high
  team: security
  group_by: [site_id, zone_id]
  window: 5m
  actor: badge_id
  trigger: kind == "cage_opened"
"""


def cage(seconds: float, kind: str, badge: str) -> Event:
    return event("physical", seconds, kind=kind, zone_type="cage", zone_id="cage-1", badge_id=badge)


def test_two_person_is_satisfied_by_a_second_badge_before_or_after() -> None:
    for second in (cage(-200, "access_granted", "p_bob"), cage(200, "access_granted", "p_bob")):
        rules = engine(TWO_PERSON)
        feed(rules, cage(0, "cage_opened", "p_alice"), second)
        assert tick(rules, at(1000)) == []


def test_two_person_fires_when_only_one_person_was_there() -> None:
    rules = engine(TWO_PERSON)
    feed(rules, cage(0, "cage_opened", "p_alice"), cage(10, "access_granted", "p_alice"))
    assert tick(rules, at(299)) == []
    alerts = tick(rules, at(300))
    assert len(alerts) == 1 and alerts[0].message == "cage cage-1 by p_alice"


def test_alert_ids_are_deterministic_across_engines() -> None:
    def run() -> list[str]:
        rules: RuleEngine = engine(COUNT)
        return [
            a.id
            for a in feed(
                rules, denied(0, event_id="x1"), denied(1, event_id="x2"), denied(2, event_id="x3")
            )
        ]

    assert run() == run()
