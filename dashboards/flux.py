"""Flux fragments shared by the dashboards, written against the data model of
`agents.influx.points`.

Bucket names are the defaults of `schemas.settings.InfluxBuckets`: generated JSON is committed,
so it cannot follow a deployment's settings; a deployment that renames buckets regenerates.
`v.timeRangeStart`, `v.timeRangeStop` and `v.windowPeriod` are filled in by Grafana's InfluxDB
datasource on the server; `${var:regex}` and `${var:json}` by Grafana's template engine before
the query is sent (the rules: `dashboards.queries`, and the README of `dashboards/`). A plain
`${var}` of a multi-value variable would become `{a,b}`, which is not Flux: never use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from schemas.settings import InfluxBuckets

BUCKETS: Final = InfluxBuckets()
TELEMETRY: Final = BUCKETS.telemetry
AUDIT: Final = BUCKETS.audit
ALERTS: Final = BUCKETS.alerts


def matches(tags_to_variables: Mapping[str, str]) -> str:
    """`r.site =~ /^${site:regex}$/ and ...` for tag -> variable name."""
    return " and ".join(
        f"r.{tag} =~ /^${{{var}:regex}}$/" for tag, var in tags_to_variables.items()
    )


def source(
    bucket: str,
    measurement: str,
    fields: Iterable[str],
    where: Mapping[str, str],
    extra: str = "",
) -> str:
    """from |> range |> measurement, fields, tag filters (tag -> variable) [and an extra test]."""
    wanted = " or ".join(f'r._field == "{name}"' for name in fields)
    tests = [matches(where)] if where else []
    if extra:
        tests.append(extra)
    lines = [
        f'from(bucket: "{bucket}")',
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)",
        f'  |> filter(fn: (r) => r._measurement == "{measurement}" and ({wanted}))',
    ]
    if tests:
        lines.append(f"  |> filter(fn: (r) => {' and '.join(tests)})")
    return "\n".join(lines)


def one_of(tag: str, variable: str) -> str:
    """`contains(value: r.team, set: ${team:json})`: for variables whose "All" lists every value
    (no custom all value), rendered as a JSON array of strings."""
    return f"contains(value: r.{tag}, set: ${{{variable}:json}})"


def tag_values(bucket: str, tag: str, predicate: str = "") -> str:
    """A variable query: the values a tag took in the dashboard's time range (optionally
    filtered); variables refresh when the time range changes."""
    where = f", predicate: (r) => {predicate}" if predicate else ""
    return (
        'import "influxdata/influxdb/schema"\n'
        f'schema.tagValues(bucket: "{bucket}", tag: "{tag}"{where},\n'
        "  start: v.timeRangeStart, stop: v.timeRangeStop)"
    )


def series(tags: Iterable[str], fn: str, field: str = "") -> str:
    """The tail of a time-series query: one series per combination of `tags`, aggregated per
    window. Grafana names a series by its `_field` and labels it with the other group columns
    only when nothing but `_time`/`_value` remains outside the group key; `field` renames the
    series (e.g. a count of events)."""
    columns = [*tags, "_field"]
    rename = f'  |> set(key: "_field", value: "{field}")\n' if field else ""
    return (
        f"{rename}"
        f"  |> group(columns: {flux_list(columns)})\n"
        f"  |> aggregateWindow(every: v.windowPeriod, fn: {fn}, createEmpty: false)\n"
        f"  |> keep(columns: {flux_list(['_time', '_value', *columns])})"
    )


def flux_list(names: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"
