"""Power & PUE: facility vs IT power, PUE per window and over the range, halls and racks near
their capacity.

PUE is a ratio of energies over the same period (ISO/IEC 30134-2, see `schemas.power`): the
increase of the facility meter over the increase of the IT meters, never an average of
instantaneous power ratios (which over-weights quiet hours). Rack ids are expected to begin
with their hall id (`fra-1-h2-r14`): that is how the hall variable narrows the rack table,
since racks carry no hall tag.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards.base import line_thresholds, new_dashboard, single_stat, table_panel, time_series
from dashboards.flux import TELEMETRY, matches, series, source
from dashboards.panels import organize, props, thresholds
from dashboards.variables import SITE_FILTER, alert_annotation, country, hall, site

FOLDER = "Operations"

_COUNTERS = source(
    TELEMETRY, "power", ["facility_energy_kwh", "it_energy_kwh"], SITE_FILTER, 'r.scope == "site"'
)

FACILITY_VS_IT = f"""{_COUNTERS}
  |> map(fn: (r) => ({{r with
      _field: if r._field == "facility_energy_kwh" then "facility_kw" else "it_kw"}}))
{series(["site"], "last")}
  |> derivative(unit: 1h, nonNegative: true)"""

PUE_PER_WINDOW = f"""{_COUNTERS}
  |> group(columns: ["site", "_field"])
  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)
  |> difference(nonNegative: true)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> filter(fn: (r) => exists r.it_energy_kwh and exists r.facility_energy_kwh
                       and r.it_energy_kwh > 0.0)
  |> map(fn: (r) => ({{_time: r._time, site: r.site, _field: "pue",
                       _value: r.facility_energy_kwh / r.it_energy_kwh}}))
  |> group(columns: ["site", "_field"])"""

# Energy used in the range = last - first reading of each counter (no resets within a range).
_ENERGY_IN_RANGE = f"""{_COUNTERS}
  |> group(columns: ["site", "_field"])
  |> reduce(
      identity: {{first: -1.0, last: 0.0}},
      fn: (r, accumulator) => ({{
          first: if accumulator.first < 0.0 then r._value else accumulator.first,
          last: r._value}}))
  |> map(fn: (r) => ({{site: r.site, _field: r._field, _value: r.last - r.first}}))"""

PUE_OVER_RANGE = f"""{_ENERGY_IN_RANGE}
  |> group(columns: ["site"])
  |> pivot(rowKey: ["site"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> filter(fn: (r) => r.it_energy_kwh > 0.0)
  |> map(fn: (r) => ({{site: r.site, facility_kwh: r.facility_energy_kwh,
                       it_kwh: r.it_energy_kwh, pue: r.facility_energy_kwh / r.it_energy_kwh}}))
  |> sort(columns: ["site"])"""

HALL_POWER = f"""{
    source(
        TELEMETRY,
        "power",
        ["power_w"],
        SITE_FILTER,
        'r.scope == "hall" and ' + matches({"scope_id": "hall"}),
    )
}
{series(["site", "scope_id"], "mean")}"""

RACKS = f"""{
    source(
        TELEMETRY,
        "power",
        ["power_w", "capacity_w"],
        SITE_FILTER,
        'r.scope == "rack" and r.scope_id =~ /^(${hall:regex})/',
    )
}
  |> group(columns: ["site", "scope_id", "_field"])
  |> last()
  |> group(columns: ["site", "scope_id"])
  |> pivot(rowKey: ["site", "scope_id"], columnKey: ["_field"], valueColumn: "_value")
  |> filter(fn: (r) => exists r.capacity_w and r.capacity_w > 0.0)
  |> map(fn: (r) => ({{site: r.site, rack: r.scope_id, power_w: r.power_w, capacity_w: r.capacity_w,
                       load_pct: 100.0 * r.power_w / r.capacity_w}}))
  |> group()
  |> sort(columns: ["load_pct"], desc: true)
  |> limit(n: 20)"""

PUE_STEPS = ((None, "green"), (1.4, "orange"), (1.6, "red"))
LOAD_STEPS = ((None, "green"), (80.0, "orange"), (90.0, "red"))


def dashboard() -> Dashboard:
    return (
        new_dashboard(
            "sovwatch-power",
            "Power & PUE",
            FOLDER,
            "Facility vs IT power, PUE from energy counters, halls and racks near capacity.",
        )
        .with_variable(country())
        .with_variable(site())
        .with_variable(hall())
        .annotation(alert_annotation("ops"))
        .with_panel(
            time_series("Facility vs IT power", FACILITY_VS_IT, width=16)
            .description("Rate of the facility and IT energy counters (kWh per hour = kW).")
            .unit("kwatt")
            .min(0)
        )
        .with_panel(
            single_stat("PUE over the range", PUE_OVER_RANGE, "pue", width=8, height=8)
            .description(
                "Facility energy / IT energy used in the range (ISO/IEC 30134-2), per site."
            )
            .decimals(2)
            .thresholds(thresholds(*PUE_STEPS))
        )
        .with_panel(
            time_series("PUE per window", PUE_PER_WINDOW)
            .description("Facility over IT energy of each window.")
            .unit("none")
            .decimals(2)
            .min(1)
            .thresholds(thresholds(*PUE_STEPS))
            .thresholds_style(line_thresholds())
        )
        .with_panel(time_series("Hall power", HALL_POWER).unit("watt").min(0))
        .with_panel(
            table_panel("Racks nearest capacity", RACKS, width=24)
            .description("Last reading per rack; load = power / rated capacity.")
            .with_transformation(
                organize(
                    {
                        "site": "Site",
                        "rack": "Rack",
                        "power_w": "Power",
                        "capacity_w": "Capacity",
                        "load_pct": "Load",
                    }
                )
            )
            .override_by_name(
                "load_pct",
                props(unit="percent", decimals=1, maximum=100, cell="gauge", steps=LOAD_STEPS),
            )
            .override_by_regexp("power_w|capacity_w", props(unit="watt"))
        )
    )
