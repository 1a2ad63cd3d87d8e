"""Compliance, in process: the timer judges only this worker's active partitions, stores a fired
state only after its alert was delivered, and the event clock never runs ahead of the allowed
skew."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from agents.compliance.alerts import AlertFanout, kafka_publisher
from agents.compliance.rule_state import TableState
from agents.compliance.stage import Compliance, EventClock
from agents.influx.residency import Residency
from agents.rules.engine import RuleEngine
from schemas.settings import Settings
from tests.unit.agents.fakes import RecordingTable, RecordingTopic, RecordingWriter
from tests.unit.agents.rules.helpers import SILENT, at, event, pack


class FixedWall:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def compliance(topic: RecordingTopic, wall: FixedWall) -> Compliance:
    settings = Settings()
    state = TableState(RecordingTable())
    rules = RuleEngine([pack(SILENT)], state=state)
    sink = AlertFanout(
        Residency.from_settings(settings), RecordingWriter(), kafka_publisher({"ops": topic})
    )
    return Compliance(rules, state, EventClock(300, wall=wall, monotonic=lambda: 0.0), sink)


async def test_the_timer_fires_only_for_actively_owned_partitions() -> None:
    topic = RecordingTopic()
    wall = FixedWall(at(600))
    checker = compliance(topic, wall)
    checker.evaluate(
        [(event("gpu", 0, site_id="site-0"), 0), (event("gpu", 0, site_id="site-1"), 1)]
    )
    checker.evaluate([(event("gpu", 590, site_id="other"), 2)])  # event time moves on
    await checker.tick(active_partitions={0})  # 1 and 2 are another worker's (a standby here)
    assert [json.loads(value)["site_id"] for _, value in topic.sent] == ["site-0"]


async def test_a_fired_state_is_stored_only_after_delivery() -> None:
    topic = RecordingTopic()
    wall = FixedWall(at(600))
    checker = compliance(topic, wall)
    checker.evaluate([(event("gpu", 0, site_id="site-0"), 0), (event("gpu", 590, site_id="x"), 0)])

    async def lost(_: object) -> None:
        raise ConnectionError("broker gone")  # the worker dies while delivering

    original = checker._alerts.emit
    checker._alerts.emit = lost  # type: ignore[method-assign, assignment]
    await checker.tick(active_partitions={0})  # logged; the timer (and the worker) goes on
    checker._alerts.emit = original  # type: ignore[method-assign]
    await checker.tick(active_partitions={0})
    await checker.tick(active_partitions={0})  # committed now: fires no more
    alerts = [json.loads(value) for _, value in topic.sent]
    assert [a["site_id"] for a in alerts] == ["site-0"]


def test_the_event_clock_never_runs_ahead_of_the_allowed_skew() -> None:
    wall = FixedWall(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    clock = EventClock(300, wall=wall, monotonic=lambda: 0.0)
    clock.observe(datetime(2262, 1, 1, tzinfo=UTC))  # a producer's clock gone wrong
    assert clock.now() == wall.now + timedelta(seconds=300)
