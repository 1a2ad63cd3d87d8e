"""Sovereignty audit events: who moved, copied, exported or unlocked what, where, and why.

`actor.id` is personal data (marked, see `schemas.personal`). Unknown fields are **rejected**:
audit events are evidence chained into a tamper-evident log, so a field that no rule and no
reviewer understands must not slip in silently; it goes to the DLQ with its name.
"""

from __future__ import annotations

import functools
from enum import Enum
from typing import Final, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.country import CountryCode
from schemas.envelope import WIRE_CONFIG, Envelope, Identifier, Name, Text
from schemas.errors import required_when
from schemas.personal import PERSONAL


@functools.total_ordering
class Classification(Enum):
    """Data classification, ordered: public < internal < restricted < secret."""

    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"
    SECRET = "secret"  # noqa: S105 - a classification level, not a password

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Classification):
            return NotImplemented
        return self.rank < other.rank


_RANK: Final[dict[Classification, int]] = {c: i for i, c in enumerate(Classification)}

AuditAction = Literal[
    "data_transfer",
    "replica_created",
    "model_weights_export",
    "admin_session_start",
    "admin_session_end",
    "privileged_command",
    "key_use",
    "support_session",
    "approval_granted",
    "audit_logging_changed",
]
AUDIT_ACTIONS: Final[tuple[AuditAction, ...]] = get_args(AuditAction)

DATA_MOVEMENT: Final[frozenset[str]] = frozenset(
    {"data_transfer", "replica_created", "model_weights_export"}
)
"""Actions that move or copy data: source, destination and classification are required."""


class Actor(BaseModel):
    """Who performed the action, with the attributes sovereignty rules check."""

    model_config = WIRE_CONFIG | ConfigDict(extra="forbid")

    id: Identifier = Field(
        description="User or service account id (personal data)", json_schema_extra=PERSONAL
    )
    kind: Literal["human", "service"] = Field("human", description="Person or workload identity")
    role: Name | None = Field(None, description="Role or group, e.g. sre, vendor-support")
    organisation: Name | None = Field(None, description="Employer or vendor")
    clearance: Classification | None = Field(
        None, strict=False, description="Highest classification the actor is cleared for"
    )
    nationality: CountryCode | None = Field(
        None, description="Nationality (ISO 3166-1 alpha-2), for citizenship rules"
    )


class AuditEvent(Envelope):
    """One action relevant to data sovereignty, as reported by a platform or KMS/HSM."""

    model_config = ConfigDict(extra="forbid")

    family: Literal["audit"] = Field("audit", description="Event family discriminator")
    action: AuditAction = Field(description="What was done")
    outcome: Literal["success", "failure", "denied"] = Field(
        "success", description="Whether the action took effect"
    )
    actor: Actor
    dataset_id: Identifier | None = Field(None, description="Dataset acted on")
    model_id: Identifier | None = Field(None, description="Model (weights) acted on")
    classification: Classification | None = Field(
        None, strict=False, description="Classification of the data or model acted on"
    )
    source_country: CountryCode | None = Field(None, description="Where the data was")
    source_region: Name | None = Field(None, description="Region/zone where the data was")
    destination_country: CountryCode | None = Field(None, description="Where the data went")
    destination_region: Name | None = Field(None, description="Region/zone where it went")
    encrypted: bool | None = Field(None, description="Whether data was encrypted in transit/rest")
    key_custodian: Name | None = Field(
        None, description="Who holds the key: e.g. site-hsm, customer, provider"
    )
    key_id: Identifier | None = Field(None, description="KMS/HSM key used (key_use)")
    session_id: Identifier | None = Field(None, description="Admin or support session id")
    command: Text | None = Field(None, description="Privileged command, secrets redacted")
    approval_ref: Identifier | None = Field(None, description="Approval or change ticket ref")
    justification: Text | None = Field(None, description="Why, in the actor's words")

    @model_validator(mode="after")
    def _required_by_action(self) -> Self:
        missing: dict[str, str] = {}
        if self.action in DATA_MOVEMENT:
            for name in ("source_country", "destination_country", "classification"):
                if getattr(self, name) is None:
                    missing[name] = f"action is {self.action}"
            if self.dataset_id is None and self.model_id is None:
                missing["dataset_id"] = f"action is {self.action} and model_id is not set"
        if self.action == "key_use" and self.key_id is None:
            missing["key_id"] = "action is key_use"
        if self.action == "approval_granted" and self.approval_ref is None:
            missing["approval_ref"] = "action is approval_granted"
        if missing:
            raise required_when(type(self).__name__, missing)
        return self
