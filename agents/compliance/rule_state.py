"""The rule engine's state store on a Faust table, written at checkpoints.

The engine reads and writes it like a dict; the changes wait in `PendingChanges` until the
checkpoint writes them (`write`) or a revoke drops them (`discard`). Each value remembers its
changelog partition (`_p`): the partition of the events of its group (groups always include the
site, the Kafka key), so a timer write lands where recovery looks for it.

Beside the rules' keys the table holds one marker per input partition: the offset up to which
the state has applied that partition's events (`applied`). It is written with the state, on the
same changelog partition, so a replay after a crash between the state write and the offset
commit skips the events the state already holds instead of counting them twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterator, MutableMapping
from typing import Any

from agents.pending_changes import PendingChanges

PARTITION = "_p"
APPLIED = "~applied|"
"""Prefix of the applied-offset markers (no rule id starts with "~")."""


def _marker(topic: str, partition: int) -> str:
    return f"{APPLIED}{topic}|{partition}"


class TableState(MutableMapping[str, Any]):
    def __init__(self, table: Any) -> None:
        self._changes: PendingChanges[dict[str, Any]] = PendingChanges(table)
        self.partition: int | None = None  # set by the engine for the event being processed

    def __getitem__(self, key: str) -> Any:
        value = self._changes.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._changes.get(key)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return self._changes.get(key) is not None

    def _partition_of(self, key: str) -> int | None:
        # The key's own partition, else that of the state it belongs to
        # ("rule|group|alert" belongs to "rule|group").
        for known in (key, key.rsplit("|", 1)[0]):
            previous = self._changes.get(known)
            if isinstance(previous, dict) and PARTITION in previous:
                return int(previous[PARTITION])
        return None

    def __setitem__(self, key: str, value: Any) -> None:
        partition = self.partition if self.partition is not None else self._partition_of(key)
        if partition is None:
            raise RuntimeError(f"no partition known for rule state {key!r}")
        self._changes.put(key, {**value, PARTITION: partition}, partition)

    def __delitem__(self, key: str) -> None:
        previous = self._changes.get(key)
        if previous is None:
            raise KeyError(key)
        # The key's own partition: a delete may concern another group than the current event's.
        partition = previous.get(PARTITION, self.partition)
        if partition is not None:
            self._changes.delete(key, int(partition))

    def applied(self, topic: str, partition: int) -> int:
        """The offset of `topic[partition]` below which this state holds every event (0: none)."""
        marker = self._changes.get(_marker(topic, partition))
        return 0 if marker is None else int(marker["offset"])

    def mark_applied(self, topic: str, partition: int, next_offset: int) -> None:
        self._changes.put(
            _marker(topic, partition), {"offset": next_offset, PARTITION: partition}, partition
        )

    def seal(self) -> None:
        self._changes.seal()

    def write(self) -> list[Awaitable[object]]:
        return self._changes.write()

    def discard(self) -> None:
        self._changes.discard()

    def in_partitions(self, active: Collection[int]) -> Callable[[str], bool]:
        """Whether a key's state belongs to one of the `active` partitions: what a worker may
        judge and write on its timer (the table also holds standby replicas of other workers'
        partitions, which it must only read)."""
        wanted = frozenset(active)
        get = self._changes.get

        def owned(key: str) -> bool:
            value = get(key)
            return isinstance(value, dict) and value.get(PARTITION) in wanted

        return owned

    def partition_of(self, key: str) -> int | None:
        """The partition a key's state belongs to (None: no such state)."""
        return self._partition_of(key)

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._changes if not key.startswith(APPLIED))

    def __len__(self) -> int:
        return sum(1 for _ in self)
