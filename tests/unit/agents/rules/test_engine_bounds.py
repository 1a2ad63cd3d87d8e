"""Bounded rule state: expired state of every kind is pruned (and live state never), a rule keeps
at most `max_groups` groups, and the timer visits only due keys instead of all state."""

from __future__ import annotations

from typing import Any

import pytest

from agents.compliance.rule_state import TableState
from agents.metrics import REGISTRY
from agents.pending_changes import MemoryTable
from agents.rules.engine import RuleEngine
from schemas.decode import Event
from tests.unit.agents.rules.helpers import at, event, feed, pack

COMMON = """
  title: test rule
  desc: test
  severity: high
  team: security
  output: "at {zone_id}"
  group_by: [site_id, zone_id]
"""
RULES = {
    "count": """
- id: t.count
  kind: count
  applies_to: physical
  condition: kind == "access_denied"
  window: 60s
  threshold: 3
""",
    "sustained": """
- id: t.sustained
  kind: sustained
  applies_to: physical
  condition: kind == "door_held_open"
  window: 5m
""",
    "absence": """
- id: t.absence
  kind: absence
  applies_to: physical
  window: 5m
""",
    "sequence": """
- id: t.sequence
  kind: sequence
  window: 10m
  first: {applies_to: physical, condition: kind == "cage_opened"}
  then: {applies_to: physical, condition: kind == "access_granted"}
  mode: not_followed_by
""",
    "two_person": """
- id: t.two_person
  kind: two_person
  applies_to: physical
  condition: kind == "cage_opened"
  window: 5m
  actor: badge_id
""",
    "stateless": """
- id: t.stateless
  applies_to: physical
  condition: kind == "duress"
  suppress: 15m
""",
}


def rules_of(kind: str, **options: Any) -> RuleEngine:
    return RuleEngine([pack(RULES[kind].rstrip() + COMMON)], grace_s=0, **options)


def physical(seconds: float, kind: str, zone: str = "door-1", **fields: Any) -> Event:
    badge = {"badge_id": "p_alice"} if kind in ("access_denied", "access_granted", "duress") else {}
    return event("physical", seconds, kind=kind, zone_id=zone, **badge, **fields)


def keys(rules: RuleEngine) -> set[str]:
    """The state's keys without their group."""
    return {f"{key.split('|')[0]}|{key.split('|')[-1]}" for key in rules.state}


@pytest.mark.parametrize(
    ("kind", "events", "kept_until", "gone_at"),
    [
        ("count", [physical(0, "access_denied")], 120, 120.001),  # events stay two windows
        ("sustained", [physical(0, "door_held_open"), physical(100, "door_held_open")], 400, 401),
    ],
)
def test_windows_are_pruned_once_expired_never_before(
    kind: str, events: list[Event], kept_until: float, gone_at: float
) -> None:
    rules = rules_of(kind)
    feed(rules, *events)
    assert rules.prune(at(kept_until - 0.001)) == 0 and rules.state
    assert rules.prune(at(gone_at)) == 1 and not rules.state


def test_a_key_is_pruned_by_its_own_partition_s_time_not_the_latest() -> None:
    """The broker-restart fault run: state was pruned at the time of another topic read an hour
    ahead; the incident's next event then opened an incident with a second id."""
    rules = rules_of("count")
    feed(rules, physical(0, "access_denied"))
    assert rules.prune(at(3600), now_of=lambda key: at(60)) == 0 and rules.state
    assert rules.prune(at(3600), now_of=lambda key: at(121)) == 1 and not rules.state


def test_a_pending_deadline_is_never_pruned_before_the_timer_judged_it() -> None:
    for kind, trigger in (("sequence", "cage_opened"), ("two_person", "cage_opened")):
        rules = rules_of(kind)
        feed(rules, physical(0, trigger, badge_id="p_alice"))
        assert rules.prune(at(86_400)) == 0  # long overdue, but not yet fired
        result = rules.tick(at(86_400))
        assert len(result.alerts) == 1
        result.commit()  # delivered: the incident waits for the timer to resolve it
        assert rules.state
        resolved = rules.tick(at(86_400))
        assert [a.status for a in resolved.alerts] == ["resolved"]
        assert resolved.alerts[0].id == result.alerts[0].id
        resolved.commit()  # resolved and long expired: gone
        assert rules.prune(at(10 * 86_400)) == 0 and not rules.state


def test_an_absence_is_kept_until_data_comes_again_then_pruned() -> None:
    rules = rules_of("absence")
    feed(rules, physical(0, "door_held_open"))
    assert rules.prune(at(86_400)) == 0
    result = rules.tick(at(86_400))
    result.commit()
    assert [a.status for a in result.alerts] == ["firing"]
    assert rules.prune(at(10 * 86_400)) == 0 and rules.state  # still silent: still open
    again = feed(rules, physical(10 * 86_400, "door_held_open"))
    assert [(a.id, a.status) for a in again] == [(result.alerts[0].id, "resolved")]
    # The resolved incident goes; the group's fresh state waits for the next silence.
    assert rules.prune(at(20 * 86_400)) == 1
    assert not any(key.endswith("|alert") for key in rules.state)


def test_incidents_are_kept_until_the_timer_resolved_them_then_pruned() -> None:
    rules = rules_of("stateless")
    assert len(feed(rules, physical(0, "duress"))) == 1
    assert rules.prune(at(899)) == 0 and keys(rules) == {"t.stateless|alert"}
    assert rules.prune(at(86_400)) == 0  # open: waits for its timer
    assert rules.tick(at(899)).alerts == []
    result = rules.tick(at(900))
    assert [a.status for a in result.alerts] == ["resolved"]
    result.commit()  # stored as resolved, expired at once (grace 0): pruned
    assert not rules.state


def test_the_grace_keeps_expired_state_for_late_data() -> None:
    rules = RuleEngine([pack(RULES["count"].rstrip() + COMMON)], grace_s=600)
    feed(rules, physical(0, "access_denied"))
    assert rules.prune(at(700)) == 0
    assert rules.prune(at(721)) == 1


def test_prune_deletes_only_state_of_active_partitions() -> None:
    table = MemoryTable()
    state = TableState(table)
    rules = RuleEngine([pack(RULES["count"].rstrip() + COMMON)], state=state, grace_s=0)
    for partition in (0, 1):
        state.partition = partition
        rules.process(physical(0, "access_denied", zone=f"door-{partition}"), now=at(0))
    state.partition = None
    assert rules.prune(at(1000), active=state.in_partitions({1})) == 1
    assert list(state) == ["t.count|fra-1/door-0"]


def evicted(rule_id: str) -> float:
    sample = REGISTRY.get_sample_value("sovwatch_rule_groups_evicted_total", {"rule": rule_id})
    return sample or 0.0


def test_a_rule_keeps_at_most_max_groups_evicting_the_least_recently_active() -> None:
    rules = rules_of("count", max_groups=3)
    before = evicted("t.count")
    for second, zone in enumerate(["d1", "d2", "d3", "d4", "d1", "d5"]):
        feed(rules, physical(second, "access_denied", zone=zone))
    rules.prune(at(6))
    assert sorted(key.rsplit("/", 1)[1] for key in rules.state) == ["d1", "d4", "d5"]
    assert evicted("t.count") == before + 2  # d2 and d3


def test_a_run_keeps_only_the_ids_its_alert_shows() -> None:
    rules = RuleEngine([pack(RULES["sustained"].rstrip() + COMMON)])
    feed(rules, *(physical(i, "door_held_open") for i in range(100)))
    (state,) = rules.state.values()
    assert len(state["ids"]) == 10


class CountedState(dict[str, Any]):
    """A dict state that counts full walks."""

    walks = 0

    def __iter__(self) -> Any:
        self.walks += 1
        return super().__iter__()

    def items(self) -> Any:
        self.walks += 1
        return super().items()

    def keys(self) -> Any:
        self.walks += 1
        return super().keys()


def test_the_timer_visits_due_keys_only_not_all_state() -> None:
    state = CountedState()
    rules = RuleEngine([pack(RULES["absence"].rstrip() + COMMON)], state=state)
    feed(rules, *(physical(0, "door_held_open", zone=f"door-{i}") for i in range(50)))
    rules.tick(at(5)).commit()  # the first tick indexes what the engine did not write itself
    walks = state.walks
    for step in range(2, 60):
        rules.tick(at(5 * step)).commit()
    assert state.walks == walks
    result = rules.tick(at(300))
    assert len(result.alerts) == 50 and state.walks == walks


def test_state_the_engine_did_not_write_is_indexed_on_reindex() -> None:
    first = RuleEngine([pack(RULES["absence"].rstrip() + COMMON)])
    feed(first, physical(0, "door_held_open", zone="door-a"))
    recovered: dict[str, Any] = {}
    second = RuleEngine([pack(RULES["absence"].rstrip() + COMMON)], state=recovered)
    second.tick(at(5)).commit()
    recovered.update(first.state)  # a partition assigned after start-up, restored from its log
    second.reindex()
    assert len(second.tick(at(300)).alerts) == 1


def test_an_engine_over_restored_state_judges_it_from_its_first_tick() -> None:
    first = RuleEngine([pack(RULES["absence"].rstrip() + COMMON)])
    feed(first, physical(0, "door_held_open"))
    second = RuleEngine([pack(RULES["absence"].rstrip() + COMMON)], state=dict(first.state))
    assert len(second.tick(at(300)).alerts) == 1


def test_state_restored_behind_the_engine_is_found_by_the_periodic_rescan() -> None:
    first = RuleEngine([pack(RULES["absence"].rstrip() + COMMON)])
    feed(first, physical(0, "door_held_open"))
    restored: dict[str, Any] = {}
    second = RuleEngine([pack(RULES["absence"].rstrip() + COMMON)], state=restored, rescan_every=3)
    second.tick(at(1)).commit()
    restored.update(first.state)
    assert second.tick(at(300)).alerts == []  # not indexed yet
    assert len(second.tick(at(305)).alerts) == 1  # the third tick rebuilt the index
