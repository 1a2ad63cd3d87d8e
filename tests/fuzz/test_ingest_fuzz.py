"""Fuzzing the ingest path: bytes -> `Ingest.decode` -> pseudonymise -> points, or a dead letter.

Property, for every input: either a valid event whose point InfluxDB can store, or a
`DecodeError` with a one-line reason and at least one issue whose dead letter fits a Kafka
message; never any other exception. Valid events round-trip unchanged.

Cases: 100,000 seeded-random ones (`tests.strategies.bad_records`, 20 chunks of 5,000) plus
11,500 hypothesis examples (derandomized: CI runs the same inputs every time).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agents.dead_letters import DeadLetterMaker
from agents.dlq_crypto import DlqCipher
from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from schemas.decode import Event, Family
from schemas.envelope import TS_MAX, TS_MIN
from schemas.errors import DecodeError
from schemas.settings import Settings
from streams.simulator.recent import EVERY_FAMILY_MINUTES, recent_records, small_fleet
from tests.strategies.bad_records import BadRecords, Case, Seed
from tests.strategies.schemas import events, json_values

# Generated events are dated up to year 9999: schema validity is the property here, not the
# worker's clock bound (tested in tests/unit/agents/ingest/test_agent.py), so it is lifted.
SETTINGS = Settings.model_validate({"worker": {"max_future_skew_s": 1e12}})
PSEUDONYMISER = Pseudonymiser(b"fuzz-key-0123456789abcdef")
INGEST = Ingest(SETTINGS, PSEUDONYMISER)
DEAD_LETTER = DeadLetterMaker(SETTINGS.topics, DlqCipher([bytes(32)]), PSEUDONYMISER)
TOPIC: dict[Family, str] = {family: topic for topic, family in INGEST.topic_families.items()}
DLQ_BUDGET = 1_000_000
"""A dead letter must fit Kafka's default max message size (1,048,588 bytes) with room."""
INT64 = 1 << 63
CHUNKS, PER_CHUNK = 20, 5_000


def fuzz(examples: int) -> settings:
    """Reproducible hypothesis settings: the same examples on every run and machine."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None)


def _seeds() -> list[Seed]:
    families = {TOPIC[f]: f for f in TOPIC}
    return [
        Seed(families[topic], value)
        for topic, _, value in recent_records(
            SETTINGS.topics, small_fleet(), minutes=EVERY_FAMILY_MINUTES, seed=11
        )
    ]


SEEDS = _seeds()


def _ints(model: BaseModel) -> list[int]:
    found: list[int] = []
    for value in model.__dict__.values():
        if isinstance(value, BaseModel):
            found.extend(_ints(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            found.append(value)
    return found


def assert_storable(event: Event) -> None:
    """The event's point: a line whose timestamp and integers fit InfluxDB's int64."""
    stored = INGEST.pseudonymised(event)
    for _, line in INGEST.points(stored):
        assert "\n" not in line
        assert -INT64 < int(line.rsplit(" ", 1)[1]) < INT64
    assert TS_MIN <= stored.ts < TS_MAX
    assert all(-INT64 <= i < INT64 for i in _ints(stored))


def outcome(raw: bytes | None, family: Family) -> Event | DecodeError:
    """What ingest makes of `raw`, checked: a storable event or a clean, dead-letterable error."""
    try:
        event = INGEST.decode(raw, TOPIC[family])
    except DecodeError as error:
        assert error.reason.strip() and "\n" not in error.reason, error.reason
        assert error.issues, error.reason
        letter = DEAD_LETTER(
            topic=TOPIC[family], partition=0, offset=7, key=b"fra-1", value=raw, error=error
        )
        assert len(letter.model_dump_json()) < DLQ_BUDGET
        assert letter.raw_size == len(raw or b"")
        assert letter.raw_sha256 == hashlib.sha256(raw or b"").hexdigest()
        return error
    assert_storable(event)
    return event


def check(case: Case) -> str:
    """Run one case; returns 'valid' or 'invalid'. Any other exception fails, naming the case."""
    try:
        result = outcome(case.raw, case.family)
    except AssertionError:
        raise
    except Exception as exc:  # the property under test: nothing but DecodeError escapes
        raise AssertionError(f"{case.kind}: {type(exc).__name__} for {case.raw[:200]!r}") from exc
    got = "invalid" if isinstance(result, DecodeError) else "valid"
    assert case.expect in ("either", got), f"{case.kind} gave {got}: {case.raw[:300]!r}"
    if case.expect == "valid":
        assert result == INGEST.decode(case.seed.raw, TOPIC[case.seed.family]), case.kind
    return got


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_seeded_bad_records(chunk: int) -> None:
    generator = BadRecords(
        SEEDS, random.Random(chunk), max_record_bytes=SETTINGS.topics.max_record_bytes
    )
    seen: Counter[str] = Counter()
    for _ in range(PER_CHUNK):
        case = generator.case()
        seen[f"{case.kind}:{check(case)}"] += 1
    assert {key.split(":")[0] for key in seen} == set(generator.kinds)  # every kind was drawn


def test_deep_nesting_and_huge_inputs_are_clean_errors() -> None:
    depth = 100_000
    for raw in (
        b"[" * depth + b"]" * depth,
        b'{"a":' * depth + b"1" + b"}" * depth,
        b'{"family":"gpu","node":' + b"[" * depth + b"]" * depth + b"}",
        b"[" * depth,  # unterminated
    ):
        for family in TOPIC:
            assert isinstance(outcome(raw, family), DecodeError)


def test_oversize_records_name_the_limit_and_are_not_parsed() -> None:
    limit = SETTINGS.topics.max_record_bytes
    valid = SEEDS[0].raw
    padded = valid[:-1] + b" " * (limit - len(valid) + 1) + b"}"
    assert isinstance(
        outcome(valid[:-1] + b" " * (limit - len(valid)) + b"}", SEEDS[0].family), BaseModel
    )
    error = outcome(padded, SEEDS[0].family)
    assert isinstance(error, DecodeError)
    assert error.issues[0].constraint == f"record_too_large le={limit}"
    assert f"{limit + 1} bytes" in error.reason and "MAX_RECORD_BYTES" in error.reason


def test_non_finite_json_literals_are_rejected() -> None:
    doc: dict[str, Any] = json.loads(SEEDS[0].raw)
    for token in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        raw = (
            json.dumps(doc)
            .encode()
            .replace(b'"gpu_util_pct": ', b'"gpu_util_pct": ' + token + b', "x": ')
        )
        error = outcome(raw, "gpu")
        assert isinstance(error, DecodeError)
        assert error.issues[0].field == "gpu_util_pct", error.reason


def test_numbers_and_timestamps_influxdb_cannot_store_are_rejected() -> None:
    gpu: dict[str, Any] = json.loads(SEEDS[0].raw)
    assert SEEDS[0].family == "gpu"
    for field, value in [
        ("xid_errors", INT64),
        ("ts", "2262-04-11T23:47:17Z"),
        ("ts", "1677-09-21T00:12:43Z"),
        ("ts", "0001-01-01T00:00:00Z"),
    ]:
        error = outcome(json.dumps(gpu | {field: value}).encode(), "gpu")
        assert isinstance(error, DecodeError) and error.issues[0].field == field
    assert isinstance(
        outcome(json.dumps(gpu | {"xid_errors": INT64 - 1}).encode(), "gpu"), BaseModel
    )


def test_worst_case_dead_letter_fits_a_kafka_message() -> None:
    """Just under the size limit, as many long unknown fields as fit: each is an issue."""
    doc: dict[str, Any] = json.loads(next(s.raw for s in SEEDS if s.family == "physical"))
    key = "\u0001" * 500  # escaped again in the dead letter's JSON
    entry = len(json.dumps({f"000{key}": "\u0002" * 120})) - 1
    fill = min(100, (SETTINGS.topics.max_record_bytes - len(json.dumps(doc))) // entry)
    raw = json.dumps(doc | {f"{i:03d}{key}": "\u0002" * 120 for i in range(fill)}).encode()
    assert len(raw) <= SETTINGS.topics.max_record_bytes
    error = outcome(raw, "physical")  # asserts the dead letter's size
    assert isinstance(error, DecodeError) and len(error.issues) == fill > 60


@fuzz(1_500)
@given(events(), st.booleans())
def test_valid_events_round_trip(event: Event, exclude_none: bool) -> None:
    raw = event.model_dump_json(exclude_none=exclude_none).encode()
    decoded = outcome(raw, event.family)
    assert decoded == event


@fuzz(3_000)
@given(events(), st.data())
def test_hypothesis_events_damaged(event: Event, data: st.DataObject) -> None:
    seed = Seed(event.family, event.model_dump_json().encode())
    generator = BadRecords(
        [seed],
        data.draw(st.randoms(use_true_random=False)),
        max_record_bytes=SETTINGS.topics.max_record_bytes,
        deep=5_000,
    )
    check(generator.case(data.draw(st.sampled_from(generator.kinds))))


@fuzz(5_000)
@given(st.binary(max_size=4096), st.sampled_from(list(TOPIC)))
def test_random_bytes(raw: bytes, family: Family) -> None:
    assert isinstance(outcome(raw, family), DecodeError)


@fuzz(2_000)
@given(json_values, st.sampled_from(list(TOPIC)))
def test_random_json(value: Any, family: Family) -> None:
    outcome(json.dumps(value).encode(), family)
