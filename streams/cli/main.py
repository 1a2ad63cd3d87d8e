"""The `sovwatch` command line."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
import urllib3
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

# Typer 0.29 vendors click: its usage errors are only importable from here.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from schemas.errors import SovwatchError, one_line, settings_error
from streams.admin.connect import influx_unanswered
from streams.cli.audit import audit_app
from streams.cli.collect import collect_app
from streams.cli.demo import register as register_demo
from streams.cli.dlq import dlq_app
from streams.cli.grafana import grafana_app
from streams.cli.privacy import privacy_app
from streams.cli.report import register as register_report
from streams.cli.rules import alerts_app, rules_app
from streams.cli.schemas import schemas_app
from streams.cli.setup import register as register_setup
from streams.cli.simulate import register as register_simulator
from streams.cli.sites import sites_app
from streams.config import get_settings

app = typer.Typer(
    help="sovwatch: monitoring pipeline for sovereign AI data centres.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register_setup(app)
app.add_typer(schemas_app, name="schemas")
app.add_typer(collect_app, name="collect")
app.add_typer(rules_app, name="rules")
app.add_typer(sites_app, name="sites")
app.add_typer(grafana_app, name="grafana")
app.add_typer(audit_app, name="audit")
register_simulator(app)
register_report(app)
register_demo(app)
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


@app.command("worker")
def worker(
    loglevel: str = typer.Option("info", help="debug, info, warning or error"),
    jurisdiction: str | None = typer.Option(None, help=JURISDICTION_HELP),
) -> None:
    """Run a pipeline worker (Faust). Several workers form one consumer group."""
    from streams.worker.run import run_worker

    choose_jurisdiction(jurisdiction)
    sys.argv = [sys.argv[0]]  # Faust parses argv itself: it must not see ours
    run_worker(loglevel)


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
