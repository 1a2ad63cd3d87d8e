"""Reading a Grafana dashboard JSON: its panels (those inside rows too), targets, variables and
annotations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Target:
    ref_id: str
    flux: str


def panels(dashboard: JSON) -> list[JSON]:
    """Every panel that shows data, in layout order; rows are containers, not panels."""
    found: list[JSON] = []
    for item in dashboard.get("panels", []):
        if item.get("type") == "row":
            found.extend(item.get("panels", []))
        else:
            found.append(item)
    return found


def targets(panel: JSON) -> list[Target]:
    return [
        Target(str(t.get("refId", "A")), str(t["query"]))
        for t in panel.get("targets", [])
        if t.get("query") and not t.get("hide")
    ]


def variables(dashboard: JSON) -> list[JSON]:
    listed: list[JSON] = dashboard.get("templating", {}).get("list", [])
    return listed


def annotation_targets(dashboard: JSON) -> Iterator[tuple[str, Target]]:
    """(name, target) of every Flux annotation query."""
    for item in dashboard.get("annotations", {}).get("list", []):
        target = item.get("target") or {}
        if target.get("query"):
            yield str(item["name"]), Target(str(target.get("refId", "Anno")), target["query"])


def label(dashboard: JSON, panel: JSON) -> str:
    """How a failure names a panel: `dashboard uid / panel title (id)`."""
    return f"{dashboard.get('uid')} / {panel.get('title')} (panel {panel.get('id')})"
