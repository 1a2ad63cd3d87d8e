"""The recent minutes of a small fleet: the demo's data and the tests' and benches' traffic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from schemas.decode import decode
from schemas.errors import DecodeError
from schemas.settings import TopicSettings
from streams.simulator.incidents import INJECTORS
from streams.simulator.malformed import MALFORMED, malformed_records
from streams.simulator.recent import (
    DEMO_SITES,
    EVERY_FAMILY_MINUTES,
    recent_records,
    small_fleet,
)

TOPICS = TopicSettings()
END = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)  # a Tuesday night: the sparsest baseline


def test_the_small_fleet_has_the_sites_and_gpus_asked_for() -> None:
    fleet = small_fleet((("a-1", "DE"), ("b-1", "FR")), gpus=16)
    assert [(s.id, s.country) for s in fleet.sites] == [("a-1", "DE"), ("b-1", "FR")]
    assert fleet.gpus == 32
    assert all(len(s.racks) == 1 for s in fleet.sites)


def test_records_fall_in_the_minutes_before_the_end_in_time_order() -> None:
    records = list(recent_records(TOPICS, small_fleet(), minutes=5, end=END))
    stamps = [decode(value, topic).ts for topic, _, value in records]
    assert stamps == sorted(stamps)
    assert END - timedelta(minutes=5) <= stamps[0] and stamps[-1] < END


def test_every_family_of_every_site_shows_within_every_family_minutes() -> None:
    records = recent_records(TOPICS, small_fleet(), minutes=EVERY_FAMILY_MINUTES, end=END)
    seen: Counter[tuple[str, str]] = Counter(
        (decode(value, topic).family, key.decode()) for topic, key, value in records
    )
    families = ("gpu", "power", "physical", "audit")
    missing = [(f, s) for f in families for s, _ in DEMO_SITES if not seen[(f, s)]]
    assert not missing, seen


def test_the_same_seed_gives_the_same_records_and_another_seed_others() -> None:
    def run(seed: int) -> list[tuple[str, bytes, bytes]]:
        return list(recent_records(TOPICS, small_fleet(), minutes=3, seed=seed, end=END))

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_incidents_that_fit_are_placed_in_the_window() -> None:
    plain = list(recent_records(TOPICS, small_fleet(), minutes=EVERY_FAMILY_MINUTES, end=END))
    with_incidents = list(
        recent_records(
            TOPICS, small_fleet(), minutes=EVERY_FAMILY_MINUTES, end=END, incidents=INJECTORS
        )
    )
    assert with_incidents != plain
    stamps = [decode(value, topic).ts for topic, _, value in with_incidents]
    assert min(stamps) >= END - timedelta(minutes=EVERY_FAMILY_MINUTES) and max(stamps) < END


@pytest.mark.parametrize("raw", MALFORMED)
def test_every_malformed_record_is_refused_at_the_door(raw: bytes) -> None:
    ((topic, key, value),) = [r for r in malformed_records(TOPICS, "fra-1") if r[2] == raw]
    assert (topic, key) == (TOPICS.gpu, b"fra-1")
    with pytest.raises(DecodeError):
        decode(value, topic)
