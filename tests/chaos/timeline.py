"""What happened when in a chaos run, in seconds since the run began: printed with the seed when
a run fails, so the faults can be lined up with the workers' logs."""

from __future__ import annotations

import threading
import time


class Timeline:
    def __init__(self) -> None:
        self._began = time.monotonic()
        self._lock = threading.Lock()
        self.entries: list[tuple[float, str]] = []

    def now(self) -> float:
        return time.monotonic() - self._began

    def note(self, text: str) -> None:
        with self._lock:
            self.entries.append((round(self.now(), 1), text))

    def lines(self) -> list[str]:
        with self._lock:
            return [f"+{at:7.1f} s  {text}" for at, text in self.entries]
