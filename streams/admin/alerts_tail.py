"""What `sovwatch alerts tail` shows: on a terminal a live table of the open incidents (one row
each, updated in place; a resolved row is dimmed, then dropped), in a pipe one line per state
change, with --json the records themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.table import Table
from rich.text import Text

from schemas.alert import Alert

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_STYLE = {
    "info": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "red",
    "critical": "bold red",
}
STATUS_STYLE = {"firing": "bold", "updated": "", "resolved": "dim green"}
LINGER_S = 10.0
"""How long a resolved incident stays on the live table (dimmed) before it is dropped."""


@dataclass(frozen=True)
class Filters:
    min_severity: str = "info"
    site: str | None = None

    def keep(self, alert: Alert) -> bool:
        if SEVERITIES.index(alert.severity) < SEVERITIES.index(self.min_severity):
            return False
        return self.site is None or alert.site_id == self.site


def decoded(values: Iterable[bytes | None], filters: Filters) -> Iterator[Alert]:
    """The alerts among raw topic values that pass the filters (anything else is skipped)."""
    for value in values:
        if value is None:
            continue
        try:
            alert = Alert.model_validate_json(value)
        except ValueError:
            continue
        if filters.keep(alert):
            yield alert


LocalTime = Callable[[str, datetime], str | None]
"""Site id and instant -> the site's local time (`Registry.local_time`), None if unknown."""


def line(alert: Alert, local_time: LocalTime | None = None) -> str:
    """One state change as one line (rich markup); with `local_time`, the site's own clock
    follows the UTC time."""
    style = SEVERITY_STYLE[alert.severity]
    ended = f" ended {alert.ends_at:%H:%M:%S}Z" if alert.ends_at else ""
    local = local_time(alert.site_id, alert.window_start) if local_time else None
    return (
        f"{alert.window_start:%Y-%m-%d %H:%M:%S}Z{f' (local {local})' if local else ''} "
        f"{alert.status:<8} "
        f"[{style}]{alert.severity:<8}[/{style}] {alert.team:<10} {alert.site_id:<12} "
        f"{alert.rule_id}: {alert.message}{ended} "
        f"[dim]({len(alert.evidence_event_ids)} events, {alert.id})[/dim]"
    )


@dataclass
class Board:
    """The open incidents, one row per id in order of arrival; resolved rows linger dimmed."""

    linger_s: float = LINGER_S
    rows: dict[str, Alert] = field(default_factory=dict)
    resolved_at: dict[str, float] = field(default_factory=dict)

    def apply(self, alert: Alert, now: float) -> None:
        self.rows[alert.id] = alert
        if alert.is_open:
            self.resolved_at.pop(alert.id, None)
        else:
            self.resolved_at.setdefault(alert.id, now)

    def expire(self, now: float) -> None:
        for alert_id, since in list(self.resolved_at.items()):
            if now - since >= self.linger_s:
                del self.resolved_at[alert_id]
                self.rows.pop(alert_id, None)

    def table(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Table:
        open_count = sum(1 for a in self.rows.values() if a.is_open)
        table = Table(
            "since",
            "status",
            "severity",
            "team",
            "site",
            "rule",
            "events",
            "message",
            title=f"sovwatch incidents: {open_count} open at {clock():%H:%M:%S}Z",
            title_justify="left",
            expand=False,
        )
        for alert in self.rows.values():
            dim = "dim" if not alert.is_open else ""
            table.add_row(
                f"{alert.window_start:%m-%d %H:%M:%S}",
                Text(alert.status, style=STATUS_STYLE[alert.status]),
                Text(alert.severity, style=SEVERITY_STYLE[alert.severity]),
                alert.team,
                alert.site_id,
                alert.rule_id,
                str(len(alert.evidence_event_ids)),
                alert.message,
                style=dim,
            )
        return table
