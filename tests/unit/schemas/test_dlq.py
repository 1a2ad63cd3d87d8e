import base64
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given

from agents.dlq_crypto import DlqCipher
from schemas import DeadLetter, DecodeError, decode, decode_as
from schemas.deadletter import MAX_KEY_BYTES, MAX_RAW_BYTES
from tests.strategies.schemas import dead_letters
from tests.unit.schemas.helpers import encode, gpu

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
CIPHER = DlqCipher([bytes(range(32))])


def _letter(raw: bytes, key: bytes | None = None, topic: str = "t") -> DeadLetter:
    return DeadLetter.for_record(
        topic=topic,
        partition=3,
        offset=42,
        key=key,
        value=raw,
        error=_error_for(raw),
        received_ts=NOW,
        seal=CIPHER.seal,
        pseudonyms={},
    )


def _opened(record: DeadLetter) -> bytes:
    assert record.raw_sealed is not None
    return CIPHER.open(record.raw_sealed, record.aad)


def _error_for(raw: bytes, family: str = "gpu") -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        decode(raw, family)
    return caught.value


@given(dead_letters())
def test_round_trip(record: DeadLetter) -> None:
    assert decode_as(record.model_dump_json().encode(), DeadLetter) == record


def test_for_record_keeps_bytes_and_names_fields() -> None:
    raw = encode(gpu(gpu_util_pct=140, country="XX"))
    error = _error_for(raw)
    record = _letter(raw, key=b"fra-1", topic="telemetry.gpu")
    assert _opened(record) == raw
    assert base64.b64decode(record.key_b64 or "") == b"fra-1"
    assert {(e.field, e.value) for e in record.errors} == {
        ("country", "XX"),
        ("gpu_util_pct", "140"),
    }
    assert record.reason == error.reason and "\n" not in record.reason
    assert decode_as(record.model_dump_json().encode(), DeadLetter) == record


def test_offending_values_are_truncated() -> None:
    error = _error_for(encode(gpu(node="n" * 1000)))  # too long for Name (256)
    issue = error.issues[0]
    assert issue.field == "node" and issue.value is not None
    assert len(issue.value) <= 123 and issue.value.endswith("...")


def test_oversized_value_truncated_with_note() -> None:
    raw = b"x" * (MAX_RAW_BYTES + 10)
    record = _letter(raw)
    assert len(_opened(record)) == MAX_RAW_BYTES and "truncated" in record.reason


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("raw_sealed.nonce_b64", "not base64 here!"),
        ("raw_sealed.key_id", "KEY"),
        ("partition", -1),
        ("offset", -1),
        ("topic", ""),
        ("reason", ""),
    ],
)
def test_constraints(field: str, value: object) -> None:
    doc = {
        "topic": "t",
        "partition": 0,
        "offset": 0,
        "raw_sealed": {"key_id": "0" * 16, "nonce_b64": "A" * 16, "ciphertext_b64": "AAEC"},
        "errors": [],
        "reason": "r",
        "received_ts": "2025-03-01T12:00:00Z",
    }
    head, _, sub = field.partition(".")
    if sub:
        doc[head] = doc[head] | {sub: value}  # type: ignore[operator]
    else:
        doc[head] = value
    with pytest.raises(DecodeError) as caught:
        decode_as(encode(doc), DeadLetter)
    assert [i.field for i in caught.value.issues] == [field]


def test_a_cut_value_keeps_its_size_and_hash_and_a_long_key_is_cut_too() -> None:
    raw = b"y" * (MAX_RAW_BYTES * 4)
    record = _letter(raw, key=b"k" * 5000)
    assert (record.raw_size, record.raw_sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
    assert len(base64.b64decode(record.key_b64 or "")) == MAX_KEY_BYTES
    assert "key truncated" in record.reason and len(record.model_dump_json()) < 1_000_000
