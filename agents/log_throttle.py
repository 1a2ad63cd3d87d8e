"""At most one log line per key and interval, for messages that input can repeat at any rate
(an unmapped metric name arrives with every scrape)."""

from __future__ import annotations

import time
from collections.abc import Callable


class LogThrottle:
    """`due(key)` is true at most once per `every_s` for each key. The keys come from input:
    past `max_keys` the memory is cleared (at worst a key is logged again early)."""

    def __init__(
        self,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 1024,
    ) -> None:
        self._every_s = every_s
        self._clock = clock
        self._max_keys = max_keys
        self._logged_at: dict[str, float] = {}

    def due(self, key: str) -> bool:
        now = self._clock()
        last = self._logged_at.get(key)
        if last is not None and now - last < self._every_s:
            return False
        if last is None and len(self._logged_at) >= self._max_keys:
            self._logged_at.clear()
        self._logged_at[key] = now
        return True
