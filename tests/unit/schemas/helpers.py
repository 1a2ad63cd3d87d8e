"""Small builders of valid wire dicts, for tests that break one field at a time."""

from __future__ import annotations

import json
from typing import Any

from schemas import DecodeError, decode

ENVELOPE: dict[str, Any] = {
    "schema_version": "1.0",
    "event_id": "evt-1",
    "site_id": "fra-1",
    "country": "DE",
    "ts": "2025-03-01T12:00:00Z",
    "source": "collector-1",
}


def gpu(**override: Any) -> dict[str, Any]:
    base = ENVELOPE | {
        "family": "gpu",
        "node": "node-1",
        "gpu_index": 0,
        "gpu_uuid": "GPU-5f2c0b1e",
        "gpu_util_pct": 87.5,
        "fb_used_mib": 1024,
    }
    return base | override


def power(**override: Any) -> dict[str, Any]:
    return (
        ENVELOPE
        | {"family": "power", "scope": "rack", "scope_id": "r-12", "power_w": 9000.0}
        | override
    )


def physical(**override: Any) -> dict[str, Any]:
    base = ENVELOPE | {
        "family": "physical",
        "kind": "access_granted",
        "zone_type": "door",
        "zone_id": "hall-2/door-a",
        "badge_id": "B-1234",
        "holder": "Jane Doe",
    }
    return base | override


def audit(**override: Any) -> dict[str, Any]:
    base = ENVELOPE | {
        "family": "audit",
        "action": "data_transfer",
        "actor": {"id": "u-42", "clearance": "secret", "nationality": "DE"},
        "dataset_id": "ds-7",
        "classification": "restricted",
        "source_country": "DE",
        "destination_country": "FR",
    }
    return base | override


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def decode_error(doc: Any, family: str | None = None) -> DecodeError:
    """Decode `doc` expecting failure; the DecodeError raised."""
    try:
        event = decode(encode(doc) if not isinstance(doc, bytes) else doc, family)
    except DecodeError as exc:
        return exc
    raise AssertionError(f"expected DecodeError, decoded {event!r}")


def failing_fields(doc: Any, family: str | None = None) -> set[str]:
    return {issue.field for issue in decode_error(doc, family).issues}
