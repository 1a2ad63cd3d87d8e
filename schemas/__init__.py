"""Pydantic v2 models of the events sovwatch carries: pure data, no I/O.

Entry points: `decode(raw, family_or_topic)` -> event or `DecodeError`; the models
`GpuSample`, `PowerReading`, `PhysicalEvent`, `AuditEvent`, `Alert`, `DeadLetter`;
`personal_fields(model)` for pseudonymisation.
"""

from schemas.alert import Alert, alert_id
from schemas.audit import Actor, AuditEvent, Classification
from schemas.deadletter import DeadLetter
from schemas.decode import (
    DEFAULT_TOPICS,
    FAMILY_MODELS,
    Event,
    Family,
    decode,
    decode_as,
    family_of,
)
from schemas.envelope import SCHEMA_VERSION, Envelope
from schemas.errors import DecodeError, FieldIssue, UnknownFamilyError
from schemas.gpu import GpuSample
from schemas.personal import personal_fields, pseudonymise
from schemas.physical import PhysicalEvent
from schemas.power import PowerReading, PueError, pue_between, pue_from_energy

__all__ = [
    "DEFAULT_TOPICS",
    "FAMILY_MODELS",
    "SCHEMA_VERSION",
    "Actor",
    "Alert",
    "AuditEvent",
    "Classification",
    "DeadLetter",
    "DecodeError",
    "Envelope",
    "Event",
    "Family",
    "FieldIssue",
    "GpuSample",
    "PhysicalEvent",
    "PowerReading",
    "PueError",
    "UnknownFamilyError",
    "alert_id",
    "decode",
    "decode_as",
    "family_of",
    "personal_fields",
    "pseudonymise",
    "pue_between",
    "pue_from_energy",
]
