"""Event -> InfluxDB line: the measurement, tag and field design (documented in the README).

Tags are the low-cardinality dimensions people filter and group by (site, country, node, gpu,
kind, zone...). Event ids, badge ids and free text are never tags: they would explode series
cardinality. Personal identifiers are pseudonymised before they get here (see
`agents.ingest.steps`).

Samples (gpu, power) are stored at their own timestamp, so a replayed sample overwrites itself.
Discrete events (physical, audit) may share a timestamp with another event of the same series;
each gets a deterministic sub-millisecond offset derived from its event id, so two events never
overwrite each other while a replay of the same event still lands on the same point.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final, Literal

from pydantic import BaseModel

from agents.influx.lineprotocol import FieldValue, encode_line
from schemas.alert import Alert
from schemas.decode import Event, Family

NS_PER_MS: Final = 1_000_000


@dataclass(frozen=True)
class PointSpec:
    """How one family becomes a point."""

    bucket: Literal["telemetry", "audit"]
    # tag name -> attribute path in the dumped event
    tags: Mapping[str, str]
    discrete: bool


ENVELOPE_TAGS: Final = {"site": "site_id", "country": "country", "source": "source"}

SPECS: Final[Mapping[Family, PointSpec]] = {
    "gpu": PointSpec(
        "telemetry",
        {**ENVELOPE_TAGS, "node": "node", "gpu": "gpu_index", "mig": "mig_instance_id"},
        discrete=False,
    ),
    "power": PointSpec(
        "telemetry", {**ENVELOPE_TAGS, "scope": "scope", "scope_id": "scope_id"}, discrete=False
    ),
    "physical": PointSpec(
        "telemetry",
        {**ENVELOPE_TAGS, "kind": "kind", "zone_type": "zone_type", "zone": "zone_id"},
        discrete=True,
    ),
    "audit": PointSpec(
        "audit",
        {
            **ENVELOPE_TAGS,
            "action": "action",
            "outcome": "outcome",
            "classification": "classification",
            "destination_country": "destination_country",
        },
        discrete=True,
    ),
}

# Envelope/bookkeeping keys that are neither tags nor fields.
NOT_FIELDS: Final = frozenset({"family", "schema_version", "ts"})


def _flatten(model: BaseModel, prefix: str = "") -> dict[str, FieldValue]:
    """Attribute name -> value, nested models joined with `_`, None left out.

    Reads the validated attributes directly: serialising through `model_dump` would cost
    about three times as much per event.
    """
    flat: dict[str, FieldValue] = {}
    for key, value in model.__dict__.items():
        if value is None:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, str | int | float):  # bool is an int
            flat[name] = value
        elif isinstance(value, BaseModel):
            flat.update(_flatten(value, f"{name}_"))
        elif isinstance(value, Enum):
            flat[name] = value.value
        elif isinstance(value, list | tuple | frozenset | set):
            flat[name] = ",".join(map(str, value))
        elif isinstance(value, datetime):
            flat[name] = value.isoformat()
        else:
            flat[name] = str(value)
    return flat


def timestamp_ns(event: Event, discrete: bool) -> int:
    ts = event.ts
    ns = (int(ts.timestamp()) * 1_000_000 + ts.microsecond) * 1000
    if discrete:
        ns += zlib.crc32(event.event_id.encode()) % NS_PER_MS
    return ns


def to_line(event: Event) -> tuple[str, str]:
    """(bucket kind, line) for one validated, already pseudonymised event."""
    spec = SPECS[event.family]
    values = _flatten(event)
    tags = {tag: str(values.pop(path)) for tag, path in spec.tags.items() if path in values}
    fields = {key: value for key, value in values.items() if key not in NOT_FIELDS}
    return spec.bucket, encode_line(event.family, tags, fields, timestamp_ns(event, spec.discrete))


def alert_line(alert: Alert) -> str:
    """The `alert` point of the alerts bucket. Its timestamp is the incident's window start (plus
    a sub-millisecond offset from the alert id), so each state change of one incident — a later
    window end, more evidence, resolved — overwrites the same point."""
    ts_ns = int(alert.window_start.timestamp() * 1_000_000) * 1000
    ts_ns += zlib.crc32(alert.id.encode()) % NS_PER_MS
    tags = {
        "rule_id": alert.rule_id,
        "severity": alert.severity,
        "team": alert.team,
        "site": alert.site_id,
        "country": alert.country,
    }
    fields: dict[str, FieldValue | None] = {
        "alert_id": alert.id,
        "count": len(alert.evidence_event_ids),
        "message": alert.message,
        "window_end": alert.window_end.isoformat(),
        "duration_s": (alert.window_end - alert.window_start).total_seconds(),
        "status": alert.status,
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
    }
    return encode_line("alert", tags, fields, ts_ns)
