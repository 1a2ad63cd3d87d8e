"""The `sovwatch` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer
import urllib3
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.table import Table

# Typer 0.29 vendors click: its usage errors are only importable from here.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from schemas.errors import SovwatchError, one_line, settings_error
from streams.buckets import ensure_buckets, wanted_buckets
from streams.cli.audit import audit_app
from streams.cli.collect import collect_app
from streams.cli.dlq import dlq_app
from streams.cli.grafana import grafana_app
from streams.cli.privacy import privacy_app
from streams.cli.report import register as register_report
from streams.cli.rules import alerts_app, rules_app
from streams.cli.schemas import schemas_app
from streams.cli.simulate import register as register_simulator
from streams.config import get_settings
from streams.connect import influx_client, influx_unanswered, kafka_admin
from streams.selfcheck import influx_round_trip, kafka_round_trip
from streams.stack import Stack
from streams.stack.influx_auth import ScopedTokens
from streams.stack.worker import worker_env
from streams.topics import ensure_topics, partition_counts

app = typer.Typer(
    help="sovwatch: monitoring pipeline for sovereign AI data centres.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="The native dev stack: a real Kafka and InfluxDB on 127.0.0.1.")
topics_app = typer.Typer(help="sovwatch's Kafka topics.")
app.add_typer(stack_app, name="stack")
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
app.add_typer(collect_app, name="collect")
app.add_typer(rules_app, name="rules")
app.add_typer(grafana_app, name="grafana")
app.add_typer(audit_app, name="audit")
register_simulator(app)
register_report(app)
app.add_typer(alerts_app, name="alerts")
app.add_typer(privacy_app, name="privacy")
app.add_typer(dlq_app, name="dlq")

console = Console(soft_wrap=True)
JURISDICTION_HELP = (
    "Only this country's Kafka cluster and InfluxDB, e.g. DE (SOVWATCH_RESIDENCY__KAFKA, "
    "SOVWATCH_INFLUXDB__RESIDENCY); also SOVWATCH_JURISDICTION"
)


@app.callback()
def root(jurisdiction: str | None = typer.Option(None, help=JURISDICTION_HELP)) -> None:
    """sovwatch: monitoring pipeline for sovereign AI data centres."""
    choose_jurisdiction(jurisdiction)


def choose_jurisdiction(country: str | None) -> None:
    """Every later `get_settings()` (and any process started from here) uses only `country`'s
    cluster and store."""
    if country is not None:
        os.environ["SOVWATCH_JURISDICTION"] = country.upper()
        get_settings.cache_clear()


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
def stack_status() -> None:
    """Show whether each server runs and answers. Exit code 0 only when all are up."""
    table = Table("service", "state", "address", "pid")
    statuses = Stack(get_settings()).status()
    for service in statuses:
        table.add_row(service.name, service.state, service.address, str(service.pid or "-"))
    console.print(table)
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


@app.command("setup")
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


@app.command("worker")
def worker(
    loglevel: str = typer.Option("info", help="debug, info, warning or error"),
    jurisdiction: str | None = typer.Option(None, help=JURISDICTION_HELP),
) -> None:
    """Run a pipeline worker (Faust). Several workers form one consumer group."""
    from streams.worker import run_worker

    choose_jurisdiction(jurisdiction)
    sys.argv = [sys.argv[0]]  # Faust parses argv itself: it must not see ours
    run_worker(loglevel)


@app.command("demo-produce")
def demo_produce(
    minutes: int = typer.Option(5, min=1, help="Minutes of fleet history to send"),
) -> None:
    """Send a small demo fleet (2 sites) and a few malformed records to Kafka."""
    from streams.demo import demo_records
    from streams.produce import produce

    settings = get_settings()
    count = produce(settings.kafka, demo_records(settings.topics, minutes=minutes))
    console.print(f"produced {count} records to {settings.kafka.bootstrap_servers}")


@app.command("demo")
def demo(minutes: int = typer.Option(5, min=1, help="Minutes of fleet history to send")) -> None:
    """The whole pipeline once: stack, topics, buckets, a background worker, demo data."""
    import json
    import time
    from datetime import UTC, datetime, timedelta

    from streams.demo import MALFORMED, demo_records
    from streams.produce import produce

    settings = get_settings()
    started = datetime.now(UTC)
    stack = Stack(settings)
    stack.up()
    setup()
    # The worker writes with the stack's write-only token, not the operator token.
    stack.worker.start(timeout_s=settings.stack.start_timeout_s, env=worker_env(settings))
    console.print(
        f"worker running (pid {stack.worker.process.pid()}), log {stack.worker.process.log_file}"
    )

    def health() -> dict[str, float]:
        return dict(json.loads(stack.worker.get("/health")))

    before = health()
    count = produce(settings.kafka, demo_records(settings.topics, minutes=minutes))
    console.print(f"produced {count} records ({len(MALFORMED)} deliberately malformed)")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = health()
        done = now["stored"] - before["stored"] + now["dead_letters"] - before["dead_letters"]
        if done >= count:
            break
        time.sleep(0.5)
    now = health()
    auth = (
        '-H "Authorization: Bearer $SOVWATCH_WORKER__WEB_TOKEN" '
        if settings.worker.web_token
        else ""
    )
    console.print(
        f"stored {now['stored'] - before['stored']:.0f} events in InfluxDB, "
        f"{now['dead_letters'] - before['dead_letters']:.0f} dead letters on {settings.topics.dlq}"
    )
    console.print(
        "\nSee the data:\n"
        f"  metrics: curl {auth}{stack.worker.url}/metrics\n"
        f"  alerts:  .venv/bin/sovwatch alerts tail --from-beginning\n"
        f"  Flux:    curl -s {settings.influxdb.url}/api/v2/query?org={settings.influxdb.org} "
        "-H 'Authorization: Token $SOVWATCH_INFLUXDB__TOKEN' "
        "-H 'Content-Type: application/vnd.flux' "
        f'-d \'from(bucket:"{settings.influxdb.buckets.telemetry}") |> range(start:-1h) '
        '|> filter(fn:(r)=> r._measurement=="gpu" and r._field=="gpu_util_pct") '
        '|> group(columns:["site"]) |> mean()\'\n'
        "  stop:    .venv/bin/sovwatch stack down"
    )
    from dashboards.queries.runner import TimeRange
    from streams.demo import SITES
    from streams.demo_audit import sign_and_explain
    from streams.report.build import make_report

    console.print("\n" + sign_and_explain(settings, stack.worker.url), markup=False)

    period = TimeRange(started - timedelta(minutes=minutes + 1), datetime.now(UTC))
    sites = [site for site, _ in SITES]
    report = make_report(settings, [], period, sites, settings.stack.run_dir / "report.html")
    console.print(f"\nReport of the demo period (every dashboard, alerts, audit): {report}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors (bad flags, files, settings, servers) become one line on stderr
    and exit code 2, never a traceback. `argv`: the arguments (default: the command line)."""
    try:
        code = app(args=argv, prog_name="sovwatch", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()  # the help text
        sys.exit(2)
    except UsageError as exc:  # unknown command or option, bad or missing value
        command = exc.ctx.command_path if exc.ctx else "sovwatch"
        _fail(SovwatchError(exc.format_message().rstrip("."), f"see '{command} --help'"), 2)
    except typer.TyperException as exc:
        _fail(SovwatchError(exc.format_message()), exc.exit_code)
    except typer.Abort:
        _fail(SovwatchError("aborted"), 130)
    except (ValidationError, SettingsError) as exc:
        _fail(settings_error(exc), 2)
    except SovwatchError as exc:
        _fail(exc, 2)
    except urllib3.exceptions.HTTPError as exc:  # InfluxDB's client (Grafana's wraps its own)
        _fail(influx_unanswered(exc), 2)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(error: SovwatchError, code: int) -> NoReturn:
    print(f"error: {one_line(str(error))}", file=sys.stderr)
    sys.exit(code)
