"""Dead-letter records: what the ingest agent could not decode, with why, for replay.

The raw bytes may hold personal data that was never pseudonymised, so they are kept only sealed
(AES-256-GCM, `raw_sealed`), bound to the record's source topic/partition/offset: holders of the
DLQ key can open and replay them (`sovwatch dlq`), nobody else. What stays readable (reason,
`errors`, `pseudonyms`) shows personal fields only as pseudonyms; other offending values are
truncated.

Values over `MAX_RAW_BYTES` are cut to that size so the dead letter itself stays well under
Kafka's default 1 MB message limit (base64 adds a third, `errors` up to ~0.5 MB); `raw_size` and
`raw_sha256` always describe the whole original value, so a cut is never silent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
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
TAG_BYTES = 16
"""AES-GCM appends a 16-byte authentication tag to the ciphertext."""
NONCE_BYTES = 12
Base64Sealed = Annotated[
    str,
    Field(max_length=((MAX_RAW_BYTES + TAG_BYTES) // 3 + 1) * 4, description=_BASE64),
    AfterValidator(_check_base64),
]
Base64Nonce = Annotated[
    str, Field(min_length=16, max_length=16, description=_BASE64), AfterValidator(_check_base64)
]
Base64Key = Annotated[
    str,
    Field(max_length=(MAX_KEY_BYTES // 3 + 1) * 4, description=_BASE64),
    AfterValidator(_check_base64),
]


class SealedRaw(BaseModel):
    """A record value sealed with AES-256-GCM under the DLQ key `key_id` names."""

    model_config = WIRE_CONFIG | ConfigDict(extra="forbid")

    alg: Literal["AES-256-GCM"] = "AES-256-GCM"
    key_id: str = Field(
        pattern="^[0-9a-f]{16}$", description="Which DLQ key sealed it (a hash of the key)"
    )
    nonce_b64: Base64Nonce = Field(description="The 12-byte nonce, base64")
    ciphertext_b64: Base64Sealed = Field(description="Ciphertext and tag, base64")


Seal = Callable[[bytes, bytes], SealedRaw]
"""Seals (plaintext, associated data): `agents.dlq_crypto.DlqCipher.seal`."""


def raw_aad(topic: str, partition: int, offset: int) -> bytes:
    """The associated data of a sealed value: a ciphertext opens only for its own source record,
    so one moved to another dead letter fails authentication."""
    return json.dumps(["sovwatch-dlq/1", topic, partition, offset]).encode()


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
    raw_sealed: SealedRaw | None = Field(
        description="Record value (its first MAX_RAW_BYTES if larger), sealed; null when the "
        "worker keeps no raw bytes (SOVWATCH_PRIVACY__DLQ_KEEP_RAW=false)"
    )
    raw_size: int | None = Field(None, ge=0, description="Size of the whole original value")
    raw_sha256: str | None = Field(
        None, pattern="^[0-9a-f]{64}$", description="SHA-256 (hex) of the whole original value"
    )
    errors: list[FieldIssue] = Field(
        max_length=100,
        description="Each violated constraint: field, constraint, value (a pseudonym for a "
        "personal field)",
    )
    pseudonyms: dict[str, str] = Field(
        default_factory=dict,
        max_length=16,
        description="Personal fields found in the record (dotted path) and their pseudonyms",
    )
    reason: str = Field(min_length=1, max_length=1024, description="One-line summary")
    received_ts: UtcDatetime = Field(description="When the ingest agent saw the record (UTC)")

    @property
    def aad(self) -> bytes:
        """The associated data `raw_sealed` was sealed with."""
        return raw_aad(self.topic, self.partition, self.offset)

    @property
    def source(self) -> str:
        """The source record as `topic:partition:offset`."""
        return f"{self.topic}:{self.partition}:{self.offset}"

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
        seal: Seal | None,
        pseudonyms: Mapping[str, str],
    ) -> DeadLetter:
        """Build a record from a Kafka record and the `DecodeError` it raised.

        Values over `MAX_RAW_BYTES` are truncated, and say so (size and hash of the whole).
        `seal` None keeps no raw bytes; `pseudonyms` (personal field -> pseudonym) also stand in
        for the withheld value of each issue about such a field.
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
                "raw_sealed": (
                    None
                    if seal is None
                    else seal(value[:MAX_RAW_BYTES], raw_aad(topic, partition, offset))
                ),
                "raw_size": len(value),
                "raw_sha256": hashlib.sha256(value).hexdigest(),
                "errors": [_pseudonymised(issue, pseudonyms) for issue in error.issues[:100]],
                "pseudonyms": dict(pseudonyms),
                "reason": reason,
                "received_ts": received_ts,
            }
        )


def _pseudonymised(issue: FieldIssue, pseudonyms: Mapping[str, str]) -> FieldIssue:
    if issue.value is None and issue.field in pseudonyms:
        return issue.model_copy(update={"value": pseudonyms[issue.field]})
    return issue


def capped_key(key: bytes | None) -> bytes | None:
    """A record key cut to `MAX_KEY_BYTES`: what a dead letter keeps of it, in the record and as
    the DLQ message's own key (which must fit the broker's message limit too)."""
    return None if key is None else key[:MAX_KEY_BYTES]
