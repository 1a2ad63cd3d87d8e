"""What a panel's field config uses, and whether a query's frames provide it.

Used by a panel: the columns named by `byName` overrides and by the `organize` transformation,
the patterns of `byRegexp` overrides and of the reduce options' `fields` (stat, bar gauge), and,
for panels that draw over time (time series, heat map, state timeline), a time series frame.
A panel passes when at least one frame has rows, every name is a field, every pattern matches
a field, and no number is NaN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from dashboards.queries.dashboard_json import JSON
from dashboards.queries.frames import Frame

OVER_TIME: Final = frozenset({"timeseries", "heatmap", "state-timeline", "status-history"})


@dataclass(frozen=True)
class Uses:
    names: tuple[str, ...]
    patterns: tuple[str, ...]
    over_time: bool


def grafana_regex(text: str) -> re.Pattern[str]:
    """Grafana's stringToJsRegex: `/body/flags`, or the whole text as the pattern."""
    match = re.fullmatch(r"/(.*)/([gimsuy]*)", text)
    if not match:
        return re.compile(text)
    return re.compile(match.group(1), re.IGNORECASE if "i" in match.group(2) else 0)


def uses(panel: JSON) -> Uses:
    names: list[str] = []
    patterns: list[str] = []
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") == "byName":
            names.append(str(matcher["options"]))
        elif matcher.get("id") == "byRegexp":
            patterns.append(str(matcher["options"]))
    for transformation in panel.get("transformations", []):
        if transformation.get("id") == "organize":
            names.extend(transformation.get("options", {}).get("indexByName", {}))
    fields = panel.get("options", {}).get("reduceOptions", {}).get("fields")
    if fields:
        patterns.append(str(fields))
    return Uses(tuple(dict.fromkeys(names)), tuple(patterns), panel.get("type") in OVER_TIME)


def problems(panel: JSON, frames: Iterable[Frame]) -> list[str]:
    """Why these frames would leave the panel empty or wrong; [] when they draw."""
    with_rows = [f for f in frames if f.rows > 0]
    if not with_rows:
        return ["no frame with rows"]
    wanted = uses(panel)
    found: list[str] = []
    present = {field.name for frame in with_rows for field in frame.fields}
    missing = [name for name in wanted.names if name not in present]
    if missing:
        found.append(f"missing columns {missing}; the query returns {sorted(present)}")
    for pattern in wanted.patterns:
        regex = grafana_regex(pattern)
        if not any(regex.search(name) for name in present):
            found.append(f"no column matches {pattern!r}; the query returns {sorted(present)}")
    if wanted.over_time and not any(f.is_series for f in with_rows):
        found.append("draws over time but no frame is a time series (_time and _value)")
    if any(field.has_nan() for frame in with_rows for field in frame.fields):
        found.append("a value is NaN")
    return found
