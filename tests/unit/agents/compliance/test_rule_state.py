"""TableState: changes wait for the checkpoint, then go to the table's data and changelog, each
on the partition of its group; a revoke drops what was not written."""

from __future__ import annotations

import pytest

from agents.compliance.rule_state import PARTITION, TableState
from agents.pending_changes import MemoryTable
from tests.unit.agents.fakes import checkpoint_write


def test_event_writes_use_the_event_partition_and_remember_it() -> None:
    table = MemoryTable()
    state = TableState(table)
    state.partition = 3
    state["r|site-1"] = {"last": 1.0}
    assert table.data == {} and state["r|site-1"] == {"last": 1.0, PARTITION: 3}
    checkpoint_write(state)
    assert table.data["r|site-1"] == {"last": 1.0, PARTITION: 3}
    assert table.changelog == [(3, "r|site-1", {"last": 1.0, PARTITION: 3})]


def test_timer_writes_reuse_the_partition_of_the_key_or_of_its_state() -> None:
    table = MemoryTable()
    state = TableState(table)
    state.partition = 2
    state["r|site-1"] = {"last": 1.0}
    checkpoint_write(state)
    state.partition = None  # the timer: no current event
    state["r|site-1"] = {"last": 2.0}
    state["r|site-1|alert"] = {"id": "a"}
    checkpoint_write(state)
    assert [entry[0] for entry in table.changelog] == [2, 2, 2]


def test_a_timer_write_for_an_unknown_group_is_refused() -> None:
    with pytest.raises(RuntimeError, match="no partition known"):
        TableState(MemoryTable())["r|nowhere"] = {}


def test_delete_sends_a_tombstone() -> None:
    table = MemoryTable()
    state = TableState(table)
    state.partition = 1
    state["k|g"] = {"x": 1}
    checkpoint_write(state)
    state.partition = None
    del state["k|g"]
    assert list(state) == [] and len(state) == 0 and "k|g" not in state
    checkpoint_write(state)
    assert "k|g" not in table.data
    assert table.changelog[-1] == (1, "k|g", None)


def test_a_delete_tombstones_the_partition_of_the_key_not_the_current_event() -> None:
    table = MemoryTable()
    state = TableState(table)
    state.partition = 2
    state["k|g"] = {"x": 1}
    state.partition = 1  # an event of partition 1 is being processed
    del state["k|g"]  # e.g. its group was evicted
    checkpoint_write(state)
    assert table.changelog[-1] == (2, "k|g", None)


def test_in_partitions_tells_the_keys_of_the_actively_assigned_partitions() -> None:
    table = MemoryTable()
    state = TableState(table)
    for partition in (0, 1, 2):
        state.partition = partition
        state[f"r|site-{partition}"] = {"last": 1.0}
    owned = state.in_partitions({0, 2})
    assert [owned(f"r|site-{p}") for p in (0, 1, 2)] == [True, False, True]
    assert not owned("r|unknown")


def test_a_checkpoint_sends_each_changed_key_once_with_its_last_value() -> None:
    table = MemoryTable()
    state = TableState(table)
    state.partition = 2
    for n in range(5):
        state["r|g1"] = {"n": n}
    state["r|g2"] = {"n": 0}
    del state["r|g2"]
    assert table.changelog == []  # nothing until the checkpoint
    assert len(checkpoint_write(state)) == 2
    assert sorted(table.changelog, key=str) == sorted(
        [(2, "r|g1", {"n": 4, PARTITION: 2}), (2, "r|g2", None)], key=str
    )


def test_a_revoke_drops_what_was_not_written() -> None:
    table = MemoryTable()
    state = TableState(table)
    state.partition = 0
    state["r|g"] = {"n": 1}
    checkpoint_write(state)
    state["r|g"] = {"n": 2}
    state.mark_applied("telemetry.gpu", 0, 9)
    state.discard()
    assert state["r|g"] == {"n": 1, PARTITION: 0}
    assert state.applied("telemetry.gpu", 0) == 0
    assert len(table.changelog) == 1


def test_applied_markers_are_not_rule_state() -> None:
    state = TableState(MemoryTable())
    state.mark_applied("telemetry.gpu", 3, 17)
    assert list(state) == [] and state.applied("telemetry.gpu", 3) == 17
    assert checkpoint_write(state)[0] is not None
