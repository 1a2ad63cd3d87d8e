"""`sovwatch schemas …`: the JSON Schemas of the events.

Wired into `streams.cli.main` with `app.add_typer(schemas_app, name="schemas")`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schemas.errors import SovwatchError
from schemas.jsonschema import export_json_schemas

schemas_app = typer.Typer(help="sovwatch's event schemas.", no_args_is_help=True)


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Argument(help="Where to write <Model>.schema.json")],
) -> None:
    """Write the JSON Schema of every event, alert and dead-letter model."""
    try:
        paths = export_json_schemas(directory)
    except OSError as exc:
        raise SovwatchError(f"cannot write schemas to {directory}: {exc}") from exc
    for path in paths:
        typer.echo(f"wrote {path}")
