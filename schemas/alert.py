"""Alerts emitted by the compliance rule engine onto alerts.ops / .security / .compliance.

`id` is deterministic: the rule engine derives it with `alert_id(rule_id, group, window_start)`,
so replaying the same input after a crash or a rebalance produces the same id, and the duplicate
vanishes downstream (InfluxDB point, Grafana annotation, ticket). The window's end is not part of
the id: while an incident goes on, the same alert is re-emitted with a later end and more evidence.

An alert is an incident with a lifecycle: `firing` (first record), `updated` (more evidence, a later
window end; any number of times), `resolved` (the condition cleared, `ends_at` says when). Each
state change is one record keyed by the id, so a compacted alerts topic keeps each incident's latest
state.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.country import CountryCode
from schemas.envelope import (
    SCHEMA_VERSION,
    WIRE_CONFIG,
    Identifier,
    SchemaVersion,
    Text,
    UtcDatetime,
)
from schemas.errors import field_errors

Severity = Literal["info", "low", "medium", "high", "critical"]
Team = Literal["ops", "security", "compliance"]
Status = Literal["firing", "updated", "resolved"]


def alert_id(rule_id: str, group: str, window_start: datetime) -> str:
    """Stable alert id: a hash of rule, group key (e.g. site or GPU) and window start."""
    material = "\x1f".join((rule_id, group, window_start.isoformat())).encode()
    return "alert-" + hashlib.sha256(material).hexdigest()[:32]


class Alert(BaseModel):
    """One rule firing over one window for one group."""

    model_config = WIRE_CONFIG | ConfigDict(extra="forbid")

    schema_version: SchemaVersion = SCHEMA_VERSION
    family: Literal["alert"] = Field("alert", description="Record family discriminator")
    id: Identifier = Field(description="Deterministic id, see alert_id()")
    rule_id: Identifier = Field(description="Rule that fired")
    severity: Severity
    team: Team = Field(description="Who acts on it; also picks the alerts topic")
    site_id: Identifier
    country: CountryCode
    window_start: UtcDatetime = Field(description="Start of the evaluated window (UTC)")
    window_end: UtcDatetime = Field(description="End of the evaluated window (UTC)")
    evidence_event_ids: list[Identifier] = Field(
        min_length=1, max_length=1000, description="event_id of the events that triggered it"
    )
    message: Text = Field(min_length=1, description="Human-readable summary")
    created_ts: UtcDatetime = Field(description="When the rule engine created the alert (UTC)")
    status: Status = Field("firing", description="firing -> updated* -> resolved")
    ends_at: UtcDatetime | None = Field(
        None, description="When the condition cleared (event time, UTC); set once resolved"
    )

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @model_validator(mode="after")
    def _window_ordered(self) -> Self:
        if self.window_end < self.window_start:
            raise field_errors(
                type(self).__name__,
                {"window_end": ("window_order", "window_end must not be before window_start")},
            )
        if (self.status == "resolved") != (self.ends_at is not None):
            raise field_errors(
                type(self).__name__,
                {"ends_at": ("ends_at_status", "ends_at is set exactly when status is resolved")},
            )
        return self
