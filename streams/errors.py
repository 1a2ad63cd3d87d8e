"""Errors a user can act on. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations


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
