"""The one exception every bad input raises, and the per-field issues it carries; and the
errors a user can act on (`SovwatchError`): the CLI prints them as one line, never a traceback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import SettingsError

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


class SovwatchError(Exception):
    """A failure with a message for the user and a hint on how to fix it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class ServiceUnreachableError(SovwatchError):
    """Kafka, InfluxDB or Grafana did not answer at the configured address."""

    def __init__(self, service: str, address: str, detail: str = "") -> None:
        reason = f": {detail}" if detail else ""
        super().__init__(
            f"{service} is not reachable at {address}{reason}",
            "start the dev stack with 'sovwatch stack up' (or 'make demo'), "
            f"or point SOVWATCH_* settings at your {service}",
        )
        self.service = service
        self.address = address


class StackError(SovwatchError):
    """The native stack could not be installed, started or stopped."""


def one_line(text: str) -> str:
    """A multi-line message (e.g. a header and a list of issues) as one line."""
    joined = ""
    for line in filter(None, (part.strip() for part in text.splitlines())):
        separator = "" if not joined else " " if joined.endswith(":") else "; "
        joined += separator + line
    return joined


def settings_error(exc: ValidationError | SettingsError) -> SovwatchError:
    """The user error for settings that do not validate: which variable, what is wrong."""
    hint = "fix it in the environment or in .env"
    if isinstance(exc, SettingsError):
        cause = exc.__cause__
        detail = f": {one_line(str(cause))}" if cause else ""
        return SovwatchError(f"a setting is not valid{detail} ({exc})", hint)
    first = exc.errors(include_url=False)[0]
    variable = "SOVWATCH_" + "__".join(str(part).upper() for part in first["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    got = f", got {first['input']!r}" if not isinstance(first["input"], dict) else ""
    return SovwatchError(f"setting {variable} is not valid: {first['msg']}{got}{more}", hint)
