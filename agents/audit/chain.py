"""Per-site chain state and the sequencing rules that make the chain exactly-once. Pure logic.

A site's **head** (seq, hash, the partition and offset of the last event chained, recent event
ids, the Merkle frontier of the period since the last signed checkpoint) lives in the table
`sovwatch-audit-heads`. Sequencing changes it in `PendingChanges`; the worker's checkpoint writes
it to the changelog only after InfluxDB acknowledged the records, then commits the offsets.

Why no crash, restart or rebalance can skip or repeat a sequence number: within a generation the
events of a partition arrive exactly once and in offset order (`agents.checkpoint`), and a
site's events are all on one partition (its key; a record keyed otherwise is dead-lettered).
Sequencing is deterministic, so after a crash the events after the committed offset get the same
seq, prev_hash and therefore the same point as before; the events the written head already
covers (its offset: a crash between the head write and the offset commit) are skipped, which is
a fact of the head, not a guess. Uncheckpointed changes are dropped on every revoke and restart:
nothing of them outlives the generation that made them. Producer duplicates (the same event id
at another offset) are caught by the recent-id window.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

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
from agents.pending_changes import PendingChanges
from schemas.audit import AuditEvent


@dataclass
class Head:
    """A site's chain state, stored as JSON bytes (the table's value)."""

    seq: int = 0
    hash: str = GENESIS_HASH
    partition: int = -1
    offset: int = -1  # of the last event chained (or skipped as a duplicate)
    country: str = ""
    recent: list[str] = field(default_factory=list)
    cp_first: int = 1
    frontier: list[tuple[int, str]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # checkpoints to publish

    def copy(self) -> Head:
        return dataclasses.replace(
            self,
            recent=list(self.recent),
            frontier=list(self.frontier),
            pending=[dict(p) for p in self.pending],
        )

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Head:
        if not raw:
            return cls()
        stored = json.loads(raw)
        data = {k: v for k, v in stored.items() if k in _HEAD_FIELDS}
        if stored.get("pending_checkpoint"):  # written before periods could queue up
            data["pending"] = [stored["pending_checkpoint"]]
        data["frontier"] = [(int(h), str(d)) for h, d in data.get("frontier", [])]
        return cls(**data)


_HEAD_FIELDS = frozenset(f.name for f in dataclasses.fields(Head))


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


Skip = Literal["covered", "duplicate"]
"""Why an event gets no record: its site's head already covers its offset (chained before a
crash), or its id is among the site's recent ones (a producer duplicate)."""


class AuditChain:
    """Sequences pseudonymised audit events per site over the heads table (`sovwatch-audit-heads`
    in the worker, `MemoryTable` in tests); its changes are written at checkpoints (`write`)."""

    def __init__(self, table: Any, recent_ids: int = 256) -> None:
        self._heads: PendingChanges[Head] = PendingChanges(table, Head.from_bytes, Head.to_bytes)
        self._recent_max = recent_ids

    def head(self, site: str) -> Head:
        """A copy of the site's head: changing it never changes a change already sealed for the
        running checkpoint (which must write the head as it was at its snapshot)."""
        head = self._heads.get(site.encode())
        return Head() if head is None else head.copy()

    def _put(self, site: str, head: Head) -> None:
        if head.partition < 0:
            raise ValueError(f"audit head of {site!r} has no partition yet: nothing was chained")
        self._heads.put(site.encode(), head, head.partition)

    def sites(self) -> Iterator[str]:
        for key in self._heads:
            yield key.decode()

    def sequence(self, event: AuditEvent, partition: int, offset: int) -> Sequenced | Skip:
        """The record of this event, or why it gets none."""
        site = event.site_id
        head = self.head(site)
        if head.partition == partition and offset <= head.offset:
            return "covered"
        head.partition, head.offset = partition, offset
        if event.event_id in head.recent:
            self._put(site, head)  # the offset moved: a replay skips it the same way
            return "duplicate"
        record = chain_record(event_values(event), head.seq + 1, head.hash)
        frontier = Frontier(head.frontier)
        frontier.push(str(record[HASH]))
        head.seq += 1
        head.hash = str(record[HASH])
        head.country = event.country
        head.frontier = frontier.dump()
        head.recent.append(event.event_id)
        if len(head.recent) > self._recent_max:
            del head.recent[: len(head.recent) - self._recent_max]
        self._put(site, head)
        return Sequenced(site, partition, offset, record)

    def seal(self) -> None:
        """Checkpoint: the head changes so far are the ones `write` writes."""
        self._heads.seal()

    def write(self) -> list[Any]:
        """Checkpoint: every sealed head to the table and its changelog; the writes to await."""
        return self._heads.write()

    def discard(self) -> None:
        """Drop every head change not written (a revoke, a fenced worker)."""
        self._heads.discard()

    def begin_checkpoint(self, site: str, ts: str, key_id: str) -> Checkpoint | None:
        """Close the site's period: a checkpoint to sign and publish, kept as pending in the
        head until `finish_checkpoint` (so a crash re-publishes the same one). None if nothing
        was chained since the last checkpoint."""
        head = self.head(site)
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
        head.pending.append(checkpoint.as_dict())
        self._put(site, head)
        return checkpoint

    def pending(self, site: str) -> list[Checkpoint]:
        """The site's checkpoints begun but not yet published (a crash came between)."""
        return [Checkpoint.from_dict(p) for p in self.head(site).pending]

    def finish_checkpoint(self, checkpoint: Checkpoint) -> None:
        head = self.head(checkpoint.site)
        left = [p for p in head.pending if p.get("last_seq") != checkpoint.last_seq]
        if len(left) != len(head.pending):
            head.pending = left
            self._put(checkpoint.site, head)
