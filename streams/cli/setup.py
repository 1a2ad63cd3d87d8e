"""`sovwatch stack`, `sovwatch topics` and `sovwatch setup`: the servers, and preparing them
(topics, buckets, scoped tokens). Register them with `register(app)`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from streams.admin.buckets import ensure_buckets, wanted_buckets
from streams.admin.connect import influx_client, kafka_admin
from streams.admin.selfcheck import influx_round_trip, kafka_round_trip
from streams.admin.topics import ensure_topics, partition_counts
from streams.cli.tables import JsonOpt, Listing, chosen_format, show
from streams.config import get_settings
from streams.stack import Stack
from streams.stack.influx_auth import ScopedTokens

stack_app = typer.Typer(help="The native dev stack: a real Kafka and InfluxDB on 127.0.0.1.")
topics_app = typer.Typer(help="sovwatch's Kafka topics.")
console = Console(soft_wrap=True)


@stack_app.command("up")
def stack_up(
    with_: list[str] = typer.Option(
        [], "--with", help="Also start: alertmanager (at SOVWATCH_ALERTS__ALERTMANAGER_URL)"
    ),
) -> None:
    """Install (first time), start and initialise Kafka and InfluxDB; waits until both answer."""
    stack = Stack(get_settings(), tuple(with_))
    stack.up()
    for service in stack.status():
        console.print(f"{service.name}: {service.state} at {service.address} (pid {service.pid})")


@stack_app.command("down")
def stack_down() -> None:
    """Stop the stack's servers (data is kept for the next `up`)."""
    stopped = Stack(get_settings()).down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command("status")
def stack_status(as_json: bool = JsonOpt) -> None:
    """Show whether each server runs and answers. Exit code 0 only when all are up."""
    listing = Listing(("service", "state", "address", "pid"))
    statuses = Stack(get_settings()).status()
    for service in statuses:
        listing.add(service.name, service.state, service.address, service.pid or "-")
    show(listing, chosen_format(as_json, False), console)
    raise typer.Exit(0 if all(s.state == "up" for s in statuses) else 1)


@stack_app.command("check")
def stack_check() -> None:
    """Prove the round trips: produce/consume on Kafka, write/query on InfluxDB."""
    settings = get_settings()
    for trip in (kafka_round_trip(settings), influx_round_trip(settings)):
        console.print(
            f"[green]ok[/green] {trip.service}: {trip.description} ({trip.millis:.0f} ms)"
        )


@topics_app.command("create")
def topics_create() -> None:
    """Create sovwatch's topics (partitions and retention from settings); existing ones are kept."""
    settings = get_settings()
    admin = kafka_admin(settings.kafka)
    try:
        created = ensure_topics(admin, settings.topics)
        counts = partition_counts(admin, settings.topics.all_names())
    finally:
        admin.close()
    for name in settings.topics.all_names():
        verb = "created" if name in created else "exists "
        console.print(f"{verb} {name} ({counts.get(name, '?')} partitions)")


def setup(
    scoped_tokens: Path | None = typer.Option(
        None,
        help="Also create the least-privilege tokens (worker, audit-reader, grafana) on every "
        "InfluxDB, into DIR/<store>/ (files 0600); the configured tokens must be allowed to "
        "create authorizations",
    ),
) -> None:
    """Prepare the configured Kafka and InfluxDB: create missing topics and buckets (on the main
    InfluxDB and on every residency target)."""
    topics_create()
    settings = get_settings()
    stores = settings.influxdb.stores()
    for label, store in stores.items():  # the main InfluxDB and each residency target
        with influx_client(store) as client:
            created = ensure_buckets(client, store)
        where = f" on {store.url} ({label})" if len(stores) > 1 else ""
        for name, days in wanted_buckets(store).items():
            verb = "created" if name in created else "exists "
            retention = f"{days} d" if days else "forever"
            console.print(f"{verb} bucket {name} (retention {retention}){where}")
        if scoped_tokens is not None:
            directory = scoped_tokens / label
            tokens = ScopedTokens(store.url, store.token, store.org, store.buckets, directory)
            for role, path in tokens.ensure().items():
                console.print(f"token  {role} for {store.url} ({label}): {path}")


def register(app: typer.Typer) -> None:
    """Add `stack`, `topics` and `setup` to a typer app."""
    app.add_typer(stack_app, name="stack")
    app.add_typer(topics_app, name="topics")
    app.command("setup")(setup)
