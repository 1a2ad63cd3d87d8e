"""`sovwatch demo` and `sovwatch demo-produce`: the last hour of a small simulated fleet through
the whole pipeline. Register them with `register(app)`."""

from __future__ import annotations

import typer
from rich.console import Console

from streams.cli.setup import setup
from streams.config import get_settings
from streams.simulator.incidents import INJECTORS
from streams.simulator.malformed import MALFORMED, malformed_records
from streams.simulator.recent import DEMO_SITES, EVERY_FAMILY_MINUTES, recent_records, small_fleet
from streams.stack import Stack
from streams.stack.worker import worker_env

console = Console(soft_wrap=True)


MINUTES_HELP = "Minutes of fleet history to send (the last ones before now)"


def demo_records(minutes: int) -> list[tuple[str, bytes, bytes]]:
    """The demo fleet's last `minutes` with every incident that fits in them, then the
    malformed records (so the dead-letter path shows too)."""
    settings = get_settings()
    fleet = small_fleet(DEMO_SITES)
    records = list(recent_records(settings.topics, fleet, minutes=minutes, incidents=INJECTORS))
    return records + malformed_records(settings.topics, DEMO_SITES[0][0])


def demo_produce(
    minutes: int = typer.Option(EVERY_FAMILY_MINUTES, min=1, help=MINUTES_HELP),
) -> None:
    """Send the demo fleet (2 sites, simulated, with incidents) and a few malformed records."""
    from streams.admin.produce import produce

    settings = get_settings()
    count = produce(settings.kafka, demo_records(minutes))
    console.print(f"produced {count} records to {settings.kafka.bootstrap_servers}")


def demo(minutes: int = typer.Option(EVERY_FAMILY_MINUTES, min=1, help=MINUTES_HELP)) -> None:
    """The whole pipeline once: stack, topics, buckets, a background worker, demo data."""
    import json
    import time
    from datetime import UTC, datetime, timedelta

    from streams.admin.produce import produce

    settings = get_settings()
    started = datetime.now(UTC)
    stack = Stack(settings)
    stack.up()
    setup(scoped_tokens=None)
    # The worker writes with the stack's write-only token, not the operator token.
    stack.worker.start(timeout_s=settings.stack.start_timeout_s, env=worker_env(settings))
    console.print(
        f"worker running (pid {stack.worker.process.pid()}), log {stack.worker.process.log_file}"
    )

    def health() -> dict[str, float]:
        return dict(json.loads(stack.worker.get("/health")))

    before = health()
    count = produce(settings.kafka, demo_records(minutes))
    console.print(
        f"produced {count} records: the last {minutes} minutes of a simulated fleet "
        f"({', '.join(site for site, _ in DEMO_SITES)}) with incidents, "
        f"{len(MALFORMED)} of them deliberately malformed"
    )
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
    from streams.dev.demo_audit import sign_and_explain
    from streams.report.build import make_report

    console.print("\n" + sign_and_explain(settings, stack.worker.url), markup=False)

    period = TimeRange(started - timedelta(minutes=minutes + 1), datetime.now(UTC))
    sites = [site for site, _ in DEMO_SITES]
    report = make_report(settings, [], period, sites, settings.stack.run_dir / "report.html")
    console.print(f"\nReport of the demo period (every dashboard, alerts, audit): {report}")


def register(app: typer.Typer) -> None:
    """Add `demo` and `demo-produce` to a typer app."""
    app.command("demo-produce")(demo_produce)
    app.command("demo")(demo)
