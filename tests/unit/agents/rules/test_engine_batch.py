"""`process_batch`: a batch of (event, partition) gives the alerts of processing its events one
by one, and each event's state is written to its own partition."""

from __future__ import annotations

from agents.compliance.rule_state import PARTITION, TableState
from agents.pending_changes import MemoryTable
from agents.rules.engine import RuleEngine
from schemas.decode import Event
from tests.unit.agents.fakes import checkpoint_write
from tests.unit.agents.rules.helpers import at, event, feed, pack

DENIED = """
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
  threshold: 2
- id: t.hot
  title: hot
  desc: test
  applies_to: gpu
  condition: gpu_temp_c > 85
  output: "hot {node}"
  severity: high
  team: ops
"""


def batch() -> list[tuple[Event, int]]:
    return [
        (
            event("physical", 0, kind="access_denied", badge_id="p_a", site_id="s0", event_id="d1"),
            0,
        ),
        (event("gpu", 1, gpu_temp_c=90.0, site_id="s3", event_id="g1"), 3),
        (
            event("physical", 2, kind="access_denied", badge_id="p_b", site_id="s0", event_id="d2"),
            0,
        ),
    ]


def test_a_batch_raises_the_alerts_of_its_events_one_by_one() -> None:
    one_by_one = feed(RuleEngine([pack(DENIED)]), *(e for e, _ in batch()))
    batched = RuleEngine([pack(DENIED)]).process_batch(batch(), now=at(2))
    assert [(a.id, a.message) for a in batched] == [(a.id, a.message) for a in one_by_one]
    assert [a.rule_id for a in batched] == ["t.hot", "t.denied"]


def test_each_event_writes_its_state_to_its_own_partition() -> None:
    table = MemoryTable()
    state = TableState(table)
    RuleEngine([pack(DENIED)], state=state).process_batch(batch(), now=at(2))
    checkpoint_write(state)
    assert {key: value[PARTITION] for key, value in table.data.items()} == {
        "t.denied|s0/hall-1-door-a": 0,
        "t.denied|s0/hall-1-door-a|alert": 0,
        "t.hot|s3|alert": 3,
    }
    assert {partition for partition, _, _ in table.changelog} == {0, 3}
    assert state.partition is None  # as it was before the batch
