"""Fleet overview: every site by country, GPU utilisation, power and alerts at a glance."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.models.common import BigValueTextMode

from dashboards.base import new_dashboard, single_stat, table_panel, time_series
from dashboards.flux import ALERTS, TELEMETRY, matches, series, source
from dashboards.panels import organize, props, thresholds
from dashboards.variables import SITE_FILTER, alert_annotation, country, site

FOLDER = "Operations"

_GPU_UTIL = source(TELEMETRY, "gpu", ["gpu_util_pct"], SITE_FILTER)
_SITE_POWER = source(TELEMETRY, "power", ["power_w"], SITE_FILTER, 'r.scope == "site"')

SITES_TABLE = f"""util = {_GPU_UTIL}
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
  |> sort(columns: ["country", "site"])"""

ALERTS_BY_TEAM = f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert" and r._field == "alert_id")
  |> filter(fn: (r) => {matches(SITE_FILTER)})
  |> group(columns: ["team"])
  |> distinct()
  |> count()
  |> rename(columns: {{_value: "alerts"}})"""

GPUS_REPORTING = f"""{_GPU_UTIL}
  |> group(columns: ["site", "node", "gpu"])
  |> last()
  |> group()
  |> count()
  |> rename(columns: {{_value: "gpus"}})"""

AVG_UTIL = f"""{_GPU_UTIL}
  |> group()
  |> mean()
  |> rename(columns: {{_value: "gpu_util_pct"}})"""

UTIL_STEPS = ((None, "blue"), (30.0, "green"), (90.0, "orange"))


def dashboard() -> Dashboard:
    return (
        new_dashboard(
            "sovwatch-fleet",
            "Fleet overview",
            FOLDER,
            "Every site by country: GPUs reporting, utilisation, power, alerts raised.",
        )
        .with_variable(country())
        .with_variable(site())
        .annotation(alert_annotation("ops"))
        .with_panel(single_stat("GPUs reporting", GPUS_REPORTING, "gpus").decimals(0))
        .with_panel(
            single_stat("Average GPU utilisation", AVG_UTIL, "gpu_util_pct")
            .unit("percent")
            .decimals(1)
            .thresholds(thresholds(*UTIL_STEPS))
        )
        .with_panel(
            single_stat("Alerts raised, by team", ALERTS_BY_TEAM, "alerts", width=12)
            .description("Distinct alert ids in the time range (bucket alerts).")
            .text_mode(BigValueTextMode.VALUE_AND_NAME)
            .thresholds(thresholds((None, "green"), (1.0, "red")))
        )
        .with_panel(
            table_panel("Sites", SITES_TABLE, width=24)
            .with_transformation(
                organize(
                    {
                        "country": "Country",
                        "site": "Site",
                        "gpus": "GPUs",
                        "gpu_util_pct": "GPU utilisation",
                        "power_w": "Site power",
                    }
                )
            )
            .override_by_name(
                "gpu_util_pct", props(unit="percent", decimals=1, maximum=100, cell="gauge")
            )
            .override_by_name("power_w", props(unit="watt"))
            .override_by_name("gpus", props(decimals=0))
        )
        .with_panel(
            time_series("GPU utilisation by site", f"{_GPU_UTIL}\n{series(['site'], 'mean')}")
            .unit("percent")
            .min(0)
            .max(100)
        )
        .with_panel(
            time_series("Site power", f"{_SITE_POWER}\n{series(['site'], 'mean')}")
            .unit("watt")
            .min(0)
        )
    )
