"""The timer path: only actively owned state is judged, and nothing is stored before the caller
has delivered the alerts (`TickResult.commit`)."""

from __future__ import annotations

from typing import Any

from agents.compliance.rule_state import TableState
from agents.pending_changes import MemoryTable
from agents.rules.engine import RuleEngine
from tests.unit.agents.fakes import checkpoint_write
from tests.unit.agents.rules.helpers import SILENT, at, event, pack, tick


class WriteLog(dict[str, Any]):
    """A dict state that records every write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.writes.append(key)
        super().__delitem__(key)


def heartbeat(seconds: float, site: str = "site-1") -> Any:
    return event("gpu", seconds, site_id=site)


def test_tick_judges_only_the_keys_of_active_partitions() -> None:
    table = MemoryTable()
    state = TableState(table)
    rules = RuleEngine([pack(SILENT)], state=state)
    for partition, site in enumerate(("site-0", "site-1")):
        state.partition = partition
        rules.process(heartbeat(0, site), now=at(0))
    state.partition = None
    checkpoint_write(state)
    written = len(table.changelog)
    result = rules.tick(at(600), active=state.in_partitions({0}))  # site-1 is a standby replica
    assert [a.site_id for a in result.alerts] == ["site-0"]
    result.commit()
    checkpoint_write(state)
    assert {partition for partition, _, _ in table.changelog[written:]} == {0}


def test_tick_writes_nothing_until_commit() -> None:
    state = WriteLog()
    rules = RuleEngine([pack(SILENT)], state=state)
    rules.process(heartbeat(0), now=at(0))
    state.writes.clear()
    result = rules.tick(at(600))
    assert len(result.alerts) == 1 and state.writes == []
    result.commit()
    assert state.writes  # the fired mark and the incident
    assert rules.tick(at(700)).alerts == []


def test_an_uncommitted_tick_fires_the_same_alerts_again() -> None:
    rules = RuleEngine([pack(SILENT)])
    rules.process(heartbeat(0), now=at(0))
    first = rules.tick(at(600)).alerts  # delivery failed, or the worker crashed: no commit
    again = rules.tick(at(605)).alerts
    assert [a.id for a in again] == [a.id for a in first] and len(first) == 1


def test_commit_keeps_an_event_that_arrived_during_delivery() -> None:
    rules = RuleEngine([pack(SILENT)])
    rules.process(heartbeat(0), now=at(0))
    result = rules.tick(at(600))
    rules.process(heartbeat(601), now=at(601))  # the node is back while the alert is sent
    result.commit()
    assert rules.tick(at(800)).alerts == []
    assert len(rules.tick(at(901)).alerts) == 1  # silent again, judged from its new sample


SESSION_END = """
- id: t.open
  title: session not ended
  desc: test
  kind: sequence
  output: "session {session_id} open"
  severity: medium
  team: compliance
  group_by: [site_id]
  window: 10m
  first: {applies_to: audit, condition: action == "admin_session_start"}
  then: {applies_to: audit, condition: action == "admin_session_end"}
  mode: not_followed_by
"""


def session(seconds: float, name: str) -> Any:
    return event("audit", seconds, action="admin_session_start", session_id=name)


def test_a_late_event_with_an_earlier_deadline_is_judged_in_time() -> None:
    rules = RuleEngine([pack(SESSION_END)])
    rules.process(session(100, "s-late"), now=at(100))  # due at 700
    rules.process(session(0, "s-early"), now=at(100))  # processed later, due at 600
    assert [a.message for a in tick(rules, at(600))] == ["session s-early open"]
    assert tick(rules, at(699)) == []
    assert [a.message for a in tick(rules, at(700))] == ["session s-late open"]
