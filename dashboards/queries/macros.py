"""What Grafana's InfluxDB datasource substitutes in Flux on the server (Grafana 11,
pkg/tsdb/influxdb/flux/macros.go), after the front end's template variables.

Every `<word>.<word>` is looked at (regex `([a-zA-Z]+)\\.([a-zA-Z]+)`), so `v.timeRangeStart`
and any other prefix alike (`params.timeRangeStart`) are replaced:

| name             | becomes                                                     |
| ---------------- | ----------------------------------------------------------- |
| `timeRangeStart` | range start, RFC 3339 in UTC (Go's RFC3339Nano: no trailing zeros) |
| `timeRangeStop`  | range end, likewise                                         |
| `windowPeriod`   | the query interval as a Go duration (`1m0s`)               |
| `defaultBucket`  | the datasource's default bucket, in double quotes           |
| `bucket`         | the query's bucket option, else the default bucket, quoted  |
| `organization`   | the datasource's organisation, quoted                       |

then `$__interval_ms` (the interval in ms) and `$__interval` (its short form, `1m`).
An interval of 0 ms becomes 1 ms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from dashboards.queries.interval import format_interval, go_duration

_DOTTED = re.compile(r"([a-zA-Z]+)\.([a-zA-Z]+)")


@dataclass(frozen=True)
class DatasourceOptions:
    organization: str
    default_bucket: str
    bucket: str = ""


def rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339Nano of the instant in UTC: fraction digits only as needed."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def interpolate(
    flux: str, start: datetime, stop: datetime, interval_ms: int, options: DatasourceOptions
) -> str:
    interval_ms = interval_ms or 1
    values = {
        "timeRangeStart": rfc3339(start),
        "timeRangeStop": rfc3339(stop),
        "windowPeriod": go_duration(interval_ms),
        "defaultBucket": f'"{options.default_bucket}"',
        "bucket": f'"{options.bucket or options.default_bucket}"',
        "organization": f'"{options.organization}"',
    }
    for whole, name in {(m.group(0), m.group(2)) for m in _DOTTED.finditer(flux)}:
        if name in values:
            flux = flux.replace(whole, values[name])
    flux = flux.replace("$__interval_ms", str(interval_ms))
    return flux.replace("$__interval", format_interval(interval_ms))
