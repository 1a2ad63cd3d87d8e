"""Alerts: every alert the rule engine raised (bucket alerts, measurement `alert`), by team and
severity. One alert id may be written several times while its incident goes on; the table
shows its latest message."""

from __future__ import annotations

from dashboards.flux import ALERTS, matches, series
from dashboards.model import Dashboard, Panel, Query, Threshold
from dashboards.variables import COUNTRY, SEVERITY, SITE, TEAM, alert_annotation

ALERT_FILTER = {"country": "country", "site": "site", "team": "team", "severity": "severity"}
_ALERTS = f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert")
  |> filter(fn: (r) => {matches(ALERT_FILTER)})"""

TABLE = Query(
    f"""{_ALERTS}
  |> filter(fn: (r) => r._field == "alert_id" or r._field == "message" or r._field == "count")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group(columns: ["alert_id"])
  |> last(column: "_time")
  |> group()
  |> rename(columns: {{_time: "last_seen"}})
  |> keep(columns: ["last_seen", "team", "severity", "rule_id", "site", "country", "count",
                    "message", "alert_id"])
  |> sort(columns: ["last_seen"], desc: true)""",
    expect=("last_seen", "team", "severity", "rule_id", "site", "message", "alert_id"),
)

_DISTINCT = f"""{_ALERTS}
  |> filter(fn: (r) => r._field == "alert_id")"""

BY_SEVERITY = Query(
    f"""{_DISTINCT}
  |> group(columns: ["severity"])
  |> distinct()
  |> count()
  |> rename(columns: {{_value: "alerts"}})""",
    expect=("severity", "alerts"),
)

BY_TEAM = Query(
    f"""{_DISTINCT}
{series(["team"], "count", field="alerts")}""",
    expect=("Time", "alerts", "team"),
)

SEVERITY_COLOURS = {
    "info": "blue",
    "low": "green",
    "medium": "yellow",
    "high": "orange",
    "critical": "red",
}

DASHBOARD = Dashboard(
    uid="sovwatch-alerts",
    title="Alerts",
    folder="Operations",
    description="Alerts raised by the compliance rule engine, by team and severity.",
    variables=(COUNTRY, SITE, TEAM, SEVERITY),
    annotations=tuple(alert_annotation(team) for team in ("ops", "security", "compliance")),
    items=(
        Panel(
            "Alerts by severity",
            "stat",
            (BY_SEVERITY,),
            width=8,
            thresholds=(Threshold(None, "green"), Threshold(1, "orange")),
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
                "textMode": "value_and_name",
            },
        ),
        Panel(
            "Alerts per team",
            "timeseries",
            (BY_TEAM,),
            width=16,
            custom={"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80},
        ),
        Panel(
            "Alerts",
            "table",
            (TABLE,),
            width=24,
            height=12,
            overrides=(
                {
                    "matcher": {"id": "byName", "options": "severity"},
                    "properties": [
                        {
                            "id": "mappings",
                            "value": [
                                {
                                    "type": "value",
                                    "options": {
                                        severity: {"color": colour}
                                        for severity, colour in SEVERITY_COLOURS.items()
                                    },
                                }
                            ],
                        },
                        {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                    ],
                },
            ),
        ),
    ),
)
