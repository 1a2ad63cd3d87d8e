"""What every sovwatch dashboard shares: UTC, shared crosshair, a link menu to the others, and
panel builders preset with sovwatch's datasource and a grid size."""

from __future__ import annotations

from typing import Final, TypeVar

from grafana_foundation_sdk.builders import (
    barchart,
    bargauge,
    heatmap,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders.common import (
    GraphThresholdsStyleConfig,
    ReduceDataOptions,
    StackingConfig,
)
from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink
from grafana_foundation_sdk.models.common import (
    GraphDrawStyle,
    GraphThresholdsStyleMode,
    StackingMode,
)
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DashboardLinkType

from dashboards.flux_query import Flux, datasource

TAG: Final = "sovwatch"


def new_dashboard(uid: str, title: str, folder: str, description: str) -> Dashboard:
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG, folder.lower()])
        .timezone("utc")
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .refresh("1m")
        .link(
            DashboardLink(TAG)
            .type(DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


Panel = TypeVar(
    "Panel",
    timeseries.Panel,
    stat.Panel,
    table.Panel,
    bargauge.Panel,
    heatmap.Panel,
    statetimeline.Panel,
    barchart.Panel,
)


def placed(panel: Panel, title: str, flux: str, width: int, height: int) -> Panel:
    """`panel` titled, on sovwatch's datasource with one Flux query, `width` x `height` cells."""
    return (
        panel.title(title)
        .datasource(datasource())
        .with_target(Flux(flux))
        .span(width)
        .height(height)
    )


def last_values(field: str) -> ReduceDataOptions:
    """Reduce to the last non-null value of the column `field`, every row shown."""
    return ReduceDataOptions().calcs(["lastNotNull"]).fields(f"/^{field}$/").values(True)


def time_series(title: str, flux: str, width: int = 12, height: int = 8) -> timeseries.Panel:
    return placed(timeseries.Panel(), title, flux, width, height)


def bars_over_time(title: str, flux: str, width: int = 12, height: int = 8) -> timeseries.Panel:
    """Counts per window, stacked bars."""
    return (
        time_series(title, flux, width, height)
        .draw_style(GraphDrawStyle.BARS)
        .fill_opacity(80)
        .stacking(StackingConfig().mode(StackingMode.NORMAL))
    )


def single_stat(title: str, flux: str, field: str, width: int = 6, height: int = 4) -> stat.Panel:
    """A stat of the column `field`, every row shown (`values`), last value of each."""
    return placed(stat.Panel(), title, flux, width, height).reduce_options(last_values(field))


def table_panel(title: str, flux: str, width: int = 12, height: int = 8) -> table.Panel:
    return placed(table.Panel(), title, flux, width, height)


def bar_gauge(title: str, flux: str, field: str, width: int = 8, height: int = 8) -> bargauge.Panel:
    return placed(bargauge.Panel(), title, flux, width, height).reduce_options(last_values(field))


def heat_map(title: str, flux: str, width: int = 24, height: int = 9) -> heatmap.Panel:
    return placed(heatmap.Panel(), title, flux, width, height)


def state_timeline(title: str, flux: str, width: int = 12, height: int = 8) -> statetimeline.Panel:
    return placed(statetimeline.Panel(), title, flux, width, height)


def bar_chart(title: str, flux: str, width: int = 12, height: int = 8) -> barchart.Panel:
    return placed(barchart.Panel(), title, flux, width, height)


def line_thresholds() -> GraphThresholdsStyleConfig:
    """Draw a time series' thresholds as lines."""
    return GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE)
