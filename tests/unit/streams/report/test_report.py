"""The report's pieces without servers: units, times, panels from frames, dashboard names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.boards import all_dashboards
from dashboards.queries.dashboard_json import panels
from dashboards.queries.frames import Field, Frame
from schemas.errors import SovwatchError
from streams.cli.report import parse_time
from streams.report.build import choose
from streams.report.panels import render_panel
from streams.report.units import format_value

NOW = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "unit", "decimals", "text"),
    [
        (1534.0, "watt", None, "1.53 kW"),
        (812.0, "watt", 0, "812 W"),
        (2500.0, "kwatt", None, "2.50 MW"),
        (87.456, "percent", 1, "87.5%"),
        (71.0, "celsius", None, "71 °C"),
        (95.0, "s", None, "1.6 min"),
        (3, None, None, "3"),
        (1.3089, "none", 2, "1.31"),
        ("fra-1", None, None, "fra-1"),
        (None, "watt", None, ""),
        (NOW, None, None, "2026-01-05 20:00:00Z"),
    ],
)
def test_values_carry_their_units(value: object, unit: str, decimals: int, text: str) -> None:
    assert format_value(value, unit, decimals) == text


def test_times_are_iso_or_grafanas_relative_form() -> None:
    assert parse_time("now", NOW) == NOW
    assert parse_time("now-6h", NOW) == NOW - timedelta(hours=6)
    assert parse_time("2026-01-05T10:00", NOW) == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert parse_time("2026-01-05T10:00Z", NOW) == datetime(2026, 1, 5, 10, tzinfo=UTC)
    with pytest.raises(SovwatchError, match="not a time"):
        parse_time("yesterday", NOW)


def test_dashboards_are_chosen_by_short_name_uid_or_title() -> None:
    assert [b.uid for b in choose(["gpu", "sovwatch-power", "Alerts"])] == [
        "sovwatch-gpu",
        "sovwatch-power",
        "sovwatch-alerts",
    ]
    assert len(choose([])) == len(all_dashboards())
    with pytest.raises(SovwatchError) as err:
        choose(["nope"])
    assert "gpu" in err.value.hint


def panel(uid: str, title: str) -> dict[str, object]:
    board = next(b for b in all_dashboards() if b.uid == uid)
    return next(p for p in panels(board.json) if p["title"] == title)


def test_a_stat_shows_each_row_with_its_unit_and_name() -> None:
    frame = Frame(
        "",
        [Field("site", "string", ["fra-1", "par-1"]), Field("pue", "number", [1.31, 1.4])],
        False,
    )
    html = render_panel(panel("sovwatch-power", "PUE over the range"), [frame], [], "t")
    assert "data-points='2'" in html and "1.31" in html and "par-1" in html


def test_a_table_uses_its_organize_headers_and_value_texts() -> None:
    frame = Frame(
        "",
        [
            Field("since", "time", [NOW]),
            Field("site", "string", ["fra-1"]),
            Field("zone", "string", ["hall-2"]),
            Field("camera", "string", ["cam-07"]),
            Field("kind", "string", ["camera_tamper"]),
        ],
        False,
    )
    html = render_panel(panel("sovwatch-physical", "Camera state"), [frame], [], "t")
    assert "<th>Since</th>" in html and "<td>tampered</td>" in html
    assert "2026-01-05 20:00:00Z" in html


def test_a_time_series_is_an_svg_and_an_empty_panel_says_so() -> None:
    times = [NOW + timedelta(minutes=i) for i in range(5)]
    series = Frame(
        "power",
        [
            Field("Time", "time", times),
            Field("power_w", "number", [1.0, 2.0, 3.0, 2.0, 1.0], {"site": "fra-1"}),
        ],
        True,
    )
    drawn = render_panel(panel("sovwatch-fleet", "Site power"), [series], [], "t")
    assert "<svg" in drawn and "data-points='5'" in drawn
    empty = render_panel(panel("sovwatch-fleet", "Site power"), [], [], "t")
    assert "data-points='0'" in empty and "No data in this period" in empty
