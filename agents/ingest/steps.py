"""Raw Kafka bytes -> validated, pseudonymised event -> points; or a `DecodeError`.

Pure logic, no Faust: the ingest agent's stage calls it for every record. With a site registry,
decoding also binds the event to its site's registered country (`Residency.resident`): an
unknown site or another country is a `DecodeError`, so the record is dead-lettered, never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from agents.influx.batches import Destination
from agents.influx.points import to_line
from agents.influx.residency import Residency
from agents.otlp import OtlpAdapter
from agents.privacy import Pseudonymiser
from agents.sites.registry import Sites
from agents.telegraf import TelegrafAdapter
from schemas.decode import Event, Family, decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError, FieldIssue, constraint_kind
from schemas.personal import personal_fields, pseudonymise
from schemas.settings import Settings, TopicSettings

E = TypeVar("E", bound=Envelope)


class Ingest:
    """Decoding and point preparation bound to one settings object."""

    def __init__(
        self, settings: Settings, pseudonymiser: Pseudonymiser, sites: Sites | None = None
    ) -> None:
        topics = settings.topics
        self.topic_families = topic_families(topics)
        self.telegraf_topic = topics.telegraf
        self.telegraf = TelegrafAdapter(settings.telegraf.data_format)
        self.otlp_topic = topics.otlp
        self.otlp = OtlpAdapter(settings.otlp.encoding)
        self._residency = Residency.from_settings(settings, sites)
        self._buckets = {
            "telemetry": settings.influxdb.buckets.telemetry,
            "audit": settings.influxdb.buckets.audit,
        }
        self._pseudonymise = pseudonymiser
        self.max_record_bytes = topics.max_record_bytes
        self.max_future_skew_s = settings.worker.max_future_skew_s

    def decode(self, raw: bytes | None, topic: str, now: datetime | None = None) -> Event:
        """The validated event (a Telegraf metric mapped to its family); `DecodeError` for
        anything else (a null value, a record over `max_record_bytes`: it is rejected before any
        parsing; an event dated more than `max_future_skew_s` after `now`; with a registry, an
        event of an unregistered site or of another country than its site's)."""
        raw = self._checked(raw)
        if topic == self.telegraf_topic:
            event = self.telegraf.decode(raw)
        else:
            event = decode(raw, topic, topics=self.topic_families)
        return self._admitted(event, now or datetime.now(UTC))

    def decode_many(
        self, raw: bytes | None, now: datetime | None = None
    ) -> tuple[list[Event], DecodeError | None]:
        """The events of a record of the OTLP topic (one OTLP request: many GPU samples), and
        the error to dead-letter the record with if some of its samples were rejected (the
        others are kept). `DecodeError` if the record is not a request at all."""
        decoded = self.otlp.decode(self._checked(raw))
        at = now or datetime.now(UTC)
        events: list[Event] = []
        errors = [rejected.error for rejected in decoded.rejected]
        for sample in decoded.samples:
            try:
                events.append(self._admitted(sample, at))
            except DecodeError as error:
                errors.append(error)
        return events, some_rejected(errors, len(events)) if errors else None

    def _checked(self, raw: bytes | None) -> bytes:
        if raw is None:
            raise DecodeError(
                "record has no value (tombstone)",
                (FieldIssue(field="", constraint="missing", value=None, message="no value"),),
            )
        return within_limit(raw, self.max_record_bytes)

    def _admitted(self, event: E, now: datetime) -> E:
        return self._residency.resident(not_in_future(event, now, self.max_future_skew_s))

    def pseudonymised(self, event: Event) -> Event:
        """The event with its personal identifiers replaced by keyed pseudonyms."""
        if personal_fields(type(event)):  # skip the copy for families without personal data
            return pseudonymise(event, self._pseudonymise)
        return event

    def points(self, event: Event) -> Sequence[tuple[Destination, str]]:
        """The point of an already pseudonymised event, bound for its country's InfluxDB.

        Audit events get none here: the audit agent (`agents.audit.stage`) stores them, chained.
        """
        if event.family == "audit":
            return []
        bucket_kind, line = to_line(event)
        destination = Destination(
            self._residency.target_for(event.country), self._buckets[bucket_kind]
        )
        return [(destination, line)]


def topic_families(topics: TopicSettings) -> dict[str, Family]:
    """The family each native JSON topic carries (Telegraf's topic carries several)."""
    return {
        topics.gpu: "gpu",
        topics.power: "power",
        topics.physical: "physical",
        topics.audit: "audit",
    }


def not_in_future(event: E, now: datetime, max_skew_s: float) -> E:
    """`event`, unless it is dated more than `max_skew_s` after `now` (a producer's clock gone
    wrong): such a timestamp would make every open rule deadline look expired."""
    if event.ts - now > timedelta(seconds=max_skew_s):
        ahead = (event.ts - now).total_seconds()
        message = (
            f"ts {event.ts.isoformat()} is {ahead:.0f} s ahead of the worker's clock "
            f"(allowed: {max_skew_s:.0f} s, SOVWATCH_WORKER__MAX_FUTURE_SKEW_S)"
        )
        issue = FieldIssue(
            field="ts",
            constraint=f"future_skew le={max_skew_s:.0f}s",
            value=event.ts.isoformat(),
            message=message,
        )
        raise DecodeError(f"event dated in the future: {message}", (issue,))
    return event


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


def some_rejected(errors: Sequence[DecodeError], kept: int) -> DecodeError:
    """The one DecodeError of a record some of whose samples were rejected (the first one's
    issues; the record's `kept` other samples were stored)."""
    first = errors[0]
    reason = f"{len(errors)} of the record's samples rejected, {kept} stored; first: {first.reason}"
    return DecodeError(reason[:1024], first.issues)


def rejected_by_influxdb(message: str) -> DecodeError:
    """A DecodeError for a record InfluxDB refused to store, so it reaches the DLQ like others."""
    issue = FieldIssue(field="", constraint="influx_rejected", value=None, message=message[:1024])
    return DecodeError(f"InfluxDB rejected the point: {message}"[:1024], (issue,))


def reason_label(error: DecodeError) -> str:
    """A low-cardinality reason for metrics: the first violated constraint's type."""
    return constraint_kind(error.issues)
