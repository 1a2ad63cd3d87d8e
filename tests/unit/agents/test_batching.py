"""Batcher and consume: batches by size and age from a task of our own, handed over at once when
the worker stops, bounded memory, and what is held written on exit."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator

from agents.batching import Batcher, consume


class Sink:
    def __init__(self) -> None:
        self.flushed = 0
        self.due_checks = 0

    async def flush_if_due(self) -> None:
        self.due_checks += 1

    async def flush(self) -> None:
        self.flushed += 1


async def stream(items: list[int], then_wait: asyncio.Event | None = None) -> AsyncIterator[int]:
    for item in items:
        yield item
    if then_wait is not None:
        await then_wait.wait()


async def test_batches_are_at_most_max_size_and_keep_arrival_order() -> None:
    batches: list[list[int]] = []

    async def handle(batch: list[int]) -> None:
        batches.append(batch)

    await consume(stream(list(range(7))), Batcher(3, 60), handle, Sink())
    assert [x for batch in batches for x in batch] == list(range(7))
    assert max(len(batch) for batch in batches) <= 3


async def test_a_partial_batch_is_handed_over_after_max_wait() -> None:
    batches: list[list[int]] = []
    hold = asyncio.Event()

    async def handle(batch: list[int]) -> None:
        batches.append(batch)

    task = asyncio.ensure_future(consume(stream([1, 2], hold), Batcher(100, 0.02), handle, Sink()))
    await asyncio.sleep(0.1)
    assert batches == [[1, 2]]  # no timer of Faust's was needed
    hold.set()
    await task


async def test_a_stopping_worker_hands_over_at_once() -> None:
    batches: list[list[int]] = []
    hold = asyncio.Event()
    stopping = [False]

    async def handle(batch: list[int]) -> None:
        batches.append(batch)

    batcher: Batcher[int] = Batcher(100, 3600, stopping=lambda: stopping[0], idle_s=0.01)
    task = asyncio.ensure_future(consume(stream([1], hold), batcher, handle, Sink()))
    await asyncio.sleep(0.05)
    assert batches == []  # an hour's max wait
    stopping[0] = True
    await asyncio.sleep(0.05)
    assert batches == [[1]]
    hold.set()
    await task


async def test_put_blocks_when_two_batches_are_queued() -> None:
    batcher: Batcher[int] = Batcher(2, 60)
    for item in range(4):
        await batcher.put(item)
    blocked = asyncio.ensure_future(batcher.put(4))
    await asyncio.sleep(0.02)
    assert not blocked.done() and batcher.queued == 4
    handled: list[list[int]] = []

    async def handle(batch: list[int]) -> None:
        handled.append(batch)

    async def idle() -> None:
        return None

    runner = asyncio.ensure_future(batcher.run(handle, idle))
    await asyncio.wait_for(blocked, 1)
    batcher.close()
    await asyncio.wait_for(runner, 1)
    assert [x for batch in handled for x in batch] == [0, 1, 2, 3, 4]


async def test_on_exit_what_is_held_is_handed_over_and_the_sink_flushed() -> None:
    handled: list[int] = []
    sink = Sink()

    async def handle(batch: list[int]) -> None:
        handled.extend(batch)

    hold = asyncio.Event()
    task = asyncio.ensure_future(consume(stream([1, 2, 3], hold), Batcher(100, 3600), handle, sink))
    await asyncio.sleep(0.02)
    task.cancel()  # Faust stops the agent
    await asyncio.gather(task, return_exceptions=True)
    assert handled == [1, 2, 3] and sink.flushed == 1


async def test_a_failing_batch_task_fails_the_agent() -> None:
    async def handle(batch: list[int]) -> None:
        raise ValueError("bug in a stage")

    hold = asyncio.Event()
    try:
        await asyncio.wait_for(
            consume(stream(list(range(10)), hold), Batcher(1, 0.01), handle, Sink()), 2
        )
    except ValueError as exc:
        assert "bug in a stage" in str(exc)
    else:
        raise AssertionError("the agent went on without its batch task")


async def test_a_batch_task_failing_while_no_event_comes_fails_the_agent_at_once() -> None:
    # The audit agent's ack callback failed after the topic's last event: the agent waited for
    # the next event forever and the batch it held was never acked.
    async def handle(batch: list[int]) -> None:
        raise ValueError("ack callback failed")

    quiet = asyncio.Event()  # never set: no more events
    task = asyncio.ensure_future(consume(stream([1], quiet), Batcher(100, 0.01), handle, Sink()))
    done, _ = await asyncio.wait({task}, timeout=5)
    task.cancel()
    assert done, "the agent kept waiting for events with a dead batch task"
    error = task.exception()
    assert isinstance(error, ValueError) and "ack callback failed" in str(error)


class Record:
    """Stands for a Faust event: weak-referenceable, like the messages Faust tracks."""


async def test_once_handed_over_an_event_is_not_held_while_the_next_is_awaited() -> None:
    # Faust hands one event object to every agent of its topic and, on a rebalance, clears the
    # agents' queues and waits until no unacked message is referenced any more. An agent that kept
    # the last event it iterated pinned the copy cleared from the other agent's queue: the
    # rebalance waited for it forever.
    hold = asyncio.Event()
    handled = asyncio.Event()
    first = Record()
    seen = weakref.ref(first)

    async def events() -> AsyncIterator[Record]:
        nonlocal first
        item, first = first, None  # type: ignore[assignment]
        yield item
        del item
        await hold.wait()

    async def handle(batch: list[Record]) -> None:
        handled.set()

    task = asyncio.ensure_future(consume(events(), Batcher(10, 0.01), handle, Sink()))
    await asyncio.wait_for(handled.wait(), 5)
    await asyncio.sleep(0.05)
    gc.collect()
    try:
        assert seen() is None, "consume still references the last event it took"
    finally:
        hold.set()
        await task
