"""Events taken in batches by a task of our own, not by a Faust timer.

The agent hands every event it iterates to `Batcher.put`; `Batcher.run` (a task the agent
starts) takes them in batches of at most `max_size`, waiting at most `max_wait_s` for a partial
batch to fill, and calls `handle` on each. Between batches, and at least every `idle_s` while
nothing arrives, it calls `idle` (the point sink's age-based flush).

Faust stops its timers as soon as the app starts stopping; this loop keeps running through the
stop and, once `stopping()` is true, hands over what it holds at once.

`put` blocks while `2 * max_size` events are queued: the agent stops iterating, Faust stops
fetching, memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, Protocol, TypeVar

E = TypeVar("E")


class Batcher(Generic[E]):
    def __init__(
        self,
        max_size: int,
        max_wait_s: float,
        stopping: Callable[[], bool] = lambda: False,
        idle_s: float = 0.25,
    ) -> None:
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.idle_s = idle_s
        self._stopping = stopping
        self._items: deque[E] = deque()
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False

    @property
    def queued(self) -> int:
        return len(self._items)

    async def put(self, item: E) -> None:
        while len(self._items) >= 2 * self.max_size:
            self._room.clear()
            await self._room.wait()
        self._items.append(item)
        if len(self._items) == 1 or len(self._items) >= self.max_size:
            self._arrived.set()

    def close(self) -> None:
        """No more items: `run` hands over what is queued and returns."""
        self._closed = True
        self._arrived.set()

    async def run(
        self,
        handle: Callable[[list[E]], Awaitable[None]],
        idle: Callable[[], Awaitable[None]],
    ) -> None:
        while True:
            if not self._items:
                if self._closed:
                    return
                await self._wait(self.idle_s)
            else:
                await self._fill()
            if self._items:
                await handle(self._take())
            await idle()

    async def _fill(self) -> None:
        """Wait until the batch is full, old enough, or the worker stops."""
        deadline = time.monotonic() + self.max_wait_s
        while len(self._items) < self.max_size and not self._closed and not self._stopping():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await self._wait(min(remaining, self.idle_s))  # re-check `stopping` meanwhile

    def _take(self) -> list[E]:
        items = self._items
        count = min(len(items), self.max_size)
        batch = [items.popleft() for _ in range(count)]
        self._room.set()
        return batch

    async def _wait(self, timeout: float) -> None:
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout)


class Flushable(Protocol):
    async def flush_if_due(self) -> None: ...


async def consume(
    events: AsyncIterator[E],
    batcher: Batcher[E],
    handle: Callable[[list[E]], Awaitable[None]],
    sink: Flushable,
) -> None:
    """Feed `events` to `batcher`, whose task hands batches to `handle` and flushes `sink`
    when due; on exit (the stream ended or the agent is stopped) hand over what is held, then
    return (or re-raise the cancellation). If the batch task fails, so does this, with its
    error, at once."""
    runner = asyncio.ensure_future(batcher.run(handle, sink.flush_if_due))
    consumer = asyncio.current_task()

    def fail_the_agent(task: asyncio.Future[None]) -> None:
        # The agent may be waiting for an event that never comes (a quiet topic): without this
        # the error sat in the task. Cancelled here, `finally` re-raises the task's own error.
        if consumer is not None and not task.cancelled() and task.exception() is not None:
            consumer.cancel()

    runner.add_done_callback(fail_the_agent)
    try:
        async for event in events:
            await batcher.put(event)
    finally:
        batcher.close()
        await asyncio.shield(runner)
