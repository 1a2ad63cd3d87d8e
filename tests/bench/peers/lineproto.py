"""JSON event -> InfluxDB line protocol, the way a hand-written peer would do it (shared by the
plain loop and the Quix app; no kafka import, so the Quix venv can load it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

TAGS = {
    "gpu": ("site_id", "country", "node", "gpu_index", "mig_instance_id"),
    "power": ("site_id", "country", "scope", "scope_id"),
    "physical": ("site_id", "country", "kind", "zone_type", "zone_id"),
    "audit": ("site_id", "country", "action", "outcome", "classification"),
}


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace(" ", "\\ ").replace(",", "\\,").replace("=", "\\=")


def _field(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return None


def line(event: dict[str, Any]) -> str:
    family = event["family"]
    tags = TAGS[family]
    tag_part = ",".join(f"{k}={_esc(str(event[k]))}" for k in tags if event.get(k) is not None)
    flat = dict(event)
    if isinstance(flat.get("actor"), dict):
        flat.update({f"actor_{k}": v for k, v in flat.pop("actor").items()})
    fields = []
    for key, value in flat.items():
        if key in tags or key in ("ts", "family", "schema_version"):
            continue
        encoded = _field(value)
        if encoded is not None:
            fields.append(f"{key}={encoded}")
    ns = int(datetime.fromisoformat(event["ts"]).timestamp() * 1e9)
    return f"{family},{tag_part} {','.join(fields)} {ns}"
