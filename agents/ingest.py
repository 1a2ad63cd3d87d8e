"""Raw Kafka bytes -> validated, pseudonymised event -> points; or a dead-letter record.

Pure logic, no Faust: the pipeline agent calls it for every record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from agents.points import to_line
from agents.sink import Destination
from schemas.deadletter import DeadLetter
from schemas.decode import Event, Family, decode
from schemas.errors import DecodeError, FieldIssue
from schemas.personal import personal_fields, pseudonymise
from streams.privacy import Pseudonymiser
from streams.settings import Settings


class Ingest:
    """Decoding and point preparation bound to one settings object."""

    def __init__(self, settings: Settings, pseudonymiser: Pseudonymiser) -> None:
        topics = settings.topics
        self.topic_families: dict[str, Family] = {
            topics.gpu: "gpu",
            topics.power: "power",
            topics.physical: "physical",
            topics.audit: "audit",
        }
        self._influx = settings.influxdb
        self._buckets = {
            "telemetry": settings.influxdb.buckets.telemetry,
            "audit": settings.influxdb.buckets.audit,
        }
        self._pseudonymise = pseudonymiser
        self.max_record_bytes = topics.max_record_bytes

    def decode(self, raw: bytes | None, topic: str) -> Event:
        """The validated event; `DecodeError` for anything else (a null value, a record over
        `max_record_bytes`: it is rejected before any parsing)."""
        if raw is None:
            raise DecodeError(
                "record has no value (tombstone)",
                (FieldIssue(field="", constraint="missing", value=None, message="no value"),),
            )
        return decode(within_limit(raw, self.max_record_bytes), topic, topics=self.topic_families)

    def pseudonymised(self, event: Event) -> Event:
        """The event with its personal identifiers replaced by keyed pseudonyms."""
        if personal_fields(type(event)):  # skip the copy for families without personal data
            return pseudonymise(event, self._pseudonymise)
        return event

    def points(self, event: Event) -> Sequence[tuple[Destination, str]]:
        """The point of an already pseudonymised event, bound for its country's InfluxDB.

        Audit events get none here: the audit agent (`agents.audit`) stores them, chained.
        """
        if event.family == "audit":
            return []
        bucket_kind, line = to_line(event)
        destination = Destination(
            self._influx.target_for(event.country), self._buckets[bucket_kind]
        )
        return [(destination, line)]


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: DecodeError,
) -> DeadLetter:
    return DeadLetter.for_record(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value or b"",
        error=error,
        received_ts=datetime.now(UTC),
    )


def within_limit(raw: bytes, limit: int) -> bytes:
    """`raw` if it is at most `limit` bytes, else `DecodeError` (checked before any parsing)."""
    if len(raw) > limit:
        raise record_too_large(len(raw), limit)
    return raw


def record_too_large(size: int, limit: int) -> DecodeError:
    """The DecodeError of a record value over the size limit (SOVWATCH_TOPICS__MAX_RECORD_BYTES)."""
    message = f"record value is {size} bytes, over the {limit}-byte limit"
    issue = FieldIssue(
        field="", constraint=f"record_too_large le={limit}", value=None, message=message
    )
    return DecodeError(
        f"{message} (SOVWATCH_TOPICS__MAX_RECORD_BYTES); it was not parsed", (issue,)
    )


def rejected_by_influxdb(message: str) -> DecodeError:
    """A DecodeError for a record InfluxDB refused to store, so it reaches the DLQ like others."""
    issue = FieldIssue(field="", constraint="influx_rejected", value=None, message=message[:1024])
    return DecodeError(f"InfluxDB rejected the point: {message}"[:1024], (issue,))


def reason_label(error: DecodeError) -> str:
    """A low-cardinality reason for metrics: the first violated constraint's type."""
    return error.issues[0].constraint.split(" ", 1)[0] if error.issues else "invalid"
