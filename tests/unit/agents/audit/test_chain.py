"""Sequencing: consecutive per site, nothing skipped or doubled by replays, restarts, rebalances."""

from __future__ import annotations

import itertools

from agents.audit.chain import AuditChain, Head, MemoryHeads, Sequenced
from agents.audit.records import HASH, PREV_HASH, SEQ, Frontier
from tests.unit.agents.audit.fixtures import audit_event


def _seq(placed: Sequenced | str) -> int:
    assert isinstance(placed, Sequenced), placed
    return placed.seq


def test_each_site_gets_consecutive_numbers_linked_by_hash() -> None:
    chain = AuditChain(MemoryHeads())
    placed: list[Sequenced] = []
    for i in range(6):
        for site in ("a", "b"):
            result = chain.sequence(audit_event(i, site=site), 0, len(placed))
            assert isinstance(result, Sequenced)
            placed.append(result)
            chain.confirm(result, "DE")
    a = [p.record for p in placed if p.site == "a"]
    assert [r[SEQ] for r in a] == [1, 2, 3, 4, 5, 6]
    assert all(r[PREV_HASH] == prev[HASH] for prev, r in itertools.pairwise(a))
    head = chain.head("a")
    assert (head.seq, head.hash, head.offset) == (6, a[-1][HASH], 10)


def test_a_replay_after_a_crash_resequences_identically_and_skips_what_was_stored() -> None:
    store = MemoryHeads()
    events = [audit_event(i) for i in range(10)]
    before = AuditChain(store)
    first_run = [before.sequence(e, 0, offset) for offset, e in enumerate(events)]
    for done in first_run[:4]:  # InfluxDB acknowledged 4 of them, then the worker died
        assert isinstance(done, Sequenced)
        before.confirm(done, "DE")
    after = AuditChain(store)  # a new worker: same table (changelog), empty memory
    replayed = [after.sequence(e, 0, offset) for offset, e in enumerate(events)]
    assert replayed[:4] == ["stored"] * 4
    assert replayed[4:] == first_run[4:]  # same seq, same prev_hash, same point
    for done in replayed[4:]:
        assert isinstance(done, Sequenced)
        assert after.confirm(done, "DE")
    assert after.head("fra-1").seq == 10


def test_confirms_arriving_for_an_old_assignment_do_not_move_the_head_twice() -> None:
    store = MemoryHeads()
    chain = AuditChain(store)
    first = [chain.sequence(audit_event(i), 0, i) for i in range(3)]
    chain.forget({0})  # rebalance: partition 0 revoked, then assigned again
    again = [chain.sequence(audit_event(i), 0, i) for i in range(3)]
    assert again == first
    for done in [*first, *again]:
        assert isinstance(done, Sequenced)
        chain.confirm(done, "DE")
    assert chain.head("fra-1").seq == 3
    # Meanwhile-confirmed records are skipped, and the working head follows the durable one.
    assert _seq(chain.sequence(audit_event(3), 0, 3)) == 4


def test_a_producer_duplicate_at_another_offset_gets_no_second_number() -> None:
    chain = AuditChain(MemoryHeads())
    assert _seq(chain.sequence(audit_event(0), 0, 0)) == 1
    assert chain.sequence(audit_event(0), 0, 1) == "duplicate"
    assert _seq(chain.sequence(audit_event(1), 0, 2)) == 2


def test_a_checkpoint_stays_pending_until_published_and_covers_the_period() -> None:
    store = MemoryHeads()
    chain = AuditChain(store)
    hashes = []
    for i in range(5):
        done = chain.sequence(audit_event(i), 0, i)
        assert isinstance(done, Sequenced)
        chain.confirm(done, "DE")
        hashes.append(str(done.record[HASH]))
    checkpoint = chain.begin_checkpoint("fra-1", "2025-03-01T09:00:00+00:00", "k")
    assert checkpoint is not None
    frontier = Frontier()
    for h in hashes:
        frontier.push(h)
    assert (checkpoint.first_seq, checkpoint.last_seq) == (1, 5)
    assert checkpoint.merkle_root == frontier.root() and checkpoint.last_hash == hashes[-1]
    # Crash before publishing: the same checkpoint comes back.
    assert AuditChain(store).begin_checkpoint("fra-1", "later", "k") == checkpoint
    chain.finish_checkpoint(checkpoint)
    assert chain.begin_checkpoint("fra-1", "later", "k") is None
    done = chain.sequence(audit_event(5), 0, 5)
    assert isinstance(done, Sequenced)
    chain.confirm(done, "DE")
    nxt = chain.begin_checkpoint("fra-1", "later", "k")
    assert nxt is not None and (nxt.first_seq, nxt.last_seq) == (6, 6)


def test_the_head_round_trips_through_bytes() -> None:
    head = Head(seq=3, hash="ab" * 32, frontier=[(1, "cd" * 32)], recent=["e1"])
    assert Head.from_bytes(head.to_bytes()) == head
    assert Head.from_bytes(None) == Head()


def test_an_event_handed_over_after_a_later_one_of_its_site_gets_the_next_number() -> None:
    chain = AuditChain(MemoryHeads())
    for offset in (0, 1, 3):  # offset 2 comes late (the consumer re-delivers it after 3)
        chain.confirm(_placed(chain.sequence(audit_event(offset), 0, offset)), "DE")
    late = chain.sequence(audit_event(2), 0, 2)
    assert _seq(late) == 4
    chain.confirm(_placed(late), "DE")
    # A replay of all four afterwards stores nothing again.
    assert [chain.sequence(audit_event(i), 0, i) for i in range(4)] == ["stored"] * 4


def test_a_replay_older_than_the_recent_window_is_still_known_as_stored() -> None:
    chain = AuditChain(MemoryHeads(), recent_ids=2)
    for offset in range(5):
        chain.confirm(_placed(chain.sequence(audit_event(offset), 0, offset)), "DE")
    assert chain.head("fra-1").recent_offsets == [3, 4]
    assert [chain.sequence(audit_event(i), 0, i) for i in range(5)] == ["stored"] * 5


def _placed(result: Sequenced | str) -> Sequenced:
    assert isinstance(result, Sequenced), result
    return result
