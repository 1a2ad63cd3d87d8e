"""Alerts: every alert the rule engine raised (bucket alerts, measurement `alert`), by team and
severity. One alert id may be written several times while its incident goes on; the table
shows its latest message."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.models.common import BigValueTextMode

from dashboards.base import bars_over_time, new_dashboard, single_stat, table_panel
from dashboards.flux import ALERTS, matches, one_of, series
from dashboards.panels import organize, props, thresholds, value_colours
from dashboards.variables import SITE_FILTER, alert_annotation, country, severity, site, team

FOLDER = "Operations"

_ALERTS = f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert")
  |> filter(fn: (r) => {matches(SITE_FILTER)})
  |> filter(fn: (r) => {one_of("team", "team")} and {one_of("severity", "severity")})"""

TABLE = f"""{_ALERTS}
  |> filter(fn: (r) => r._field == "alert_id" or r._field == "message" or r._field == "count")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group(columns: ["alert_id"])
  |> last(column: "_time")
  |> group()
  |> rename(columns: {{_time: "last_seen"}})
  |> keep(columns: ["last_seen", "team", "severity", "rule_id", "site", "country", "count",
                    "message", "alert_id"])
  |> sort(columns: ["last_seen"], desc: true)"""

_DISTINCT = f"""{_ALERTS}
  |> filter(fn: (r) => r._field == "alert_id")"""

BY_SEVERITY = f"""{_DISTINCT}
  |> group(columns: ["severity"])
  |> distinct()
  |> count()
  |> rename(columns: {{_value: "alerts"}})"""

BY_TEAM = f"""{_DISTINCT}
{series(["team"], "count", field="alerts")}"""

SEVERITY_COLOURS = {
    "info": "blue",
    "low": "green",
    "medium": "yellow",
    "high": "orange",
    "critical": "red",
}


def dashboard() -> Dashboard:
    return (
        new_dashboard(
            "sovwatch-alerts",
            "Alerts",
            FOLDER,
            "Alerts raised by the compliance rule engine, by team and severity.",
        )
        .with_variable(country())
        .with_variable(site())
        .with_variable(team())
        .with_variable(severity())
        .annotation(alert_annotation("ops"))
        .annotation(alert_annotation("security"))
        .annotation(alert_annotation("compliance"))
        .with_panel(
            single_stat("Alerts by severity", BY_SEVERITY, "alerts", width=8, height=8)
            .text_mode(BigValueTextMode.VALUE_AND_NAME)
            .thresholds(thresholds((None, "green"), (1.0, "orange")))
        )
        .with_panel(bars_over_time("Alerts per team", BY_TEAM, width=16).decimals(0))
        .with_panel(
            table_panel("Alerts", TABLE, width=24, height=12)
            .with_transformation(
                organize(
                    {
                        "last_seen": "Last seen",
                        "team": "Team",
                        "severity": "Severity",
                        "rule_id": "Rule",
                        "site": "Site",
                        "count": "Evidence",
                        "message": "Message",
                        "alert_id": "Alert id",
                    }
                )
            )
            .override_by_name(
                "severity",
                props(
                    cell="color-background",
                    mappings=[value_colours({s: (None, c) for s, c in SEVERITY_COLOURS.items()})],
                ),
            )
        )
    )
