"""The fault schedule and timeline, without servers."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.schedule import (
    INFLUX_DOWN_WITHIN_S,
    JOIN,
    ON_A_WORKER,
    PAUSE_S,
    STEP_KINDS,
    draw,
)
from tests.chaos.timeline import Timeline

WORKERS = ("w1", "w2", "w3")


def test_a_seed_always_draws_the_same_schedule() -> None:
    assert draw(42, WORKERS, "w4") == draw(42, WORKERS, "w4")
    assert len({draw(seed, WORKERS, "w4") for seed in range(20)}) > 10


def test_every_step_kind_runs_once_with_a_bounded_pause() -> None:
    for seed in range(200):
        plan = draw(seed, WORKERS, "w4")
        assert sorted(s.kind for s in plan.steps) == sorted(STEP_KINDS)
        assert all(PAUSE_S[0] <= s.pause_before_s <= PAUSE_S[1] for s in plan.steps)
        assert 0 <= plan.influx_down_at_s <= INFLUX_DOWN_WITHIN_S


def test_a_worker_fault_hits_a_member_of_the_group_as_it_is_then() -> None:
    hits_joiner = 0
    for seed in range(200):
        members = set(WORKERS)
        for step in draw(seed, WORKERS, "w4").steps:
            if step.kind == JOIN:
                assert step.worker == "w4" and step.worker not in members
                members.add(step.worker)
            elif step.kind in ON_A_WORKER:
                assert step.worker in members
                hits_joiner += step.worker == "w4"
            else:
                assert step.worker == ""
    assert hits_joiner, "the joiner is never hit: the draw ignores who joined"


def test_the_schedule_reads_as_lines() -> None:
    lines = draw(7, WORKERS, "w4").lines()
    assert len(lines) == len(STEP_KINDS) + 1
    assert lines[-1].startswith("beside them: InfluxDB down at +")


def test_the_timeline_keeps_notes_in_order_with_relative_times(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.log")
    timeline.note("first")
    timeline.note("second")
    lines = timeline.lines()
    assert [line.split(" s  ", 1)[1] for line in lines] == ["first", "second"]
    assert all(line.startswith("+") and " s  " in line for line in lines)
    assert (tmp_path / "timeline.log").read_text().splitlines() == lines
