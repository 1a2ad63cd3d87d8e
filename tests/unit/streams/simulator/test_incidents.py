"""Placing incidents: lanes keep incidents apart, runs too short say what they left out."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from streams.simulator.fleet import load_fleet
from streams.simulator.incidents import INJECTORS, plan_incidents, select

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)  # Monday morning: no after-hours time in 4 hours
STEP, POWER = timedelta(seconds=15), timedelta(seconds=60)


def test_a_short_daytime_run_reports_what_does_not_fit() -> None:
    fleet = load_fleet(sites=2, halls=1, nodes_per_hall=2, gpus_per_node=2)
    placed, missed = plan_incidents(
        list(INJECTORS), fleet, T0, T0 + timedelta(hours=4), seed=1, step=STEP, power_step=POWER
    )
    assert set(missed) == {"night_hall_entry", "session_left_open"}
    assert len(placed) == 29


def test_incidents_sharing_a_lane_at_a_site_never_overlap() -> None:
    fleet = load_fleet(sites=1, halls=1, nodes_per_hall=2, gpus_per_node=2)
    placed, missed = plan_incidents(
        select(["all"]), fleet, T0, T0 + timedelta(hours=14), seed=1, step=STEP, power_step=POWER
    )
    assert missed == []
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    by_name = {i.name: i for i in INJECTORS}
    for p in placed:
        for lane, (before, after) in by_name[p.incident.name].lanes.items():
            spans.setdefault(lane, []).append((p.at - before, p.at + after))
    for lane, intervals in spans.items():
        intervals.sort()
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert end <= start, lane


def test_select_by_name_or_rule_id_and_unknown_names_are_refused() -> None:
    assert [i.name for i in select(["tailgating", "ops.gpu_xid_critical", "tailgating"])] == [
        "tailgating",
        "xid_79",
    ]
    try:
        select(["meteor_strike"])
    except ValueError as exc:
        assert "meteor_strike" in str(exc) and "thermal_runaway" in str(exc)
    else:
        raise AssertionError("unknown incident accepted")
