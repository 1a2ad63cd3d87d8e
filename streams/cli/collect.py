"""`sovwatch collect …`: the DCGM collector, and the Telegraf and OpenTelemetry Collector
configurations of a site.

Wired into `streams.cli.main` with `app.add_typer(collect_app, name="collect")`.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from schemas.country import CountryCode
from schemas.envelope import Identifier
from schemas.errors import SovwatchError
from streams.admin.produce import produce
from streams.collectors.dcgm import collect_once
from streams.collectors.otelcol_config import SiteScrape, checked_url, otelcol_config
from streams.collectors.telegraf_config import SiteCollectors, telegraf_config
from streams.config import get_settings
from streams.jurisdiction import kafka_for

collect_app = typer.Typer(
    help="Collectors that turn site telemetry into sovwatch events.", no_args_is_help=True
)


@collect_app.command("dcgm")
def collect_dcgm(
    url: Annotated[str, typer.Option(help="dcgm-exporter metrics URL")],
    site: Annotated[str, typer.Option(help="Site id (the Kafka key)")],
    country: Annotated[str, typer.Option(help="Site country, ISO 3166-1 alpha-2")],
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between scrapes")] = 15.0,
    once: Annotated[bool, typer.Option(help="Scrape and produce once, then exit")] = False,
    source: Annotated[str | None, typer.Option(help="Collector id [dcgm:<hostname>]")] = None,
    node: Annotated[str | None, typer.Option(help="Node name if no Hostname label")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Scrape timeout, seconds")] = 5.0,
) -> None:
    """Scrape dcgm-exporter and produce one GPU sample per GPU/MIG instance to Kafka."""
    source = source or f"dcgm:{socket.gethostname()}"
    _check_site(site, country, source)
    settings = get_settings()

    kafka = kafka_for(settings, country)  # the country's own cluster, if it has one

    def send(records: Iterable[tuple[str, bytes, bytes]]) -> int:
        return produce(kafka, records)

    while True:
        started = time.monotonic()
        try:
            line = collect_once(
                url, site=site, country=country, source=source, node=node,
                timeout=timeout, topic=settings.topics.gpu, send=send,
            )  # fmt: skip
            typer.echo(line)
        except SovwatchError as exc:
            if once:
                raise
            print(f"warning: {exc}", file=sys.stderr)  # keep scraping: the exporter may return
        if once:
            return
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


@collect_app.command("telegraf-config")
def collect_telegraf_config(
    site: Annotated[str, typer.Option(help="Site id (the Kafka key)")],
    country: Annotated[str, typer.Option(help="Site country, ISO 3166-1 alpha-2")],
    nvidia_smi: Annotated[bool, typer.Option(help="Collect the node's GPUs (nvidia-smi)")] = False,
    nvidia_smi_bin: Annotated[str, typer.Option(help="Path of nvidia-smi")] = "/usr/bin/nvidia-smi",
    redfish: Annotated[
        list[str] | None, typer.Option(help="BMC Redfish URL (repeat per BMC)")
    ] = None,
    redfish_system_id: Annotated[
        str, typer.Option(help="Redfish ComputerSystem id of the BMCs")
    ] = "System.Embedded.1",
    ipmi: Annotated[bool, typer.Option(help="Collect the local BMC's sensors (ipmitool)")] = False,
    interval: Annotated[int, typer.Option(min=1, help="Seconds between collections")] = 10,
) -> None:
    """Print a Telegraf configuration that feeds this site's GPUs and BMCs to sovwatch."""
    _check_site(site, country)
    if not nvidia_smi and not redfish and not ipmi:
        raise SovwatchError(
            "nothing to collect",
            "add --nvidia-smi, --ipmi and/or one --redfish https://<bmc> per BMC",
        )
    for url in redfish or []:
        if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
            raise SovwatchError(f"--redfish {url!r} is not a URL", "use https://<bmc-address>")
    collectors = SiteCollectors(
        site, country, nvidia_smi, nvidia_smi_bin, list(redfish or []), redfish_system_id,
        interval, ipmi,
    )  # fmt: skip
    typer.echo(telegraf_config(collectors, get_settings()), nl=False)


@collect_app.command("otelcol-config")
def collect_otelcol_config(
    site: Annotated[str, typer.Option(help="Site id (the Kafka key)")],
    country: Annotated[str, typer.Option(help="Site country, ISO 3166-1 alpha-2")],
    dcgm: Annotated[
        list[str] | None, typer.Option(help="dcgm-exporter metrics URL (repeat per node)")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Collector id [otelcol:<hostname>]")] = None,
    interval: Annotated[int, typer.Option(min=1, help="Seconds between scrapes")] = 10,
) -> None:
    """Print an OpenTelemetry Collector configuration that feeds this site's GPUs to sovwatch."""
    source = source or f"otelcol:{socket.gethostname()}"
    _check_site(site, country, source)
    if not dcgm:
        raise SovwatchError(
            "nothing to scrape", "add one --dcgm http://<node>:9400/metrics per node"
        )
    scrape = SiteScrape(site, country, source, [checked_url(url) for url in dcgm], interval)
    typer.echo(otelcol_config(scrape, get_settings()), nl=False)


def _check_site(site: str, country: str, source: str | None = None) -> None:
    """A clear error for a bad --site, --country or --source."""
    _check("--site", site, Identifier, "letters, digits and . _ : / @ -, e.g. fra-1")
    _check("--country", country, CountryCode, "an ISO 3166-1 alpha-2 code such as DE")
    if source is not None:
        _check("--source", source, Identifier, "letters, digits and . _ : / @ -")


def _check(option: str, value: str, kind: Any, expected: str) -> None:
    try:
        TypeAdapter(kind).validate_python(value, strict=True)
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"]
        raise SovwatchError(
            f"{option} {value!r} is invalid: {message}", f"use {expected}"
        ) from None
