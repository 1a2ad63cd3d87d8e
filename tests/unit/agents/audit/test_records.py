"""The chained record, its hash, its line, and RFC 6962 Merkle roots."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from agents.audit.records import (
    GENESIS_HASH,
    HASH,
    Frontier,
    as_stored,
    chain_record,
    changed_fields,
    event_values,
    merkle_leaf,
    merkle_node,
    merkle_root,
    record_hash,
    record_line,
)
from agents.influx.points import to_line
from tests.unit.agents.audit.fixtures import audit_event


def test_a_record_hash_covers_every_stored_key_and_the_previous_hash() -> None:
    values = event_values(audit_event(0))
    first = chain_record(values, 1, GENESIS_HASH)
    assert first[HASH] == record_hash(first)
    assert chain_record(values, 1, GENESIS_HASH) == first  # deterministic
    assert chain_record(values, 1, "1" * 64)[HASH] != first[HASH]
    assert chain_record(values, 2, GENESIS_HASH)[HASH] != first[HASH]


def test_the_stored_layout_matches_the_audit_measurement_of_agents_points() -> None:
    event = audit_event(1)
    record = chain_record(event_values(event), 1, GENESIS_HASH)
    ours, theirs = record_line(record), to_line(event)[1]  # no spaces in this event's values
    head_ours, fields_ours, ts_ours = ours.split(" ")
    head_theirs, fields_theirs, ts_theirs = theirs.split(" ")
    assert head_ours == head_theirs  # same measurement and tags
    assert ts_ours == ts_theirs  # same timestamp (event id offset)
    assert set(fields_theirs.split(",")) <= set(fields_ours.split(","))
    assert "seq=1i" in ours and f'hash="{record[HASH]}"' in ours


def test_newlines_are_hashed_as_influxdb_stores_them() -> None:
    record = chain_record(event_values(audit_event(3)), 1, GENESIS_HASH)
    assert record["command"] == 'kubectl get "secrets"\\n#3'
    assert as_stored("a\nb") == "a\\nb"


def test_changed_fields_name_the_edited_field() -> None:
    record = chain_record(event_values(audit_event(0)), 1, GENESIS_HASH)
    assert changed_fields(record) == []
    edited = {**record, "dataset_id": "other"}
    assert changed_fields(edited) == ["dataset_id"]
    dropped = {k: v for k, v in record.items() if k != "encrypted"}
    assert changed_fields(dropped) == ["encrypted"]


def _rfc6962(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle_node(_rfc6962(leaves[:k]), _rfc6962(leaves[k:]))


@given(st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=70))
def test_the_incremental_frontier_gives_the_rfc6962_root(hashes: list[str]) -> None:
    expected = _rfc6962([merkle_leaf(h) for h in hashes]).hex()
    assert merkle_root(hashes) == expected
    frontier = Frontier()
    for h in hashes[: len(hashes) // 2]:
        frontier.push(h)
    resumed = Frontier(frontier.dump())  # as stored in the table between events
    for h in hashes[len(hashes) // 2 :]:
        resumed.push(h)
    assert resumed.root() == expected
    assert len(resumed.peaks) <= max(1, len(hashes)).bit_length()
