"""Checkpoints: the one place a worker commits Kafka offsets.

The worker's input topics are declared with `acks=False`: Faust tracks none of their offsets.
Instead, per partition, this module records the next offset to process in the current
generation of the consumer group (a generation = one assignment, between two rebalances) and
admits records only in order (`admit`). A checkpoint runs every `SOVWATCH_WORKER__CHECKPOINT_S`,
on every revoke (inside the rebalance callback) and on stop:

1. under the batch lock, briefly: the **fence** (the offsets committed so far are committed
   again; the broker refuses a stale generation, so a worker frozen past its session timeout
   learns here that it lost its partitions, before it fires or writes anything); the **timed
   work** of the owned partitions (time-driven rules, signing audit periods); then a snapshot:
   the offsets processed so far, the state changes so far sealed (`State.seal`), everything the
   sinks hold handed over (`Effects.seal`);
2. without the lock (batches go on): wait until those effects are durable: the InfluxDB points
   written, every dead-letter and alert delivery acknowledged;
3. under the lock: the fence again, the sealed state written to its changelogs with each write
   awaited (`State.write`), then exactly the snapshot's offsets committed, then `after_commit`
   (publishing signed audit periods).

A failure in 1-3 commits nothing. If effects could not be made durable (Kafka refused a
delivery, a write was abandoned), the generation is rewound: state changes dropped, every owned
partition sought back to its committed offset, as a restart would. A crash replays from the last
commit onto state that matches it: each state records how far it applied each partition (rule
state: an applied-offset marker; audit heads: the offset of the last event chained), so a replay
after a crash between the state write and the commit re-applies nothing. Within a generation the
next record of a partition must be the last + 1; anything past it is dropped, the partition is
sought back and the jump counted; nothing is committed past an offset that was not processed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from agents import metrics

log = logging.getLogger(__name__)

Partition = tuple[str, int]
"""A topic and a partition number."""

E = TypeVar("E")

STALLED_AFTER_S = 30.0
"""A partition with records left to read (below its high watermark) that has not moved for this
long is sought to its next offset: records dropped before they were admitted (a batch while the
start offsets could not be read, a worker fenced meanwhile) are asked for again."""

RESEEK_AFTER_S = 5.0
"""A jump is sought back once; records past it that arrive afterwards are ones Faust had
buffered before the seek and are dropped without seeking again. Only when none has arrived for
this long and the partition has still not moved is it sought again: the seek was lost (Faust
moved its read position past the re-read records)."""


class FencedError(Exception):
    """The broker refused a commit: this worker's generation is over."""


class _NotDurableError(Exception):
    """The effects of a checkpoint's records will never be durable (cause attached)."""


class CommitOffsets(Protocol):
    async def __call__(self, offsets: Mapping[Partition, int], /) -> bool:
        """Commit; False if the group rebalanced since (the broker refused the generation)."""
        ...


class StartOffsets(Protocol):
    async def __call__(self, partitions: Collection[Partition], /) -> dict[Partition, int]:
        """Where processing of each partition starts in a new generation: the group's committed
        offset, or the log's first offset when none was committed or retention deleted it."""
        ...


class Seek(Protocol):
    async def __call__(self, partition: Partition, offset: int, /) -> None: ...


class Effects(Protocol):
    """What must be durable before offsets are committed (the point sinks)."""

    async def seal(self) -> Awaitable[None]:
        """Hand over everything held so far; an awaitable done once it is durable (it raises
        if it never will be)."""
        ...


class State(Protocol):
    """Changes not yet in their changelog."""

    def seal(self) -> None:
        """The changes so far are the ones the next `write` writes."""
        ...

    def write(self) -> list[Awaitable[object]]:
        """Send every sealed change to its changelog; the writes to await."""
        ...

    def discard(self) -> None:
        """Forget the changes not written (the partitions are gone, or the writer was fenced)."""
        ...


Timed = Callable[[Mapping[str, frozenset[int]]], Awaitable[None]]
"""Work driven by time, given the partitions owned now per topic (after the fence)."""


class Checkpointer:
    def __init__(
        self,
        commit: CommitOffsets,
        starts: StartOffsets,
        seek: Seek,
        monotonic: Callable[[], float] = time.monotonic,
        highwater: Callable[[Partition], int | None] = lambda partition: None,
        rebalancing: Callable[[], bool] = lambda: False,
    ) -> None:
        """`highwater`: a partition's offset after its last record, as last fetched (None:
        not known yet). `rebalancing`: whether the consumer began a rebalance (it says so
        before the revoke reaches `on_revoked`)."""
        self._send_commit = commit
        self._starts = starts
        self._seek = seek
        self._monotonic = monotonic
        self._highwater = highwater
        self._rebalancing = rebalancing
        self.lock = asyncio.Lock()  # batches, and the checkpoint's locked phases
        self._one_at_a_time = asyncio.Lock()  # checkpoints
        self.generation = 0
        self._owned: frozenset[Partition] = frozenset()
        self._next: dict[Partition, int] = {}  # next offset to process, this generation
        self._committed: dict[Partition, int] = {}  # committed (or the start), this generation
        self._sought: dict[Partition, tuple[int, float]] = {}  # jump: offset, last record past it
        self._progress: dict[Partition, tuple[int, float]] = {}  # next offset, since when
        self._fenced = False
        self._revoking = False  # a revoke began: only its own checkpoint may still commit
        self._stopped = False
        self._effects: list[Effects] = []
        self._states: list[State] = []
        self._timed: list[Timed] = []
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._limits: list[Callable[[Partition, int], int]] = []
        self._rewound: list[Callable[[], None]] = []

    def register(
        self,
        *,
        effects: Iterable[Effects] = (),
        states: Iterable[State] = (),
        timed: Iterable[Timed] = (),
        after_commit: Iterable[Callable[[], Awaitable[None]]] = (),
        limits: Iterable[Callable[[Partition, int], int]] = (),
        rewound: Iterable[Callable[[], None]] = (),
    ) -> None:
        """`limits`: how far a partition may be committed, given its next offset (a stage whose
        effects of a record settle later than its checkpoint: the alert channels). `rewound`:
        told when the state was dropped and the partitions sought back to their commits."""
        self._effects.extend(effects)
        self._limits.extend(limits)
        self._rewound.extend(rewound)
        self._states.extend(states)
        self._timed.extend(timed)
        self._after_commit.extend(after_commit)

    @property
    def accepting(self) -> bool:
        return bool(self._owned) and not (self._fenced or self._stopped)

    def owned(self) -> dict[str, frozenset[int]]:
        """The partitions owned in this generation, per topic."""
        by_topic: dict[str, set[int]] = {}
        for topic, partition in self._owned:
            by_topic.setdefault(topic, set()).add(partition)
        return {topic: frozenset(parts) for topic, parts in by_topic.items()}

    def unread(self, partition: int) -> list[str]:
        """The owned topics whose partition `partition` has records left to read, as last
        fetched, or may have (its start or its end is not known yet)."""
        topics = []
        for topic, number in self._owned:
            if number == partition:
                next_offset = self._next.get((topic, number))
                highwater = self._highwater((topic, number))
                if next_offset is None or highwater is None or highwater > next_offset:
                    topics.append(topic)
        return topics

    def positions(self) -> dict[Partition, int]:
        """The next offset to process per owned partition (for the lag gauge)."""
        return dict(self._next)

    async def process(
        self,
        events: Sequence[E],
        where: Callable[[E], tuple[str, int, int]],
        handle: Callable[[list[E]], Awaitable[None]],
    ) -> None:
        """One batch: the admitted events through `handle`, never during a checkpoint."""
        async with self.lock:
            accepted = await self.admit(events, where)
            if accepted:
                await handle(accepted)

    async def admit(
        self, events: Sequence[E], where: Callable[[E], tuple[str, int, int]]
    ) -> list[E]:
        """The events to process, in order: each the next offset of an owned partition. The rest
        is dropped: another generation's, read again after a seek, or past a jump (the partition
        is then sought back to its next offset)."""
        if not self.accepting:
            return []
        unknown = {(t, p) for t, p, _ in map(where, events) if (t, p) in self._owned} - set(
            self._next
        )
        if unknown and not await self._learn_starts(unknown):
            return []  # their records are read again once the starts are known (a jump)
        accepted: list[E] = []
        for event in events:
            topic, partition, offset = where(event)
            key = (topic, partition)
            if key not in self._owned:
                continue
            expected = self._next[key]
            if offset == expected:
                self._next[key] = offset + 1
                accepted.append(event)
            elif offset > expected:
                await self._jumped(key, expected, offset)
        return accepted

    async def _learn_starts(self, partitions: Collection[Partition]) -> bool:
        try:
            starts = await self._starts(partitions)
        except Exception as exc:  # Kafka unreachable: asked again at the next batch
            log.warning("start offsets of %d partitions not read: %r", len(partitions), exc)
            return False
        for key in partitions:
            self._next.setdefault(key, starts[key])
            self._committed.setdefault(key, starts[key])
        return True

    async def _jumped(self, key: Partition, expected: int, offset: int) -> None:
        now = self._monotonic()
        sought = self._sought.get(key)
        if sought is not None and sought[0] == expected:
            self._sought[key] = (expected, now)  # buffered before the seek: dropped, not sought
            return
        metrics.READ_JUMPS.labels(topic=key[0]).inc()
        log.warning(
            "%s[%d]: read offset %d where %d was next; seeking back to %d (nothing is committed "
            "past it)",
            key[0], key[1], offset, expected, expected,
        )  # fmt: skip
        await self._seek_back(key, expected, now)

    async def _reseek_stalled(self) -> None:
        """Seek again a jump whose partition has not moved since it was sought back, and seek a
        partition that has not moved for `STALLED_AFTER_S` though records are left to read."""
        now = self._monotonic()
        for key, offset in self._next.items():
            since = self._progress.get(key)
            if since is None or since[0] != offset:
                self._progress[key] = (offset, now)
                if key in self._sought and self._sought[key][0] != offset:
                    del self._sought[key]  # read again since
                continue
            sought = self._sought.get(key)
            if sought is not None:
                if now - sought[1] >= RESEEK_AFTER_S:
                    log.warning(
                        "%s[%d]: offset %d not read again, and nothing past it for %.0fs, after "
                        "seeking back to it; seeking again",
                        key[0], key[1], offset, now - sought[1],
                    )  # fmt: skip
                    await self._seek_back(key, offset, now)
            elif now - since[1] >= STALLED_AFTER_S:
                highwater = self._highwater(key)
                if highwater is not None and highwater > offset:
                    log.warning(
                        "%s[%d]: offset %d not read for %.0fs though the partition ends at %d; "
                        "seeking to it",
                        key[0], key[1], offset, now - since[1], highwater,
                    )  # fmt: skip
                    self._progress[key] = (offset, now)
                    await self._seek_back(key, offset, now)

    async def _seek_back(self, key: Partition, offset: int, now: float) -> None:
        self._sought[key] = (offset, now)
        try:
            await self._seek(key, offset)
        except Exception as exc:  # revoked meanwhile: its next owner starts at the commit
            log.info("%s[%d]: not sought back: %r", key[0], key[1], exc)

    async def checkpoint(self, reason: str = "interval") -> bool:
        """Run one checkpoint (see the module docstring); True if offsets were committed."""
        async with self._one_at_a_time:
            started = time.perf_counter()
            try:
                committed = await self._checkpoint(reason)
            except FencedError as exc:
                self._fenced = True
                metrics.CHECKPOINTS.labels(outcome="fenced").inc()
                log.warning(
                    "checkpoint (%s): this worker's generation is over (%s): it writes no state "
                    "and commits nothing until its next assignment",
                    reason,
                    exc,
                )
                return False
            except _NotDurableError as exc:
                metrics.CHECKPOINTS.labels(outcome="rewound").inc()
                log.error(
                    "checkpoint (%s): effects not durable (%r): rewinding to the last commit",
                    reason,
                    exc.__cause__,
                )
                async with self.lock:
                    await self._rewind()
                return False
            except Exception:
                metrics.CHECKPOINTS.labels(outcome="failed").inc()
                log.exception("checkpoint (%s) failed: nothing committed, retried next", reason)
                return False
            if committed:
                metrics.CHECKPOINTS.labels(outcome="committed").inc()
                metrics.CHECKPOINT_SECONDS.observe(time.perf_counter() - started)
            return committed

    async def _checkpoint(self, reason: str) -> bool:
        async with self.lock:
            if not self._owned or self._fenced or self._superseded(reason):
                return False
            await self._reseek_stalled()
            missing = set(self._owned) - set(self._committed)
            if missing and not await self._learn_starts(missing):
                return False
            await self._fence()
            owned = self.owned()
            for timed in self._timed:
                await timed(owned)
            generation = self.generation
            offsets = self._committable()
            for state in self._states:
                state.seal()
            durable = [await effects.seal() for effects in self._effects]
        try:
            for done in durable:
                await done
        except Exception as exc:
            raise _NotDurableError from exc
        finally:  # cancelled (a bounded revoke or stop): close what was never awaited
            for done in durable:
                if inspect.iscoroutine(done):
                    done.close()
        async with self.lock:
            if generation != self.generation or self._fenced or self._superseded(reason):
                return False  # revoked meanwhile: the next owner replays from the last commit
            await self._fence()
            writes = [write for state in self._states for write in state.write()]
            if writes:
                await asyncio.gather(*writes)
            if offsets and not await self._send_commit(offsets):
                raise FencedError("the broker refused the commit")
            for key, offset in offsets.items():
                self._committed[key] = max(self._committed[key], offset)
            for hook in self._after_commit:
                await hook()
        return True

    async def _rewind(self) -> None:
        """Back to the last commit, as a restart would be: state dropped, partitions sought."""
        for state in self._states:
            state.discard()
        self._sought.clear()
        self._progress.clear()
        for key in list(self._next):
            self._next[key] = self._committed[key]
            try:
                await self._seek(key, self._committed[key])
            except Exception as exc:  # revoked meanwhile: its next owner starts at the commit
                log.info("%s[%d]: not sought back: %r", key[0], key[1], exc)
        for told in self._rewound:
            told()

    def _committable(self) -> dict[Partition, int]:
        offsets: dict[Partition, int] = {}
        for key, next_offset in self._next.items():
            offset = next_offset
            for limit in self._limits:
                offset = min(offset, limit(key, next_offset))
            if key in self._owned and offset > self._committed[key]:
                offsets[key] = offset
        return offsets

    async def _fence(self) -> None:
        """Commit again what is committed: refused if the generation is over."""
        if not await self._send_commit({key: self._committed[key] for key in self._owned}):
            raise FencedError("the broker refused this generation's commit")

    def _superseded(self, reason: str) -> bool:
        """Once a revoke began, only its own checkpoint may write and commit: another one that
        waited meanwhile (for its effects, for the batch lock) would do so late, after the
        broker may have handed the partitions on."""
        return (self._revoking or self._rebalancing()) and reason != "revoke"

    async def on_revoked(self, timeout_s: float) -> None:
        """A rebalance takes every partition away: checkpoint (at most `timeout_s`), then
        forget everything of this generation, written or not."""
        self._revoking = True
        await self._bounded_checkpoint("revoke", timeout_s)
        async with self.lock:
            self._end_generation(frozenset())

    def on_assigned(self, assigned: Iterable[Partition]) -> None:
        """A new generation: these partitions, each starting at its committed offset."""
        self._end_generation(frozenset(assigned))

    def _end_generation(self, owned: frozenset[Partition]) -> None:
        if self._owned or owned:
            self.generation += 1
        self._owned = owned
        self._next.clear()
        self._committed.clear()
        self._sought.clear()
        self._progress.clear()
        self._fenced = False
        self._revoking = False
        for state in self._states:
            state.discard()

    async def on_stop(self, timeout_s: float) -> None:
        """The worker stops: no more batches; a last checkpoint (at most `timeout_s`)."""
        async with self.lock:
            self._stopped = True
        await self._bounded_checkpoint("stop", timeout_s)

    async def _bounded_checkpoint(self, reason: str, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(self.checkpoint(reason), timeout_s)
        except TimeoutError:
            log.warning(
                "%s checkpoint not done after %.0fs (InfluxDB unreachable?): nothing more "
                "committed, the next owner replays from the last checkpoint",
                reason,
                timeout_s,
            )
