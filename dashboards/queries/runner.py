"""Run every variable, panel and annotation query of a dashboard on a real InfluxDB, with
Grafana's substitutions (`templating`, then `macros`), and turn the answers into frames.

Variables are resolved in their dashboard order, each query seeing the ones before it (site
options depend on the chosen countries); a variable not in `selections` is "All". A panel's
interval follows from the range and its max data points, which Grafana takes from the panel's
width in pixels: here its grid width on a `width_px` wide screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException

from dashboards.queries import macros, templating
from dashboards.queries.dashboard_json import (
    JSON,
    Target,
    annotation_targets,
    panels,
    targets,
    variables,
)
from dashboards.queries.frames import Frame, to_frames
from dashboards.queries.interval import calculate_interval
from dashboards.queries.macros import DatasourceOptions

GRID_COLUMNS: Final = 24
DEFAULT_WIDTH_PX: Final = 1800
VARIABLE_POINTS: Final = 1000


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    stop: datetime

    @property
    def ms(self) -> float:
        return (self.stop - self.start).total_seconds() * 1000


@dataclass
class QueryResult:
    target: Target
    flux: str  # as sent to InfluxDB
    frames: list[Frame] = field(default_factory=list)
    error: str | None = None


@dataclass
class PanelResult:
    panel: JSON
    results: list[QueryResult]

    @property
    def frames(self) -> list[Frame]:
        return [frame for result in self.results for frame in result.frames]

    @property
    def errors(self) -> list[str]:
        return [f"{r.target.ref_id}: {r.error}" for r in self.results if r.error]


@dataclass
class DashboardRun:
    dashboard: JSON
    range: TimeRange
    variables: list[templating.Variable]
    panels: list[PanelResult]
    annotations: list[tuple[str, QueryResult]]
    variable_results: list[tuple[str, QueryResult]]


class Runner:
    """Grafana's query path for one InfluxDB datasource (Flux mode)."""

    def __init__(
        self,
        client: InfluxDBClient,
        options: DatasourceOptions,
        min_interval: str = "",
        width_px: int = DEFAULT_WIDTH_PX,
    ) -> None:
        self.client = client
        self.options = options
        self.min_interval = min_interval
        self.width_px = width_px

    def query(
        self,
        target: Target,
        time_range: TimeRange,
        interval_ms: int,
        resolved: Sequence[templating.Variable],
    ) -> QueryResult:
        builtins = {
            "__from": str(int(time_range.start.timestamp() * 1000)),
            "__to": str(int(time_range.stop.timestamp() * 1000)),
        }
        flux = templating.interpolate(target.flux, resolved, builtins)
        flux = macros.interpolate(
            flux, time_range.start, time_range.stop, interval_ms, self.options
        )
        result = QueryResult(target, flux)
        try:
            tables = self.client.query_api().query(flux, org=self.options.organization)
        except ApiException as exc:
            result.error = f"HTTP {exc.status}: {exc.body or exc.reason}"
            return result
        result.frames = to_frames(tables)
        return result

    def panel_interval(self, panel: JSON, time_range: TimeRange) -> int:
        points = panel.get("maxDataPoints") or max(
            1, round(panel.get("gridPos", {}).get("w", GRID_COLUMNS) / GRID_COLUMNS * self.width_px)
        )
        return calculate_interval(
            time_range.ms, int(points), str(panel.get("interval") or self.min_interval)
        )

    def resolve(
        self,
        dashboard: JSON,
        time_range: TimeRange,
        selections: Mapping[str, Sequence[str]],
    ) -> tuple[list[templating.Variable], list[tuple[str, QueryResult]]]:
        resolved: list[templating.Variable] = []
        results: list[tuple[str, QueryResult]] = []
        interval = calculate_interval(time_range.ms, VARIABLE_POINTS, self.min_interval)
        for spec in variables(dashboard):
            name = str(spec["name"])
            if spec.get("type") == "query":
                result = self.query(
                    Target(name, str(spec["query"])), time_range, interval, resolved
                )
                results.append((name, result))
                options = metric_find_values(result.frames)
                if spec.get("sort") in (1, 2, 5, 6, 7, 8):
                    options = sorted(options, reverse=spec.get("sort") in (2, 6, 8))
            else:
                options = [str(o["value"]) for o in spec.get("options", []) if o.get("value")]
            chosen = selections.get(name)
            all_value = spec.get("allValue") if spec.get("includeAll") else None
            resolved.append(
                templating.Variable(
                    name,
                    tuple(options),
                    None if chosen is None else tuple(chosen),
                    bool(spec.get("multi")),
                    all_value or None,
                )
            )
        return resolved, results

    def run(
        self,
        dashboard: JSON,
        time_range: TimeRange,
        selections: Mapping[str, Sequence[str]] | None = None,
    ) -> DashboardRun:
        resolved, variable_results = self.resolve(dashboard, time_range, selections or {})
        panel_results = []
        for panel in panels(dashboard):
            interval = self.panel_interval(panel, time_range)
            panel_results.append(
                PanelResult(
                    panel, [self.query(t, time_range, interval, resolved) for t in targets(panel)]
                )
            )
        default_interval = calculate_interval(time_range.ms, self.width_px, self.min_interval)
        notes = [
            (name, self.query(target, time_range, default_interval, resolved))
            for name, target in annotation_targets(dashboard)
        ]
        return DashboardRun(dashboard, time_range, resolved, panel_results, notes, variable_results)


def metric_find_values(frames: Sequence[Frame]) -> list[str]:
    """A variable query's options (the InfluxDB datasource's toMetricFindValue): of each frame,
    the values of its first string field (else its first non-time field), once each."""
    found: dict[str, None] = {}
    for frame in frames:
        if frame.rows == 0:
            continue
        chosen = next((f for f in frame.fields if f.type == "string"), None) or next(
            (f for f in frame.fields if f.type != "time"), None
        )
        if chosen is not None:
            found.update((str(v), None) for v in chosen.values if v is not None)
    return list(found)
