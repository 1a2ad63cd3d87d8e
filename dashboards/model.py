"""Typed builders for Grafana dashboard JSON (schemaVersion 38, Grafana 10+).

Plain frozen dataclasses rather than an SDK: the JSON they render is exactly what Grafana
stores, so `sovwatch grafana provision` can compare it with what a server has field by field.
Every panel queries sovwatch's InfluxDB through Flux and names the fields its query must return
(`Query.expect`): the integration tests run each query on a real Grafana and check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

JSON = dict[str, Any]

DATASOURCE_UID: Final = "sovwatch-influxdb"
DATASOURCE: Final[JSON] = {"type": "influxdb", "uid": DATASOURCE_UID}
SCHEMA_VERSION: Final = 38
GRID_WIDTH: Final = 24

PanelKind = Literal[
    "timeseries", "stat", "table", "heatmap", "state-timeline", "barchart", "bargauge"
]


@dataclass(frozen=True)
class Query:
    """One Flux target. `expect`: column names (frame field names or labels) it must return."""

    flux: str
    expect: tuple[str, ...] = ()
    ref_id: str = "A"

    def to_json(self) -> JSON:
        return {"datasource": DATASOURCE, "refId": self.ref_id, "query": self.flux}


@dataclass(frozen=True)
class Threshold:
    """A colour from a value up (None: the base colour)."""

    value: float | None
    color: str


GREEN_BASE: Final = (Threshold(None, "green"),)


@dataclass(frozen=True)
class Panel:
    """A panel; its grid position is assigned by the dashboard's layout."""

    title: str
    kind: PanelKind
    queries: tuple[Query, ...]
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    thresholds: tuple[Threshold, ...] = GREEN_BASE
    decimals: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    options: JSON = field(default_factory=dict)
    custom: JSON = field(default_factory=dict)
    overrides: tuple[JSON, ...] = ()
    mappings: tuple[JSON, ...] = ()

    def to_json(self, panel_id: int, x: int, y: int) -> JSON:
        defaults: JSON = {
            "unit": self.unit,
            "thresholds": {
                "mode": "absolute",
                "steps": [{"value": t.value, "color": t.color} for t in self.thresholds],
            },
            "mappings": list(self.mappings),
        }
        if self.kind in ("timeseries", "barchart", "state-timeline", "table", "heatmap"):
            defaults["custom"] = dict(self.custom)
        for key, value in (
            ("decimals", self.decimals),
            ("min", self.minimum),
            ("max", self.maximum),
        ):
            if value is not None:
                defaults[key] = value
        return {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": DATASOURCE,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "targets": [q.to_json() for q in self.queries],
            "fieldConfig": {"defaults": defaults, "overrides": list(self.overrides)},
            "options": dict(self.options),
        }


@dataclass(frozen=True)
class Variable:
    """A template variable. Query variables run Flux; custom ones list fixed values.

    Multi-value variables with "All" render as a regex (`${name:regex}`), "All" as `.*`, so
    queries filter with `r.tag =~ /^${name:regex}$/`.
    """

    name: str
    label: str
    flux: str = ""
    values: tuple[str, ...] = ()
    multi: bool = True

    def to_json(self) -> JSON:
        common: JSON = {
            "name": self.name,
            "label": self.label,
            "hide": 0,
            "multi": self.multi,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "skipUrlSync": False,
        }
        if self.values:
            options = [{"selected": False, "text": v, "value": v} for v in self.values]
            return {**common, "type": "custom", "query": ",".join(self.values), "options": options}
        return {
            **common,
            "type": "query",
            "datasource": DATASOURCE,
            "definition": self.flux,
            "query": self.flux,
            "refresh": 2,  # on time range change: sites come and go
            "regex": "",
            "sort": 1,
            "options": [],
        }


@dataclass(frozen=True)
class Annotation:
    """Events drawn on every time panel: a Flux query whose rows have _time and a text."""

    name: str
    flux: str
    color: str = "red"

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "datasource": DATASOURCE,
            "enable": True,
            "hide": False,
            "iconColor": self.color,
            "target": {"refId": "Anno", "query": self.flux},
        }


BUILTIN_ANNOTATION: Final[JSON] = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


@dataclass(frozen=True)
class Row:
    """A collapsible-free section title; panels after it start on a new line."""

    title: str


@dataclass(frozen=True)
class Dashboard:
    """A dashboard with a stable uid, in one team folder."""

    uid: str
    title: str
    folder: str
    description: str
    items: tuple[Panel | Row, ...]
    variables: tuple[Variable, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    tags: tuple[str, ...] = ()
    time_from: str = "now-6h"
    refresh: str = "1m"

    @property
    def panels(self) -> tuple[Panel, ...]:
        return tuple(item for item in self.items if isinstance(item, Panel))

    def to_json(self) -> JSON:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["sovwatch", self.folder.lower(), *self.tags],
            "timezone": "utc",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            "links": [
                {
                    "type": "dashboards",
                    "tags": ["sovwatch"],
                    "asDropdown": True,
                    "title": "sovwatch",
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "templating": {"list": [v.to_json() for v in self.variables]},
            "annotations": {"list": [BUILTIN_ANNOTATION, *(a.to_json() for a in self.annotations)]},
            "panels": layout(self.items),
        }


def layout(items: Sequence[Panel | Row]) -> list[JSON]:
    """Left-to-right, top-to-bottom placement on Grafana's 24-column grid."""
    rendered: list[JSON] = []
    x = y = line_height = 0
    next_id = 1
    for item in items:
        if isinstance(item, Row) or x + item.width > GRID_WIDTH:
            x, y, line_height = 0, y + line_height, 0
        if isinstance(item, Row):
            rendered.append(
                {
                    "id": next_id,
                    "type": "row",
                    "title": item.title,
                    "collapsed": False,
                    "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
                    "panels": [],
                }
            )
            y += 1
        else:
            rendered.append(item.to_json(next_id, x, y))
            x += item.width
            line_height = max(line_height, item.height)
        next_id += 1
    return rendered
