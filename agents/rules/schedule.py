"""Times per state key in a heap, so the engine visits only the keys that are due.

One time per key; setting a new time leaves the old heap entry behind, skipped when it comes up
(and swept once stale entries outnumber live ones), so every operation stays O(log n).
"""

from __future__ import annotations

import heapq


class Schedule:
    def __init__(self) -> None:
        self._at: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def __len__(self) -> int:
        return len(self._at)

    def get(self, key: str) -> float | None:
        return self._at.get(key)

    def set(self, key: str, when: float) -> None:
        if self._at.get(key) == when:
            return
        self._at[key] = when
        heapq.heappush(self._heap, (when, key))
        if len(self._heap) > 2 * len(self._at) + 1024:
            self._heap = [(at, k) for k, at in self._at.items()]
            heapq.heapify(self._heap)

    def earliest(self, key: str, when: float) -> None:
        """Keep the earlier of the key's time and `when`."""
        current = self._at.get(key)
        if current is None or when < current:
            self.set(key, when)

    def discard(self, key: str) -> None:
        self._at.pop(key, None)

    def pop_due(self, now: float) -> list[str]:
        """The keys whose time is at or before `now`, earliest first; they leave the schedule."""
        due: list[str] = []
        heap, at = self._heap, self._at
        while heap and heap[0][0] <= now:
            when, key = heapq.heappop(heap)
            if at.get(key) == when:
                del at[key]
                due.append(key)
        return due
