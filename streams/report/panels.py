"""One panel of a dashboard, drawn from its query frames the way its JSON asks: units and
decimals of the field config and its overrides, value-mapping texts, the `organize` column
order and headers, reduce options of stats. Returns an HTML fragment that says how many data
points it drew (`data-points`), so a reader (or a test) can tell an empty panel at once."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from dashboards.queries.dashboard_json import JSON
from dashboards.queries.expect import grafana_regex
from dashboards.queries.frames import Field, Frame
from streams.report import charts
from streams.report.units import format_value

MAX_ROWS: Final = 50
UNIT_LABELS: Final = {"percent": "%", "watt": "W", "kwatt": "kW", "celsius": "°C", "s": "s"}


@dataclass(frozen=True)
class Look:
    """Unit, decimals and value texts of one field."""

    unit: str | None
    decimals: int | None
    texts: dict[str, str]


def _look(panel: JSON, name: str) -> Look:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit, decimals, mappings = defaults.get("unit"), defaults.get("decimals"), []
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        hit = (matcher.get("id") == "byName" and matcher.get("options") == name) or (
            matcher.get("id") == "byRegexp" and grafana_regex(matcher["options"]).search(name)
        )
        for prop in override.get("properties", []) if hit else []:
            if prop["id"] == "unit":
                unit = prop["value"]
            elif prop["id"] == "decimals":
                decimals = prop["value"]
            elif prop["id"] == "mappings":
                mappings.extend(prop["value"])
    texts = {
        key: str(result["text"])
        for mapping in mappings
        for key, result in mapping.get("options", {}).items()
        if result.get("text")
    }
    return Look(unit, int(decimals) if decimals is not None else None, texts)


def _show(look: Look, value: Any) -> str:
    text = format_value(value, look.unit, look.decimals)
    return look.texts.get(str(value).lower(), look.texts.get(text, text))


def _series_name(field: Field) -> str:
    return " / ".join(field.labels[k] for k in sorted(field.labels)) or field.name or "value"


def _series(frames: list[Frame]) -> list[charts.Series]:
    """Every time series frame as a chart series; named by its labels, and by its field too
    when the panel mixes fields (facility vs IT power)."""
    fields = {f.name for frame in frames if frame.is_series for f in frame.fields[1:]}
    out = []
    for frame in frames:
        time, value = frame.time, next((f for f in frame.fields if f.type == "number"), None)
        if not frame.is_series or time is None or value is None:
            continue
        pairs = [
            (t, float(v))
            for t, v in zip(time.values, value.values, strict=True)
            if isinstance(t, datetime) and isinstance(v, int | float)
        ]
        if pairs:
            name = _series_name(value)
            if len(fields) > 1 and value.labels:
                name = f"{value.name}: {name}"
            out.append(charts.Series(name, *zip(*pairs, strict=True)))
    return out


def _reduced(panel: JSON, frames: list[Frame]) -> list[tuple[str, Field, Any]]:
    """(name, field, last value) for each row of the field the reduce options pick."""
    pattern = panel.get("options", {}).get("reduceOptions", {}).get("fields") or ".*"
    regex = grafana_regex(pattern)
    out = []
    for frame in frames:
        chosen = next(
            (f for f in frame.fields if f.type == "number" and regex.search(f.name)), None
        )
        if chosen is None:
            continue
        names = [f for f in frame.fields if f.type == "string"]
        for row, value in enumerate(chosen.values):
            if value is None:
                continue
            label = " / ".join(str(n.values[row]) for n in names if n.values[row] is not None)
            out.append((label or panel.get("title", ""), chosen, value))
    return out


def _table(panel: JSON, frames: list[Frame]) -> tuple[str, int]:
    columns: dict[str, str] = {}
    for transformation in panel.get("transformations", []):
        if transformation.get("id") == "organize":
            options = transformation.get("options", {})
            renames = options.get("renameByName", {})
            columns = {name: renames.get(name, name) for name in options.get("indexByName", {})}
    rows: list[dict[str, Any]] = []
    for frame in frames:
        for i in range(frame.rows):
            rows.append({f.name: f.values[i] for f in frame.fields})
    if not columns and rows:
        columns = {name: name for name in rows[0] if not name.startswith("_")}
    looks = {name: _look(panel, name) for name in columns}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in columns.values())
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_show(looks[name], row.get(name)))}</td>" for name in columns)
        + "</tr>"
        for row in rows[:MAX_ROWS]
    )
    more = f"<p class='more'>{len(rows) - MAX_ROWS} more rows</p>" if len(rows) > MAX_ROWS else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}", len(rows)


def render_panel(panel: JSON, frames: list[Frame], errors: list[str], salt: str) -> str:
    kind = str(panel.get("type"))
    width = int(panel.get("gridPos", {}).get("w", 12))
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    unit_label = UNIT_LABELS.get(str(unit), "")
    body, points = "", 0
    if kind in ("timeseries", "state-timeline", "heatmap"):
        series = _series(frames)
        points = sum(len(s.values) for s in series)
        if series and kind == "heatmap":
            body = charts.heat_map(series, unit_label, salt, width)
        elif series:
            style = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
            bars = style.get("drawStyle") == "bars"
            body = charts.over_time(series, unit_label, salt, width, bars)
    elif kind == "stat":
        values = _reduced(panel, frames)
        points = len(values)
        body = (
            "<div class='stats'>"
            + "".join(
                f"<div class='stat'><span class='value'>"
                f"{html.escape(_show(_look(panel, f.name), v))}</span>"
                f"<span class='name'>{html.escape(name)}</span></div>"
                for name, f, v in values
            )
            + "</div>"
        )
    elif kind in ("bargauge", "barchart"):
        values = _reduced(panel, frames)
        points = len(values)
        if values:
            body = charts.bars(
                [n for n, _, _ in values], [float(v) for _, _, v in values], unit_label, salt, width
            )
    else:
        body, points = _table(panel, frames)
    if points == 0:
        body = "<p class='empty'>No data in this period.</p>"
    if errors:
        body += "".join(f"<p class='error'>{html.escape(e)}</p>" for e in errors)
    description = panel.get("description")
    about = f"<p class='about'>{html.escape(description)}</p>" if description else ""
    size = "wide" if width > 12 else "half"
    return (
        f"<section class='panel {size}' data-panel='{html.escape(str(panel.get('title')))}' "
        f"data-points='{points}'><h3>{html.escape(str(panel.get('title')))}</h3>{about}"
        f"<div class='body'>{body}</div></section>"
    )
