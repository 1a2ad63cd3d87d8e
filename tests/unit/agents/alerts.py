"""Incident records for the delivery and channel tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.alert import Alert, alert_id

T = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def record(status: str = "firing", n: int = 0, **fields: Any) -> Alert:
    values: dict[str, Any] = {
        "id": alert_id("sec.duress", f"site-1/door-{n}", T),
        "rule_id": "sec.duress",
        "severity": "critical",
        "team": "security",
        "site_id": "site-1",
        "country": "DE",
        "window_start": T,
        "window_end": T + timedelta(seconds=30),
        "evidence_event_ids": ["e1", "e2"],
        "message": "DURESS at door-1",
        "created_ts": T,
        "status": status,
        "ends_at": T + timedelta(minutes=15) if status == "resolved" else None,
    }
    values.update(fields)
    return Alert.model_validate(values)
