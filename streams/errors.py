"""Errors a user can act on. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_settings import SettingsError


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
