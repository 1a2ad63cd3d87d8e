"""Dead letters: a record that cannot be stored goes to the DLQ topic with its reason."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from agents.ingest import dead_letter, reason_label
from schemas.deadletter import capped_key
from schemas.errors import DecodeError
from streams import metrics

log = logging.getLogger(__name__)

SendDeadLetter = Callable[[Any, DecodeError], Awaitable[Awaitable[Any]]]


def dead_letter_sender(dlq_topic: Any) -> SendDeadLetter:
    """Sends a record's dead letter; returns the broker's acknowledgement to await."""

    async def send(event: Any, error: DecodeError) -> Awaitable[Any]:
        message = event.message
        record = dead_letter(
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
