"""The envelope every event carries, and the constrained types shared by all models.

Events are keyed by `site_id` on Kafka. `schema_version` is "MAJOR" or "MAJOR.MINOR":
minor versions only add optional fields, so a v1.0 producer keeps validating against a v1.3
consumer; a different major version is rejected with an error that says so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from schemas.country import CountryCode

_ZERO = timedelta(0)
TS_MIN = datetime(1678, 1, 1, tzinfo=UTC)
TS_MAX = datetime(2262, 1, 1, tzinfo=UTC)
"""Timestamps must fall in [TS_MIN, TS_MAX): InfluxDB stores int64 nanoseconds since 1970."""
SCHEMA_MAJOR = 1
SCHEMA_VERSION = "1.0"
"""The version this build writes. It reads any `1` or `1.<minor>`."""


def _check_version(version: str) -> str:
    major = version.partition(".")[0]
    if major != str(SCHEMA_MAJOR):
        raise PydanticCustomError(
            "schema_version_unsupported",
            "unsupported schema major version {major}: this decoder reads major version "
            "{supported} ('{supported}' or '{supported}.<minor>')",
            {"major": major, "supported": SCHEMA_MAJOR},
        )
    return version


def _to_utc(ts: datetime) -> datetime:
    # Most producers already send UTC ("Z"): skip the conversion, it costs ~8% of a decode.
    if ts.utcoffset() != _ZERO:
        try:
            ts = ts.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before datetime.min in UTC
            raise PydanticCustomError(
                "datetime_utc_range", "timestamp is out of range once converted to UTC"
            ) from None
    if not TS_MIN <= ts < TS_MAX:
        raise PydanticCustomError(
            "datetime_storable_range",
            "timestamp must be from {min} to before {max} (what InfluxDB can store)",
            {"min": TS_MIN.date().isoformat(), "max": TS_MAX.date().isoformat()},
        )
    return ts


SchemaVersion = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,4}(\.[0-9]{1,4})?$",
        max_length=9,
        description="Schema version 'MAJOR' or 'MAJOR.MINOR'; only major 1 is accepted",
        examples=[SCHEMA_VERSION],
    ),
    AfterValidator(_check_version),
]

UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    Field(description="RFC 3339 timestamp with an offset; stored normalised to UTC"),
]
"""A timezone-aware timestamp, normalised to UTC. Naive timestamps are rejected."""

Identifier = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$"),
]
"""An id usable as a Kafka key or an InfluxDB tag: no spaces, no control characters."""

Name = Annotated[str, Field(min_length=1, max_length=256)]
"""A free-form short label (model name, holder name...)."""

Text = Annotated[str, Field(max_length=4096)]
"""Free text (messages, justifications)."""

WIRE_CONFIG = ConfigDict(
    strict=True,
    frozen=True,
    allow_inf_nan=False,
    # A field that exists only for the type checker must not leak into the schema.
    protected_namespaces=(),
)
"""Shared model config: strict JSON types (no "87" for 87, no true for 1), no NaN/inf."""


class Envelope(BaseModel):
    """Fields common to every event, whatever its family."""

    model_config = WIRE_CONFIG | ConfigDict(extra="forbid")

    schema_version: SchemaVersion = SCHEMA_VERSION
    event_id: Identifier = Field(
        description="Producer-unique id; consumers use it to drop duplicates (idempotency)"
    )
    site_id: Identifier = Field(description="Data-centre site; the Kafka message key")
    country: CountryCode = Field(description="Country of the site (ISO 3166-1 alpha-2)")
    ts: UtcDatetime = Field(description="When the event happened or the sample was taken (UTC)")
    source: Identifier = Field(description="Collector that produced the event")
