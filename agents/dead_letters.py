"""Dead letters: a record that cannot be stored goes to the DLQ topic with its reason, its raw
bytes sealed and its personal fields shown only as pseudonyms."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from agents import metrics
from agents.dlq_crypto import DlqCipher
from agents.ingest.steps import reason_label, topic_families
from schemas.deadletter import DeadLetter, capped_key
from schemas.decode import FAMILY_MODELS
from schemas.errors import DecodeError
from schemas.personal import personal_fields, pseudonyms_in
from schemas.settings import TopicSettings

log = logging.getLogger(__name__)

SendDeadLetter = Callable[[Any, DecodeError], Awaitable[Awaitable[Any]]]


class DeadLetterMaker:
    """Builds the dead letter of a record: raw bytes sealed with `cipher` (None: kept not at
    all), personal fields of the topic's family (of any family where the topic does not say)
    replaced by `pseudonymise`."""

    def __init__(
        self, topics: TopicSettings, cipher: DlqCipher | None, pseudonymise: Callable[[str], str]
    ) -> None:
        self._paths = {
            topic: personal_fields(FAMILY_MODELS[family])
            for topic, family in topic_families(topics).items()
        }
        self._every_path = tuple(
            dict.fromkeys(path for m in FAMILY_MODELS.values() for path in personal_fields(m))
        )
        self._seal = None if cipher is None else cipher.seal
        self._pseudonymise = pseudonymise

    def __call__(
        self,
        *,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        error: DecodeError,
    ) -> DeadLetter:
        raw = value or b""
        paths = self._paths.get(topic, self._every_path)
        return DeadLetter.for_record(
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            value=raw,
            error=error,
            received_ts=datetime.now(UTC),
            seal=self._seal,
            pseudonyms=pseudonyms_in(raw, paths, self._pseudonymise) if paths else {},
        )


def dead_letter_sender(dlq_topic: Any, make: DeadLetterMaker) -> SendDeadLetter:
    """Sends a record's dead letter; returns the broker's acknowledgement to await."""

    async def send(event: Any, error: DecodeError) -> Awaitable[Any]:
        message = event.message
        record = make(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            error=error,
        )
        delivery: Awaitable[Any] = await dlq_topic.send(
            key=capped_key(message.key), value=record.model_dump_json().encode()
        )
        metrics.DEAD_LETTERS.labels(topic=message.topic, reason=reason_label(error)).inc()
        log.info(
            "dead letter %s[%s]@%s: %s", message.topic, message.partition, message.offset, error
        )
        return delivery

    return send
