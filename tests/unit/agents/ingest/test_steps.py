"""Ingest: decoding to events or DecodeError, pseudonymisation, residency routing."""

from __future__ import annotations

import pytest

from agents.ingest.steps import Ingest, reason_label
from agents.privacy import Pseudonymiser
from agents.rules.fixtures import build_event
from schemas.errors import DecodeError
from schemas.settings import Settings

KEY = b"unit-test-key-0123456789"


def ingest(default: str = "none", **influx: object) -> Ingest:
    settings = Settings.model_validate(
        {"influxdb": influx, "residency": {"default": default}} if influx else {}
    )
    return Ingest(settings, Pseudonymiser(KEY))


def test_points_go_to_the_target_of_the_events_country() -> None:
    routed = ingest(
        "influxdb",
        url="http://influx-default.invalid:8086",
        residency={"DE": {"url": "http://influx-de.invalid:8086", "org": "de"}},
    )
    german = build_event({"family": "gpu", "gpu_util_pct": 50.0, "country": "DE"}, "g1")
    french = build_event({"family": "gpu", "gpu_util_pct": 50.0, "country": "FR"}, "g2")
    [(de, _)] = routed.points(routed.pseudonymised(german))
    [(fr, _)] = routed.points(routed.pseudonymised(french))
    assert (de.target.url, de.target.org) == ("http://influx-de.invalid:8086", "de")
    assert fr.target.url == "http://influx-default.invalid:8086"
    assert de.bucket == fr.bucket == "telemetry"


def test_personal_fields_are_pseudonymised_in_the_line() -> None:
    event = build_event(
        {"family": "physical", "kind": "access_granted", "badge_id": "B-1234", "holder": "Ann Lee"},
        "p1",
    )
    pipeline = ingest()
    [(_, line)] = pipeline.points(pipeline.pseudonymised(event))
    pseudonymise = Pseudonymiser(KEY)
    assert "B-1234" not in line and "Ann Lee" not in line
    assert f'badge_id="{pseudonymise("B-1234")}"' in line
    assert f'holder="{pseudonymise("Ann Lee")}"' in line


def test_audit_events_are_left_to_the_audit_agent() -> None:
    event = build_event({"family": "audit", "action": "key_use", "key_id": "k1"}, "a1")
    assert ingest().points(event) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00\xff garbage", "json_invalid"),
        (b"[1, 2]", "model_type"),
        (None, "missing"),
    ],
)
def test_bad_records_raise_decode_error_with_a_reason_label(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        ingest().decode(raw, "telemetry.gpu")
    assert reason_label(err.value) == reason
    assert err.value.reason
