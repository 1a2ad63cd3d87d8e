"""Batcher and consume: batches by size and age from a task of our own, handed over at once when
the worker stops, bounded memory, and what is held written on exit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from agents.batching import Batcher, consume


class Sink:
    def __init__(self) -> None:
        self.due_checks = 0

    async def flush_if_due(self) -> None:
        self.due_checks += 1


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


async def test_on_exit_what_is_held_is_handed_over() -> None:
    handled: list[int] = []

    async def handle(batch: list[int]) -> None:
        handled.extend(batch)

    hold = asyncio.Event()
    batcher: Batcher[int] = Batcher(100, 3600)
    task = asyncio.ensure_future(consume(stream([1, 2, 3], hold), batcher, handle, Sink()))
    for _ in range(1000):  # until the batcher holds all three (bounded)
        if batcher.queued == 3:
            break
        await asyncio.sleep(0.001)
    assert batcher.queued == 3, "the agent never queued its three events"
    task.cancel()  # Faust stops the agent
    await asyncio.gather(task, return_exceptions=True)
    assert handled == [1, 2, 3]


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
