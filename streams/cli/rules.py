"""`sovwatch rules lint|test|list` and `sovwatch alerts tail`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import typer
import yaml
from kafka import KafkaConsumer
from kafka.errors import KafkaError
from rich.console import Console
from rich.live import Live

from agents.rules.fixtures import FIXTURES_DIR, load_fixtures, run_fixtures
from agents.rules.loader import PACKS_DIR, RuleLoadError, lint_file, load_packs, pack_files
from agents.sites.lint import RegistryError, load_registry
from schemas.alert import Alert
from schemas.errors import ServiceUnreachableError, SovwatchError
from streams.admin.alerts_tail import SEVERITIES, Board, Filters, LocalTime, decoded, line
from streams.cli.tables import CsvOpt, JsonOpt, Listing, chosen_format, show
from streams.config import get_settings

rules_app = typer.Typer(help="Compliance rule packs: lint, test, list.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts raised by the rule engine.", no_args_is_help=True)
console = Console(soft_wrap=True)


RulesDir = typer.Option(None, "--rules", help="Directory of rule packs (*.yaml); default: built-in")


def _packs_dir(rules: Path | None) -> Path:
    directory = rules or get_settings().alerts.rules_dir or PACKS_DIR
    if not directory.is_dir():
        raise SovwatchError(f"rule directory {directory} does not exist", "pass --rules DIR")
    return directory


@rules_app.command("lint")
def lint(rules: Path | None = RulesDir) -> None:
    """Check every pack: YAML, schema, key order, expressions. Exit 1 on any issue."""
    files = pack_files(_packs_dir(rules))
    if not files:
        raise SovwatchError(f"no *.yaml rule packs in {_packs_dir(rules)}")
    issues = [issue for path in files for issue in lint_file(path)[1]]
    for issue in issues:
        console.print(f"[red]{issue}[/red]", highlight=False)
    total = sum(len(pack.rules) for path in files if (pack := lint_file(path)[0]) is not None)
    console.print(f"{len(files)} packs, {total} rules, {len(issues)} issues")
    raise typer.Exit(1 if issues else 0)


@rules_app.command("test")
def test(
    rules: Path | None = RulesDir,
    fixtures: Path = typer.Option(FIXTURES_DIR, "--fixtures", help="Directory of fixture files"),
) -> None:
    """Run every rule's positive and negative fixture. Exit 1 on any failure."""
    try:
        packs = load_packs(pack_files(_packs_dir(rules)))
    except RuleLoadError as exc:
        raise SovwatchError(f"rule packs do not load:\n{exc}", "run 'sovwatch rules lint'") from exc
    if not fixtures.is_dir():
        raise SovwatchError(f"fixture directory {fixtures} does not exist", "pass --fixtures DIR")
    try:
        cases = load_fixtures(fixtures)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError, ValueError) as exc:
        raise SovwatchError(f"fixtures in {fixtures} do not load: {exc}") from None
    results = list(run_fixtures(packs, cases))
    failed = [r for r in results if not r.passed]
    for result in failed:
        why = result.error or f"expected {result.expected} alert(s), got {len(result.alert_ids)}"
        console.print(f"[red]FAIL[/red] {result.rule_id} {result.case}: {why}", highlight=False)
    console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(1 if failed else 0)


@rules_app.command("list")
def list_rules(
    rules: Path | None = RulesDir, as_json: bool = JsonOpt, as_csv: bool = CsvOpt
) -> None:
    """The loaded rules: id, kind, family, severity, team, title."""
    fmt = chosen_format(as_json, as_csv)
    try:
        packs = load_packs(pack_files(_packs_dir(rules)))
    except RuleLoadError as exc:
        raise SovwatchError(f"rule packs do not load:\n{exc}", "run 'sovwatch rules lint'") from exc
    listing = Listing(("id", "kind", "families", "severity", "team", "title"))
    for pack in packs:
        for rule in pack.rules:
            listing.add(
                rule.id, rule.kind, ",".join(rule.families), rule.severity, rule.team, rule.title
            )
    show(listing, fmt, console)


@alerts_app.command("tail")
def tail(
    team: list[str] = typer.Option([], "--team", help="ops, security, compliance (repeatable)"),
    min_severity: str = typer.Option("info", "--min-severity", help=" < ".join(SEVERITIES)),
    site: str | None = typer.Option(None, "--site", help="Only this site id"),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Replay stored alerts"),
    limit: int = typer.Option(0, "--limit", min=0, help="Stop after N records (0 = follow)"),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON lines"),
) -> None:
    """Follow incidents: a live table on a terminal, one line per state change in a pipe."""
    settings = get_settings()
    topics = {
        "ops": settings.topics.alerts_ops,
        "security": settings.topics.alerts_security,
        "compliance": settings.topics.alerts_compliance,
    }
    unknown = set(team) - set(topics)
    if unknown:
        raise SovwatchError(
            f"unknown team {', '.join(sorted(unknown))}", "use ops, security or compliance"
        )
    if min_severity not in SEVERITIES:
        raise SovwatchError(
            f"unknown severity '{min_severity}'", f"use one of {', '.join(SEVERITIES)}"
        )
    filters = Filters(min_severity, site)
    local_time = site_clock(settings.sites.registry)
    try:
        consumer = KafkaConsumer(
            *(topics[t] for t in (team or topics)),
            auto_offset_reset="earliest" if from_beginning else "latest",
            enable_auto_commit=False,
            **settings.kafka.client_config(),
        )
    except KafkaError as exc:
        raise ServiceUnreachableError(
            "Kafka", settings.kafka.bootstrap_servers, type(exc).__name__
        ) from exc

    def batches() -> Iterator[list[Alert]]:
        """What each poll brought, within a second at most (an empty list when nothing came)."""
        while True:
            polled = consumer.poll(timeout_ms=1000, max_records=500)
            values = (record.value for records in polled.values() for record in records)
            yield list(decoded(values, filters))

    try:
        if console.is_terminal and not as_json:
            _live(batches(), limit)
        else:
            _lines(batches(), limit, as_json, local_time)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


def site_clock(registry: Path | None) -> LocalTime | None:
    """The configured registry's site clocks (None without one; a registry that does not lint
    is said once and left out: alerts are shown in UTC only)."""
    if registry is None:
        return None
    try:
        return load_registry(registry).local_time
    except RegistryError as exc:
        console.print(f"[yellow]site registry left out (times in UTC only): {exc}[/yellow]")
        return None


def _lines(
    batches: Iterator[list[Alert]], limit: int, as_json: bool, local_time: LocalTime | None = None
) -> None:
    shown = 0
    for batch in batches:
        for alert in batch:
            if as_json:
                print(alert.model_dump_json(), flush=True)
            else:
                console.print(line(alert, local_time), highlight=False)
            shown += 1
            if limit and shown >= limit:
                return


def _live(batches: Iterator[list[Alert]], limit: int) -> None:
    board = Board()
    shown = 0
    with Live(board.table(), console=console, auto_refresh=False) as live:
        for batch in batches:
            now = time.monotonic()
            for alert in batch:
                board.apply(alert, now)
                shown += 1
            board.expire(now)
            live.update(board.table(), refresh=True)
            if limit and shown >= limit:
                return
