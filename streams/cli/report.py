"""`sovwatch report`: register it with `register(app)`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console

from agents.rules.model import parse_duration
from dashboards.queries.runner import TimeRange
from schemas.errors import SovwatchError
from streams.config import get_settings

console = Console(soft_wrap=True, highlight=False)
WHEN_HINT = "use an ISO time (2026-01-05T20:00Z), 'now' or 'now-6h'"


def parse_time(text: str, now: datetime) -> datetime:
    """`now`, `now-6h` (Grafana's relative form) or ISO 8601 (UTC when no zone is given)."""
    if text == "now":
        return now
    if text.startswith("now-"):
        try:
            return now - timedelta(seconds=parse_duration(text[4:]))
        except ValueError as exc:
            raise SovwatchError(f"time {text!r}: {exc}", WHEN_HINT) from None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SovwatchError(f"time {text!r} is not a time", WHEN_HINT) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report(
    dashboard: list[str] = typer.Option(
        [], "--dashboard", "-d", help="Dashboard short name (gpu, power, ...); repeat; default all"
    ),
    start: str = typer.Option("now-6h", "--from", help="Start: ISO time, now-6h, ..."),
    stop: str = typer.Option("now", "--to", help="End: ISO time or now"),
    site: list[str] = typer.Option([], "--site", help="Only these sites (repeat); default all"),
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write"),
    pdf: bool = typer.Option(False, "--pdf", help="Also print it to PDF (headless Chromium)"),
) -> None:
    """Write the dashboards' panels for a period as one static HTML page (and PDF); incidents
    show their site's local time next to UTC when a site registry is configured."""
    from streams.cli.rules import site_clock
    from streams.report.build import make_report
    from streams.report.chromium import print_pdf

    now = datetime.now(UTC)
    time_range = TimeRange(parse_time(start, now), parse_time(stop, now))
    if time_range.stop <= time_range.start:
        raise SovwatchError("--to must be after --from", WHEN_HINT)
    settings = get_settings()
    local_time = site_clock(settings.sites.registry)
    path = make_report(settings, dashboard, time_range, site, out, local_time)
    console.print(f"report: {path.resolve()}")
    if pdf:
        console.print(f"pdf:    {print_pdf(path, path.with_suffix('.pdf')).resolve()}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
