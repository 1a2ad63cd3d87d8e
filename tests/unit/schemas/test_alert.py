from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given

from schemas import Alert, alert_id, decode_as
from schemas.errors import DecodeError
from tests.strategies.schemas import alerts
from tests.unit.schemas.helpers import encode

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _alert(**override: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "id": alert_id("gpu-overheat", "fra-1/GPU-1", T0),
        "rule_id": "gpu-overheat",
        "severity": "high",
        "team": "ops",
        "site_id": "fra-1",
        "country": "DE",
        "window_start": "2025-03-01T12:00:00Z",
        "window_end": "2025-03-01T12:05:00Z",
        "evidence_event_ids": ["e1", "e2"],
        "message": "GPU-1 at 95 °C for 5 min",
        "created_ts": "2025-03-01T12:05:01Z",
    }
    return doc | override


@given(alerts())
def test_round_trip(alert: Alert) -> None:
    assert decode_as(alert.model_dump_json().encode(), Alert) == alert


def test_alert_id_is_deterministic_and_distinct() -> None:
    assert alert_id("r", "g", T0) == alert_id("r", "g", T0)
    others = {alert_id("r2", "g", T0), alert_id("r", "g2", T0)}
    others.add(alert_id("r", "g", T0 + timedelta(seconds=1)))
    assert alert_id("r", "g", T0) not in others and len(others) == 3
    # Field separators cannot be forged by moving characters between parts.
    assert alert_id("ab", "c", T0) != alert_id("a", "bc", T0)


def test_valid_alert_decodes() -> None:
    alert = decode_as(encode(_alert()), Alert)
    assert alert.severity == "high" and alert.window_end - alert.window_start == timedelta(
        minutes=5
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("severity", "urgent"),
        ("team", "finance"),
        ("evidence_event_ids", []),
        ("message", ""),
        ("window_end", "2025-03-01T11:59:59Z"),
        ("created_ts", "2025-03-01T12:05:01"),
        ("country", "EU"),
    ],
)
def test_each_constraint_names_its_field(field: str, value: object) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_as(encode(_alert(**{field: value})), Alert)
    assert [i.field for i in caught.value.issues] == [field]
