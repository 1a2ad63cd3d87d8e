"""`sovwatch simulate` and `sovwatch score`: register them with `register(app)`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from agents.rules.model import parse_duration
from schemas.errors import SovwatchError
from schemas.settings import TopicSettings
from streams.cli.tables import Listing, show
from streams.config import get_settings
from streams.simulator.fleet import Fleet, load_fleet
from streams.simulator.generator import Clock, simulate
from streams.simulator.incidents import Injector, plan_incidents, select
from streams.simulator.output import FileOutput, KafkaOutput, Output, Progressbar, emit
from streams.simulator.registry import write_registry
from streams.simulator.score import Report, score
from streams.simulator.truth import Truth

console = Console(soft_wrap=True, stderr=True)


SCENARIO_HINT = "see streams/simulator/scenarios/*.yaml for the format"


def _duration(text: str, option: str) -> timedelta:
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as exc:
        raise SovwatchError(f"{option} {text!r}: {exc}") from None


def _scenario(
    path: Path,
) -> tuple[list[Injector], dict[int, tuple[str | None, timedelta | None]]]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SovwatchError(f"cannot read the scenario {path}: {exc}", SCENARIO_HINT) from None
    if not isinstance(data, dict):
        raise SovwatchError(f"the scenario {path} is not a YAML mapping", SCENARIO_HINT)
    injectors: list[Injector] = []
    pinned: dict[int, tuple[str | None, timedelta | None]] = {}
    for i, spec in enumerate(data.get("incidents") or []):
        try:
            injectors.append(select([spec["inject"]])[0])
        except (KeyError, ValueError) as exc:
            raise SovwatchError(f"{path}: incident {i + 1}: {exc}") from None
        at = spec.get("at")
        pinned[i] = (spec.get("site"), _duration(str(at), "at") if at is not None else None)
    return injectors, pinned


def simulate_cmd(
    sites: int = typer.Option(
        None, "--sites", min=1, help="Sites (default: all in the fleet file)"
    ),
    halls: int = typer.Option(None, "--halls", min=1, help="Halls per site"),
    nodes_per_hall: int = typer.Option(None, "--nodes-per-hall", min=1, help="Nodes per hall"),
    gpus_per_node: int = typer.Option(None, "--gpus-per-node", min=1, max=16, help="GPUs per node"),
    rate: float = typer.Option(0, "--rate", min=0, help="Events/s of wall time; 0 = flat out"),
    duration: str = typer.Option("10h", "--duration", help="Simulated time, e.g. 90m, 10h"),
    start: datetime = typer.Option(
        None, "--start", help="Simulated start (ISO, UTC if naive); default now"
    ),
    sample_interval: str = typer.Option("15s", "--sample-interval", help="GPU sample interval"),
    scenario: Path = typer.Option(
        None, "--scenario", exists=True, dir_okay=False, help="Incidents (YAML)"
    ),
    inject: str = typer.Option(
        "all", "--inject", help="Incidents: names or rule ids, comma-separated; all; none"
    ),
    seed: int = typer.Option(1, "--seed", help="Same seed, same events"),
    truth: Path = typer.Option(None, "--truth", help="Write the ground truth here (JSON lines)"),
    dry_run: Path = typer.Option(None, "--dry-run", help="Write JSON lines here instead of Kafka"),
    fleet_file: Path = typer.Option(
        None, "--fleet", exists=True, dir_okay=False, help="Fleet YAML"
    ),
    site_prefix: str = typer.Option(
        "", "--site-prefix", help="Prefix of every site id (isolates runs)"
    ),
    compression: str = typer.Option(
        "gzip", "--compression", help="Kafka compression: gzip or none"
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
    registry_out: Path = typer.Option(
        None, "--write-registry", help="Write the fleet's site registry here (for the worker)"
    ),
) -> None:
    """Simulate a fleet (GPU, power, badge and audit events) with injected incidents."""
    settings = get_settings()
    try:
        fleet = load_fleet(
            fleet_file,
            sites=sites,
            site_prefix=site_prefix,
            halls=halls,
            nodes_per_hall=nodes_per_hall,
            gpus_per_node=gpus_per_node,
        )
    except ValueError as exc:
        raise SovwatchError(
            f"cannot load the fleet: {exc}",
            "each fleet site needs an entry in the site registry its fleet file names",
        ) from None
    if registry_out is not None:
        write_registry(fleet, registry_out)
    begin = start or datetime.now(UTC).replace(microsecond=0)
    begin = begin if begin.tzinfo else begin.replace(tzinfo=UTC)
    try:
        clock = Clock(
            begin,
            _duration(duration, "--duration"),
            _duration(sample_interval, "--sample-interval"),
        )
        if scenario is not None:
            injectors, pinned = _scenario(scenario)
        else:
            kinds = [k.strip() for k in inject.split(",") if k.strip() and k.strip() != "none"]
            injectors, pinned = select(kinds), {}
    except ValueError as exc:
        raise SovwatchError(str(exc)) from None
    sink: Output = (
        FileOutput(dry_run)
        if dry_run
        else KafkaOutput(settings.kafka, None if compression == "none" else compression)
    )
    sent, record = run(
        settings.topics, sink, fleet, clock, injectors, pinned=pinned, seed=seed, rate=rate,
        progress=progress,
    )  # fmt: skip
    if record.missed:
        console.print(
            f"[yellow]not injected (do not fit in this run):[/yellow] {', '.join(record.missed)}"
        )
    if truth is not None:
        if dry_run:
            record.due_wall.clear()
        record.write(truth)
    where = str(dry_run) if dry_run else settings.kafka.bootstrap_servers
    console.print(
        f"{sent:,} events from {len(fleet.sites)} sites, {fleet.gpus:,} GPUs, "
        f"{clock.start:%Y-%m-%d %H:%M}..{clock.end:%H:%M} UTC, {len(record.incidents)} incidents "
        f"-> {where}"
    )


def run(
    topics: TopicSettings,
    sink: Output,
    fleet: Fleet,
    clock: Clock,
    injectors: list[Injector],
    *,
    seed: int,
    rate: float = 0,
    pinned: dict[int, tuple[str | None, timedelta | None]] | None = None,
    progress: bool = False,
) -> tuple[int, Truth]:
    """Plan the incidents, send the run's events to `sink`; returns the count and the truth."""
    placed, missed = plan_incidents(
        injectors, fleet, clock.start, clock.end, seed=seed, step=clock.step,
        power_step=clock.power_step, pinned=pinned,
    )  # fmt: skip
    incidents = [p.incident for p in placed]
    with Progressbar(progress, clock.start, clock.end) as bar:
        events = simulate(fleet, clock, placed, seed=seed)
        sent, due_wall = emit(events, sink, topics, rate=rate, incidents=incidents, progress=bar)
    sites = tuple(s.id for s in fleet.sites)
    return sent, Truth(clock.start, clock.end, sites, seed, incidents, due_wall, missed)


def score_cmd(
    truth: Path = typer.Option(
        ..., "--truth", exists=True, dir_okay=False, help="Ground truth of simulate"
    ),
    source: str = typer.Option("kafka", "--source", help="Where the alerts are: kafka or influxdb"),
    out: Path = typer.Option(None, "--json", help="Also write the scores as JSON here"),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 unless precision = recall = 1"),
) -> None:
    """Per-rule precision, recall and detection delay of the alerts against the ground truth."""
    from streams.simulator.sources import alerts_from_influxdb, alerts_from_kafka

    settings = get_settings()
    try:
        known = Truth.read(truth)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise SovwatchError(
            f"--truth {truth} is not a ground-truth file ({type(exc).__name__}: {exc})",
            "pass the file 'sovwatch simulate --truth FILE' wrote",
        ) from None
    if source == "kafka":
        alerts = alerts_from_kafka(settings)
    elif source == "influxdb":
        alerts = alerts_from_influxdb(settings, known.start, known.end)
    else:
        raise SovwatchError(f"--source {source!r}: expected kafka or influxdb")
    report = score(known, alerts)
    show(report_table(report))
    print(f"{report.out_of_scope} alerts outside the run's sites or time range (not judged)")
    if out is not None:
        out.write_text(json.dumps(report_json(report), indent=2))
    total = report.totals()
    if strict and (total.precision not in (None, 1.0) or total.recall not in (None, 1.0)):
        raise typer.Exit(1)


def _fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "-" if value is None else pattern.format(value)


def report_table(report: Report) -> Listing:
    """Per rule and in total: incidents, detections, alerts, precision, recall, delays."""
    table = Listing(
        (
            "rule",
            "incidents",
            "detected",
            "alerts",
            "precision",
            "recall",
            "delay p50 (s)",
            "delay max (s)",
        )
    )
    for rule in [*report.rules.values(), report.totals()]:
        table.add(
            rule.rule,
            str(rule.incidents),
            str(rule.detected),
            str(rule.alerts),
            _fmt(rule.precision),
            _fmt(rule.recall),
            _fmt(rule.delay_p50_s, "{:.1f}"),
            _fmt(max(rule.delays_s) if rule.delays_s else None, "{:.1f}"),
        )
    return table


def report_json(report: Report) -> dict[str, Any]:
    return {
        rule.rule: {
            "incidents": rule.incidents,
            "detected": rule.detected,
            "alerts": rule.alerts,
            "precision": rule.precision,
            "recall": rule.recall,
            "delay_p50_s": rule.delay_p50_s,
            "missed": rule.missed,
            "false_alerts": [a.id for a in rule.false_alerts],
        }
        for rule in [*report.rules.values(), report.totals()]
    }


def register(app: typer.Typer) -> None:
    """Add `simulate` and `score` to a typer app."""
    app.command("simulate")(simulate_cmd)
    app.command("score")(score_cmd)


simulate_app = typer.Typer(help="Fleet simulator with ground truth, and scoring of alerts.")
register(simulate_app)
