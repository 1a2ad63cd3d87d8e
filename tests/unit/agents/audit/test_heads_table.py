"""Audit heads on the worker's Faust table: written to the partition of their site's events,
without asking the producer (whose metadata may not list the changelog topic)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.audit.chain import Sequenced
from schemas.settings import Settings
from streams.worker.topology import build
from tests.unit.agents.audit.fixtures import audit_event

KEY = "unit-test-key-0123456789abcdef"


def test_a_confirmed_head_goes_to_its_events_partition_without_the_producers_partitioner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.model_validate(
        {
            "worker": {"app_id": "t-heads", "store": "memory://"},
            "privacy": {"pseudonym_key": KEY, "dlq_keep_raw": False},
        }
    )
    topology = build(settings)
    producer = topology.app.producer
    sent: list[Any] = []

    def no_metadata(topic: str, key: bytes) -> Any:
        # What aiokafka does when its metadata lacks the topic: list(None).
        raise TypeError("'NoneType' object is not iterable")

    monkeypatch.setattr(producer, "key_partition", no_metadata)
    monkeypatch.setattr(producer, "send_soon", sent.append)
    chain = topology.audit.chain
    placed = chain.sequence(audit_event(0, site="fra-1"), partition=3, offset=41)
    assert isinstance(placed, Sequenced)

    assert chain.confirm(placed, "DE")  # from the ack callback: no current event

    assert chain.head("fra-1").offset == 41
    (message,) = [fut.message for fut in sent]
    assert (message.key, message.partition) == (b"fra-1", 3)
    assert message.channel.get_topic_name().endswith("sovwatch-audit-heads-changelog")
