"""The checkpoint, in process: records admitted only in order, effects before state before
offsets, nothing committed past an unprocessed offset, a fenced worker writes nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field

import pytest

from agents.channels.agent import Settlement
from agents.checkpoint import RESEEK_AFTER_S, STALLED_AFTER_S, Checkpointer, Partition

GPU = "telemetry.gpu"


@dataclass
class Kafka:
    """Commits, start offsets and seeks, as the broker would answer them."""

    committed: dict[Partition, int] = field(default_factory=dict)
    commits: list[dict[Partition, int]] = field(default_factory=list)
    seeks: list[tuple[Partition, int]] = field(default_factory=list)
    refuse: bool = False  # the group rebalanced without this worker

    async def commit(self, offsets: Mapping[Partition, int]) -> bool:
        if self.refuse:
            return False
        self.commits.append(dict(offsets))
        self.committed.update(offsets)
        return True

    async def starts(self, partitions: Collection[Partition]) -> dict[Partition, int]:
        return {p: self.committed.get(p, 0) for p in partitions}

    async def seek(self, partition: Partition, offset: int) -> None:
        self.seeks.append((partition, offset))


@dataclass
class Effects:
    """The sinks: `flush` waits for `gate` (InfluxDB answering), or raises `failure`."""

    log: list[str]
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    failure: Exception | None = None

    def __post_init__(self) -> None:
        self.gate.set()

    async def seal(self) -> Awaitable[None]:
        return self._durable()

    async def _durable(self) -> None:
        await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        self.log.append("effects")


@dataclass
class State:
    """A changelog: writes are futures the test resolves (or fails)."""

    log: list[str]
    changes: int = 0
    sealed: int = 0
    discarded: int = 0
    pending: list[asyncio.Future[None]] = field(default_factory=list)
    hold: bool = False

    def seal(self) -> None:
        self.sealed += self.changes
        self.changes = 0

    def write(self) -> list[Awaitable[object]]:
        if not self.sealed:
            return []
        self.log.append(f"state x{self.sealed}")
        self.sealed = 0
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.hold:
            future.set_result(None)
        self.pending.append(future)
        return [future]

    def discard(self) -> None:
        self.changes = self.sealed = 0
        self.discarded += 1


class Rig:
    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        highwater: Callable[[Partition], int | None] = lambda partition: None,
        rebalancing: Callable[[], bool] = lambda: False,
    ) -> None:
        self.kafka = Kafka()
        self.log: list[str] = []
        self.effects = Effects(self.log)
        self.state = State(self.log)
        self.timed: list[Mapping[str, frozenset[int]]] = []
        self.checkpointer = Checkpointer(
            self.kafka.commit, self.kafka.starts, self.kafka.seek, monotonic, highwater, rebalancing
        )

        async def tick(owned: Mapping[str, frozenset[int]]) -> None:
            self.timed.append(owned)
            self.log.append("timed")

        self.checkpointer.register(effects=[self.effects], states=[self.state], timed=[tick])
        self.checkpointer.on_assigned({(GPU, 0), (GPU, 1)})

    async def process(self, *records: tuple[int, int]) -> list[tuple[int, int]]:
        """Hand (partition, offset) records to the checkpointer; those processed."""
        done: list[tuple[int, int]] = []

        async def handle(batch: list[tuple[int, int]]) -> None:
            done.extend(batch)
            self.state.changes += len(batch)

        await self.checkpointer.process(list(records), lambda r: (GPU, r[0], r[1]), handle)
        return done


async def test_a_checkpoint_makes_effects_durable_then_writes_state_then_commits() -> None:
    rig = Rig()
    assert await rig.process((0, 0), (0, 1), (1, 0)) == [(0, 0), (0, 1), (1, 0)]
    assert await rig.checkpointer.checkpoint()
    assert rig.log == ["timed", "effects", "state x3"]
    assert rig.kafka.commits[-1] == {(GPU, 0): 2, (GPU, 1): 1}


async def test_a_jump_is_sought_back_and_nothing_past_it_is_committed() -> None:
    """Defect 3 (a88ba1b): offsets the consumer skipped were committed past."""
    rig = Rig()
    await rig.process((0, 0), (0, 1))
    assert await rig.process((0, 4), (0, 5)) == []  # 2 and 3 never came
    assert rig.kafka.seeks == [((GPU, 0), 2)]
    await rig.checkpointer.checkpoint()
    assert rig.kafka.committed[(GPU, 0)] == 2
    assert await rig.process((0, 5), (0, 2), (0, 3), (0, 4)) == [(0, 2), (0, 3), (0, 4)]
    await rig.checkpointer.checkpoint()
    assert rig.kafka.committed[(GPU, 0)] == 5


async def test_a_jump_whose_seek_did_not_take_is_sought_again_without_new_records() -> None:
    """The kill -9 x10 fault run (CI, stop 28): a gpu partition stopped for good. Faust dropped
    the re-read records (a batch fetched before the seek moved its read offset past them), the
    rest of the partition had been read and ignored, and only a new record could seek again."""
    now = [0.0]
    rig = Rig(monotonic=lambda: now[0])
    await rig.process((0, 0))
    await rig.process((0, 5))  # 1-4 skipped: sought back to 1
    await rig.process((0, 6), (0, 7))  # the end of the partition, ignored; 1-4 never come
    assert rig.kafka.seeks == [((GPU, 0), 1)]
    await rig.checkpointer.checkpoint()
    assert rig.kafka.seeks == [((GPU, 0), 1)], "sought again before the seek had time to take"
    now[0] = RESEEK_AFTER_S
    await rig.checkpointer.checkpoint()
    assert rig.kafka.seeks == [((GPU, 0), 1), ((GPU, 0), 1)]
    assert await rig.process((0, 1), (0, 2)) == [(0, 1), (0, 2)]
    now[0] = 3 * RESEEK_AFTER_S
    await rig.checkpointer.checkpoint()
    assert len(rig.kafka.seeks) == 2, "sought again after the partition moved on"


async def test_records_buffered_before_a_seek_do_not_seek_again_while_they_keep_coming() -> None:
    """Chaos seed 744803: a seek back every 5 s while Faust still handed over the thousands of
    records it had buffered before the first seek; each seek threw the re-read away again and
    the partition never moved."""
    now = [0.0]
    rig = Rig(monotonic=lambda: now[0])
    await rig.process((0, 0), (0, 1), (0, 40))  # 2..39 skipped: sought back to 2
    for second in range(1, 20):  # the buffered records past the jump, one batch a second
        now[0] = float(second)
        assert await rig.process((0, 40 + second)) == []
        await rig.checkpointer.checkpoint()
    assert rig.kafka.seeks == [((GPU, 0), 2)]
    assert await rig.process((0, 2), (0, 3)) == [(0, 2), (0, 3)]  # the seek's re-read arrives


async def test_a_partition_that_stopped_with_records_left_is_sought_to_its_next_offset() -> None:
    """Records dropped before admission (here: never handed over) with nothing after them to
    reveal the jump: the high watermark says records are left, so the checkpoint seeks."""
    now = [0.0]
    highwater = {(GPU, 0): 4, (GPU, 1): 0}
    rig = Rig(monotonic=lambda: now[0], highwater=highwater.get)
    await rig.process((0, 0))
    await rig.checkpointer.checkpoint()
    now[0] = STALLED_AFTER_S - 1
    await rig.checkpointer.checkpoint()
    assert rig.kafka.seeks == []
    now[0] = STALLED_AFTER_S
    await rig.checkpointer.checkpoint()
    assert rig.kafka.seeks == [((GPU, 0), 1)], "partition 1 is read to its end: not sought"
    assert rig.checkpointer.unread(0) == [GPU] and rig.checkpointer.unread(1) == []


async def test_a_partition_whose_end_is_not_known_yet_counts_as_unread() -> None:
    """Chaos seed 809090: a late-B alert (an export without a prior approval) fired by the
    export topic's time while the approval's topic, never fetched yet in that generation, was
    not counted as behind."""
    highwater: dict[Partition, int | None] = {(GPU, 0): None, (GPU, 1): 3}
    rig = Rig(highwater=highwater.get)
    assert rig.checkpointer.unread(0) == [GPU], "start offset not known yet"
    await rig.process((0, 0), (1, 0), (1, 1), (1, 2))
    assert rig.checkpointer.unread(0) == [GPU], "end not known yet"
    assert rig.checkpointer.unread(1) == []


async def test_a_checkpoint_still_waiting_when_a_revoke_begins_never_commits() -> None:
    """Chaos seed 744803 (audit fork): a checkpoint's effects were durable before InfluxDB went
    down, then it waited for the batch lock (the batch blocked on InfluxDB) ahead of the
    revoke. When InfluxDB came back it wrote its heads and committed, a minute after the group
    had handed the partitions on; the next owner later recovered those stale heads."""
    rig = Rig()
    await rig.process((0, 0), (0, 1))
    rig.effects.gate.clear()
    interval = asyncio.ensure_future(rig.checkpointer.checkpoint())
    await let_tasks_run()  # phase 2: waits for its effects
    batch_blocked = asyncio.Event()

    async def batch() -> None:  # a batch blocked on InfluxDB, holding the lock
        async with rig.checkpointer.lock:
            await batch_blocked.wait()

    blocked = asyncio.ensure_future(batch())
    await let_tasks_run()
    rig.effects.gate.set()  # the interval checkpoint's effects are durable: it waits for the lock
    await let_tasks_run()
    revoke = asyncio.ensure_future(rig.checkpointer.on_revoked(timeout_s=0))
    await let_tasks_run()  # the revoke checkpoint gave up at once; the revoke waits for the lock
    batch_blocked.set()
    await asyncio.gather(blocked, revoke)
    assert await interval is False
    assert rig.kafka.committed == {(GPU, 0): 0, (GPU, 1): 0}, "committed after the revoke began"
    assert "state x2" not in rig.log


async def test_once_the_consumer_began_a_rebalance_only_the_revoke_checkpoint_commits() -> None:
    """The consumer says a rebalance began before the revoke reaches `on_revoked`: an interval
    checkpoint in between commits nothing; the revoke's own checkpoint commits the batch."""
    rebalancing = [False]
    rig = Rig(rebalancing=lambda: rebalancing[0])
    await rig.process((0, 0), (0, 1))
    rebalancing[0] = True
    assert not await rig.checkpointer.checkpoint()
    assert rig.kafka.committed.get((GPU, 0), 0) == 0
    await rig.checkpointer.on_revoked(timeout_s=5)
    assert rig.kafka.committed[(GPU, 0)] == 2


async def test_a_new_generation_starts_at_the_committed_offset() -> None:
    rig = Rig()
    rig.kafka.committed[(GPU, 1)] = 7
    assert await rig.process((1, 8)) == []  # the record at the commit was never handed over
    assert rig.kafka.seeks == [((GPU, 1), 7)]
    assert await rig.process((1, 6), (1, 7), (1, 8)) == [(1, 7), (1, 8)]


async def checkpoint_waiting_for_its_state_write(rig: Rig) -> asyncio.Future[bool]:
    """A record processed, then a checkpoint left at its (held) changelog write."""
    rig.state.hold = True
    await rig.process((0, 0))
    checkpoint = asyncio.ensure_future(rig.checkpointer.checkpoint())
    await let_tasks_run()
    return checkpoint


async def let_tasks_run() -> None:
    for _ in range(100):
        await asyncio.sleep(0)


async def test_the_commit_waits_for_every_state_write() -> None:
    """Defect 4 (a88ba1b): changelog writes went out with send_soon and the commit relied on a
    producer flush that may return first."""
    rig = Rig()
    checkpoint = await checkpoint_waiting_for_its_state_write(rig)
    assert not checkpoint.done() and rig.kafka.committed[(GPU, 0)] == 0  # the fence's only
    rig.state.pending[-1].set_result(None)
    assert await asyncio.wait_for(checkpoint, 5)
    assert rig.kafka.committed[(GPU, 0)] == 1


async def test_a_failed_state_write_commits_nothing() -> None:
    rig = Rig()
    checkpoint = await checkpoint_waiting_for_its_state_write(rig)
    rig.state.pending[-1].set_exception(ConnectionError("broker gone"))
    assert not await asyncio.wait_for(checkpoint, 5)
    assert rig.kafka.committed[(GPU, 0)] == 0


async def test_state_is_written_only_after_the_effects_are_durable() -> None:
    """Defect 6 (a88ba1b): rule state reached Kafka before the batch's alerts were delivered,
    and a crash between lost the alert for good."""
    rig = Rig()
    rig.effects.failure = ConnectionError("alert delivery failed")
    await rig.process((0, 0))
    assert not await rig.checkpointer.checkpoint()
    assert rig.log == ["timed"] and rig.kafka.commits == [{(GPU, 0): 0, (GPU, 1): 0}]
    # Rewound as a restart would be: the state dropped, the partition read again.
    assert rig.state.discarded >= 2 and ((GPU, 0), 0) in rig.kafka.seeks
    rig.effects.failure = None
    assert await rig.process((0, 0)) == [(0, 0)]


async def test_records_go_on_while_a_checkpoint_waits_for_its_effects() -> None:
    """One country's InfluxDB outage must not hold the batches of the others."""
    rig = Rig()
    await rig.process((0, 0))
    rig.effects.gate.clear()  # a slow write
    checkpoint = asyncio.ensure_future(rig.checkpointer.checkpoint())
    await let_tasks_run()
    assert await rig.process((0, 1)) == [(0, 1)]
    rig.effects.gate.set()
    assert await asyncio.wait_for(checkpoint, 5)
    assert rig.kafka.committed[(GPU, 0)] == 1  # the snapshot's offset, not the later record's
    assert rig.log[-1] == "state x1" and rig.state.changes == 1


async def test_a_fenced_worker_writes_no_state_and_runs_nothing_time_driven() -> None:
    """Defect 5 (a88ba1b): a worker stuck past the session timeout went on confirming heads,
    ticking rules and signing checkpoints with its stale assignment."""
    rig = Rig()
    await rig.process((0, 0))
    assert await rig.checkpointer.checkpoint()
    rig.log.clear()
    rig.kafka.refuse = True  # frozen past the session timeout: the group moved on
    await rig.process((0, 1))
    assert not await rig.checkpointer.checkpoint()
    assert rig.log == []  # no state, nothing timed
    assert await rig.process((0, 2)) == []  # and it takes no more records
    rig.checkpointer.on_assigned({(GPU, 0)})  # the next generation
    assert rig.state.discarded >= 1 and rig.state.changes == 0


async def test_a_revoke_checkpoints_then_forgets_the_generation() -> None:
    rig = Rig()
    await rig.process((0, 0), (0, 1))
    await rig.checkpointer.on_revoked(timeout_s=5)
    assert rig.kafka.committed[(GPU, 0)] == 2
    assert await rig.process((0, 2)) == []  # revoked: nothing is ours
    assert rig.checkpointer.generation == 2


async def test_a_revoke_that_cannot_flush_in_time_commits_nothing() -> None:
    rig = Rig()
    await rig.process((0, 0))
    rig.effects.gate.clear()  # InfluxDB unreachable
    discarded = rig.state.discarded
    await rig.checkpointer.on_revoked(timeout_s=0.05)
    assert rig.kafka.committed[(GPU, 0)] == 0  # only the fence's re-commit of the start
    assert rig.state.discarded == discarded + 1


async def test_the_stop_checkpoint_commits_what_was_processed() -> None:
    rig = Rig()
    await rig.process((1, 0))
    await rig.checkpointer.on_stop(timeout_s=5)
    assert rig.kafka.committed[(GPU, 1)] == 1
    assert await rig.process((1, 1)) == []


async def test_alert_offsets_are_committed_only_once_every_channel_settled_them() -> None:
    rig = Rig()
    settlement = Settlement()
    rig.checkpointer.register(limits=[settlement.limit])
    rig.checkpointer.on_assigned({("alerts.ops", 0)})
    settled = []

    async def handle(batch: list[int]) -> None:
        for offset in batch:
            settled.append(settlement.track(("alerts.ops", 0), offset, channels=2))

    await rig.checkpointer.process([0, 1, 2], lambda o: ("alerts.ops", 0, o), handle)
    settled[0]()
    settled[0]()  # offset 0: both channels done
    settled[1]()  # offset 1: one of two
    await rig.checkpointer.checkpoint()
    assert rig.kafka.committed[("alerts.ops", 0)] == 1
    settled[1]()
    settled[2]()
    settled[2]()
    await rig.checkpointer.checkpoint()
    assert rig.kafka.committed[("alerts.ops", 0)] == 3


@pytest.mark.parametrize("unknown", [True, False])
async def test_records_of_partitions_not_owned_are_dropped(unknown: bool) -> None:
    rig = Rig()
    partition = 5 if unknown else 1
    rig.checkpointer.on_assigned({(GPU, 0)})
    assert await rig.process((partition, 0)) == []
