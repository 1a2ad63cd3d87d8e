"""Fleet overview: every site by country, GPU utilisation, power and alerts at a glance."""

from __future__ import annotations

from dashboards.flux import ALERTS, TELEMETRY, matches, series, source
from dashboards.model import Dashboard, Panel, Query, Threshold
from dashboards.variables import COUNTRY, SITE, SITE_FILTER, alert_annotation

_GPU_UTIL = source(TELEMETRY, "gpu", ["gpu_util_pct"], SITE_FILTER)
_SITE_POWER = source(TELEMETRY, "power", ["power_w"], SITE_FILTER, 'r.scope == "site"')

SITES_TABLE = Query(
    f"""util = {_GPU_UTIL}
  |> group(columns: ["country", "site"])
  |> mean()
  |> map(fn: (r) => ({{country: r.country, site: r.site, _field: "gpu_util_pct",
                       _value: r._value}}))
gpus = {_GPU_UTIL}
  |> group(columns: ["country", "site", "node", "gpu"])
  |> last()
  |> group(columns: ["country", "site"])
  |> count()
  |> map(fn: (r) => ({{country: r.country, site: r.site, _field: "gpus",
                       _value: float(v: r._value)}}))
power = {_SITE_POWER}
  |> group(columns: ["country", "site"])
  |> last()
  |> map(fn: (r) => ({{country: r.country, site: r.site, _field: "power_w", _value: r._value}}))
union(tables: [util, gpus, power])
  |> group()
  |> pivot(rowKey: ["country", "site"], columnKey: ["_field"], valueColumn: "_value")
  |> sort(columns: ["country", "site"])""",
    expect=("country", "site", "gpus", "gpu_util_pct", "power_w"),
)

UTIL_BY_SITE = Query(
    f"""{_GPU_UTIL}
{series(["site"], "mean")}""",
    expect=("Time", "gpu_util_pct"),
)

POWER_BY_SITE = Query(
    f"""{_SITE_POWER}
{series(["site"], "mean")}""",
    expect=("Time", "power_w"),
)

_ALERTS = f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert" and r._field == "alert_id")
  |> filter(fn: (r) => {matches(SITE_FILTER)})"""

OPEN_ALERTS = Query(
    f"""{_ALERTS}
  |> group(columns: ["team"])
  |> distinct()
  |> count()
  |> rename(columns: {{_value: "alerts"}})""",
    expect=("team", "alerts"),
)

GPUS_REPORTING = Query(
    f"""{_GPU_UTIL}
  |> group(columns: ["site", "node", "gpu"])
  |> last()
  |> group()
  |> count()
  |> rename(columns: {{_value: "gpus"}})""",
    expect=("gpus",),
)

AVG_UTIL = Query(
    f"""{_GPU_UTIL}
  |> group()
  |> mean()
  |> rename(columns: {{_value: "gpu_util_pct"}})""",
    expect=("gpu_util_pct",),
)

UTIL_STEPS = (Threshold(None, "blue"), Threshold(30, "green"), Threshold(90, "orange"))

DASHBOARD = Dashboard(
    uid="sovwatch-fleet",
    title="Fleet overview",
    folder="Operations",
    description="Every site by country: GPUs reporting, utilisation, power, alerts raised.",
    variables=(COUNTRY, SITE),
    annotations=(alert_annotation("ops"),),
    items=(
        Panel(
            "GPUs reporting",
            "stat",
            (GPUS_REPORTING,),
            width=6,
            height=4,
            options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": ""}},
        ),
        Panel(
            "Average GPU utilisation",
            "stat",
            (AVG_UTIL,),
            unit="percent",
            width=6,
            height=4,
            decimals=1,
            thresholds=UTIL_STEPS,
            options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": ""}},
        ),
        Panel(
            "Alerts raised, by team",
            "stat",
            (OPEN_ALERTS,),
            width=12,
            height=4,
            description="Distinct alert ids in the time range (bucket alerts).",
            thresholds=(Threshold(None, "green"), Threshold(1, "red")),
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": ""},
                "textMode": "value_and_name",
            },
        ),
        Panel(
            "Sites",
            "table",
            (SITES_TABLE,),
            width=24,
            height=8,
            overrides=(
                {
                    "matcher": {"id": "byName", "options": "gpu_util_pct"},
                    "properties": [
                        {"id": "unit", "value": "percent"},
                        {"id": "decimals", "value": 1},
                        {"id": "displayName", "value": "GPU utilisation"},
                        {"id": "custom.cellOptions", "value": {"type": "gauge"}},
                        {"id": "max", "value": 100},
                    ],
                },
                {
                    "matcher": {"id": "byName", "options": "power_w"},
                    "properties": [
                        {"id": "unit", "value": "watt"},
                        {"id": "displayName", "value": "Site power"},
                    ],
                },
                {
                    "matcher": {"id": "byName", "options": "gpus"},
                    "properties": [{"id": "displayName", "value": "GPUs"}],
                },
            ),
        ),
        Panel(
            "GPU utilisation by site",
            "timeseries",
            (UTIL_BY_SITE,),
            unit="percent",
            minimum=0,
            maximum=100,
        ),
        Panel("Site power", "timeseries", (POWER_BY_SITE,), unit="watt", minimum=0),
    ),
)
