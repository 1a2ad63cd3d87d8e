"""The sovereignty audit hash chain: stored records, their hashes, and Merkle roots. Pure logic.

A chained record is exactly what InfluxDB stores for one audit event (measurement `audit`): its
tags, its fields and its timestamp (`time_ns`), plus the chain fields `seq`, `prev_hash`,
`field_digests` and `hash`. The hash is SHA-256 over the canonical JSON of every other key, so
`sovwatch audit verify` recomputes it from what it reads back, with nothing else to trust.

`field_digests` holds a short digest of every field. It is covered by the hash, so it cannot be
edited unnoticed either; when a record's hash no longer matches, it tells which field changed.

Merkle roots follow RFC 6962 (leaf = H(0x00 || record hash), node = H(0x01 || left || right)),
computed incrementally with a frontier of perfect subtrees so the worker keeps O(log n) state
between checkpoints instead of every hash of the period.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from agents.influx.lineprotocol import FieldValue, encode_line
from agents.influx.points import NOT_FIELDS, SPECS, timestamp_ns
from schemas.audit import AuditEvent

MEASUREMENT: Final = "audit"
GENESIS_HASH: Final = "0" * 64
"""The `prev_hash` of a site's first record."""

TIME: Final = "time_ns"
SEQ: Final = "seq"
PREV_HASH: Final = "prev_hash"
HASH: Final = "hash"
DIGESTS: Final = "field_digests"
DIGEST_CHARS: Final = 8  # 32 bits per field: names a changed field; the record hash is the proof

AUDIT_TAGS: Final[Mapping[str, str]] = SPECS["audit"].tags
"""Tag name -> event attribute, shared with `agents.influx.points` so the stored layout is one
design."""
TAG_NAMES: Final[frozenset[str]] = frozenset(AUDIT_TAGS)

Record = dict[str, FieldValue]


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)  # one encoder: json.dumps with options builds a new one per call (a third of chaining time)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same content, everywhere."""
    return _CANONICAL.encode(value).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def as_stored(value: FieldValue) -> FieldValue:
    """The value InfluxDB gives back for `value`: the line encoder writes a newline in a string
    as the two characters backslash and n, and that is what is stored (and hashed)."""
    return value.replace("\n", "\\n") if isinstance(value, str) else value


def _flatten(value: Mapping[str, Any], prefix: str, out: Record) -> None:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            _flatten(item, f"{name}_", out)
        elif isinstance(item, list):
            out[name] = as_stored(",".join(map(str, item)))
        elif item is not None:
            out[name] = as_stored(item)


def event_values(event: AuditEvent) -> Record:
    """The event's tags and fields as stored (nested models joined with `_`, None left out).

    Same layout as `agents.influx.points.to_line` gives every family, so the `audit` measurement
    keeps its documented tags and field names.
    """
    flat: Record = {}
    _flatten(event.model_dump(mode="json", exclude_none=True), "", flat)
    values: Record = {}
    for tag, path in AUDIT_TAGS.items():
        if path in flat:
            values[tag] = str(flat.pop(path))
    for key, value in flat.items():
        if key not in NOT_FIELDS:
            values[key] = value
    values[TIME] = timestamp_ns(event, discrete=True)
    return values


def field_digests(record: Mapping[str, FieldValue]) -> str:
    """`name:digest` for every key except the hash and the digests, sorted by name."""
    return ",".join(
        f"{key}:{sha256_hex(canonical_json([key, record[key]]))[:DIGEST_CHARS]}"
        for key in sorted(record)
        if key not in (HASH, DIGESTS)
    )


def parse_digests(text: str) -> dict[str, str]:
    pairs = (item.rpartition(":") for item in text.split(",") if item)
    return {name: digest for name, _, digest in pairs}


def record_hash(record: Mapping[str, FieldValue]) -> str:
    """SHA-256 of the canonical JSON of the record without its `hash` key."""
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != HASH}))


def chain_record(values: Mapping[str, FieldValue], seq: int, prev_hash: str) -> Record:
    """The stored record of event values at position `seq` after a record hashed `prev_hash`."""
    record: Record = {**values, SEQ: seq, PREV_HASH: prev_hash}
    record[DIGESTS] = field_digests(record)
    record[HASH] = record_hash(record)
    return record


def record_line(record: Mapping[str, FieldValue]) -> str:
    """The InfluxDB line of a chained record: same record, same line (idempotent replays)."""
    tags = {k: str(v) for k, v in record.items() if k in TAG_NAMES}
    fields = {k: v for k, v in record.items() if k not in TAG_NAMES and k != TIME}
    return encode_line(MEASUREMENT, tags, fields, int(record[TIME]))


def changed_fields(record: Mapping[str, FieldValue]) -> list[str]:
    """Fields whose value no longer matches the digest written with the record.

    Names removed or added fields too. Empty when the digests themselves were rewritten.
    """
    digests = record.get(DIGESTS)
    if not isinstance(digests, str):
        return [DIGESTS]
    expected = parse_digests(digests)
    actual = parse_digests(field_digests(record))
    return sorted(
        name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name)
    )


# --- Merkle trees (RFC 6962) -------------------------------------------------------------------


def merkle_leaf(record_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(record_hash_hex)).digest()


def merkle_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT: Final = hashlib.sha256(b"").hexdigest()


def merkle_root(record_hashes: Sequence[str]) -> str:
    """The RFC 6962 Merkle tree hash over record hashes, in order."""
    frontier = Frontier()
    for value in record_hashes:
        frontier.push(value)
    return frontier.root()


class Frontier:
    """The perfect subtrees of an append-only Merkle tree, largest first: O(log n) state.

    Folding them right to left gives the RFC 6962 root, because RFC 6962 splits n leaves at the
    largest power of two below n, which is exactly this decomposition.
    """

    def __init__(self, peaks: Iterable[tuple[int, str]] = ()) -> None:
        self.peaks: list[tuple[int, bytes]] = [(h, bytes.fromhex(d)) for h, d in peaks]

    def push(self, record_hash_hex: str) -> None:
        self.peaks.append((0, merkle_leaf(record_hash_hex)))
        while len(self.peaks) >= 2 and self.peaks[-1][0] == self.peaks[-2][0]:
            (height, right), (_, left) = self.peaks.pop(), self.peaks.pop()
            self.peaks.append((height + 1, merkle_node(left, right)))

    def root(self) -> str:
        if not self.peaks:
            return EMPTY_ROOT
        acc = self.peaks[-1][1]
        for _, digest in reversed(self.peaks[:-1]):
            acc = merkle_node(digest, acc)
        return acc.hex()

    def dump(self) -> list[tuple[int, str]]:
        return [(h, d.hex()) for h, d in self.peaks]
