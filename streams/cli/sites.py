"""`sovwatch sites lint | list | show SITE`: the site registry, as reviewers and operators read it.

Wired into `streams.cli.main` with `app.add_typer(sites_app, name="sites")`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from agents.sites.calendar import SiteCalendar, describe_local
from agents.sites.lint import RegistryError, lint_registry, load_registry
from agents.sites.registry import Registry, SiteIndex
from schemas.errors import SovwatchError
from streams.config import get_settings

sites_app = typer.Typer(help="The site registry (docs/sites.md).", no_args_is_help=True)
console = Console(soft_wrap=True)

RegistryFile = typer.Option(
    None, "--registry", help="Site registry YAML; default: SOVWATCH_SITES__REGISTRY"
)


def registry_path(path: Path | None) -> Path:
    """The file named, or the configured one; a clear error when there is neither."""
    found = path or get_settings().sites.registry
    if found is None:
        raise SovwatchError(
            "no site registry given", "pass --registry FILE or set SOVWATCH_SITES__REGISTRY"
        )
    if not found.is_file():
        raise SovwatchError(f"site registry {found} does not exist", "pass --registry FILE")
    return found


def open_registry(path: Path | None) -> Registry:
    try:
        return load_registry(registry_path(path))
    except RegistryError as exc:
        raise SovwatchError(
            f"the site registry does not lint:\n{exc}", "see `sovwatch sites lint`"
        ) from None


@sites_app.command("lint")
def lint(registry: Path | None = RegistryFile) -> None:
    """Check the registry: schema, unknown keys, time zones, holiday calendars, rack zones.
    Exit 1 on any issue."""
    path = registry_path(registry)
    data, issues = lint_registry(path)
    for issue in issues:
        console.print(f"[red]{issue}[/red]", highlight=False)
    sites = 0 if data is None else len(data.sites)
    console.print(f"{path}: {sites} sites, {len(issues)} issues", highlight=False)
    raise typer.Exit(1 if issues else 0)


@sites_app.command("list")
def list_sites(registry: Path | None = RegistryFile) -> None:
    """Every site with its country, time zone and local time now."""
    found = open_registry(registry)
    now = datetime.now(UTC)
    table = Table("site", "country", "time zone", "local time now", "zones", "racks", "budget")
    for index in found.sites.values():
        site = index.site
        table.add_row(
            site.id,
            site.country,
            site.tz,
            _local_now(index.calendar, now),
            str(len(site.zones)),
            str(len(site.racks)),
            _watts(site.power_budget_w),
        )
    console.print(table)


@sites_app.command("show")
def show(
    site_id: str = typer.Argument(help="Site id, e.g. fra-1"),
    registry: Path | None = RegistryFile,
) -> None:
    """One site: country, clock and calendar, the next holidays, zones and racks."""
    found = open_registry(registry)
    index = found.get(site_id)
    if index is None:
        raise SovwatchError(
            f"no site {site_id!r} in {found.path}",
            f"known sites: {', '.join(sorted(found.sites))}",
        )
    _print_site(index, datetime.now(UTC))


def _print_site(index: SiteIndex, now: datetime) -> None:
    site, calendar = index.site, index.calendar
    hours = site.working_hours
    lines = [
        f"site        {site.id}{f' ({site.name})' if site.name else ''}",
        f"country     {site.country}",
        f"time zone   {site.tz}, now {_local_now(calendar, now)}",
        f"working     {hours.start}-{hours.end}, weekend {', '.join(site.weekend) or 'none'}",
        f"holidays    {_holiday_source(index)}",
        f"next off    {', '.join(_next_days_off(calendar, now, 3)) or 'none within a year'}",
        f"budget      {_watts(site.power_budget_w)}, PUE target {site.pue_target or '-'}",
    ]
    for line in lines:
        console.print(line, highlight=False)
    zones = Table("zone", "kind", "two-person", "24x7", "customer", title="zones")
    for zone in site.zones:
        zones.add_row(
            zone.id,
            zone.kind,
            "yes" if zone.two_person else "",
            "yes" if zone.staffed_24x7 else "",
            zone.customer or "",
        )
    console.print(zones)
    racks = Table("rack", "zone", "allocated", "nodes", title="racks")
    for rack in site.racks:
        racks.add_row(rack.id, rack.zone, _watts(rack.allocated_w), str(len(rack.nodes)))
    console.print(racks)


def _local_now(calendar: SiteCalendar, now: datetime) -> str:
    state = "after hours" if calendar.after_hours(now) else "working hours"
    return f"{describe_local(now, calendar.zone)}, {state}"


def _holiday_source(index: SiteIndex) -> str:
    calendar = index.site.holidays
    public = (
        f"public holidays of {index.site.holiday_country}"
        + (f"-{calendar.subdivision}" if calendar.subdivision else "")
        if calendar.public
        else "no public holidays"
    )
    return f"{public}, {len(calendar.closures)} site closures"


def _next_days_off(calendar: SiteCalendar, now: datetime, count: int) -> list[str]:
    """The next holidays or closures (not weekends), as local dates with their names."""
    found: list[str] = []
    for days in range(366):
        moment = now + timedelta(days=days)
        name = calendar.holiday_name(moment)
        if name is not None:
            found.append(f"{calendar.local(moment):%Y-%m-%d} {name}")
            if len(found) == count:
                break
    return found


def _watts(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:,.0f} kW" if value < 1e6 else f"{value / 1e6:,.2f} MW"
