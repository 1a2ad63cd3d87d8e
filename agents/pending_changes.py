"""Changes to a Faust table that are not checkpointed yet.

Stages read a table through this view and write into it; the table itself (its local data and
its changelog) only changes at a checkpoint. The checkpoint first seals the changes made so far
(`seal`: later changes stay apart), waits until the effects of the records behind them are
durable, then writes the sealed ones (`write`). Until then the changes can be dropped
(`discard`): on a revoke, or when the broker fenced this worker, so state never runs ahead of the
committed offsets in memory either, and a partition that comes back is read from the changelog
state that matches its commit.

Each change knows the changelog partition it belongs to (the partition of the records it came
from), since Faust refuses table writes outside stream iteration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

V = TypeVar("V")

_DELETED: Any = object()


def _same(value: Any) -> Any:
    return value


class PendingChanges(Generic[V]):
    """A read-through view of `table` with the changes since the last checkpoint.

    `decode` turns a stored value into `V` when it is read, `encode` turns `V` into what is
    stored (identity for tables whose serializer does it)."""

    def __init__(
        self,
        table: Any,
        decode: Callable[[Any], V] = _same,
        encode: Callable[[V], Any] = _same,
    ) -> None:
        self._table = table
        self._decode = decode
        self._encode = encode
        self._changes: dict[Any, tuple[int, V]] = {}
        self._sealed: dict[Any, tuple[int, V]] = {}

    def get(self, key: Any) -> V | None:
        change = self._changes.get(key)
        if change is None:
            change = self._sealed.get(key)
        if change is not None:
            value = change[1]
            return None if value is _DELETED else value
        stored = self._table.data.get(key)
        return None if stored is None else self._decode(stored)

    def __contains__(self, key: Any) -> bool:
        return self.get(key) is not None

    def put(self, key: Any, value: V, partition: int) -> None:
        self._changes[key] = (partition, value)

    def delete(self, key: Any, partition: int) -> None:
        self._changes[key] = (partition, _DELETED)

    def __iter__(self) -> Iterator[Any]:
        """Every key with a value now (a snapshot: safe to change the view meanwhile)."""
        changes = {**self._sealed, **self._changes}
        stored = [k for k in self._table.data if k not in changes]
        return iter([*stored, *(k for k, (_, v) in changes.items() if v is not _DELETED)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @property
    def pending(self) -> int:
        return len({**self._sealed, **self._changes})

    def seal(self) -> None:
        """The changes so far are the next checkpoint's; later ones wait for the one after."""
        self._sealed.update(self._changes)
        self._changes = {}

    def write(self) -> list[Awaitable[object]]:
        """Apply every sealed change to the table and send it to the changelog (deletions as
        tombstones); the sends to await."""
        changes, self._sealed = self._sealed, {}
        table = self._table
        data = table.data
        sends: list[Awaitable[object]] = []
        for key, (partition, value) in changes.items():
            if value is _DELETED:
                data.pop(key, None)
                sends.append(table.send_changelog(partition, key, None, value_serializer="raw"))
            else:
                stored = self._encode(value)
                data[key] = stored
                sends.append(table.send_changelog(partition, key, stored))
        return sends

    def discard(self) -> None:
        self._changes.clear()
        self._sealed.clear()


class MemoryTable:
    """A table in memory (tests, benchmarks): its data, and a changelog that records."""

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}
        self.changelog: list[tuple[int, Any, Any]] = []

    def send_changelog(self, partition: int, key: Any, value: Any, **_: Any) -> _Written:
        self.changelog.append((partition, key, value))
        return _Written()


class _Written:
    """A changelog write of `MemoryTable`: done at once."""

    def __await__(self) -> Generator[None, None, None]:
        return
        yield
