"""The rule engine's state store on a Faust table.

Faust writes a table's changelog to the partition of the event being processed, and refuses
writes outside stream iteration. The rule engine also writes from its timer (absence and
deadline rules), so this adapter writes the table's local data and its changelog itself: each
value remembers its partition (`_p`), which is the partition of the events of its group (groups
always include the site, the Kafka key), so a timer write lands where recovery will look.

Within a batch (`batch()`), a key changed many times (every sample of a sustained window) is
sent to the changelog once, with its last value, when the batch ends: the changelog traffic is
per changed key and batch, not per event. The batch's events are acked only after that.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

PARTITION = "_p"


class TableState(MutableMapping[str, Any]):
    def __init__(self, table: Any) -> None:
        self._table = table
        self.partition: int | None = None  # set by the agent for the event being processed
        self._pending: dict[str, int] | None = None  # key -> partition, while in a batch

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Coalesce changelog writes until the block ends (then one write per changed key)."""
        self._pending = {}
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
            data = self._table.data
            for key, partition in pending.items():
                if key in data:
                    self._table.send_changelog(partition, key, data[key])
                else:
                    self._table.send_changelog(partition, key, None, value_serializer="raw")

    def __getitem__(self, key: str) -> Any:
        return self._table.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        partition = self.partition
        # A timer write: the key's own partition, else that of the state it belongs to
        # ("rule|group|alert" belongs to "rule|group").
        for known in (key, key.rsplit("|", 1)[0]):
            if partition is None:
                previous = self._table.data.get(known)
                partition = previous.get(PARTITION) if isinstance(previous, dict) else None
        if partition is None:
            raise RuntimeError(f"no partition known for rule state {key!r}")
        value = {**value, PARTITION: partition}
        self._table.data[key] = value
        if self._pending is not None:
            self._pending[key] = partition
        else:
            self._table.send_changelog(partition, key, value)

    def __delitem__(self, key: str) -> None:
        previous = self._table.data.pop(key)
        # The key's own partition: a delete may concern another group than the current event's.
        partition = previous.get(PARTITION) if isinstance(previous, dict) else None
        if partition is None:
            partition = self.partition
        if partition is None:
            return
        if self._pending is not None:
            self._pending[key] = partition  # not in data at the end: a tombstone
        else:
            self._table.send_changelog(partition, key, None, value_serializer="raw")  # tombstone

    def in_partitions(self, active: Collection[int]) -> Callable[[str], bool]:
        """Whether a key's state belongs to one of the `active` partitions: what a worker may
        judge and write on its timer (the table also holds standby replicas of other workers'
        partitions, which it must only read)."""
        wanted = frozenset(active)
        data = self._table.data

        def owned(key: str) -> bool:
            value = data.get(key)
            return isinstance(value, dict) and value.get(PARTITION) in wanted

        return owned

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._table.data.keys()))

    def __len__(self) -> int:
        return len(self._table.data)
