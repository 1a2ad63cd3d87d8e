"""`sovwatch grafana …`: build the dashboards' JSON and provision a Grafana through its API.

Wired into `streams.cli.main` with `app.add_typer(grafana_app, name="grafana")`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from dashboards import build as dashboard_build
from dashboards.api import CREDENTIALS_HINT, Grafana
from dashboards.provision import Provisioner
from schemas.errors import SovwatchError
from schemas.settings import GrafanaSettings
from streams.admin.influx_tokens import grafana_datasource_token
from streams.config import get_settings

grafana_app = typer.Typer(
    help="Grafana: dashboards as code and provisioning through the HTTP API.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True, highlight=False)


@grafana_app.command("build")
def build(
    check: Annotated[
        bool, typer.Option("--check", help="Only report stale JSON; exit 1 if any")
    ] = False,
) -> None:
    """Render dashboards/json/<folder>/<uid>.json from the Python dashboards."""
    if check:
        outdated = dashboard_build.stale()
        for path in outdated:
            console.print(f"stale: {path}")
        raise typer.Exit(1 if outdated else 0)
    changed = dashboard_build.write()
    for path in changed:
        console.print(f"wrote {path}")
    if not changed:
        console.print("dashboard JSON is up to date")


@grafana_app.command("provision")
def provision(
    url: Annotated[
        str | None, typer.Option(help="Grafana URL [default: SOVWATCH_GRAFANA__URL]")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Service-account token [default: SOVWATCH_GRAFANA__TOKEN]",
            show_default=False,
        ),
    ] = None,
    influx_url: Annotated[
        str | None,
        typer.Option(help="InfluxDB URL as Grafana reaches it [default: SOVWATCH_INFLUXDB__URL]"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing")
    ] = False,
) -> None:
    """Create or update sovwatch's teams, folders, permissions, datasource and dashboards."""
    settings = get_settings()
    secret = token or configured_token(settings.grafana)
    grafana = Grafana(url or settings.grafana.url, secret, settings.grafana.timeout_s)
    datasource_token, token_source = grafana_datasource_token(settings)
    provisioner = Provisioner(
        grafana,
        settings.influxdb,
        influx_url or settings.grafana.influxdb_url or settings.influxdb.url,
        datasource_token,
    )
    steps = provisioner.plan()
    console.print(f"datasource token: {token_source}")
    if not steps:
        console.print(f"Grafana at {grafana.url} is up to date: nothing to change")
        return
    for step in steps:
        console.print(f"[bold]{step.summary()}[/bold]")
        if dry_run:
            console.print(step.diff)
    if dry_run:
        console.print(f"dry run: {len(steps)} change(s) not applied")
        return
    provisioner.apply(steps)
    console.print(f"applied {len(steps)} change(s) to {grafana.url}")


def configured_token(grafana: GrafanaSettings) -> str:
    """SOVWATCH_GRAFANA__TOKEN, or a user error saying how to give one."""
    if grafana.token is None:
        raise SovwatchError("no Grafana token: SOVWATCH_GRAFANA__TOKEN is unset", CREDENTIALS_HINT)
    return grafana.token.get_secret_value()
