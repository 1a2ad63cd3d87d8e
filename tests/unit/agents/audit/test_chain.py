"""Sequencing: consecutive per site, nothing skipped, doubled or forked by replays, restarts,
revokes or a worker fenced out of its generation."""

from __future__ import annotations

import itertools

from agents.audit.chain import AuditChain, Head, Sequenced
from agents.audit.records import HASH, PREV_HASH, SEQ, Frontier
from agents.pending_changes import MemoryTable
from tests.unit.agents.audit.fixtures import audit_event
from tests.unit.agents.fakes import checkpoint_write


def _placed(result: Sequenced | str) -> Sequenced:
    assert isinstance(result, Sequenced), result
    return result


def _seq(placed: Sequenced | str) -> int:
    return _placed(placed).seq


def test_each_site_gets_consecutive_numbers_linked_by_hash() -> None:
    chain = AuditChain(MemoryTable())
    placed: list[Sequenced] = []
    for i in range(6):
        for site in ("a", "b"):
            placed.append(_placed(chain.sequence(audit_event(i, site=site), 0, len(placed))))
    a = [p.record for p in placed if p.site == "a"]
    assert [r[SEQ] for r in a] == [1, 2, 3, 4, 5, 6]
    assert all(r[PREV_HASH] == prev[HASH] for prev, r in itertools.pairwise(a))
    head = chain.head("a")
    assert (head.seq, head.hash, head.offset) == (6, a[-1][HASH], 10)


def test_heads_reach_the_table_and_its_changelog_only_when_written() -> None:
    table = MemoryTable()
    chain = AuditChain(table)
    chain.sequence(audit_event(0), 3, 0)
    assert table.data == {} and table.changelog == []
    assert len(checkpoint_write(chain)) == 1
    assert Head.from_bytes(table.data[b"fra-1"]).seq == 1
    assert table.changelog[0][:2] == (3, b"fra-1")  # the partition of the site's events


def test_a_checkpoint_writes_the_head_as_sealed_not_as_changed_since() -> None:
    """The head read back from a sealed change was the sealed object itself: sequencing the next
    event changed the snapshot the checkpoint then wrote, a head covering an event whose record
    was not yet durable (a crash then skipped it as covered: a lost record)."""
    table = MemoryTable()
    chain = AuditChain(table)
    chain.sequence(audit_event(0), 0, 0)
    chain.seal()  # the checkpoint's snapshot: offset 0
    chain.sequence(audit_event(1), 0, 1)  # a batch while the checkpoint waits for its effects
    for write in chain.write():
        assert write is not None
    written = Head.from_bytes(table.data[b"fra-1"])
    assert (written.seq, written.offset) == (1, 0)
    assert chain.head("fra-1").seq == 2


def test_a_replay_after_a_crash_resequences_identically() -> None:
    table = MemoryTable()
    events = [audit_event(i) for i in range(10)]
    before = AuditChain(table)
    for offset, e in enumerate(events[:4]):
        before.sequence(e, 0, offset)
    checkpoint_write(before)  # a checkpoint covered offsets 0..3, then the worker died after 4..9
    lost = [before.sequence(e, 0, offset) for offset, e in enumerate(events) if offset >= 4]
    after = AuditChain(table)  # a new worker: the written table, nothing else
    replayed = [after.sequence(e, 0, offset) for offset, e in enumerate(events) if offset >= 4]
    assert replayed == lost  # same seq, same prev_hash, same point
    assert after.head("fra-1").seq == 10


def test_events_a_written_head_covers_are_skipped_not_numbered_again() -> None:
    """A crash between the head write and the offset commit: the replay starts before the
    head's offset."""
    table = MemoryTable()
    chain = AuditChain(table)
    first = [chain.sequence(audit_event(i), 0, i) for i in range(5)]
    checkpoint_write(chain)
    again = AuditChain(table)
    assert [again.sequence(audit_event(i), 0, i) for i in range(3, 5)] == ["covered"] * 2
    assert again.sequence(audit_event(5), 0, 5) == _placed(
        AuditChain(table).sequence(audit_event(5), 0, 5)
    )
    assert _seq(first[-1]) == 5


def test_an_agent_restart_does_not_turn_re_read_events_into_duplicates() -> None:
    """Defect 1 (a88ba1b): sequence offsets 0..3, the checkpoint covers 0..1, the agent
    restarts and reads 2 and 3 again. They were 'duplicate' (their ids were in the working
    head that outlived the restart), the durable head stopped and seqs were reused later."""
    table = MemoryTable()
    chain = AuditChain(table)
    for offset in range(2):
        chain.sequence(audit_event(offset), 0, offset)
    checkpoint_write(chain)  # the checkpoint: heads of 0..1, offset 2 committed
    lost = [_placed(chain.sequence(audit_event(offset), 0, offset)) for offset in (2, 3)]
    chain.discard()  # the restart (or a revoke): nothing uncheckpointed survives
    reread = [chain.sequence(audit_event(offset), 0, offset) for offset in (2, 3)]
    assert reread == lost
    fourth = _placed(chain.sequence(audit_event(4), 0, 4))
    assert fourth.seq == 5
    checkpoint_write(chain)
    assert AuditChain(table).head("fra-1").seq == 5


def test_a_fenced_worker_s_head_changes_never_reach_the_table() -> None:
    table = MemoryTable()
    chain = AuditChain(table)
    chain.sequence(audit_event(0), 0, 0)
    checkpoint_write(chain)
    chain.sequence(audit_event(1), 0, 1)  # processed by a worker frozen past its session
    chain.discard()  # the checkpoint's fence refused it: the changes are dropped
    checkpoint_write(chain)
    assert Head.from_bytes(table.data[b"fra-1"]).seq == 1
    assert len(table.changelog) == 1


def test_a_producer_duplicate_at_another_offset_gets_no_second_number() -> None:
    chain = AuditChain(MemoryTable())
    assert _seq(chain.sequence(audit_event(0), 0, 0)) == 1
    assert chain.sequence(audit_event(0), 0, 1) == "duplicate"
    assert _seq(chain.sequence(audit_event(1), 0, 2)) == 2
    # The duplicate's offset is covered by the head: a replay skips it the same way.
    assert chain.head("fra-1").offset == 2


def test_a_checkpoint_stays_pending_until_published_and_covers_the_period() -> None:
    table = MemoryTable()
    chain = AuditChain(table)
    hashes = [str(_placed(chain.sequence(audit_event(i), 0, i)).record[HASH]) for i in range(5)]
    checkpoint = chain.begin_checkpoint("fra-1", "2025-03-01T09:00:00+00:00", "k")
    assert checkpoint is not None
    frontier = Frontier()
    for h in hashes:
        frontier.push(h)
    assert (checkpoint.first_seq, checkpoint.last_seq) == (1, 5)
    assert checkpoint.merkle_root == frontier.root() and checkpoint.last_hash == hashes[-1]
    checkpoint_write(chain)
    # Crash before publishing: the same checkpoint comes back from the written head.
    assert AuditChain(table).pending("fra-1") == [checkpoint]
    assert chain.begin_checkpoint("fra-1", "later", "k") is None  # nothing new since
    chain.sequence(audit_event(5), 0, 5)
    nxt = chain.begin_checkpoint("fra-1", "later", "k")
    assert nxt is not None and (nxt.first_seq, nxt.last_seq) == (6, 6)
    assert chain.pending("fra-1") == [checkpoint, nxt]  # periods queue up until published
    chain.finish_checkpoint(checkpoint)
    assert chain.pending("fra-1") == [nxt]


def test_the_head_round_trips_through_bytes_and_ignores_retired_fields() -> None:
    head = Head(seq=3, hash="ab" * 32, frontier=[(1, "cd" * 32)], recent=["e1"])
    assert Head.from_bytes(head.to_bytes()) == head
    assert Head.from_bytes(None) == Head()
    old = head.to_bytes()[:-1] + b',"recent_offsets":[4],"pending_checkpoint":{"a":1}}'
    assert Head.from_bytes(old) == Head(**{**head.__dict__, "pending": [{"a": 1}]})


def test_the_recent_window_keeps_the_last_ids() -> None:
    chain = AuditChain(MemoryTable(), recent_ids=2)
    for offset in range(5):
        chain.sequence(audit_event(offset), 0, offset)
    assert chain.head("fra-1").recent == [audit_event(3).event_id, audit_event(4).event_id]
