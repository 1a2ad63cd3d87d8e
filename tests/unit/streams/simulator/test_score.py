"""Score arithmetic: deduplication, scope, overlap matching, precision, recall, delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.simulator.incidents import Incident
from streams.simulator.score import AlertSeen, score
from streams.simulator.truth import Truth

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
M = timedelta(minutes=1)


def incident(n: int, rule: str, site: str, start: int, end: int, due: int) -> Incident:
    return Incident(f"i{n}", "x", rule, site, "", T0 + start * M, T0 + end * M, T0 + due * M)


def alert(
    aid: str, rule: str, site: str, start: int, end: int, created: int | None = None
) -> AlertSeen:
    made = None if created is None else T0 + created * M
    return AlertSeen(aid, rule, site, T0 + start * M, T0 + end * M, made)


def truth() -> Truth:
    return Truth(
        T0,
        T0 + 600 * M,
        ("a", "b"),
        1,
        [
            incident(1, "r.one", "a", 10, 20, 15),
            incident(2, "r.one", "b", 100, 110, 100),
            incident(3, "r.two", "a", 50, 50, 50),
        ],
    )


def test_precision_recall_and_delay_per_rule() -> None:
    alerts = [
        alert("x1", "r.one", "a", 12, 14, created=16),  # matches i1, 1 min after due
        alert("x1", "r.one", "a", 12, 18, created=17),  # re-emission of x1: one alert
        alert("x2", "r.one", "a", 300, 300, created=300),  # no incident there: false alert
        alert("x3", "r.two", "a", 20, 50, created=52),  # overlaps i3 at its edge
        alert("x4", "r.three", "b", 30, 30, created=30),  # rule without incidents: false
        alert("x5", "r.one", "c", 10, 20),  # other site: not judged
        alert("x6", "r.one", "a", 590, 605),  # runs past the end of the run: not judged
    ]
    report = score(truth(), alerts)
    one, two, three = report.rules["r.one"], report.rules["r.two"], report.rules["r.three"]
    assert (one.incidents, one.detected, one.alerts, one.matching) == (2, 1, 2, 1)
    assert (one.precision, one.recall, one.missed) == (0.5, 0.5, ["i2"])
    assert one.delays_s == [60.0]
    assert (two.precision, two.recall, two.delays_s) == (1.0, 1.0, [120.0])
    assert (three.precision, three.recall) == (0.0, None)
    assert report.out_of_scope == 2
    total = report.totals()
    assert (total.incidents, total.detected, total.alerts, total.matching) == (3, 2, 4, 2)


def test_wall_clock_delay_when_the_simulator_produced_to_kafka() -> None:
    known = truth()
    known.due_wall["i1"] = T0 + 1000 * M  # produced at wall time T0+1000 min
    report = score(known, [alert("x1", "r.one", "a", 12, 14, created=1000)])
    assert report.rules["r.one"].delays_s == [0.0]


def test_no_alerts_means_no_precision_and_zero_recall() -> None:
    report = score(truth(), [])
    assert report.rules["r.one"].precision is None
    assert report.rules["r.one"].recall == 0.0


def test_truth_file_round_trip(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "truth.jsonl"
    known = truth()
    known.due_wall["i2"] = T0
    known.missed.append("night_hall_entry")
    known.write(path)
    again = Truth.read(path)
    assert again.incidents == known.incidents
    assert (again.start, again.end, again.sites, again.due_wall, again.missed) == (
        known.start,
        known.end,
        known.sites,
        known.due_wall,
        ["night_hall_entry"],
    )
