"""Per-site chain state and the sequencing rules that make the chain exactly-once. Pure logic.

Two heads per site:

* the **durable head** lives in a store (the Faust table, backed by its changelog): the last
  record InfluxDB acknowledged, the Kafka offset of its event, recent event ids and the Merkle
  frontier of the period since the last checkpoint. It only moves forward, one seq at a time,
  *after* the write (`confirm`), and Faust flushes the changelog before it commits offsets, so
  a committed offset always has its durable head.
* the **working head** is in memory: it runs ahead of the durable one by the records buffered
  or being written.

Why no crash or rebalance can skip or duplicate a sequence number: the events of a site arrive
in offset order and sequencing is deterministic. After a restart, the events up to the durable
head's offset are skipped (already stored), and the ones after it get the same seq, prev_hash
and therefore the same point as before the crash, so re-writing them changes nothing. Producer
duplicates (same event id at another offset) are caught by the recent-id window.

An event the consumer hands over late (after a later one of its site was stored: seen around
rebalances) is below the head's offset yet was never stored. "Already stored" therefore also
needs its id in the recent window, unless it is older than every event of the window (a replay
from before it); a late event gets the next number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from agents.audit.checkpoints import Checkpoint
from agents.audit.records import (
    GENESIS_HASH,
    HASH,
    SEQ,
    Frontier,
    Record,
    chain_record,
    event_values,
)
from schemas.audit import AuditEvent

T = TypeVar("T")


@dataclass
class Head:
    """A site's durable chain state, stored as JSON bytes (the table's value)."""

    seq: int = 0
    hash: str = GENESIS_HASH
    partition: int = -1
    offset: int = -1
    country: str = ""
    recent: list[str] = field(default_factory=list)
    recent_offsets: list[int] = field(default_factory=list)  # of the recent ids' events
    cp_first: int = 1
    frontier: list[tuple[int, str]] = field(default_factory=list)
    pending_checkpoint: dict[str, Any] | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Head:
        if not raw:
            return cls()
        data = json.loads(raw)
        data["frontier"] = [(int(h), str(d)) for h, d in data.get("frontier", [])]
        return cls(**data)


@dataclass
class _Working:
    seq: int
    hash: str
    partition: int
    recent: dict[str, None]  # insertion-ordered set


@dataclass(frozen=True)
class Sequenced:
    """An event placed in the chain: its stored record."""

    site: str
    partition: int
    offset: int
    record: Record

    @property
    def seq(self) -> int:
        return int(self.record[SEQ])


Skip = Literal["stored", "duplicate"]


class HeadStore(Protocol):
    """Durable heads: the site (UTF-8 bytes, the Kafka key) -> `Head.to_bytes()`, each written
    to the partition of the site's events (where recovery looks for it)."""

    def get(self, key: bytes, /) -> bytes | None: ...

    def keys(self) -> Iterable[bytes]: ...

    def put(self, key: bytes, value: bytes, partition: int) -> None: ...


class MemoryHeads(dict[bytes, bytes]):
    """A `HeadStore` in memory (tests, benchmarks): no partitions to write to."""

    def put(self, key: bytes, value: bytes, partition: int) -> None:
        self[key] = value


def _last(n: int, items: list[T], item: T) -> list[T]:
    """`items` with `item` appended, keeping the last `n` (none for 0)."""
    return [*items, item][-n:] if n else []


def _stored(durable: Head, event_id: str, offset: int) -> bool:
    """Whether an event at or below the durable head's offset (same partition) is stored: its
    id is in the recent window, or it is older than every event of the window."""
    if event_id in durable.recent or not durable.recent_offsets:
        return True
    return offset < min(durable.recent_offsets)


class AuditChain:
    """Sequences pseudonymised audit events per site over a store of durable heads (a Faust
    table in the worker: `agents.audit.heads_table.TableHeads`)."""

    def __init__(self, store: HeadStore, recent_ids: int = 256) -> None:
        self._store = store
        self._recent_max = recent_ids
        self._working: dict[str, _Working] = {}

    def head(self, site: str) -> Head:
        return Head.from_bytes(self._store.get(site.encode()))

    def _put(self, site: str, head: Head) -> None:
        self._store.put(site.encode(), head.to_bytes(), head.partition)

    def sites(self) -> Iterator[str]:
        for key in list(self._store.keys()):
            yield key.decode()

    def sequence(self, event: AuditEvent, partition: int, offset: int) -> Sequenced | Skip:
        """The record of this event, or why it gets none (already stored / duplicate id)."""
        site = event.site_id
        durable = self.head(site)
        if (
            durable.partition == partition
            and offset <= durable.offset
            and _stored(durable, event.event_id, offset)
        ):
            return "stored"  # a replay after a restart or rebalance: its record is in InfluxDB
        working = self._working.get(site)
        if working is None or working.seq < durable.seq:
            working = _Working(durable.seq, durable.hash, partition, dict.fromkeys(durable.recent))
            self._working[site] = working
        if event.event_id in working.recent:
            return "duplicate"
        record = chain_record(event_values(event), working.seq + 1, working.hash)
        working.seq += 1
        working.hash = str(record[HASH])
        working.partition = partition
        working.recent[event.event_id] = None
        while len(working.recent) > self._recent_max:
            del working.recent[next(iter(working.recent))]
        return Sequenced(site, partition, offset, record)

    def confirm(self, done: Sequenced, country: str) -> bool:
        """InfluxDB holds `done.record`: move the durable head. False if it was already there
        (a re-sequenced replay)."""
        head = self.head(done.site)
        if done.seq != head.seq + 1:
            return False
        frontier = Frontier(head.frontier)
        frontier.push(str(done.record[HASH]))
        head.seq = done.seq
        head.hash = str(done.record[HASH])
        late = head.partition == done.partition and done.offset < head.offset
        head.partition = done.partition
        head.offset = head.offset if late else done.offset  # a late event never moves it back
        head.country = country
        head.frontier = frontier.dump()
        head.recent = _last(self._recent_max, head.recent, str(done.record["event_id"]))
        head.recent_offsets = _last(self._recent_max, head.recent_offsets, done.offset)
        self._put(done.site, head)
        return True

    def forget(self, partitions: set[int]) -> None:
        """Partitions were revoked: their working heads may be stale once they come back."""
        for site in [s for s, w in self._working.items() if w.partition in partitions]:
            del self._working[site]

    def begin_checkpoint(self, site: str, ts: str, key_id: str) -> Checkpoint | None:
        """Close the site's period: a checkpoint to sign and publish, kept as pending in the
        durable head until `finish_checkpoint` (so a crash re-publishes the same one). None if
        nothing was stored since the last checkpoint."""
        head = self.head(site)
        if head.pending_checkpoint is not None:
            return Checkpoint.from_dict(head.pending_checkpoint)
        if head.seq < head.cp_first:
            return None
        checkpoint = Checkpoint(
            site=site,
            country=head.country,
            first_seq=head.cp_first,
            last_seq=head.seq,
            last_hash=head.hash,
            merkle_root=Frontier(head.frontier).root(),
            ts=ts,
            key_id=key_id,
        )
        head.cp_first = head.seq + 1
        head.frontier = []
        head.pending_checkpoint = checkpoint.as_dict()
        self._put(site, head)
        return checkpoint

    def store_signed(self, checkpoint: Checkpoint) -> None:
        """Keep the signed form as pending, so a re-publish is byte-identical."""
        head = self.head(checkpoint.site)
        head.pending_checkpoint = checkpoint.as_dict()
        self._put(checkpoint.site, head)

    def finish_checkpoint(self, checkpoint: Checkpoint) -> None:
        head = self.head(checkpoint.site)
        pending = head.pending_checkpoint
        if pending is not None and pending.get("last_seq") == checkpoint.last_seq:
            head.pending_checkpoint = None
            self._put(checkpoint.site, head)
