"""Flux tables become Grafana's frames; a panel's field config says which columns it needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from influxdb_client.client.flux_table import FluxColumn, FluxRecord, FluxTable

from dashboards.boards import all_dashboards
from dashboards.queries.dashboard_json import panels
from dashboards.queries.expect import problems, uses
from dashboards.queries.frames import to_frame

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def table(columns: list[tuple[str, str, bool]], rows: list[dict[str, Any]]) -> FluxTable:
    flux = FluxTable()
    flux.columns = [
        FluxColumn(i, name, kind, group) for i, (name, kind, group) in enumerate(columns)
    ]
    for row in rows:
        flux.records.append(FluxRecord(0, values=row))
    return flux


SERIES = table(
    [
        ("result", "string", False),
        ("table", "long", False),
        ("_time", "dateTime:RFC3339", False),
        ("_value", "double", False),
        ("_field", "string", True),
        ("site", "string", True),
    ],
    [{"_time": T0, "_value": 1.5, "_field": "gpu_util_pct", "site": "fra-1"}],
)
ROWS = table(
    [("result", "string", False), ("table", "long", False), ("site", "string", True),
     ("pue", "double", False)],
    [{"site": "fra-1", "pue": 1.31}, {"site": "par-1", "pue": float("nan")}],
)  # fmt: skip


def test_a_table_with_value_and_time_is_a_named_labelled_series() -> None:
    frame = to_frame(SERIES)
    assert frame.is_series
    assert [f.name for f in frame.fields] == ["Time", "gpu_util_pct"]
    assert frame.fields[1].labels == {"site": "fra-1"}
    assert frame.fields[1].display_name() == "gpu_util_pct site=fra-1"


def test_any_other_table_keeps_its_columns_without_result_and_table() -> None:
    frame = to_frame(ROWS)
    assert not frame.is_series and frame.rows == 2
    assert [f.name for f in frame.fields] == ["site", "pue"]


def power_panel(title: str) -> dict[str, Any]:
    board = next(b for b in all_dashboards() if b.uid == "sovwatch-power")
    return next(p for p in panels(board.json) if p["title"] == title)


def test_uses_reads_overrides_organize_and_reduce_options() -> None:
    racks = uses(power_panel("Racks nearest capacity"))
    assert racks.names == ("load_pct", "site", "rack", "power_w", "capacity_w")
    assert racks.patterns == ("power_w|capacity_w",) and not racks.over_time
    assert uses(power_panel("PUE over the range")).patterns == ("/^pue$/",)
    assert uses(power_panel("PUE per window")).over_time


def test_problems_name_what_is_missing() -> None:
    pue = power_panel("PUE over the range")
    assert problems(pue, []) == ["no frame with rows"]
    assert problems(pue, [to_frame(SERIES)])[0].startswith("no column matches '/^pue$/'")
    assert problems(pue, [to_frame(ROWS)]) == ["a value is NaN"]
    assert problems(power_panel("PUE per window"), [to_frame(ROWS)])[0].startswith(
        "draws over time"
    )
    racks = power_panel("Racks nearest capacity")
    assert "missing columns" in problems(racks, [to_frame(ROWS)])[0]
