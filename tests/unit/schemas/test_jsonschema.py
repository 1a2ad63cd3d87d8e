import json
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import given, settings

from schemas import Alert, DeadLetter, Event
from schemas.jsonschema import export_json_schemas, json_schemas, render
from tests.strategies.schemas import alerts, dead_letters, events

COMMITTED = Path(__file__).resolve().parents[3] / "schemas" / "json"
SCHEMAS = json_schemas()


def test_committed_schemas_are_current() -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in COMMITTED.glob("*.schema.json")}
    expected = {f"{name}.schema.json": render(schema) for name, schema in SCHEMAS.items()}
    assert committed == expected, "stale: run `sovwatch schemas export schemas/json`"


def test_export_writes_every_model(tmp_path: Path) -> None:
    paths = export_json_schemas(tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(f"{n}.schema.json" for n in SCHEMAS)
    assert json.loads(paths[0].read_text()) == SCHEMAS[paths[0].name.split(".")[0]]


def test_schemas_are_valid_draft_2020_12() -> None:
    for schema in SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_units_and_personal_marks_documented() -> None:
    gpu = SCHEMAS["GpuSample"]["properties"]
    assert "MiB" in gpu["fb_used_mib"]["description"]
    assert gpu["gpu_util_pct"]["anyOf"][0]["maximum"] == 100
    physical = SCHEMAS["PhysicalEvent"]["properties"]
    assert physical["badge_id"]["personal_data"] is True
    assert "personal_data" not in physical["zone_id"]
    assert SCHEMAS["PhysicalEvent"]["additionalProperties"] is False
    assert SCHEMAS["GpuSample"].get("additionalProperties") is not False


def _validate(name: str, doc: Any) -> None:
    jsonschema.Draft202012Validator(SCHEMAS[name]).validate(doc)


@settings(max_examples=100)
@given(events())
def test_generated_events_satisfy_the_exported_schema(event: Event) -> None:
    doc = json.loads(event.model_dump_json())
    _validate(type(event).__name__, doc)
    _validate("Event", doc)


@settings(max_examples=50)
@given(alerts(), dead_letters())
def test_alerts_and_dead_letters_satisfy_theirs(alert: Alert, record: DeadLetter) -> None:
    _validate("Alert", json.loads(alert.model_dump_json()))
    _validate("DeadLetter", json.loads(record.model_dump_json()))
