"""`sovwatch demo` and `sovwatch demo-produce`: the last hour of a small simulated fleet through
the whole pipeline. Register them with `register(app)`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from streams.cli.setup import setup
from streams.config import get_settings
from streams.simulator.fleet import DEFAULT_REGISTRY, Fleet, registered_sites
from streams.simulator.incidents import INJECTORS
from streams.simulator.malformed import MALFORMED, malformed_records
from streams.simulator.recent import DEMO_SITES, EVERY_FAMILY_MINUTES, recent_records, small_fleet
from streams.simulator.registry import write_registry
from streams.stack import Stack
from streams.stack.worker import worker_env

console = Console(soft_wrap=True)


MINUTES_HELP = "Minutes of fleet history to send (the last ones before now)"


def demo_fleet() -> Fleet:
    """The demo's sites, each keeping to its calendar in the simulated fleet's registry."""
    return small_fleet(DEMO_SITES, registered=registered_sites(DEFAULT_REGISTRY))


def demo_records(minutes: int) -> list[tuple[str, bytes, bytes]]:
    """The demo fleet's last `minutes` with every incident that fits in them, then the
    malformed records (so the dead-letter path shows too)."""
    settings = get_settings()
    fleet = demo_fleet()
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
    # The worker judges the demo's sites by their registry (their clocks, zones, racks and
    # budgets) and writes with the stack's write-only token, not the operator token.
    registry = write_registry(demo_fleet(), settings.stack.run_dir / "sites.yaml")
    registry_env = {"SOVWATCH_SITES__REGISTRY": str(registry.resolve())}
    stack.worker.start(
        timeout_s=settings.stack.start_timeout_s, env={**worker_env(settings), **registry_env}
    )
    console.print(
        f"worker running (pid {stack.worker.process.pid()}), log {stack.worker.process.log_file}, "
        f"site registry {registry}"
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
    console.print(
        f"stored {now['stored'] - before['stored']:.0f} events in InfluxDB, "
        f"{now['dead_letters'] - before['dead_letters']:.0f} dead letters on {settings.topics.dlq}"
    )
    from dashboards.queries.runner import TimeRange
    from streams.admin.connect import values_to_end
    from streams.cli.rules import site_clock
    from streams.dev.demo_audit import sign_and_explain
    from streams.dev.next_steps import next_steps, render, shell_for
    from streams.report.build import make_report

    told, signed = sign_and_explain(settings, stack.worker.url)
    console.print("\n" + told, markup=False)

    period = TimeRange(started - timedelta(minutes=minutes + 1), datetime.now(UTC))
    sites = [site for site, _ in DEMO_SITES]
    local_time = site_clock(registry)
    out = settings.stack.run_dir / "report.html"
    report = make_report(settings, [], period, sites, out, local_time)
    console.print(
        f"\nReport of the demo period (every dashboard, alerts, audit; open it in a browser): "
        f"{report}"
    )
    alerts = len(values_to_end(settings.kafka, settings.topics.alert_names()))
    shell = shell_for({**os.environ, **registry_env}, Path.cwd(), sys.argv[0])
    steps = next_steps(shell, settings, signed=signed, alert_records=alerts)
    console.print("\n" + render(shell, steps), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `demo` and `demo-produce` to a typer app."""
    app.command("demo-produce")(demo_produce)
    app.command("demo")(demo)
