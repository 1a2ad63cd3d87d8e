"""Physical-security events from access control, intrusion and video systems.

`badge_id` and `holder` are personal data (marked, see `schemas.personal`): the pipeline
pseudonymises them before anything is stored. Unknown fields are **rejected**: an unknown field
could carry personal data that nothing would know to pseudonymise; such events go to the DLQ
with the field named, and can be replayed once the consumer knows the new minor version.
"""

from __future__ import annotations

from typing import Final, Literal, Self, get_args

from pydantic import ConfigDict, Field, model_validator

from schemas.envelope import Envelope, Identifier, Name
from schemas.errors import required_when
from schemas.personal import PERSONAL

PhysicalKind = Literal[
    "access_granted",
    "access_denied",
    "door_forced_open",
    "door_held_open",
    "tailgating",
    "reader_tamper",
    "camera_offline",
    "camera_tamper",
    "cage_opened",
    "motion_after_hours",
    "duress",
    "antipassback",
]
PHYSICAL_KINDS: Final[tuple[PhysicalKind, ...]] = get_args(PhysicalKind)
ZoneType = Literal["perimeter", "building", "hall", "room", "cage", "rack", "door"]

BADGE_KINDS: Final[frozenset[str]] = frozenset(
    {"access_granted", "access_denied", "antipassback", "duress"}
)
"""Kinds that only exist because a badge was presented: `badge_id` is required."""
DEVICE_KINDS: Final[frozenset[str]] = frozenset(
    {"reader_tamper", "camera_offline", "camera_tamper"}
)
"""Kinds about a device: `device_id` is required."""


class PhysicalEvent(Envelope):
    """One access-control, intrusion or video event in a zone of a site."""

    model_config = ConfigDict(extra="forbid")

    family: Literal["physical"] = Field("physical", description="Event family discriminator")
    kind: PhysicalKind = Field(description="What happened")
    zone_type: ZoneType = Field(description="Kind of zone the event happened in")
    zone_id: Identifier = Field(description="Hall, cage or door id, e.g. hall-2/cage-14/door-a")
    device_id: Identifier | None = Field(None, description="Reader, camera or sensor id")
    badge_id: Identifier | None = Field(
        None, description="Badge presented (personal data)", json_schema_extra=PERSONAL
    )
    holder: Name | None = Field(
        None,
        description="Badge holder name or staff id (personal data)",
        json_schema_extra=PERSONAL,
    )
    direction: Literal["in", "out"] | None = Field(None, description="Direction of passage")
    duration_s: float | None = Field(
        None, ge=0, le=86_400 * 7, description="How long a door stayed open, seconds"
    )

    @model_validator(mode="after")
    def _required_by_kind(self) -> Self:
        missing = {}
        if self.kind in BADGE_KINDS and self.badge_id is None:
            missing["badge_id"] = f"kind is {self.kind}"
        if self.kind in DEVICE_KINDS and self.device_id is None:
            missing["device_id"] = f"kind is {self.kind}"
        if missing:
            raise required_when(type(self).__name__, missing)
        return self
