"""A stand-in for the Faust table under `TableState`."""

from __future__ import annotations

from typing import Any


class RecordingTable:
    """The two things TableState uses of a Faust table: `data` and `send_changelog`."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.changelog: list[tuple[int, str, Any]] = []

    def send_changelog(self, partition: int, key: str, value: Any, **_: Any) -> None:
        self.changelog.append((partition, key, value))
