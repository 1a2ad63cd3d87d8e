"""Reading the DLQ topic and replaying dead letters to their source topics, each at most once.

A replay sends the opened raw bytes with the original key to the original partition, with a
`sovwatch-replay-of: <topic>:<partition>:<offset>` header naming the source record. Which
source records were replayed is kept on the compacted `topics.dlq_replays` topic, keyed by that
name: first a `pending` marker with the partition's end offset, then the record, then a `done`
marker with its offset. A rerun skips `done` ones; for a `pending` one (a replay cut short
between the two markers) it looks for the header from that end offset on, so a record that did
reach the topic is not sent again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from kafka import KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from agents.dlq_crypto import DlqCipher
from schemas.deadletter import TAG_BYTES, DeadLetter
from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.admin.connect import kafka_consumer, records_from, records_to_end
from streams.admin.produce import kafka_producer

REPLAY_HEADER = "sovwatch-replay-of"
DLQ_HEADER = "sovwatch-replay-dlq"
READ_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Entry:
    """One DLQ record: where it is on the DLQ and the dead letter (None: not one this version
    reads, e.g. from before raw bytes were sealed)."""

    dlq: str
    letter: DeadLetter | None


def read_entries(settings: Settings) -> list[Entry]:
    """Every record on the DLQ topic, in partition and offset order."""
    records = records_to_end(settings.kafka, [settings.topics.dlq], READ_TIMEOUT_S)
    entries = []
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            letter: DeadLetter | None = DeadLetter.model_validate_json(record.value or b"")
        except ValidationError:
            letter = None
        entries.append(Entry(f"{record.topic}:{record.partition}:{record.offset}", letter))
    return entries


def parse_ref(text: str) -> tuple[str, int, int]:
    """`topic:partition:offset` -> its parts (a topic name has no colon)."""
    topic, _, rest = text.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    if not topic or not partition.isdigit() or not rest.isdigit():
        raise SovwatchError(
            f"{text!r} is not TOPIC:PARTITION:OFFSET",
            "name a dead letter by its source record (e.g. telemetry.gpu:2:41, as `sovwatch "
            "dlq list` shows) or by its place on the DLQ topic",
        )
    return topic, int(partition), int(rest)


def find(entries: Sequence[Entry], ref: str, dlq_topic: str) -> Entry:
    """The entry a `topic:partition:offset` names: on the DLQ topic itself, the record at that
    place; otherwise the latest dead letter of that source record."""
    topic, partition, offset = parse_ref(ref)
    if topic == dlq_topic:
        found = [e for e in entries if e.dlq == f"{topic}:{partition}:{offset}"]
    else:
        found = [
            e for e in entries if e.letter and e.letter.source == f"{topic}:{partition}:{offset}"
        ]
    if not found:
        raise SovwatchError(
            f"no dead letter for {ref} on {dlq_topic}", "see `sovwatch dlq list` for what is there"
        )
    return found[-1]


def unopenable(letter: DeadLetter, cipher: DlqCipher | None) -> SovwatchError | None:
    """Why the raw bytes cannot be opened here (none kept, no key configured), else None."""
    if letter.raw_sealed is None:
        return SovwatchError(
            f"the dead letter of {letter.source} keeps no raw bytes (the worker ran with "
            "SOVWATCH_PRIVACY__DLQ_KEEP_RAW=false)",
            "replay it from the producer's own copy",
        )
    if cipher is None:
        return SovwatchError(
            f"the raw bytes of {letter.source} are sealed under DLQ key {letter.raw_sealed.key_id}",
            "set that key as SOVWATCH_PRIVACY__DLQ_KEY (or in SOVWATCH_PRIVACY__PREVIOUS_DLQ_KEYS)",
        )
    return None


def opened_raw(letter: DeadLetter, cipher: DlqCipher | None) -> bytes:
    """The dead letter's raw bytes; `SovwatchError` when none were kept or no key opens them."""
    problem = unopenable(letter, cipher)
    if problem is not None:
        raise problem
    assert letter.raw_sealed is not None and cipher is not None
    return cipher.open(letter.raw_sealed, letter.aad)


class Marker(BaseModel):
    """What `topics.dlq_replays` holds per replayed source record (its key)."""

    state: Literal["pending", "done"]
    dlq: str
    from_offset: int
    replayed_offset: int | None = None
    at: datetime


@dataclass
class Outcome:
    replayed: list[str]
    already: list[str]
    unreplayable: list[tuple[str, str]]


def unique_letters(entries: Iterable[Entry]) -> dict[str, tuple[str, DeadLetter]]:
    """Source record -> (its latest DLQ place, dead letter): a record dead-lettered twice (a
    worker that crashed before committing) is one replay."""
    return {e.letter.source: (e.dlq, e.letter) for e in entries if e.letter is not None}


def replay(
    settings: Settings,
    chosen: Iterable[Entry],
    cipher: DlqCipher | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """Replay each chosen dead letter's source record once (see the module docstring)."""
    letters = unique_letters(chosen)
    outcome = Outcome([], [], [])
    ready: list[tuple[str, DeadLetter]] = []
    for source, (dlq, letter) in letters.items():
        why = _unreplayable(letter)
        if why:
            outcome.unreplayable.append((source, why))
            continue
        problem = unopenable(letter, cipher)
        if problem is not None:  # a missing key stops the replay before anything is sent
            raise problem
        ready.append((dlq, letter))
    if not ready:
        return outcome
    markers = _markers(settings)
    producer = kafka_producer(settings.kafka)
    consumer = kafka_consumer(settings.kafka)
    try:
        for dlq, letter in ready:
            source = letter.source
            marker = markers.get(source)
            if marker is not None and marker.state == "pending":
                found = _replayed_since(settings, letter, marker.from_offset)
                if found is not None:
                    marker = marker.model_copy(update={"state": "done", "replayed_offset": found})
                    _mark(producer, settings, source, marker)
            if marker is not None and marker.state == "done":
                outcome.already.append(source)
                continue
            raw = opened_raw(letter, cipher)  # opened (authenticated) before anything is sent
            part = TopicPartition(letter.topic, letter.partition)
            end = int(consumer.end_offsets([part])[part])
            pending = Marker(state="pending", dlq=dlq, from_offset=end, at=now())
            _mark(producer, settings, source, pending)
            sent = producer.send(
                letter.topic,
                value=raw,
                key=None if letter.key_b64 is None else base64.b64decode(letter.key_b64),
                partition=letter.partition,
                headers=[(REPLAY_HEADER, source.encode()), (DLQ_HEADER, dlq.encode())],
            ).get(timeout=settings.kafka.request_timeout_s)
            done = pending.model_copy(update={"state": "done", "replayed_offset": sent.offset})
            _mark(producer, settings, source, done)
            outcome.replayed.append(source)
    except KafkaError as exc:
        raise SovwatchError(
            f"replaying to Kafka failed after {len(outcome.replayed)} records: {exc}",
            "run the same replay again: what was replayed is skipped",
        ) from exc
    finally:
        producer.close()
        consumer.close()
    return outcome


def _unreplayable(letter: DeadLetter) -> str:
    if letter.raw_sealed is None:
        return "no raw bytes kept"
    if letter.raw_size is not None and letter.raw_size > _sealed_size(letter):
        return f"raw bytes truncated ({letter.raw_size} bytes originally)"
    if "[key truncated" in letter.reason:
        return "record key truncated"
    return ""


def _sealed_size(letter: DeadLetter) -> int:
    assert letter.raw_sealed is not None
    return len(base64.b64decode(letter.raw_sealed.ciphertext_b64)) - TAG_BYTES


def _markers(settings: Settings) -> dict[str, Marker]:
    """The latest marker per source record (the topic is compacted: older ones may be gone)."""
    records = records_to_end(settings.kafka, [settings.topics.dlq_replays], READ_TIMEOUT_S)
    markers: dict[str, Marker] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):  # per key: offset order
        if record.key is not None and record.value is not None:
            markers[record.key.decode()] = Marker.model_validate_json(record.value)
    return markers


def _mark(producer: KafkaProducer, settings: Settings, source: str, marker: Marker) -> None:
    producer.send(
        settings.topics.dlq_replays,
        key=source.encode(),
        value=marker.model_dump_json().encode(),
    ).get(timeout=settings.kafka.request_timeout_s)


def _replayed_since(settings: Settings, letter: DeadLetter, offset: int) -> int | None:
    """The offset of an earlier replay of `letter` at or after `offset` in its partition."""
    part = TopicPartition(letter.topic, letter.partition)
    for record in records_from(settings.kafka, {part: offset}, READ_TIMEOUT_S):
        if (REPLAY_HEADER, letter.source.encode()) in list(record.headers or ()):
            return int(record.offset)
    return None


def as_json(entry: Entry) -> str:
    """One entry as a JSON line (its DLQ place added to the dead letter)."""
    body = entry.letter.model_dump(mode="json") if entry.letter else None
    return json.dumps({"dlq": entry.dlq, "dead_letter": body})
