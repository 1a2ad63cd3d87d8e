"""JSON Schema of every wire model and of the site registry file, for producers in other
languages and for reviewers.

`json_schemas()` is pure; `export_json_schemas(dir)` writes one file per model. The committed
copies under `schemas/json/` are checked against the models by a unit test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BaseModel, Field, TypeAdapter

from schemas.alert import Alert
from schemas.audit import AuditEvent
from schemas.deadletter import DeadLetter
from schemas.decode import Event
from schemas.gpu import GpuSample
from schemas.physical import PhysicalEvent
from schemas.power import PowerReading
from schemas.sites import SiteRegistry

WIRE_MODELS: Final[tuple[type[BaseModel], ...]] = (
    GpuSample,
    PowerReading,
    PhysicalEvent,
    AuditEvent,
    Alert,
    DeadLetter,
)
FILE_MODELS: Final[tuple[type[BaseModel], ...]] = (SiteRegistry,)
"""Reviewed files (not wire records) whose schema editors and CI validate against."""
DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def json_schemas() -> dict[str, dict[str, Any]]:
    """Model name -> JSON Schema (draft 2020-12, validation mode), plus `Event` (any family)."""
    schemas: dict[str, dict[str, Any]] = {
        model.__name__: model.model_json_schema() for model in (*WIRE_MODELS, *FILE_MODELS)
    }
    any_event: TypeAdapter[Any] = TypeAdapter(Annotated[Event, Field(discriminator="family")])
    schemas["Event"] = any_event.json_schema()
    for name, schema in schemas.items():
        schema["$schema"] = DIALECT
        schema.setdefault("title", name)
    return schemas


def render(schema: dict[str, Any]) -> str:
    """The exact text written for a schema: stable key order, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_json_schemas(directory: Path) -> list[Path]:
    """Write `<Name>.schema.json` for every model into `directory`; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
