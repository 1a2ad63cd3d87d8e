"""Compliance, in process: the timer judges only this worker's owned partitions, each by its own
event clock, once their state is recovered and indexed; a fired state is stored only after its
alert was delivered; a replay the state already applied is not counted twice; the event clock
never runs ahead of the allowed skew."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from agents.compliance.alerts import AlertFanout, kafka_publisher
from agents.compliance.rule_state import TableState
from agents.compliance.stage import Compliance, EventClock, Item
from agents.influx.batches import PointSink
from agents.influx.residency import Residency
from agents.pending_changes import MemoryTable
from agents.rules.engine import RuleEngine
from schemas.decode import Event
from schemas.settings import Settings
from tests.unit.agents.fakes import RecordingTopic, RecordingWriter, checkpoint_write
from tests.unit.agents.rules.helpers import SILENT, at, event, pack


class FixedWall:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def compliance(
    topic: RecordingTopic,
    wall: FixedWall,
    table: MemoryTable | None = None,
    behind: dict[int, set[str]] | None = None,
) -> Compliance:
    settings = Settings()
    state = TableState(table if table is not None else MemoryTable())
    rules = RuleEngine([pack(SILENT)], state=state)
    sink = AlertFanout(Residency.from_settings(settings), kafka_publisher({"ops": topic}))
    checker = Compliance(
        rules,
        state,
        sink,
        new_clock=lambda: EventClock(300, wall=wall, monotonic=lambda: 0.0),
        tick_interval_s=0.0,
        timer_sink=PointSink(RecordingWriter(), settings.worker, ignore, refuse),
        behind=lambda partition: (behind or {}).get(partition, set()),
    )
    checker.assigned({0, 1, 2})
    checker.recovered()
    return checker


async def ignore(_: object) -> None:
    return None


async def refuse(_: object, reason: str) -> None:
    raise AssertionError(reason)


def items(*events: tuple[Event, int]) -> list[Item]:
    """Events of `telemetry.gpu`, each at the next offset of its partition."""
    offsets: dict[int, int] = {}
    out: list[Item] = []
    for one, partition in events:
        offset = offsets[partition] = offsets.get(partition, -1) + 1
        out.append((one, "telemetry.gpu", partition, offset))
    return out


def sites(topic: RecordingTopic) -> list[str]:
    return [json.loads(value)["site_id"] for _, value in topic.sent]


async def test_the_timer_fires_only_for_owned_partitions() -> None:
    topic = RecordingTopic()
    checker = compliance(topic, FixedWall(at(600)))
    checker.evaluate(
        items(
            (event("gpu", 0, site_id="site-0"), 0),
            (event("gpu", 0, site_id="site-1"), 1),
            (event("gpu", 590, site_id="other-0"), 0),  # event time moves on
            (event("gpu", 590, site_id="other-1"), 1),
        )
    )
    await checker.tick({0})  # 1 is another worker's (a standby here)
    assert sites(topic) == ["site-0"]


async def test_a_lagging_partition_is_judged_by_its_own_event_clock() -> None:
    """Defect 8 (a88ba1b): one clock per worker, moved by partition 1's events, judged
    partition 0 (whose events lag) silent."""
    topic = RecordingTopic()
    checker = compliance(topic, FixedWall(at(600)))
    checker.evaluate(
        items(
            (event("gpu", 0, site_id="site-0"), 0),  # partition 0 is at event time 0
            (event("gpu", 590, site_id="site-1"), 1),  # partition 1 is far ahead
        )
    )
    await checker.tick({0, 1})
    assert sites(topic) == []
    checker.evaluate([(event("gpu", 400, site_id="other"), "telemetry.gpu", 0, 1)])  # catches up
    await checker.tick({0, 1})
    assert sites(topic) == ["site-0"]


async def test_while_a_topic_lags_its_partition_is_judged_by_its_slowest_family() -> None:
    """Seed 5 of the chaos run: after a fault the power topic's partition 0 caught up long
    before the gpu topic's; judged by the power events, the gpu nodes looked silent early."""
    topic = RecordingTopic()
    checker = compliance(topic, FixedWall(at(600)), behind={0: {"telemetry.gpu"}})
    checker.evaluate(
        [
            (event("gpu", 0, site_id="site-0"), "telemetry.gpu", 0, 0),
            (event("power", 590, site_id="site-0"), "telemetry.power", 0, 0),
        ]
    )
    await checker.tick({0})
    assert sites(topic) == []


async def test_a_topic_read_to_its_end_holds_nothing_back_while_another_is_behind() -> None:
    """Only the topics with records left to read hold a partition's time back: here power is
    behind at 590, gpu was read to its end (quiet since 0), so the gpu node is silent."""
    topic = RecordingTopic()
    checker = compliance(topic, FixedWall(at(600)), behind={0: {"telemetry.power"}})
    checker.evaluate(
        [
            (event("gpu", 0, site_id="site-0"), "telemetry.gpu", 0, 0),
            (event("power", 590, site_id="site-0"), "telemetry.power", 0, 0),
        ]
    )
    await checker.tick({0})
    assert sites(topic) == ["site-0"]


async def test_after_a_rewind_the_timer_waits_for_the_replay_not_the_dropped_records() -> None:
    """Chaos seed 744803: the checkpoint dropped the state changes and sought back, but the
    clock kept the time the dropped records had reached; the timer judged the written state
    (a node last seen at 0) by it, before the replay read the node's later samples again."""
    table = MemoryTable()
    topic = RecordingTopic()
    behind: dict[int, set[str]] = {}
    checker = compliance(topic, FixedWall(at(600)), table, behind=behind)
    checker.evaluate([(event("gpu", 0, site_id="site-0"), "telemetry.gpu", 0, 0)])
    checkpoint_write(checker._state)  # the last checkpoint: site-0 seen at 0
    checker.evaluate(
        [
            (event("gpu", 400, site_id="site-0"), "telemetry.gpu", 0, 1),
            (event("gpu", 590, site_id="other"), "telemetry.gpu", 0, 2),
        ]
    )
    checker._state.discard()  # the rewind: changes dropped, partition 0 sought back to 1
    behind[0] = {"telemetry.gpu"}
    checker.rewound()
    await checker.tick({0})
    assert sites(topic) == [], "judged the written state by the dropped records' time"


async def test_a_topic_with_records_to_read_but_no_clock_yet_holds_its_partition() -> None:
    """Chaos seed 744803: just after an assignment the gpu topic's records were read first; the
    power topic had records to read but none read yet, and its site's power was judged silent
    by the gpu topic's time."""
    topic = RecordingTopic()
    behind = {0: {"telemetry.power"}}
    checker = compliance(topic, FixedWall(at(600)), behind=behind)
    checker.evaluate(items((event("gpu", 0, site_id="site-0"), 0), (event("gpu", 590), 0)))
    await checker.tick({0})
    assert sites(topic) == [], "judged partition 0 before its power records were read"
    behind[0] = set()
    await checker.tick({0})
    assert sites(topic) == ["site-0"]


async def test_a_family_gone_silent_is_judged_by_the_partition_s_other_families() -> None:
    """An absence is a family gone silent: the partition's other families move its time on."""
    topic = RecordingTopic()
    checker = compliance(topic, FixedWall(at(600)))
    checker.evaluate(
        [
            (event("gpu", 0, site_id="site-0"), "telemetry.gpu", 0, 0),
            (event("power", 590, site_id="site-0"), "telemetry.power", 0, 0),
        ]
    )
    await checker.tick({0})
    assert sites(topic) == ["site-0"]


async def test_partitions_taken_over_are_judged_at_once_after_recovery() -> None:
    """Defect 7 (a88ba1b): the rule index was rebuilt every 720 ticks, never on assignment:
    an absence on a taken-over partition waited up to an hour."""
    table = MemoryTable()
    other = compliance(RecordingTopic(), FixedWall(at(600)), table)
    other.evaluate(items((event("gpu", 0, site_id="site-1"), 1)))
    checkpoint_write(
        other._state
    )  # the previous owner's checkpoint: partition 1's state is in the table
    topic = RecordingTopic()
    checker = compliance(topic, FixedWall(at(600)), table)
    checker.assigned({0})
    checker.recovered()
    checker.evaluate(items((event("gpu", 590, site_id="site-0"), 0)))
    await checker.tick({0})  # indexed: partition 0 only
    assert sites(topic) == []
    checker.assigned({0, 1})  # the rebalance hands partition 1 over
    await checker.tick({0, 1})
    assert sites(topic) == [], "judged before its state was recovered"
    checker.recovered()
    await checker.tick({0, 1})
    assert sites(topic) == ["site-1"]


async def test_a_fired_state_is_stored_only_after_delivery() -> None:
    topic = RecordingTopic()
    checker = compliance(topic, FixedWall(at(600)))
    checker.evaluate(
        items((event("gpu", 0, site_id="site-0"), 0), (event("gpu", 590, site_id="x"), 0))
    )

    async def lost(_: object) -> None:
        raise ConnectionError("broker gone")  # the worker dies while delivering

    original = checker._alerts.stage
    checker._alerts.stage = lost  # type: ignore[method-assign, assignment]
    await checker.tick({0})  # logged; the checkpoint (and the worker) goes on
    checker._alerts.stage = original  # type: ignore[method-assign]
    await checker.tick({0})
    await checker.tick({0})  # stored now: fires no more
    assert sites(topic) == ["site-0"]


def test_a_replay_the_written_state_already_applied_is_not_counted_twice() -> None:
    table = MemoryTable()
    first = compliance(RecordingTopic(), FixedWall(at(600)), table)
    batch = items(*[(event("gpu", 10 * i, site_id="site-0"), 0) for i in range(4)])
    first.evaluate(batch[:3])
    checkpoint_write(first._state)  # state written, then the worker died before committing offset 3
    state = TableState(table)
    assert state.applied("telemetry.gpu", 0) == 3
    again = compliance(RecordingTopic(), FixedWall(at(600)), table)
    again.evaluate(batch)  # the replay from the last commit (offset 0)
    key = next(k for k in again._state if k.startswith("t.silent|"))
    assert again._state[key]["last"] == batch[3][0].ts.timestamp()
    assert again._state.applied("telemetry.gpu", 0) == 4


def test_every_event_of_one_record_is_evaluated_and_a_replay_of_it_is_not() -> None:
    table = MemoryTable()
    checker = compliance(RecordingTopic(), FixedWall(at(600)), table)
    one_record = [  # an OTLP request's samples: one record, one offset
        (event("gpu", 10, site_id="site-0", node=node), "telemetry.gpu", 0, 7)
        for node in ("node-a", "node-b", "node-c")
    ]
    checker.evaluate(one_record)
    groups = sorted(k for k in checker._state if k.startswith("t.silent|"))
    assert len(groups) == 3, groups
    assert checker._state.applied("telemetry.gpu", 0) == 8
    checkpoint_write(checker._state)
    replayed = compliance(RecordingTopic(), FixedWall(at(600)), table)
    later = event("gpu", 20, site_id="site-0", node="node-a")
    replayed.evaluate([*one_record, (later, "telemetry.gpu", 0, 8)])
    key = next(k for k in replayed._state if k.startswith("t.silent|") and "node-a" in k)
    assert replayed._state[key]["last"] == later.ts.timestamp()
    assert replayed._state.applied("telemetry.gpu", 0) == 9


def test_the_event_clock_never_runs_ahead_of_the_allowed_skew() -> None:
    wall = FixedWall(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    clock = EventClock(300, wall=wall, monotonic=lambda: 0.0)
    clock.observe(datetime(2262, 1, 1, tzinfo=UTC))  # a producer's clock gone wrong
    assert clock.now() == wall.now + timedelta(seconds=300)
