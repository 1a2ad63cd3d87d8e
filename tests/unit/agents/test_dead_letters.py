"""Dead letters keep no personal value in clear: raw bytes sealed, personal fields pseudonymised."""

from __future__ import annotations

import json

import pytest

from agents.dead_letters import DeadLetterMaker
from agents.dlq_crypto import DlqCipher
from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.rules.fixtures import build_event
from schemas.errors import DecodeError
from schemas.settings import Settings
from tests.readable import assert_not_readable

SETTINGS = Settings()
PSEUDONYMS = Pseudonymiser(b"unit-test-key-0123456789")
CIPHER = DlqCipher([bytes(range(32))])
BADGE, HOLDER, OPERATOR = "B-4711-CLEAR", "holder-ada-CLEAR", "operator-grace-CLEAR"


def physical(**fields: object) -> bytes:
    doc = json.loads(
        build_event(
            {"family": "physical", "kind": "access_granted", "badge_id": "b"}, "p1"
        ).model_dump_json()
    )
    return json.dumps(doc | {"badge_id": BADGE, "holder": HOLDER} | fields).encode()


def dead_letter(topic: str, raw: bytes, cipher: DlqCipher | None = CIPHER) -> str:
    with pytest.raises(DecodeError) as caught:
        Ingest(SETTINGS, PSEUDONYMS).decode(raw, topic)
    make = DeadLetterMaker(SETTINGS.topics, cipher, PSEUDONYMS)
    letter = make(topic=topic, partition=1, offset=9, key=b"fra-1", value=raw, error=caught.value)
    return letter.model_dump_json()


def test_a_physical_event_failing_validation_shows_its_badge_only_as_a_pseudonym() -> None:
    raw = physical(zone_id="")  # fails on another field: badge and holder are valid
    serialised = dead_letter(SETTINGS.topics.physical, raw)
    letter = json.loads(serialised)
    assert_not_readable(serialised, BADGE, HOLDER)
    assert letter["pseudonyms"] == {"badge_id": PSEUDONYMS(BADGE), "holder": PSEUDONYMS(HOLDER)}
    assert letter["errors"] and letter["raw_sealed"]["key_id"] == CIPHER.key_id


def test_an_invalid_personal_field_names_its_pseudonym_as_the_offending_value() -> None:
    raw = physical(badge_id=BADGE * 20)  # too long for the field
    letter = json.loads(dead_letter(SETTINGS.topics.physical, raw))
    [issue] = [issue for issue in letter["errors"] if issue["field"] == "badge_id"]
    assert issue["value"] == PSEUDONYMS(BADGE * 20)
    assert_not_readable(json.dumps(letter), BADGE)


def test_an_audit_operator_is_pseudonymised_on_its_topic() -> None:
    raw = json.dumps(
        {"family": "audit", "site_id": "fra-1", "actor": {"id": OPERATOR, "kind": "human"}}
    ).encode()
    serialised = dead_letter(SETTINGS.topics.audit, raw)
    assert_not_readable(serialised, OPERATOR)
    assert json.loads(serialised)["pseudonyms"] == {"actor.id": PSEUDONYMS(OPERATOR)}


def test_on_a_topic_of_no_single_family_every_personal_field_is_looked_for() -> None:
    raw = json.dumps({"fields": {}, "badge_id": BADGE}).encode()
    serialised = dead_letter(SETTINGS.topics.telegraf, raw)
    assert_not_readable(serialised, BADGE)
    assert json.loads(serialised)["pseudonyms"] == {"badge_id": PSEUDONYMS(BADGE)}


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[" * 100_000, b'"just a string"', b"\xff\xfe", b'{"badge_id": "\\ud800"}'],
)
def test_what_does_not_parse_as_an_object_has_no_pseudonyms_and_stays_sealed(raw: bytes) -> None:
    letter = json.loads(dead_letter(SETTINGS.topics.physical, raw))
    assert letter["pseudonyms"] == {}
    assert letter["raw_size"] == len(raw) and letter["raw_sealed"] is not None


def test_without_a_cipher_no_raw_bytes_are_kept() -> None:
    letter = json.loads(dead_letter(SETTINGS.topics.physical, physical(zone_id=""), cipher=None))
    assert letter["raw_sealed"] is None and letter["raw_sha256"]
    assert letter["pseudonyms"]["badge_id"] == PSEUDONYMS(BADGE)


def test_the_value_of_an_unknown_field_is_withheld_it_may_be_personal() -> None:
    raw = physical(badge_holder_name=HOLDER)  # a producer's new field, not marked personal
    serialised = dead_letter(SETTINGS.topics.physical, raw)
    assert_not_readable(serialised, HOLDER)
    [issue] = json.loads(serialised)["errors"]
    assert (issue["field"], issue["value"]) == ("badge_holder_name", None)
