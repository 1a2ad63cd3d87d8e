"""Checkpoints: the one place a worker commits Kafka offsets.

The worker's input topics are declared with `acks=False`: Faust tracks none of their offsets.
Instead, per partition, this module records the next offset to process in the current
generation of the consumer group (a generation = one assignment, between two rebalances) and
admits records only in order (`admit`). A checkpoint runs every `SOVWATCH_WORKER__CHECKPOINT_S`,
on every revoke (inside the rebalance callback) and on stop, under the same lock as every batch:

1. effects: the pending InfluxDB points are written and every dead-letter and alert delivery is
   awaited (`Effects.flush`);
2. fence: the offsets committed so far are committed again. The broker refuses a commit of a
   stale generation, so a worker that was frozen past its session timeout learns here that it
   lost its partitions, before it writes any state or fires anything time-driven;
3. timed work of the owned partitions (`Timed`: the time-driven rules, signing audit periods);
4. state: the changed rule-state keys and audit heads are written to their changelogs and each
   write is awaited (`State.write`);
5. commit: exactly the processed offsets. Then `after_commit` (publishing signed audit periods).

A failure in 1-4 commits nothing. A crash replays from the last commit onto state that matches
it: each state records how far it applied each partition (rule state: an applied-offset marker;
audit heads: the offset of the last event chained), so a replay after a crash between 4 and 5
re-applies nothing. Within a generation the next record of a partition must be the last + 1;
anything past it is dropped, the partition is sought back and the jump counted; nothing is
committed past an offset that was not processed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from agents import metrics

log = logging.getLogger(__name__)

Partition = tuple[str, int]
"""A topic and a partition number."""

E = TypeVar("E")

RESEEK_AFTER_S = 30.0
"""A jump still not read again after this long is sought back again (and logged again)."""


class FencedError(Exception):
    """The broker refused a commit: this worker's generation is over."""


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
    """Step 1: makes every effect handed to it so far durable, or raises."""

    async def flush(self) -> None: ...


class State(Protocol):
    """Step 4: changes not yet in their changelog."""

    def write(self) -> list[Awaitable[object]]:
        """Send every change to its changelog; the writes to await."""
        ...

    def discard(self) -> None:
        """Forget the changes not written (the partitions are gone, or the writer was fenced)."""
        ...


Timed = Callable[[Mapping[str, frozenset[int]]], Awaitable[None]]
"""Step 3: work driven by time, given the partitions owned now per topic."""


class Checkpointer:
    def __init__(
        self,
        commit: CommitOffsets,
        starts: StartOffsets,
        seek: Seek,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._commit = commit
        self._starts = starts
        self._seek = seek
        self._monotonic = monotonic
        self.lock = asyncio.Lock()
        self.generation = 0
        self._owned: frozenset[Partition] = frozenset()
        self._next: dict[Partition, int] = {}  # next offset to process, this generation
        self._committed: dict[Partition, int] = {}  # committed (or the start), this generation
        self._sought: dict[Partition, tuple[int, float]] = {}  # jump: offset sought back to, when
        self._fenced = False
        self._stopped = False
        self._effects: list[Effects] = []
        self._states: list[State] = []
        self._timed: list[Timed] = []
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._limits: list[Callable[[Partition, int], int]] = []

    def register(
        self,
        *,
        effects: Iterable[Effects] = (),
        states: Iterable[State] = (),
        timed: Iterable[Timed] = (),
        after_commit: Iterable[Callable[[], Awaitable[None]]] = (),
        limits: Iterable[Callable[[Partition, int], int]] = (),
    ) -> None:
        """`limits`: how far a partition may be committed, given its next offset (a stage whose
        effects of a record settle later than its checkpoint: the alert channels)."""
        self._effects.extend(effects)
        self._limits.extend(limits)
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
        if sought is not None and sought[0] == expected and now - sought[1] < RESEEK_AFTER_S:
            return  # a record fetched before the seek took effect
        self._sought[key] = (expected, now)
        metrics.READ_JUMPS.labels(topic=key[0]).inc()
        log.warning(
            "%s[%d]: read offset %d where %d was next; seeking back to %d (nothing is committed "
            "past it)",
            key[0], key[1], offset, expected, expected,
        )  # fmt: skip
        try:
            await self._seek(key, expected)
        except Exception as exc:  # revoked meanwhile: its next owner starts at the commit
            log.info("%s[%d]: not sought back: %r", key[0], key[1], exc)

    async def checkpoint(self, reason: str = "interval") -> bool:
        """Run one checkpoint (see the module docstring); True if offsets were committed."""
        async with self.lock:
            return await self._checkpoint(reason)

    async def _checkpoint(self, reason: str) -> bool:
        if not self._owned or self._fenced:
            return False
        started = time.perf_counter()
        try:
            for effects in self._effects:
                await effects.flush()
            missing = set(self._owned) - set(self._committed)
            if missing and not await self._learn_starts(missing):
                return False
            await self._fence()
            owned = self.owned()
            for timed in self._timed:
                await timed(owned)
            writes = [write for state in self._states for write in state.write()]
            if writes:
                await asyncio.gather(*writes)
            offsets = self._committable()
            if offsets and not await self._commit(offsets):
                raise FencedError("the broker refused the commit")
            self._committed.update(offsets)
            for hook in self._after_commit:
                await hook()
        except FencedError as exc:
            self._fenced = True
            metrics.CHECKPOINTS.labels(outcome="fenced").inc()
            log.warning(
                "checkpoint (%s): this worker's generation is over (%s): it writes no state and "
                "commits nothing until its next assignment",
                reason,
                exc,
            )
            return False
        except Exception:
            metrics.CHECKPOINTS.labels(outcome="failed").inc()
            log.exception("checkpoint (%s) failed: nothing committed, retried at the next", reason)
            return False
        metrics.CHECKPOINTS.labels(outcome="committed").inc()
        metrics.CHECKPOINT_SECONDS.observe(time.perf_counter() - started)
        return True

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
        if not await self._commit({key: self._committed[key] for key in self._owned}):
            raise FencedError("the broker refused this generation's commit")

    async def on_revoked(self, timeout_s: float) -> None:
        """A rebalance takes every partition away: checkpoint (at most `timeout_s`), then
        forget everything of this generation, written or not."""
        async with self.lock:
            try:
                await asyncio.wait_for(self._checkpoint("revoke"), timeout_s)
            except TimeoutError:
                log.warning(
                    "revoke checkpoint not done after %.0fs (InfluxDB unreachable?): nothing "
                    "committed, the next owner replays from the last checkpoint",
                    timeout_s,
                )
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
        self._fenced = False
        for state in self._states:
            state.discard()

    async def on_stop(self, timeout_s: float) -> None:
        """The worker stops: no more batches; a last checkpoint (at most `timeout_s`)."""
        async with self.lock:
            self._stopped = True
            try:
                await asyncio.wait_for(self._checkpoint("stop"), timeout_s)
            except TimeoutError:
                log.warning(
                    "stop checkpoint not done after %.0fs: nothing committed, the next owner "
                    "replays from the last checkpoint",
                    timeout_s,
                )
