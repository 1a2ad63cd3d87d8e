"""The schedule behind the engine's index: one time per key, due keys in time order."""

from __future__ import annotations

from agents.rules.schedule import Schedule


def test_due_keys_come_in_time_order_and_leave() -> None:
    schedule = Schedule()
    for key, when in (("b", 20.0), ("a", 10.0), ("c", 30.0)):
        schedule.set(key, when)
    assert schedule.pop_due(20.0) == ["a", "b"]
    assert "a" not in schedule and len(schedule) == 1
    assert schedule.pop_due(25.0) == []


def test_a_new_time_replaces_the_old_one() -> None:
    schedule = Schedule()
    schedule.set("k", 10.0)
    schedule.set("k", 50.0)
    assert schedule.pop_due(40.0) == []
    assert schedule.pop_due(50.0) == ["k"]


def test_earliest_only_ever_moves_a_key_earlier() -> None:
    schedule = Schedule()
    schedule.earliest("k", 30.0)
    schedule.earliest("k", 40.0)
    assert schedule.get("k") == 30.0
    schedule.earliest("k", 5.0)
    assert schedule.pop_due(5.0) == ["k"]


def test_discarded_keys_never_come_up_and_stale_entries_are_swept() -> None:
    schedule = Schedule()
    for step in range(5000):  # many moves of few keys leave stale heap entries behind
        schedule.set(f"k{step % 3}", float(step))
    schedule.discard("k0")
    assert len(schedule._heap) <= 2 * len(schedule) + 1024
    assert schedule.pop_due(1e9) == ["k2", "k1"]  # last set at 4997 and 4999
