"""The one exception every bad input raises, and the per-field issues it carries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

VALUE_MAX_CHARS = 120
"""Offending values are truncated to this many characters in issues and DLQ records."""


class FieldIssue(BaseModel):
    """One violated constraint: which field, which constraint, what value was seen."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    field: str = Field(
        max_length=512,
        description="Dotted path of the field, e.g. 'actor.id' or 'evidence_event_ids.3'; "
        "'' for the document itself",
    )
    constraint: str = Field(
        max_length=256,
        description="Pydantic error type plus its limit, e.g. 'less_than_equal le=100'",
    )
    value: str | None = Field(
        max_length=VALUE_MAX_CHARS + 3,
        description="The offending value, truncated; null when the field was missing or "
        "the value was withheld because it is personal data",
    )
    message: str = Field(max_length=1024, description="What was expected, for humans")


def constraint_kind(issues: Sequence[FieldIssue]) -> str:
    """A low-cardinality reason: the first violated constraint's type (for metrics, and what
    `sovwatch dlq list` counts by)."""
    return issues[0].constraint.split(" ", 1)[0] if issues else "invalid"


class DecodeError(ValueError):
    """Raised by `schemas.decode` for every input it cannot turn into an event.

    `issues` names each failing field; `reason` is a one-line summary fit for a log line or
    a dead-letter record.
    """

    def __init__(self, reason: str, issues: tuple[FieldIssue, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.issues = issues


class UnknownFamilyError(LookupError):
    """A decoder was asked for a family or topic it does not know: a wiring bug, not bad input."""


def field_errors(title: str, errors: Mapping[str, tuple[str, str]]) -> ValidationError:
    """A ValidationError with one entry per field: field -> (error type, message).

    Raised from a model validator, the entries keep their field paths, so a consumer sees
    `badge_id: required_when` rather than an anonymous model-level failure.
    """
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=PydanticCustomError(kind, message), loc=(name,), input=None)
            for name, (kind, message) in errors.items()
        ],
    )


def required_when(title: str, missing: Mapping[str, str]) -> ValidationError:
    """`field_errors` for conditionally required fields: field -> condition requiring it."""
    return field_errors(
        title,
        {
            name: ("required_when", f"{name} is required when {cond}")
            for name, cond in missing.items()
        },
    )
