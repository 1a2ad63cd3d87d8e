"""Power & PUE: facility vs IT power, PUE over time, halls and racks near their capacity.

PUE is a ratio of energies over the same period (ISO/IEC 30134-2, see `schemas.power`): per
time window, the increase of the facility meter over the increase of the IT meters.
Rack ids are expected to begin with their hall id (e.g. `hall-2-rack-14`): that is how the hall
variable narrows the rack table, since racks carry no hall tag.
"""

from __future__ import annotations

from dashboards.flux import TELEMETRY, matches, series, source
from dashboards.model import Dashboard, Panel, Query, Threshold
from dashboards.variables import COUNTRY, HALL, SITE, SITE_FILTER, alert_annotation

_COUNTERS = source(
    TELEMETRY, "power", ["facility_energy_kwh", "it_energy_kwh"], SITE_FILTER, 'r.scope == "site"'
)

FACILITY_VS_IT = Query(
    f"""{_COUNTERS}
  |> map(fn: (r) => ({{r with
      _field: if r._field == "facility_energy_kwh" then "facility_kw" else "it_kw"}}))
{series(["site"], "last")}
  |> derivative(unit: 1h, nonNegative: true)""",
    expect=("Time", "facility_kw", "it_kw"),
)

PUE = Query(
    f"""{_COUNTERS}
  |> group(columns: ["site", "_field"])
  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)
  |> difference(nonNegative: true)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> filter(fn: (r) => exists r.it_energy_kwh and exists r.facility_energy_kwh
                       and r.it_energy_kwh > 0.0)
  |> map(fn: (r) => ({{_time: r._time, site: r.site, _field: "pue",
                       _value: r.facility_energy_kwh / r.it_energy_kwh}}))
  |> group(columns: ["site", "_field"])""",
    expect=("Time", "pue"),
)

LATEST_PUE = Query(
    f"""{_COUNTERS}
  |> group(columns: ["site", "_field"])
  |> reduce(
      identity: {{first: -1.0, last: 0.0}},
      fn: (r, accumulator) => ({{
          first: if accumulator.first < 0.0 then r._value else accumulator.first,
          last: r._value}}))
  |> map(fn: (r) => ({{site: r.site, _field: r._field, _value: r.last - r.first}}))
  |> group(columns: ["site"])
  |> pivot(rowKey: ["site"], columnKey: ["_field"], valueColumn: "_value")
  |> filter(fn: (r) => r.it_energy_kwh > 0.0)
  |> map(fn: (r) => ({{site: r.site, pue: r.facility_energy_kwh / r.it_energy_kwh}}))""",
    expect=("site", "pue"),
)

HALL_POWER = Query(
    f"""{
        source(
            TELEMETRY,
            "power",
            ["power_w"],
            SITE_FILTER,
            'r.scope == "hall" and ' + matches({"scope_id": "hall"}),
        )
    }
{series(["site", "scope_id"], "mean")}""",
    expect=("Time", "power_w"),
)

RACKS = Query(
    f"""{
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
  |> limit(n: 20)""",
    expect=("site", "rack", "power_w", "capacity_w", "load_pct"),
)

LOAD_STEPS = (Threshold(None, "green"), Threshold(80, "orange"), Threshold(90, "red"))

DASHBOARD = Dashboard(
    uid="sovwatch-power",
    title="Power & PUE",
    folder="Operations",
    description="Facility vs IT power, PUE from energy counters, halls and racks near capacity.",
    variables=(COUNTRY, SITE, HALL),
    annotations=(alert_annotation("ops"),),
    items=(
        Panel(
            "Facility vs IT power",
            "timeseries",
            (FACILITY_VS_IT,),
            unit="kwatt",
            width=16,
            minimum=0,
            description="Rate of the facility and IT energy counters (kWh per hour = kW).",
        ),
        Panel(
            "PUE over the range",
            "stat",
            (LATEST_PUE,),
            unit="none",
            width=8,
            decimals=2,
            thresholds=(Threshold(None, "green"), Threshold(1.4, "orange"), Threshold(1.6, "red")),
            options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "/^pue$/"}},
        ),
        Panel(
            "PUE",
            "timeseries",
            (PUE,),
            unit="none",
            decimals=2,
            minimum=1,
            thresholds=(Threshold(None, "green"), Threshold(1.4, "orange"), Threshold(1.6, "red")),
            custom={"thresholdsStyle": {"mode": "line"}},
        ),
        Panel("Hall power", "timeseries", (HALL_POWER,), unit="watt", minimum=0),
        Panel(
            "Racks nearest capacity",
            "table",
            (RACKS,),
            width=24,
            description="Last reading per rack; load = power / rated capacity.",
            overrides=(
                {
                    "matcher": {"id": "byName", "options": "load_pct"},
                    "properties": [
                        {"id": "unit", "value": "percent"},
                        {"id": "decimals", "value": 1},
                        {"id": "max", "value": 100},
                        {"id": "custom.cellOptions", "value": {"type": "gauge"}},
                        {
                            "id": "thresholds",
                            "value": {
                                "mode": "absolute",
                                "steps": [{"value": t.value, "color": t.color} for t in LOAD_STEPS],
                            },
                        },
                    ],
                },
                {
                    "matcher": {"id": "byRegexp", "options": "power_w|capacity_w"},
                    "properties": [{"id": "unit", "value": "watt"}],
                },
            ),
        ),
    ),
)
