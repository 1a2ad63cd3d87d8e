"""Dead-letter records: what the ingest agent could not decode, with why, for replay.

The raw bytes are kept verbatim (base64) so a record can be fixed and replayed. They may hold
personal data that was never pseudonymised, so the DLQ topic must be as restricted as the
security topics. Offending values in `errors` are truncated, and withheld for personal fields.

Values over `MAX_RAW_BYTES` are cut to that size so the dead letter itself stays well under
Kafka's default 1 MB message limit (base64 adds a third, `errors` up to ~0.5 MB); `raw_size` and
`raw_sha256` always describe the whole original value, so a cut is never silent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.envelope import SCHEMA_VERSION, WIRE_CONFIG, SchemaVersion, UtcDatetime
from schemas.errors import DecodeError, FieldIssue

MAX_RAW_BYTES = 256 * 1024
"""Raw values are kept up to this many bytes (the ingest default record limit)."""
MAX_KEY_BYTES = 1024
"""Keys are site ids (at most 128 characters); longer ones are kept up to this many bytes."""


def _check_base64(text: str) -> str:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not standard base64: {exc}") from None
    return text


_BASE64 = "Standard base64 (RFC 4648 §4)"
Base64Text = Annotated[
    str,
    Field(max_length=(MAX_RAW_BYTES // 3 + 1) * 4, description=_BASE64),
    AfterValidator(_check_base64),
]
Base64Key = Annotated[
    str,
    Field(max_length=(MAX_KEY_BYTES // 3 + 1) * 4, description=_BASE64),
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
    key_b64: Base64Key | None = Field(
        None, description="Record key, base64; its first MAX_KEY_BYTES if longer"
    )
    raw_b64: Base64Text = Field(
        description="Record value, base64, verbatim; its first MAX_RAW_BYTES if larger"
    )
    raw_size: int | None = Field(None, ge=0, description="Size of the whole original value")
    raw_sha256: str | None = Field(
        None, pattern="^[0-9a-f]{64}$", description="SHA-256 (hex) of the whole original value"
    )
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

        Values over `MAX_RAW_BYTES` are truncated, and say so (size and hash of the whole).
        """
        note = ""
        if len(value) > MAX_RAW_BYTES:
            note = f" [raw value truncated to {MAX_RAW_BYTES} of {len(value)} bytes]"
        if key is not None and len(key) > MAX_KEY_BYTES:
            note += f" [key truncated to {MAX_KEY_BYTES} of {len(key)} bytes]"
        reason = error.reason[: 1024 - len(note)] + note
        kept_key = capped_key(key)
        return cls.model_validate(
            {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "key_b64": None if kept_key is None else base64.b64encode(kept_key).decode(),
                "raw_b64": base64.b64encode(value[:MAX_RAW_BYTES]).decode(),
                "raw_size": len(value),
                "raw_sha256": hashlib.sha256(value).hexdigest(),
                "errors": list(error.issues[:100]),
                "reason": reason,
                "received_ts": received_ts,
            }
        )


def capped_key(key: bytes | None) -> bytes | None:
    """A record key cut to `MAX_KEY_BYTES`: what a dead letter keeps of it, in the record and as
    the DLQ message's own key (which must fit the broker's message limit too)."""
    return None if key is None else key[:MAX_KEY_BYTES]
