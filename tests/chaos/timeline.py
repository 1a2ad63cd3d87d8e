"""What happened when in a chaos run, in seconds since the run began: printed with the seed when
a run fails, so the faults can be lined up with the workers' logs. With a `path`, each note is
also appended there as it happens (to follow a run, or see where a stuck one stands)."""

from __future__ import annotations

import threading
import time
from pathlib import Path


class Timeline:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._began = time.monotonic()
        self._lock = threading.Lock()
        self.entries: list[tuple[float, str]] = []

    def now(self) -> float:
        return time.monotonic() - self._began

    def note(self, text: str) -> None:
        with self._lock:
            self.entries.append((round(self.now(), 1), text))
            if self._path is not None:
                with self._path.open("a") as log:
                    log.write(self._line(*self.entries[-1]) + "\n")

    def lines(self) -> list[str]:
        with self._lock:
            return [self._line(at, text) for at, text in self.entries]

    @staticmethod
    def _line(at: float, text: str) -> str:
        return f"+{at:7.1f} s  {text}"
