"""Dead-letter records: what the ingest agent could not decode, with why, for replay.

The raw bytes are kept verbatim (base64) so a record can be fixed and replayed. They may hold
personal data that was never pseudonymised, so the DLQ topic must be as restricted as the
security topics. Offending values in `errors` are truncated, and withheld for personal fields.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.envelope import SCHEMA_VERSION, WIRE_CONFIG, SchemaVersion, UtcDatetime
from schemas.errors import DecodeError, FieldIssue

MAX_RAW_BYTES = 1 << 20


def _check_base64(text: str) -> str:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not standard base64: {exc}") from None
    return text


Base64Text = Annotated[
    str,
    Field(max_length=(MAX_RAW_BYTES // 3 + 1) * 4, description="Standard base64 (RFC 4648 §4)"),
    AfterValidator(_check_base64),
]


class DeadLetter(BaseModel):
    """One Kafka record that failed decoding or validation."""

    model_config = WIRE_CONFIG | ConfigDict(extra="forbid")

    schema_version: SchemaVersion = SCHEMA_VERSION
    family: Literal["dead_letter"] = Field("dead_letter", description="Record family")
    topic: str = Field(min_length=1, max_length=249, description="Topic the record came from")
    partition: int = Field(ge=0, description="Partition of the record")
    offset: int = Field(ge=0, description="Offset of the record in its partition")
    key_b64: Base64Text | None = Field(None, description="Record key, base64")
    raw_b64: Base64Text = Field(description="Record value, base64, verbatim")
    errors: list[FieldIssue] = Field(
        max_length=100, description="Each violated constraint: field, constraint, value"
    )
    reason: str = Field(min_length=1, max_length=1024, description="One-line summary")
    received_ts: UtcDatetime = Field(description="When the ingest agent saw the record (UTC)")

    @property
    def raw(self) -> bytes:
        """The original record value."""
        return base64.b64decode(self.raw_b64)

    @classmethod
    def for_record(
        cls,
        *,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes,
        error: DecodeError,
        received_ts: datetime,
    ) -> DeadLetter:
        """Build a record from a Kafka record and the `DecodeError` it raised.

        Values over 1 MiB (beyond Kafka's default message size) are truncated, and say so.
        """
        reason = error.reason
        if len(value) > MAX_RAW_BYTES:
            reason = f"{reason} [raw value truncated from {len(value)} bytes]"
        return cls.model_validate(
            {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "key_b64": base64.b64encode(key).decode() if key is not None else None,
                "raw_b64": base64.b64encode(value[:MAX_RAW_BYTES]).decode(),
                "errors": list(error.issues[:100]),
                "reason": reason[:1024],
                "received_ts": received_ts,
            }
        )
