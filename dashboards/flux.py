"""Flux fragments shared by the dashboards, written against the data model of `agents.points`.

Bucket names are the defaults of `streams.settings.InfluxBuckets`: generated JSON is committed,
so it cannot follow a deployment's settings; a deployment that renames buckets regenerates.
`v.timeRangeStart`, `v.timeRangeStop` and `v.windowPeriod` are filled in by Grafana's InfluxDB
datasource on the server; `${var:regex}` by Grafana's template engine before the query is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from streams.settings import InfluxBuckets

BUCKETS: Final = InfluxBuckets()
TELEMETRY: Final = BUCKETS.telemetry
AUDIT: Final = BUCKETS.audit
ALERTS: Final = BUCKETS.alerts
VARIABLE_LOOKBACK: Final = "-30d"


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


def tag_values(bucket: str, tag: str, predicate: str = "") -> str:
    """A variable query: the values a tag took in the last 30 days (optionally filtered)."""
    where = f", predicate: (r) => {predicate}" if predicate else ""
    return (
        'import "influxdata/influxdb/schema"\n'
        f'schema.tagValues(bucket: "{bucket}", tag: "{tag}"{where}, start: {VARIABLE_LOOKBACK})'
    )


_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")


def interpolate(flux: str, values: Mapping[str, str]) -> str:
    """Replace `${name}`, `${name:format}` and `$name` as Grafana's template engine does for
    single values and "All" (custom all value `.*`). Names not given are left as they are."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(replace, flux)


def series(tags: Iterable[str], fn: str, field: str = "") -> str:
    """The tail of a time-series query: one series per combination of `tags`, aggregated per
    window. Grafana names a series by its `_field` and labels it with the other group columns
    only when nothing but `_time`/`_value` remains outside the group key; `field` renames the
    series (e.g. a count of events)."""
    columns = [*tags, "_field"]
    rename = f'  |> set(key: "_field", value: "{field}")\n' if field else ""
    return (
        f"{rename}"
        f"  |> group(columns: {_list(columns)})\n"
        f"  |> aggregateWindow(every: v.windowPeriod, fn: {fn}, createEmpty: false)\n"
        f"  |> keep(columns: {_list(['_time', '_value', *columns])})"
    )


def _list(names: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"
