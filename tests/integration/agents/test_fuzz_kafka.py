"""10,000+ generated bad records, interleaved with valid events, through real Kafka and a real
worker: every bad record lands in the DLQ with a reason, every valid event in InfluxDB, and the
worker survives. Plus records just under the broker's 1 MB limit, whose dead letters must fit."""

from __future__ import annotations

import base64
import hashlib
import random
from collections import Counter
from pathlib import Path

from schemas.deadletter import DeadLetter
from schemas.decode import Family, decode_as
from streams.admin.produce import produce
from streams.simulator.recent import EVERY_FAMILY_MINUTES, recent_records, small_fleet
from streams.stack import Stack
from tests.integration.pipeline import Isolated, wait_for
from tests.strategies.bad_records import BadRecords, Case, Seed

BULK_BAD = 10_000
BIG_OF_EACH = 40  # oversize / huge-string / deeply nested records, 0.2-0.5 MB each
NEAR_BROKER_MAX = 1_000_000  # Kafka's default message.max.bytes is 1,048,588
SMALL_KINDS = (
    "truncated", "wrong_type", "dropped_required", "non_finite", "bad_timestamp", "bad_version",
    "invalid_utf8", "random_bytes", "not_an_object", "wrong_topic", "unknown_field",
)  # fmt: skip
BIG_KINDS = ("oversize", "huge_string", "deep_nesting")
VALID_VARIANTS = ("duplicate_event", "duplicate_key")

Record = tuple[str, bytes, bytes]


def _cases(generator: BadRecords, kinds: tuple[str, ...], count: int, want: str) -> list[Case]:
    cases: list[Case] = []
    while len(cases) < count:
        case = generator.case(generator.rng.choice(kinds))
        # The audit agent reads audit events itself, without the size limit, and remembers a
        # site's last 256 event ids only: keep padded-but-valid and repeated audit events out.
        audit_kept_out = case.family == "audit" and case.kind in ("oversize", *VALID_VARIANTS)
        if case.expect == want and not audit_kept_out:
            cases.append(case)
    return cases


def test_ten_thousand_bad_records_are_dead_lettered_and_valid_ones_stored(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    topics = pipeline.settings.topics
    topic_of: dict[Family, str] = {
        "gpu": topics.gpu, "power": topics.power,
        "physical": topics.physical, "audit": topics.audit,
    }  # fmt: skip
    family_of = {topic: family for family, topic in topic_of.items()}
    sites = ((f"s{unique}-0", "DE"), (f"s{unique}-1", "FR"))
    valid = list(recent_records(topics, small_fleet(sites), minutes=EVERY_FAMILY_MINUTES, seed=3))
    seeds = [Seed(family_of[topic], value) for topic, _, value in valid]
    generator = BadRecords(seeds, random.Random(20261122), max_record_bytes=topics.max_record_bytes)
    bad_cases = _cases(generator, SMALL_KINDS, BULK_BAD, "invalid") + _cases(
        generator, BIG_KINDS, BIG_OF_EACH * len(BIG_KINDS), "invalid"
    )
    bad: dict[bytes, Record] = {
        f"bad-{i}".encode(): (topic_of[case.family], f"bad-{i}".encode(), case.raw)
        for i, case in enumerate(bad_cases)
    }
    near_max = [
        generator.rng.randbytes(NEAR_BROKER_MAX),
        seeds[0].raw[:-1] + b" " * (NEAR_BROKER_MAX - len(seeds[0].raw)) + b"}",
        b"[" * (NEAR_BROKER_MAX // 2) + b"]" * (NEAR_BROKER_MAX // 2),
    ]
    for i, raw in enumerate(near_max):
        key = f"bad-near-max-{i}".encode()
        bad[key] = (topics.gpu, key, raw)
    repeats = _cases(generator, VALID_VARIANTS, 1000, "valid")
    records = [
        *valid,
        *bad.values(),
        *((topic_of[c.family], b"repeat", c.raw) for c in repeats),
    ]
    generator.rng.shuffle(records)
    expected = Counter(family_of[topic] for topic, _, _ in valid)
    kinds = Counter(case.kind for case in bad_cases)

    with pipeline.worker() as worker:
        assert produce(pipeline.settings.kafka, records) == len(records)
        letters = [
            decode_as(raw, DeadLetter) for raw in pipeline.dead_letters(len(bad), timeout_s=600)
        ]
        assert wait_for(
            lambda: pipeline.points_by_measurement(f"s{unique}") == expected, timeout_s=300
        ), (pipeline.points_by_measurement(f"s{unique}"), expected)
        assert worker.process is not None and worker.process.poll() is None, "worker died"
        stored = worker.metric("sovwatch_events_stored_total")
    log = worker.log.read_text(errors="replace")

    assert "Traceback" not in log, log[log.find("Traceback") - 2000 :][:6000]
    assert len(kinds) == len(SMALL_KINDS) + len(BIG_KINDS) and len(bad) > BULK_BAD
    by_key = {base64.b64decode(letter.key_b64 or ""): letter for letter in letters}
    assert len(letters) == len(by_key) == len(bad), "every bad record dead-lettered exactly once"
    assert set(by_key) == set(bad)
    for key, letter in by_key.items():
        topic, _, raw = bad[key]
        assert letter.reason.strip() and letter.errors, key
        assert letter.topic == topic
        assert (letter.raw_size, letter.raw_sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
        opened = pipeline.opened(letter)
        assert raw.startswith(opened)
        assert opened == raw or "truncated" in letter.reason
    near = [by_key[f"bad-near-max-{i}".encode()] for i in range(len(near_max))]
    assert all(letter.raw_size == NEAR_BROKER_MAX for letter in near)
    assert all(letter.errors[0].constraint.startswith("record_too_large") for letter in near)
    assert stored == len(valid) + len(repeats)
